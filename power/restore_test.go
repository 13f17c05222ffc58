package power

import (
	"fmt"
	"testing"
	"time"
)

// After a restart the PDU came back with its own defaults: with
// Restore the outlets it changed are switched back, once each,
// under the restore principal (and the changes are told as unexpected);
// without it nothing is switched.
func TestRestoreAfterPDURestart(t *testing.T) {
	for _, restore := range []bool{true, false} {
		t.Run(fmt.Sprint("restore=", restore), func(t *testing.T) {
			d := newFake(3)
			d.set(1, On)
			p := testPDU(t, "r", d, func(c *PDUConfig) { c.CacheTTL, c.Restore = 0, restore })
			a, obs := &auditLog{}, &countingObserver{}
			f, err := NewFleet([]*PDU{p}, []Machine{{Name: "m", Outlets: []OutletRef{{"r", 1}}}},
				FleetConfig{ActionTimeout: 10 * time.Second, Audit: a, Observer: obs})
			if err != nil {
				t.Fatal(err)
			}
			f.Watch(t.Context())
			p.ReadFresh(t.Context())

			// The card restarts, its outlets at its defaults.
			d.set(1, Off)
			d.set(2, On)
			p.Restarted()
			p.ReadFresh(t.Context())
			if restore {
				waitFor(t, func() bool { return d.state(1) == On && d.state(2) == Off })
			}
			p.ReadFresh(t.Context())
			want := "[1 on 2 off]"
			if !restore {
				want = "[]"
			}
			var got []string
			for _, s := range d.switchLog() {
				got = append(got, fmt.Sprint(s.outlet, " ", s.to))
			}
			if fmt.Sprint(got) != want {
				t.Errorf("switches %v, want %s", got, want)
			}
			if n := len(obs.seen()); n != 2 {
				t.Errorf("%d unexpected changes told, want 2 (the restart's)", n)
			}
			if !restore {
				return
			}
			waitFor(t, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.recs) == 4 })
			a.mu.Lock()
			defer a.mu.Unlock()
			for _, r := range a.recs[2:] {
				if r.Principal != RestorePrincipal || !r.Changed {
					t.Errorf("restore audit record %+v, want principal %s", r, RestorePrincipal)
				}
			}
		})
	}
}
