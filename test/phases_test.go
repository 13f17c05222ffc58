package test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// A budget per phase on a simulated three-phase AP8961 (8 outlets a
// phase, 0.35 A each that is on, each phase's current metered): with
// outlets 1-7 on, phase 1 draws 2.5 A, and big (outlet 8, expected 0.8 A)
// does not fit its max_amperes_per_phase of 3: its power-on waits. other
// (outlet 9, phase 2) is switched on meanwhile. Once small1 (outlet 1)
// goes off, phase 1 draws 2.1 A and big goes through. /v1/pdus, the log
// and the metrics name the phase.
func TestPhaseBudgetWaitsOnItsPhaseOnly(t *testing.T) {
	dev, err := pdusim.New("ap8961", pdusim.Options{SwitchDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= dev.Outlets(); n++ {
		dev.SetOutletState(n, power.Off)
	}
	for n := 1; n <= 7; n++ {
		dev.SetOutletState(n, power.On)
	}
	agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	b := startBridge(t, fmt.Sprintf(`auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 5s, action: 90s}
pdus:
  - {name: rack1, address: %q, snmp: {version: "1", community: private, read_community: public, timeout: 500ms, retries: 1}, power_on_delay: 100ms, switch_timeout: 5s, poll_interval: 1s, phases: ["1-8", "9-16", "17-24"], max_amperes_per_phase: 3, budget_wait: 60s}
machines:
  - {name: small1, outlets: ["rack1/1"]}
  - {name: big, outlets: ["rack1/8"], expected_amperes: 0.8}
  - {name: other, outlets: ["rack1/9"], expected_amperes: 0.8}
`, maasToken, agent.Addr()))
	call := func(method, path string) (int, string) {
		return b.maas(t, maasCall{method: method, path: path, auth: bearer(maasToken), within: 4 * time.Minute})
	}

	var wg sync.WaitGroup
	var bigCode int
	var bigBody string
	wg.Go(func() { bigCode, bigBody = call(http.MethodPost, "/v1/machines/big/on") })
	waitUntil(t, 60*time.Second, "big's power-on waits for phase 1's budget", func() bool {
		return len(b.logs.lines("power-on waits for room in the power budget")) > 0
	})
	if lines := b.logs.lines("power-on waits for room in the power budget"); !strings.Contains(lines[0], "phase 1 draws 2.50 A") ||
		!strings.Contains(lines[0], "max_amperes_per_phase is 3") {
		t.Errorf("the wait's log line does not name phase 1 and its figures: %s", lines[0])
	}
	if code, body := call(http.MethodPost, "/v1/machines/other/on"); code != http.StatusOK {
		t.Fatalf("POST other/on, on phase 2, while big waits on phase 1: %d %s", code, body)
	}
	if cmds := dev.Commands(8); len(cmds) != 0 {
		t.Fatalf("rack1/8 got %v while over phase 1's budget", cmds)
	}
	_, pdus := get(t, b.URL+"/v1/pdus", maasToken)
	if !strings.Contains(pdus, `"phases":[{"phase":1,"outlets":[1,2,3,4,5,6,7,8],"max_amperes":3,"load_amperes":2.5,"reserved_amperes":0,"headroom_amperes":0.5}`) {
		t.Errorf("/v1/pdus does not show phase 1's budget as it stands:\n%s", pdus)
	}
	if code, body := call(http.MethodPost, "/v1/machines/small1/off"); code != http.StatusOK {
		t.Fatalf("POST small1/off: %d %s", code, body)
	}
	wg.Wait()
	if bigCode != http.StatusOK {
		t.Fatalf("POST big/on once phase 1's load dropped: %d %s", bigCode, bigBody)
	}
	on, off, other := dev.Commands(8), dev.Commands(1), dev.Commands(9)
	if len(on) != 1 || on[0].Word != "on" || len(off) != 1 || off[0].Word != "off" || len(other) != 1 || other[0].Word != "on" {
		t.Fatalf("rack1/8 got %v, rack1/1 %v and rack1/9 %v; want one on, one off, one on", on, off, other)
	}
	if !on[0].At.After(off[0].At) || !other[0].At.Before(on[0].At) {
		t.Errorf("big on at %s, small1 off at %s, other on at %s: want big last", on[0].At, off[0].At, other[0].At)
	}
	_, scrape := get(t, b.URL+"/metrics", "")
	if v, ok := sample(scrape, `powerbridge_pdu_phase_max_amperes{pdu="rack1",phase="2"}`); !ok || v != 3 {
		t.Errorf(`powerbridge_pdu_phase_max_amperes{pdu="rack1",phase="2"} = %v (found %v), want 3`, v, ok)
	}
	if _, ok := sample(scrape, `powerbridge_pdu_max_amperes{pdu="rack1"}`); ok {
		t.Errorf("powerbridge_pdu_max_amperes is shown for a PDU with a budget per phase only")
	}
}
