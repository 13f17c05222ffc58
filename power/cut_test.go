package power

import (
	"sync"
	"testing"
)

// Cut switches the outlets off with no clean shutdown, even where one is
// configured, and leaves a machine that is off alone.
func TestCutSkipsTheCleanShutdown(t *testing.T) {
	d := newFake(1)
	d.set(1, On)
	g := &fakeGraceful{rep: ShutdownReport{Down: true}}
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}, Graceful: g})
	res, err := f.Cut(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if g.calls != 0 || d.state(1) != Off || res.State != Off || res.Shutdown != "cut" || !res.Changed {
		t.Errorf("cut: shutdown ran %d times, outlet %s, result %+v", g.calls, d.state(1), res)
	}
	res, err = f.Cut(t.Context(), "m")
	if err != nil || res.Changed || len(d.switchLog()) != 1 {
		t.Errorf("cut of a machine that is off: %+v, %v, switches %+v", res, err, d.switchLog())
	}
}

// Underway names the action under way, and nothing once it is done.
func TestUnderway(t *testing.T) {
	d := newFake(1)
	d.lag = 3
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}})
	if a, ok := f.Underway("m"); ok {
		t.Errorf("before any action: %s under way", a)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := f.On(t.Context(), "m"); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, func() bool { return len(d.switchLog()) == 1 })
	if a, ok := f.Underway("m"); !ok || a != ActionOn {
		t.Errorf("while switching on: %q, %v; want on", a, ok)
	}
	wg.Wait()
	if a, ok := f.Underway("m"); ok {
		t.Errorf("after the on: %s under way", a)
	}
	if _, ok := f.Underway("ghost"); ok {
		t.Error("an unknown machine has an action under way")
	}
}
