package test

// MAAS's webhook flow and the fault suite on PDUs of other vendors than
// APC (power/pdusim's vendor models behind the real binary, vendor auto):
// what MAAS sees, and one SET carried out per outlet per action, counted
// at the simulated PDU.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// TestVendorMAASFlow: MAAS powers node1 (outlet 1) and bigboy (outlets 3
// and 4) on and off through the webhook routes, on an Eaton ePDU G3 (over
// SNMP v1 and v3) and a Raritan PX3; each outlet is given exactly one
// command per action, and GET /v1/pdus names the vendor found.
func TestVendorMAASFlow(t *testing.T) {
	for _, tc := range []struct {
		name, model, vendor string
		v3                  bool
	}{
		{"eaton-g3 v1", "eaton-g3", `"vendor":"Eaton"`, false},
		{"eaton-g3 v3", "eaton-g3", `"vendor":"Eaton"`, true},
		{"raritan-px3 v1", "raritan-px3", `"vendor":"Raritan"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFaultRig(t, faultSetup{model: tc.model, v3: tc.v3})
			r.ready(t, "node1", stopped)
			maas := newMAASDriver(r.b.URL, maasToken, 0.05)
			for _, step := range []struct{ machine, want string }{{"node1", "on"}, {"bigboy", "on"}, {"node1", "off"}, {"bigboy", "off"}} {
				if _, err := maas.power(t.Context(), step.machine, step.want); err != nil {
					t.Fatalf("MAAS powering %s %s: %v", step.machine, step.want, err)
				}
			}
			t.Logf("MAAS's calls: %s", maas.summary())
			commandsPerOutlet(t, r.dev, map[int]int{1: 2, 3: 2, 4: 2})
			for _, n := range []int{1, 3, 4} {
				if r.dev.OutletState(n) != power.Off {
					t.Errorf("outlet %d is %v, want off", n, r.dev.OutletState(n))
				}
			}
			code, body := get(t, r.b.URL+"/v1/pdus", maasToken)
			if code != http.StatusOK || !strings.Contains(body, tc.vendor) {
				t.Errorf("GET /v1/pdus: %d %s, want the vendor %s", code, body, tc.vendor)
			}
		})
	}
}

// TestVendorFaults runs the faults of the suite on an Eaton ePDU G3: a
// lossy link (every 2nd SET lost; over SNMPv3, every 2nd answer), a mute card, genErr answered to SETs
// that worked, and a slow card. Every action ends with one SET carried out
// per outlet, or, on the mute card, none.
func TestVendorFaults(t *testing.T) {
	// Mostly waiting on lost answers' timeouts, with a PDU and a bridge of
	// its own: beside the other parallel tests once the serial ones are done.
	t.Parallel()
	const model = "eaton-g3"
	t.Run("lossy", func(t *testing.T) {
		r := newFaultRig(t, faultSetup{model: model})
		r.ready(t, "bigboy", stopped)
		r.agent.DropEveryNthSet(2)
		want := r.powerInTurn(t, 2)
		commandsPerOutlet(t, r.dev, want)
		if s := r.agent.Stats(); s.Sets <= 12 {
			t.Fatalf("the PDU received %d SETs for 12 switches: none was lost, the test shows nothing", s.Sets)
		}
	})
	t.Run("lossy v3", func(t *testing.T) {
		// Every 2nd answer lost, engine discovery Reports included: a SET
		// whose answer was lost is read back, never resent.
		r := newFaultRig(t, faultSetup{model: model, v3: true})
		r.ready(t, "bigboy", stopped)
		r.agent.DropEveryNthAnswer(2)
		want := r.powerInTurn(t, 2)
		commandsPerOutlet(t, r.dev, want)
		if s := r.agent.Stats(); s.Dropped == 0 {
			t.Fatal("no answer was lost: the test shows nothing")
		}
	})
	t.Run("mute", func(t *testing.T) {
		r := newFaultRig(t, faultSetup{model: model, cold: func(a *pdusim.Agent) { a.SetSilent(true) }, statusBound: 5 * time.Second})
		q := r.status(t, "node1")
		if q.code != http.StatusBadGateway || !strings.Contains(errorOf(t, q.body), "no answer") {
			t.Errorf("status: %d %s, want 502 saying there was no answer", q.code, q.body)
		}
		p := r.post(t, "node1", "on")
		if p.code != http.StatusBadGateway {
			t.Errorf("on: %d %s, want 502", p.code, p.body)
		}
		r.switchedAtMostOnce(t, 0)
		r.agent.SetSilent(false)
		if q := r.status(t, "node1"); q.code != 200 || q.body != stopped {
			t.Errorf("status once the PDU answers: %d %q", q.code, q.body)
		}
	})
	t.Run("genErr after success", func(t *testing.T) {
		r := newFaultRig(t, faultSetup{model: model})
		r.ready(t, "node1", stopped)
		r.agent.GenErrOnSet(true)
		p := r.post(t, "node1", "on")
		if p.code != 200 || !strings.Contains(p.body, "genErr") {
			t.Errorf("on: %d %s, want 200 with a note of the genErr", p.code, p.body)
		}
		if q := r.status(t, "node1"); q.code != 200 || q.body != running {
			t.Errorf("status: %d %q", q.code, q.body)
		}
		commandsPerOutlet(t, r.dev, map[int]int{1: 1})
		r.switchedAtMostOnce(t, 1)
	})
	t.Run("slow", func(t *testing.T) {
		r := newFaultRig(t, faultSetup{model: model, snmp: `{version: "1", community: private, read_community: public, timeout: 2s, retries: 1}`, statusBound: 10 * time.Second})
		r.ready(t, "node1", stopped)
		r.agent.SetLatency(1500 * time.Millisecond)
		p := r.post(t, "node1", "on")
		if p.code != 200 {
			t.Errorf("on: %d %s, want 200", p.code, p.body)
		}
		if r.dev.OutletState(1) != power.On {
			t.Errorf("outlet 1 is %v", r.dev.OutletState(1))
		}
		commandsPerOutlet(t, r.dev, map[int]int{1: 1})
	})
}
