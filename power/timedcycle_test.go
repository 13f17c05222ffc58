package power

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// timedFake is a fake PDU whose device cycles on its own timer, as a
// Shelly's toggle_after does; with timerBroken the timer never fires.
type timedFake struct {
	*fakeDriver
	timerBroken bool

	mu     sync.Mutex
	cycles []time.Duration
}

func (d *timedFake) CycleTimed(ctx context.Context, n int, offFor time.Duration) error {
	d.mu.Lock()
	d.cycles = append(d.cycles, offFor)
	d.mu.Unlock()
	d.set(n, Off)
	if !d.timerBroken {
		time.AfterFunc(offFor, func() { d.set(n, On) })
	}
	return nil
}

func (d *timedFake) cycleLog() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Duration(nil), d.cycles...)
}

func timedPDU(t *testing.T, d *timedFake, delay time.Duration) *PDU {
	t.Helper()
	p := NewPDU(PDUConfig{Name: "plug", Driver: d, PowerOnDelay: delay, SwitchTimeout: 5 * time.Second, ReadTimeout: time.Second, CacheTTL: time.Minute})
	p.wait = time.Millisecond
	t.Cleanup(func() { p.Close() })
	return p
}

func TestCycleOnTheDevicesTimer(t *testing.T) {
	d := &timedFake{fakeDriver: newFake(1)}
	d.set(1, On)
	p := timedPDU(t, d, 3*time.Second)
	f := testFleet(t, []*PDU{p}, Machine{Name: "m", Outlets: []OutletRef{{"plug", 1}}})
	res, err := f.Cycle(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.cycleLog(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("timed cycles sent: %v, want one of the power-on delay, 3s", got)
	}
	if sw := d.switchLog(); len(sw) != 0 {
		t.Errorf("plain switches sent besides the timed cycle: %+v", sw)
	}
	if d.state(1) != On || res.State != On || !res.Changed {
		t.Errorf("after the cycle: outlet %s, result %+v", d.state(1), res)
	}
}

func TestTimedCycleOffIsAtLeastMinTimedOff(t *testing.T) {
	d := &timedFake{fakeDriver: newFake(1)}
	d.set(1, On)
	p := timedPDU(t, d, 0)
	if err := p.Cycle(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if got := d.cycleLog(); len(got) != 1 || got[0] != minTimedOff {
		t.Errorf("timed cycles sent: %v, want one of %s", got, minTimedOff)
	}
}

func TestTimedCycleWhoseTimerNeverFiresEndsOn(t *testing.T) {
	d := &timedFake{fakeDriver: newFake(1), timerBroken: true}
	d.set(1, On)
	p := timedPDU(t, d, 0)
	f := testFleet(t, []*PDU{p}, Machine{Name: "m", Outlets: []OutletRef{{"plug", 1}}})
	res, err := f.Cycle(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if sw := d.switchLog(); len(sw) != 1 || sw[0].to != On {
		t.Errorf("switches after the timer failed: %+v, want one on", sw)
	}
	if d.state(1) != On || !strings.Contains(strings.Join(res.Notes, ";"), "timer did not switch") {
		t.Errorf("outlet %s, notes %q", d.state(1), res.Notes)
	}
}

func TestTimedCycleOfAnOffOutletOnlySwitchesOn(t *testing.T) {
	d := &timedFake{fakeDriver: newFake(1)}
	p := timedPDU(t, d, 0)
	out, err := p.cycleTimed(t.Context(), 1)
	if err != nil || !out.Changed {
		t.Fatalf("cycle of an off outlet: %+v, %v", out, err)
	}
	if len(d.cycleLog()) != 0 || len(d.switchLog()) != 1 || d.state(1) != On {
		t.Errorf("timed cycles %v, switches %+v, state %s; want only a switch on", d.cycleLog(), d.switchLog(), d.state(1))
	}
}

func TestMachineOnTwoTimedOutletsIsCycledOffThenOn(t *testing.T) {
	d := &timedFake{fakeDriver: newFake(2)}
	d.set(1, On)
	d.set(2, On)
	p := timedPDU(t, d, 0)
	f := testFleet(t, []*PDU{p}, Machine{Name: "m", Outlets: []OutletRef{{"plug", 1}, {"plug", 2}}})
	if _, err := f.Cycle(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	if len(d.cycleLog()) != 0 || len(d.switchLog()) != 4 {
		t.Errorf("timed cycles %v, switches %+v; want both off, then both on", d.cycleLog(), d.switchLog())
	}
}
