package test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// MAAS's default power_on_regex and power_off_regex. Python's re.search and
// Go's regexp agree on these.
var (
	onRegex  = regexp.MustCompile(`status.*\:.*running`)
	offRegex = regexp.MustCompile(`status.*\:.*stopped`)
)

const (
	maasToken = "maas-token-0123456789"
	adminPass = "admin-pass-0123456789"
)

// simPDU starts a simulated APC PDU on loopback, all outlets off, and returns
// it with the config lines of a PDU named rack1 that reach it over SNMP v1.
func simPDU(t *testing.T, model string) (*pdusim.Device, *pdusim.Agent, string) {
	t.Helper()
	dev, err := pdusim.New(model, pdusim.Options{SwitchDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Real units come up with their outlets on; these tests start from off.
	for n := 1; n <= dev.Outlets(); n++ {
		dev.SetOutletState(n, power.Off)
	}
	agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	cfg := fmt.Sprintf(`
  - name: rack1
    address: %q
    snmp: {version: "1", community: private, read_community: public, timeout: 500ms, retries: 1}
    power_on_delay: 200ms
    switch_timeout: 5s
`, agent.Addr())
	return dev, agent, cfg
}

func maasConfig(pdus string) string {
	return `
auth:
  tokens: [{name: maas, token: ` + maasToken + `}]
  users: [{name: admin, password: ` + adminPass + `}]
timeouts: {status: 2s, action: 30s}
pdus:` + pdus + `
machines:
  - {name: node1, outlets: ["rack1/1"]}
  - {name: bigboy, outlets: ["rack1/3", "rack1/4"]}
`
}

// The round trip MAAS makes: power on, query, power off, query, with each of
// the ways MAAS authenticates and with and without System_Id.
func TestMAASPowersAMachineOnAndOff(t *testing.T) {
	dev, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))

	for _, tc := range []struct {
		name     string
		auth     func(*http.Request)
		systemID string
	}{
		{"bearer, MAAS 3.5+ (no System_Id)", bearer(maasToken), ""},
		{"bearer, background poll with System_Id", bearer(maasToken), "4y3h7n"},
		{"basic auth", basic("admin", adminPass), "4y3h7n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := func(method, path string) (int, string) {
				return b.maas(t, maasCall{method: method, path: path, auth: tc.auth, systemID: tc.systemID})
			}
			if code, body := call(http.MethodPost, "/v1/machines/bigboy/on"); code != 200 {
				t.Fatalf("on: %d %s", code, body)
			}
			if dev.OutletState(3) != power.On || dev.OutletState(4) != power.On {
				t.Errorf("after on the PDU shows outlets 3, 4: %s, %s", dev.OutletState(3), dev.OutletState(4))
			}
			code, body := call(http.MethodGet, "/v1/machines/bigboy/status")
			if code != 200 || body != `{"status":"running"}`+"\n" {
				t.Errorf("status after on: %d %q", code, body)
			}
			if !onRegex.MatchString(body) || offRegex.MatchString(body) {
				t.Errorf("running body %q: on-regex %v, off-regex %v", body, onRegex.MatchString(body), offRegex.MatchString(body))
			}

			if code, body := call(http.MethodPost, "/v1/machines/bigboy/off"); code != 200 {
				t.Fatalf("off: %d %s", code, body)
			}
			if dev.OutletState(3) != power.Off || dev.OutletState(4) != power.Off {
				t.Errorf("after off the PDU shows outlets 3, 4: %s, %s", dev.OutletState(3), dev.OutletState(4))
			}
			code, body = call(http.MethodGet, "/v1/machines/bigboy/status")
			if code != 200 || body != `{"status":"stopped"}`+"\n" {
				t.Errorf("status after off: %d %q", code, body)
			}
			if onRegex.MatchString(body) || !offRegex.MatchString(body) {
				t.Errorf("stopped body %q: on-regex %v, off-regex %v", body, onRegex.MatchString(body), offRegex.MatchString(body))
			}
		})
	}
}

func TestMAASErrors(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	for _, tc := range []struct {
		name   string
		call   maasCall
		want   int
		not404 bool
	}{
		{"no credentials", maasCall{method: "POST", path: "/v1/machines/node1/on"}, 401, false},
		{"wrong token", maasCall{method: "POST", path: "/v1/machines/node1/on", auth: bearer("wrong")}, 401, false},
		{"wrong password", maasCall{method: "GET", path: "/v1/machines/node1/status", auth: basic("admin", "wrong")}, 401, false},
		{"unknown machine, on", maasCall{method: "POST", path: "/v1/machines/ghost/on", auth: bearer(maasToken)}, 0, true},
		{"unknown machine, status", maasCall{method: "GET", path: "/v1/machines/ghost/status", auth: bearer(maasToken)}, 0, true},
		{"mistyped route", maasCall{method: "POST", path: "/v1/machine/node1/on", auth: bearer(maasToken)}, 0, true},
		{"trailing slash", maasCall{method: "GET", path: "/v1/machines/node1/status/", auth: bearer(maasToken)}, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := b.maas(t, tc.call)
			if tc.not404 {
				if code < 400 || code >= 500 || code == 404 {
					t.Errorf("code %d (%s): want a 4xx other than 404, which MAAS would take as success", code, body)
				}
				return
			}
			if code != tc.want {
				t.Errorf("code %d, want %d; body %s", code, tc.want, body)
			}
		})
	}
	// The log comes through a pipe and may trail the answers.
	waitUntil(t, 5*time.Second, "3 failures are logged", func() bool { return len(b.logs.lines("authentication failed")) >= 3 })
	if lines := b.logs.lines("authentication failed"); len(lines) != 3 {
		t.Errorf("%d 'authentication failed' log lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, secret := range []string{maasToken, adminPass, "private", "public"} {
		if strings.Contains(b.logs.String(), secret) {
			t.Errorf("the log shows the secret %q", secret)
		}
	}
}

// MAAS repeats its power POST up to seven times while it waits for the state
// to change; the outlet must switch once.
func TestRepeatedPOSTSwitchesOnce(t *testing.T) {
	dev, agent, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))

	var wg sync.WaitGroup
	codes := make(chan int, 7)
	for range 7 {
		wg.Go(func() {
			code, _ := b.maas(t, maasCall{method: http.MethodPost, path: "/v1/machines/node1/on", auth: bearer(maasToken)})
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Errorf("a repeated POST got %d", code)
		}
	}
	// And seven more in a row, as MAAS's retry loop sends them.
	for range 7 {
		if code, body := b.maas(t, maasCall{method: http.MethodPost, path: "/v1/machines/node1/on", auth: bearer(maasToken)}); code != 200 {
			t.Fatalf("POST on: %d %s", code, body)
		}
	}
	if n := dev.Switches(1); n != 1 {
		t.Errorf("outlet 1 switched %d times, want 1", n)
	}
	if got := agent.Stats().Sets; got != 1 {
		t.Errorf("the PDU received %d SETs, want 1", got)
	}
}

// A PDU that does not answer turns into an error answer within the status
// timeout, never a hang: MAAS's background query has no timeout of its own.
func TestSilentPDU(t *testing.T) {
	_, agent, pdu := simPDU(t, "ap7900")
	// Silent from the start, so that no reading of it is cached.
	agent.SetSilent(true)
	b := startBridge(t, maasConfig(pdu))
	const bound = 2 * time.Second // timeouts.status in maasConfig
	// Answered at all within a generous multiple of the bound: a hang
	// fails, a loaded machine does not.
	code, body := b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/node1/status", auth: bearer(maasToken), within: 4 * bound})
	if code < 500 {
		t.Errorf("code %d (%s), want a 5xx", code, body)
	}
	if onRegex.MatchString(body) || offRegex.MatchString(body) {
		t.Errorf("error body %q matches a power regex", body)
	}
}
