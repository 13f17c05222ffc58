package test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/plugsim"
)

const plugPass = "plug-pass-0123456789"

// startPlug serves a simulated plug on loopback for one test.
func startPlug(t *testing.T, model string, opts plugsim.Options) *plugsim.Plug {
	t.Helper()
	p, err := plugsim.Start(model, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// plugPDU is the config lines of a PDU named plug reaching sim over HTTP.
func plugPDU(vendor string, sim *plugsim.Plug, password, extra string) string {
	http := ""
	if password != "" {
		http = fmt.Sprintf("\n    http: {password: %q, timeout: 1s}", password)
	}
	return fmt.Sprintf(`
  - name: plug
    vendor: %s
    address: %q%s
    power_on_delay: 200ms
    switch_timeout: 5s%s
`, vendor, sim.URL(), http, extra)
}

func plugBridge(t *testing.T, pdu string) *bridge {
	t.Helper()
	return startBridge(t, `
auth:
  tokens: [{name: maas, token: `+maasToken+`}]
timeouts: {status: 3s, action: 30s}
pdus:`+pdu+`
machines:
  - {name: node1, outlets: ["plug/1"]}
`)
}

func (b *bridge) maasStatus(t *testing.T, machine string) (int, string) {
	t.Helper()
	return b.maas(t, maasCall{method: "GET", path: "/v1/machines/" + machine + "/status", auth: bearer(maasToken), within: 30 * time.Second})
}

func (b *bridge) maasPost(t *testing.T, machine, action string) (int, string) {
	t.Helper()
	return b.maas(t, maasCall{method: "POST", path: "/v1/machines/" + machine + "/" + action, auth: bearer(maasToken), within: 60 * time.Second})
}

// MAAS's on / query / off / query on each kind of plug, authenticated as
// each does it, every switch read back: the plug counts one request per
// switch (a cycle is one too), and the plug's meter shows in /metrics.
func TestPlugsSwitchWithReadBack(t *testing.T) {
	for _, tc := range []struct{ model, vendor string }{
		{plugsim.ShellyGen1, "shelly"},
		{plugsim.ShellyGen2, "shelly"},
		{plugsim.Tasmota, "tasmota"},
		{plugsim.ShellyGen2, "auto"},
		{plugsim.Tasmota, "auto"},
	} {
		t.Run(tc.model+"/"+tc.vendor, func(t *testing.T) {
			sim := startPlug(t, tc.model, plugsim.Options{Password: plugPass, Watts: 61})
			b := plugBridge(t, plugPDU(tc.vendor, sim, plugPass, ""))
			if code, body := b.maasStatus(t, "node1"); code != 200 || !offRegex.MatchString(body) {
				t.Fatalf("status of an off plug: %d %s", code, body)
			}
			if code, body := b.maasPost(t, "node1", "on"); code != 200 {
				t.Fatalf("on: %d %s", code, body)
			}
			if sim.State(1) != power.On || sim.Commands(1) != 1 {
				t.Fatalf("after on the plug reads %s after %d switch requests, want on after 1", sim.State(1), sim.Commands(1))
			}
			if code, body := b.maasStatus(t, "node1"); code != 200 || !onRegex.MatchString(body) {
				t.Fatalf("status after on: %d %s", code, body)
			}
			waitUntil(t, 20*time.Second, "the plug's watts show in /metrics", func() bool {
				_, m := get(t, b.URL+"/metrics", "")
				for _, line := range strings.Split(m, "\n") {
					if strings.HasPrefix(line, "powerbridge_outlet_power_watts{") && strings.Contains(line, `machine="node1"`) &&
						strings.Contains(line, `pdu="plug"`) && strings.HasSuffix(line, "} 61") {
						return true
					}
				}
				return false
			})
			// A cycle of the outlet is one request, the plug's timer the on.
			code, body := b.maas(t, maasCall{method: "POST", path: "/v1/pdus/plug/outlets/1/cycle", auth: bearer(maasToken), within: 60 * time.Second})
			if code != 200 || !strings.Contains(body, `"changed":true`) {
				t.Fatalf("outlet cycle: %d %s", code, body)
			}
			if sim.State(1) != power.On || sim.Commands(1) != 2 {
				t.Fatalf("after the cycle the plug reads %s after %d switch requests, want on after 2", sim.State(1), sim.Commands(1))
			}
			if code, body := b.maasPost(t, "node1", "off"); code != 200 {
				t.Fatalf("off: %d %s", code, body)
			}
			if sim.State(1) != power.Off || sim.Commands(1) != 3 {
				t.Fatalf("after off the plug reads %s after %d switch requests, want off after 3", sim.State(1), sim.Commands(1))
			}
			if code, body := b.maasStatus(t, "node1"); code != 200 || !offRegex.MatchString(body) {
				t.Fatalf("status after off: %d %s", code, body)
			}
			if n := sim.AuthFailures(); n != 0 {
				t.Errorf("the plug refused %d requests for their credentials", n)
			}
		})
	}
}

// Wrong credentials: MAAS gets an error that says what is wrong, never a
// state, and the plug is not switched.
func TestPlugWrongCredentialsAreAClearError(t *testing.T) {
	for _, model := range plugsim.Models() {
		t.Run(model, func(t *testing.T) {
			sim := startPlug(t, model, plugsim.Options{Password: plugPass})
			vendor := map[bool]string{true: "shelly", false: "tasmota"}[strings.HasPrefix(model, "shelly")]
			b := plugBridge(t, plugPDU(vendor, sim, "not-the-"+plugPass, ""))
			code, body := b.maasStatus(t, "node1")
			if code < 500 || onRegex.MatchString(body) || offRegex.MatchString(body) || !strings.Contains(body, "refused the credentials") {
				t.Fatalf("status with a wrong password: %d %s; want an error naming the credentials", code, body)
			}
			code, body = b.maasPost(t, "node1", "on")
			if code < 500 || !strings.Contains(body, "refused the credentials") {
				t.Fatalf("on with a wrong password: %d %s", code, body)
			}
			if sim.State(1) != power.Off || sim.Commands(1) != 0 {
				t.Errorf("the plug switched: %s after %d requests", sim.State(1), sim.Commands(1))
			}
			if sim.AuthFailures() == 0 {
				t.Error("the plug saw no refused credentials: the test did not reach it")
			}
			waitUntil(t, 10*time.Second, "the log says the plug cannot be read", func() bool {
				return len(b.logs.lines(`msg="PDU cannot be read"`)) > 0
			})
			if lines := b.logs.lines(`msg="PDU cannot be read"`); len(lines) != 1 || !strings.Contains(lines[0], "refused the credentials") {
				t.Errorf("log lines saying the plug cannot be read: %q, want one naming the credentials", lines)
			}
			if v := metricValue(t, b, "powerbridge_snmp_errors_total", `op="read"`, `pdu="plug"`); v < 1 {
				t.Errorf("read errors counted: %v, want at least 1", v)
			}
			if strings.Contains(b.logs.String(), plugPass) || strings.Contains(body, plugPass) {
				t.Error("a password shows in the log or the answer")
			}
		})
	}
}

// A plug that answers slower than its timeout gives MAAS an error within
// timeouts.status, not a hang; one that drops a switch's connection is read
// back, and the switch is sent again only when it did not happen.
func TestSlowAndDroppingPlug(t *testing.T) {
	sim := startPlug(t, plugsim.ShellyGen2, plugsim.Options{Password: plugPass})
	b := plugBridge(t, plugPDU("shelly", sim, plugPass, "\n    poll_interval: 1h"))
	if code, _ := b.maasStatus(t, "node1"); code != 200 {
		t.Fatalf("first status: %d", code)
	}

	sim.SetSlow(time.Minute)
	waitUntil(t, 30*time.Second, "MAAS gets an error for the slow plug", func() bool {
		code, body := b.maasStatus(t, "node1")
		return code >= 500 && strings.Contains(body, "error")
	})
	waitUntil(t, 10*time.Second, "the log says the plug cannot be read", func() bool {
		return len(b.logs.lines(`msg="PDU cannot be read"`)) > 0
	})
	if n := len(b.logs.lines(`msg="PDU cannot be read"`)); n != 1 {
		t.Errorf("%d log lines say the plug cannot be read, want 1", n)
	}
	if v := metricValue(t, b, "powerbridge_snmp_timeouts_total", `op="read"`, `pdu="plug"`); v < 1 {
		t.Errorf("timeouts of reads counted: %v, want at least 1", v)
	}
	sim.SetSlow(0)
	waitUntil(t, 30*time.Second, "the plug answers again", func() bool {
		code, _ := b.maasStatus(t, "node1")
		return code == 200
	})
	waitUntil(t, 10*time.Second, "the log says the plug can be read again", func() bool {
		return len(b.logs.lines(`msg="PDU can be read again"`)) == 1
	})

	// Carried out, answer lost: the read-back sees it on; not sent again.
	sim.LoseAnswers(1)
	if code, body := b.maasPost(t, "node1", "on"); code != 200 {
		t.Fatalf("on with its answer lost: %d %s", code, body)
	}
	if sim.State(1) != power.On || sim.Commands(1) != 1 {
		t.Fatalf("lost answer: plug %s after %d requests, want on after 1", sim.State(1), sim.Commands(1))
	}
	waitUntil(t, 10*time.Second, "the switch whose answer was lost is logged as verified", func() bool {
		return len(b.logs.lines("switch answered with an error but verified")) == 1
	})
	// Dropped before it was carried out: read back unchanged, sent again.
	sim.DropRequests(1)
	if code, body := b.maasPost(t, "node1", "off"); code != 200 {
		t.Fatalf("off with its request dropped: %d %s", code, body)
	}
	if sim.State(1) != power.Off || sim.Commands(1) != 2 {
		t.Fatalf("dropped request: plug %s after %d carried out, want off after 2", sim.State(1), sim.Commands(1))
	}
	waitUntil(t, 10*time.Second, "the resend after the dropped request is logged", func() bool {
		return len(b.logs.lines("switch got no answer, sent again and verified")) == 1
	})
}

// A cycle is one request to the plug (off, with the plug's own timer to
// switch back on), so a powerbridge killed between the off and the on
// still leaves the machine on.
func TestPlugFinishesACycleAfterPowerbridgeIsKilled(t *testing.T) {
	for _, model := range plugsim.Models() {
		t.Run(model, func(t *testing.T) {
			sim := startPlug(t, model, plugsim.Options{Password: plugPass, On: true})
			vendor := map[bool]string{true: "shelly", false: "tasmota"}[strings.HasPrefix(model, "shelly")]
			pdu := strings.Replace(plugPDU(vendor, sim, plugPass, ""), "power_on_delay: 200ms", "power_on_delay: 3s", 1)
			b := plugBridge(t, pdu)
			go func() {
				req, _ := http.NewRequest(http.MethodPost, b.URL+"/v1/machines/node1/cycle", http.NoBody)
				req.Header.Set("Authorization", "Bearer "+maasToken)
				if resp, err := maasClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			waitUntil(t, 30*time.Second, "the plug goes off", func() bool { return sim.State(1) == power.Off })
			if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			addr := strings.TrimPrefix(b.URL, "http://")
			waitUntil(t, 10*time.Second, "the killed bridge stops listening", func() bool {
				c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
				if err != nil {
					return true
				}
				c.Close()
				return false
			})
			if sim.State(1) != power.Off {
				t.Fatal("the plug was back on before powerbridge was killed: the kill came too late to prove anything")
			}
			waitUntil(t, 30*time.Second, "the plug switches itself back on", func() bool { return sim.State(1) == power.On })
			if n := sim.Commands(1); n != 1 {
				t.Errorf("%d switch requests for one cycle, want 1", n)
			}
			// The plug's timer keeps the power-on delay: a lower bound,
			// which load can only lengthen.
			if off, on := sim.Switched(1); on.Sub(off) < 3*time.Second {
				t.Errorf("the plug was off %s, less than power_on_delay 3s", on.Sub(off))
			}
		})
	}
}

// metricValue is the value of the first series of name in the bridge's
// /metrics whose labels include each of labels; 0 when there is none.
func metricValue(t *testing.T, b *bridge, name string, labels ...string) float64 {
	t.Helper()
	_, m := get(t, b.URL+"/metrics", "")
	for _, line := range strings.Split(m, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
			return v
		}
	}
	return 0
}
