package power

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// queued is how many power-ons wait at p's inrush guard: in the queue, or
// holding the turn while the delay since the last one passes.
func (p *PDU) queued() int {
	p.inrush.mu.Lock()
	defer p.inrush.mu.Unlock()
	n := len(p.inrush.queue)
	if p.inrush.busy {
		n++
	}
	return n
}

// turnsTaken is how many power-ons have asked p's inrush guard for a turn.
func (p *PDU) turnsTaken() int {
	p.inrush.mu.Lock()
	defer p.inrush.mu.Unlock()
	return p.inrush.taken
}

// ons returns the power-on switches in log.
func ons(log []switchRecord) []switchRecord {
	var out []switchRecord
	for _, s := range log {
		if s.to == On {
			out = append(out, s)
		}
	}
	return out
}

// Machines powered on at once are switched on one after another, at least
// the inrush delay apart, and every one of them ends on.
func TestInrushSpacesConcurrentPowerOns(t *testing.T) {
	const n, delay = 6, 60 * time.Millisecond
	d := newFake(n)
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.InrushDelay = delay })
	var machines []Machine
	for i := 1; i <= n; i++ {
		machines = append(machines, Machine{Name: fmt.Sprintf("m%d", i), Outlets: []OutletRef{{PDU: "r", Outlet: i}}})
	}
	f := testFleet(t, []*PDU{p}, machines...)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, m := range machines {
		wg.Go(func() { _, errs[i] = f.On(t.Context(), m.Name) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", machines[i].Name, err)
		}
	}
	on := ons(d.switchLog())
	if len(on) != n {
		t.Fatalf("%d power-ons sent, want %d: %+v", len(on), n, on)
	}
	for i := 1; i < len(on); i++ {
		if gap := on[i].at.Sub(on[i-1].at); gap < delay {
			t.Errorf("outlet %d switched on %s after outlet %d, want at least %s", on[i].outlet, gap, on[i-1].outlet, delay)
		}
	}
	for i := 1; i <= n; i++ {
		if d.state(i) != On {
			t.Errorf("outlet %d is %s, want on", i, d.state(i))
		}
	}
}

// Power-ons take their turns in the order they arrived, and an off asked
// for while they wait is carried out at once, ahead of them.
func TestInrushKeepsArrivalOrderAndLetsOffsThrough(t *testing.T) {
	const delay = 80 * time.Millisecond
	d := newFake(6)
	d.set(6, On)
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.InrushDelay = delay })
	var wg sync.WaitGroup
	errs := make([]error, 6)
	// Outlet 1 takes the first turn; 2 to 5 queue behind it one by one.
	wg.Go(func() { _, errs[0] = p.Switch(t.Context(), 1, On) })
	waitFor(t, func() bool { return len(d.switchLog()) == 1 })
	for i := 2; i <= 5; i++ {
		wg.Go(func() { _, errs[i-1] = p.Switch(t.Context(), i, On) })
		waitFor(t, func() bool { return p.turnsTaken() == i })
	}
	// An off while they wait.
	if _, err := p.Switch(t.Context(), 6, Off); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs[:5] {
		if err != nil {
			t.Errorf("outlet %d: %v", i+1, err)
		}
	}
	log := d.switchLog()
	var order []int
	offAt := -1
	for i, s := range log {
		if s.to == On {
			order = append(order, s.outlet)
		} else if s.outlet == 6 {
			offAt = i
		}
	}
	if fmt.Sprint(order) != "[1 2 3 4 5]" {
		t.Errorf("outlets switched on in the order %v, want [1 2 3 4 5] (as asked)", order)
	}
	if offAt < 0 || offAt >= len(log)-1 {
		t.Errorf("the off of outlet 6 was sent at %d of %d switches, want before the last power-on: %+v", offAt, len(log), log)
	}
}

// A power-on whose turn cannot come before its deadline is refused at once,
// with an error that says why, and nothing is sent for it.
func TestInrushQueueTooLongIsAClearError(t *testing.T) {
	const delay = time.Second
	d := newFake(4)
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.InrushDelay = delay })
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	wg.Go(func() { p.Switch(ctx, 1, On) })
	waitFor(t, func() bool { return len(d.switchLog()) == 1 })
	wg.Go(func() { p.Switch(ctx, 2, On) })
	waitFor(t, func() bool { return p.queued() == 1 })

	short, cancelShort := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancelShort()
	_, err := p.Switch(short, 3, On)
	if !errors.Is(err, ErrInrushQueue) {
		t.Fatalf("err = %v, want ErrInrushQueue", err)
	}
	want := "switching r/3 on: too many power-ons queued at the PDU: 1 power-on(s) of PDU r are ahead of this one, 1s apart (inrush_delay)"
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("err = %q, want it to begin %q", got, want)
	}
	wg.Wait()
	for _, s := range d.switchLog() {
		if s.outlet == 3 {
			t.Errorf("outlet 3 was switched although its power-on was refused: %+v", s)
		}
	}
}

// A caller that gives up while waiting for its turn leaves the queue, and
// the power-ons behind it go on.
func TestInrushCallerGivingUpLeavesTheQueue(t *testing.T) {
	const delay = 200 * time.Millisecond
	d := newFake(3)
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.InrushDelay = delay })
	var wg sync.WaitGroup
	wg.Go(func() { p.Switch(t.Context(), 1, On) })
	waitFor(t, func() bool { return len(d.switchLog()) == 1 })
	ctx, cancel := context.WithCancel(t.Context())
	var gaveUp error
	wg.Go(func() { _, gaveUp = p.Switch(ctx, 2, On) })
	waitFor(t, func() bool { return p.queued() == 1 })
	var third error
	wg.Go(func() { _, third = p.Switch(t.Context(), 3, On) })
	waitFor(t, func() bool { return p.queued() == 2 })
	cancel()
	wg.Wait()
	if !errors.Is(gaveUp, context.Canceled) {
		t.Errorf("outlet 2: err = %v, want context.Canceled", gaveUp)
	}
	if third != nil {
		t.Errorf("outlet 3: %v", third)
	}
	if d.state(2) != Off || d.state(3) != On {
		t.Errorf("outlets 2, 3 are %s, %s; want off (given up), on", d.state(2), d.state(3))
	}
}

// Without an inrush delay, nothing waits.
func TestNoInrushDelayTakesNoTurn(t *testing.T) {
	d := newFake(1)
	p := testPDU(t, "r", d, nil)
	if _, err := p.Switch(t.Context(), 1, On); err != nil {
		t.Fatal(err)
	}
	if p.queued() != 0 {
		t.Errorf("the guard holds a turn with no delay configured")
	}
}

// With phases named, each has a guard of its own: a power-on on one phase
// does not wait behind those queued on another, while those of one phase
// stay inrush_delay apart.
func TestInrushPerPhase(t *testing.T) {
	const delay = 400 * time.Millisecond
	d := newFake(4)
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.InrushDelay, c.Phases = delay, [][]int{{1, 2}, {3, 4}} })
	var wg sync.WaitGroup
	errs := make([]error, 5)
	wg.Go(func() { _, errs[1] = p.Switch(t.Context(), 1, On) })
	waitFor(t, func() bool { return len(d.switchLog()) == 1 })
	wg.Go(func() { _, errs[2] = p.Switch(t.Context(), 2, On) })
	waitFor(t, func() bool { g := p.guard(2); g.mu.Lock(); defer g.mu.Unlock(); return g.taken == 2 })
	// Outlet 3 is on the other phase: it goes before outlet 2's turn comes.
	if _, err := p.Switch(t.Context(), 3, On); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var order []int
	at := map[int]time.Time{}
	for _, s := range ons(d.switchLog()) {
		order = append(order, s.outlet)
		at[s.outlet] = s.at
	}
	if fmt.Sprint(order) != "[1 3 2]" {
		t.Errorf("switched on in the order %v, want [1 3 2]: outlet 3's phase has no queue", order)
	}
	if gap := at[2].Sub(at[1]); gap < delay {
		t.Errorf("outlets 1 and 2, one phase, switched on %s apart, want at least %s", gap, delay)
	}
}
