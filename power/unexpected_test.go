package power

import (
	"sync"
	"testing"
	"time"
)

// countingObserver counts unexpected changes on top of the no-op Observer.
type countingObserver struct {
	nopObserver
	mu  sync.Mutex
	got []string
}

func (o *countingObserver) UnexpectedChange(pdu string, outlet int, machine string, to State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, OutletRef{PDU: pdu, Outlet: outlet}.String()+" "+machine+" "+to.String())
}

func (o *countingObserver) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.got...)
}

func unexpectedFleet(t *testing.T, d *fakeDriver) (*Fleet, *PDU, *auditLog, *countingObserver) {
	t.Helper()
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.CacheTTL = 0 })
	a, obs := &auditLog{}, &countingObserver{}
	f, err := NewFleet([]*PDU{p}, []Machine{{Name: "m", Outlets: []OutletRef{{"r", 1}}}},
		FleetConfig{ActionTimeout: 10 * time.Second, Audit: a, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	f.Watch(t.Context())
	return f, p, a, obs
}

// An outlet switched behind powerbridge's back is told once: counted,
// audited with a principal that is not powerbridge's, and kept to show,
// however many reads find it so afterwards. The first read only learns.
func TestUnexpectedChangeIsToldOnce(t *testing.T) {
	d := newFake(2)
	_, p, a, obs := unexpectedFleet(t, d)
	if _, err := p.ReadFresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(obs.seen()) != 0 {
		t.Fatalf("the first read told of changes: %v", obs.seen())
	}
	d.set(1, On) // someone at the PDU
	for range 3 {
		if _, err := p.ReadFresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := obs.seen(); len(got) != 1 || got[0] != "r/1 m on" {
		t.Errorf("counted %v, want [r/1 m on] once", got)
	}
	a.mu.Lock()
	recs := append([]AuditRecord(nil), a.recs...)
	a.mu.Unlock()
	if len(recs) != 1 {
		t.Fatalf("%d audit records, want 1: %+v", len(recs), recs)
	}
	if r := recs[0]; r.Principal != NotPowerbridge || r.Machine != "m" || r.Outlet != "r/1" || r.State != On || !r.Changed || r.Reason == "" {
		t.Errorf("audit record %+v", r)
	}
	if ch := p.UnexpectedChanges(); len(ch) != 1 || ch[0].Outlet != 1 || ch[0].From != Off || ch[0].To != On {
		t.Errorf("kept %+v, want outlet 1 off to on", ch)
	}
	// An outlet no machine is fed by counts too, without a machine.
	d.set(2, On)
	p.ReadFresh(t.Context())
	if got := obs.seen(); len(got) != 2 || got[1] != "r/2  on" {
		t.Errorf("counted %v, want r/2 with no machine second", got)
	}
}

// powerbridge's own switches are never taken for changes nobody asked for,
// however reads and switches interleave.
func TestOwnSwitchesAreNotUnexpected(t *testing.T) {
	d := newFake(2)
	d.lag = 2 // the outlet reads pending twice after a switch
	f, p, _, obs := unexpectedFleet(t, d)
	p.ReadFresh(t.Context())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				p.ReadFresh(t.Context())
			}
		}
	})
	for i := range 10 {
		var err error
		if i%2 == 0 {
			_, err = f.On(t.Context(), "m")
		} else {
			_, err = f.SwitchOutlet(t.Context(), "r", 1, ActionOff)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	p.ReadFresh(t.Context())
	if got := obs.seen(); len(got) != 0 {
		t.Errorf("powerbridge's own switches counted as unexpected: %v", got)
	}
}
