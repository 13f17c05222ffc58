package power

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// meteredFake is a fakeDriver whose outlets that are on each draw amps[n],
// metered per outlet and in all.
type meteredFake struct {
	*fakeDriver
	mu   sync.Mutex
	amps map[int]float64
}

func (d *meteredFake) Read(ctx context.Context) (Reading, error) {
	r, err := d.fakeDriver.Read(ctx)
	if err != nil {
		return r, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	total := 0.0
	for i, o := range r.Outlets {
		a := 0.0
		if o.State == On {
			a = d.amps[o.Number]
		}
		total += a
		r.Outlets[i].CurrentAmperes = &a
	}
	r.Meter.CurrentAmperes = []float64{total}
	return r, nil
}

func (d *meteredFake) draw(n int, a float64) {
	d.mu.Lock()
	d.amps[n] = a
	d.mu.Unlock()
}

// A power-on that would take the load over max_amperes waits, and goes
// through once another outlet's going off makes room; with no room by
// budget_wait it is refused with an error that gives the figures, and
// nothing is sent.
func TestBudgetWaitsThenAdmitsOrRefuses(t *testing.T) {
	d := &meteredFake{fakeDriver: newFake(3), amps: map[int]float64{1: 3, 2: 3, 3: 3}}
	d.set(1, On)
	d.set(2, On)
	p := testPDU(t, "r", d.fakeDriver, func(c *PDUConfig) {
		c.Driver, c.CacheTTL, c.MaxAmperes, c.BudgetWait = d, 0, 8, 5*time.Second
	})
	p.SetExpectedAmperes(map[int]float64{3: 3})

	done := make(chan error, 1)
	go func() { _, err := p.Switch(t.Context(), 3, On); done <- err }()
	// It waits: 6 A drawn plus 3 A expected is over 8 A.
	waitFor(t, func() bool { return d.reads.Load() >= 3 })
	if n := len(d.switchLog()); n != 0 {
		t.Fatalf("%d switches while over budget, want 0", n)
	}
	if _, err := p.Switch(t.Context(), 1, Off); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the power-on after room was made: %v", err)
	}
	if d.state(3) != On {
		t.Errorf("outlet 3 is %s, want on", d.state(3))
	}

	// Now 6 A again, with outlet 3 just switched on: outlet 1 (3 A) does
	// not fit, and budget_wait passes.
	b, _ := p.Budget()
	if b.LoadAmperes == nil || *b.LoadAmperes != 6 || b.MaxAmperes != 8 {
		t.Errorf("budget %+v, want load 6 of 8", b)
	}
	short, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p.budget.wait = 300 * time.Millisecond
	_, err := p.Switch(short, 1, On)
	if !errors.Is(err, ErrOverBudget) {
		t.Fatalf("err = %v, want ErrOverBudget", err)
	}
	for _, want := range []string{"switching r/1 on: over the PDU's power budget: the PDU draws 6.00 A", "outlet 1 is expected to draw 3.00 A, and max_amperes is 8", "budget_wait"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to say %q", err, want)
		}
	}
	if d.state(1) != Off {
		t.Errorf("outlet 1 was switched on over the budget")
	}
}

// An outlet's expected draw is learned from its meter after its last
// power-on, and counted for a power-on just made until it shows.
func TestBudgetLearnsExpectedDraw(t *testing.T) {
	d := &meteredFake{fakeDriver: newFake(2), amps: map[int]float64{1: 2.5, 2: 1}}
	p := testPDU(t, "r", d.fakeDriver, func(c *PDUConfig) {
		c.Driver, c.CacheTTL, c.MaxAmperes, c.BudgetWait = d, 0, 10, time.Second
	})
	if _, err := p.Switch(t.Context(), 1, On); err != nil {
		t.Fatal(err)
	}
	p.ReadFresh(t.Context())
	d.draw(1, 2) // it settles lower; the peak stays what it is expected to draw
	p.ReadFresh(t.Context())
	b, _ := p.Budget()
	if b.Expected[1] != 2.5 {
		t.Errorf("outlet 1 expected to draw %v A, want 2.5 (its peak since the power-on)", b.Expected[1])
	}
	if b.ReservedAmperes != 0.5 {
		t.Errorf("reserved %v A, want 0.5 (2.5 expected, 2 shown, switched on just now)", b.ReservedAmperes)
	}
	// Off and on again: the learned draw carries over to the next power-on.
	p.Switch(t.Context(), 1, Off)
	p.Switch(t.Context(), 1, On)
	b, _ = p.Budget()
	if b.Expected[1] != 2.5 {
		t.Errorf("after a new power-on, outlet 1 expected to draw %v A, want 2.5 (learned before)", b.Expected[1])
	}
}

// With no inrush delay, power-ons on a PDU with a budget are still
// admitted one at a time: two asked for at once that do not both fit are
// not both let through on the same reading.
func TestBudgetAdmitsOneAtATimeWithoutInrushDelay(t *testing.T) {
	d := &meteredFake{fakeDriver: newFake(3), amps: map[int]float64{1: 3, 2: 3, 3: 3}}
	d.set(1, On)
	p := testPDU(t, "r", d.fakeDriver, func(c *PDUConfig) {
		c.Driver, c.CacheTTL, c.MaxAmperes, c.BudgetWait = d, 0, 8, 200*time.Millisecond
	})
	p.SetExpectedAmperes(map[int]float64{2: 3, 3: 3})
	errs := make(chan error, 2)
	for _, n := range []int{2, 3} {
		go func() { _, err := p.Switch(t.Context(), n, On); errs <- err }()
	}
	var refused int
	for range 2 {
		if err := <-errs; errors.Is(err, ErrOverBudget) {
			refused++
		} else if err != nil {
			t.Error(err)
		}
	}
	if on := len(ons(d.switchLog())); on != 1 || refused != 1 {
		t.Errorf("%d switched on and %d refused, want 1 and 1 (3 A drawn, 3 A more each, max 8 A)", on, refused)
	}
}
