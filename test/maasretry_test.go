package test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// MAAS's retry pattern (up to 7 POSTs and 7 queries per attempt, 3
// attempts per action) against PDUs that make it retry: one that loses
// every other request with no SNMP retries (queries and POSTs fail, MAAS
// asks again), one that loses the answer to every SET, and one that answers
// genErr to every SET and reboots its card now and then. Every machine is
// powered on, off and on again, all at once, while MAAS's background polls
// go on. However often MAAS asks, each outlet switches exactly once per
// change of state.
func TestMAASRetryPatternSwitchesOncePerAction(t *testing.T) {
	// Mostly waiting on lost answers' timeouts, with a PDU and a bridge of
	// its own: beside the other parallel tests once the serial ones are done.
	t.Parallel()
	type pdu struct {
		name  string
		dev   *pdusim.Device
		agent *pdusim.Agent
	}
	var pdus []pdu
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "auth:\n  tokens: [{name: maas, token: %s}]\ntimeouts: {status: 2s, action: 30s}\npdus:\n", maasToken)
	v3 := pdusim.User{Name: "maas-retry", AuthProtocol: "SHA", AuthPassphrase: "retry-auth-pass", PrivProtocol: "AES", PrivPassphrase: "retry-priv-pass"}
	for i, snmp := range []string{
		`{version: "1", community: private, read_community: public, timeout: 300ms, retries: 0}`,
		`{version: "2c", community: private, read_community: public, timeout: 300ms, retries: 1}`,
		`{version: "3", user: maas-retry, auth_protocol: SHA, auth_passphrase: retry-auth-pass, priv_protocol: AES, priv_passphrase: retry-priv-pass, timeout: 300ms, retries: 1}`,
	} {
		dev, err := pdusim.New("ap7900", pdusim.Options{SwitchDelay: 30 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= dev.Outlets(); n++ {
			dev.SetOutletState(n, power.Off)
		}
		agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private", Users: []pdusim.User{v3}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { agent.Close() })
		p := pdu{fmt.Sprintf("rack%d", i+1), dev, agent}
		pdus = append(pdus, p)
		fmt.Fprintf(&cfg, "  - {name: %s, address: %q, snmp: %s, power_on_delay: 100ms, switch_timeout: 3s, poll_interval: 1s}\n", p.name, agent.Addr(), snmp)
	}
	cfg.WriteString(`machines:
  - {name: lossy1, outlets: ["rack1/1"]}
  - {name: lossy2, outlets: ["rack1/2"]}
  - {name: mute1, outlets: ["rack2/1"]}
  - {name: mute2, outlets: ["rack2/2"]}
  - {name: generr1, outlets: ["rack3/1"]}
  - {name: generr2, outlets: ["rack3/2"]}
  - {name: twin, outlets: ["rack1/5", "rack3/5"]}
`)
	b := startBridge(t, cfg.String())
	machines := []string{"lossy1", "lossy2", "mute1", "mute2", "generr1", "generr2", "twin"}
	outlets := map[string][]string{"rack1": {"1", "2", "5"}, "rack2": {"1", "2"}, "rack3": {"1", "2", "5"}}

	// The faults come once every PDU has been read (detected) as it is
	// in service: losing every other request with no retries, the
	// several requests of a first detection would never all get through.
	for _, m := range machines {
		waitUntil(t, 10*time.Second, m+" reads", func() bool {
			code, _ := b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/" + m + "/status", auth: bearer(maasToken)})
			return code == 200
		})
	}
	pdus[0].agent.DropEveryNthRequest(2)
	pdus[1].agent.DropEveryNthAnswerAfterSet(1)
	pdus[2].agent.GenErrOnSet(true)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// MAAS's background polling, and a card that reboots now and then.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		poller := newMAASDriver(b.URL, maasToken, 0)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			poller.query(ctx, machines[i%len(machines)])
			if i%40 == 39 {
				pdus[2].agent.Restart()
			}
		}
	})

	var wg sync.WaitGroup
	// Up to one line per action (3) and a summary per machine: a smaller
	// buffer blocks the senders, and wg.Wait with them, once MAAS retries.
	results := make(chan string, 4*len(machines))
	for _, m := range machines {
		wg.Go(func() {
			maas := newMAASDriver(b.URL, maasToken, 0.05)
			for _, want := range []string{"on", "off", "on"} {
				attempts, err := maas.power(ctx, m, want)
				if err != nil {
					t.Errorf("MAAS powering %s %s: %v\ncalls: %s", m, want, err, maas.summary())
					return
				}
				if attempts > 1 {
					results <- fmt.Sprintf("%s %s took %d attempts", m, want, attempts)
				}
			}
			posts, failed := 0, 0
			for _, c := range maas.made() {
				if c.Method == http.MethodPost {
					posts++
					if c.Code != 200 {
						failed++
					}
				}
			}
			results <- fmt.Sprintf("%s: %d POSTs for 3 actions, %d failed", m, posts, failed)
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	close(results)
	for r := range results {
		t.Log(r)
	}

	for _, p := range pdus {
		for _, n := range outlets[p.name] {
			var num int
			fmt.Sscan(n, &num)
			if got := p.dev.Switches(num); got != 3 || p.dev.OutletState(num) != power.On {
				t.Errorf("%s/%d: %v after %d switches, want on after 3 (on, off, on)", p.name, num, p.dev.OutletState(num), got)
			}
		}
		t.Logf("%s: %+v", p.name, p.agent.Stats())
	}
	if s := pdus[0].agent.Stats(); s.Dropped == 0 {
		t.Error("the lossy PDU lost nothing: the test did not make MAAS retry")
	}
	if pdus[2].agent.EngineBoots() < 2 {
		t.Error("the rebooting card never rebooted")
	}
}
