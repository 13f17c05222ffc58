package power

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// stateFake is a fakeDriver that can read outlet states alone
// (StateReader), counting the reads and the outlets each asked for.
type stateFake struct {
	*fakeDriver
	mu    sync.Mutex
	asked [][]int
	gate  chan struct{} // when set, each ReadStates waits for a value (or ctx)
}

func newStateFake(outlets int) *stateFake { return &stateFake{fakeDriver: newFake(outlets)} }

func (d *stateFake) ReadStates(ctx context.Context, outlets []int) ([]Outlet, error) {
	defer d.enter()()
	d.mu.Lock()
	d.asked = append(d.asked, slices.Clone(outlets))
	gate := d.gate
	d.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	d.fakeDriver.mu.Lock()
	defer d.fakeDriver.mu.Unlock()
	var os []Outlet
	for _, n := range outlets {
		if s, ok := d.states[n]; ok {
			os = append(os, Outlet{Number: n, State: s})
		}
	}
	return os, nil
}

// calls returns the outlets each state read asked for.
func (d *stateFake) calls() [][]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.asked)
}

func statePDU(t *testing.T, d *stateFake) *PDU {
	t.Helper()
	return testPDU(t, "s", d.fakeDriver, func(c *PDUConfig) { c.Driver = d })
}

// askedOnce checks that the state reads asked for each of want exactly
// once, and for nothing else.
func askedOnce(t *testing.T, calls [][]int, want []int) {
	t.Helper()
	var all []int
	for _, c := range calls {
		all = append(all, c...)
	}
	slices.Sort(all)
	if !slices.Equal(all, want) {
		t.Errorf("the state reads asked for %v (reads %v), want each of %v once", all, calls, want)
	}
}

// A burst of cold queries for distinct outlets costs at most two state
// reads: the first query's (or of those that came before the worker took
// it), then the union of the rest, gathered while the first was in the air. Each outlet is asked for once, and every query answered.
func TestColdBurstCostsAtMostTwoStateReads(t *testing.T) {
	const n = 24
	d := newStateFake(n)
	d.gate = make(chan struct{})
	d.set(7, On)
	p := statePDU(t, d)
	var wg sync.WaitGroup
	got := make([]Outlet, n+1)
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			r, err := p.ReadOutlets(t.Context(), []int{i})
			if err != nil || len(r.Outlets) != 1 {
				t.Errorf("outlet %d: %v, %v", i, r.Outlets, err)
				return
			}
			got[i] = r.Outlets[0]
		})
	}
	// Let the first read go once every other query has gathered.
	waitFor(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		gathered := 0
		for _, f := range []*stateFlight{p.states.air, p.states.gathering} {
			if f != nil {
				gathered += len(f.want)
			}
		}
		return p.states.air != nil && gathered == n
	})
	close(d.gate)
	wg.Wait()
	calls := d.calls()
	if len(calls) < 1 || len(calls) > 2 {
		t.Errorf("a burst of %d cold queries cost %d state reads %v, want 1 or 2", n, len(calls), calls)
	}
	askedOnce(t, calls, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})
	if got[7].State != On || got[8].State != Off {
		t.Errorf("outlets 7 and 8 read %s and %s, want on and off", got[7].State, got[8].State)
	}
	if d.reads.Load() != 0 {
		t.Errorf("status queries cost %d whole reads, want none", d.reads.Load())
	}
	if m := d.maxIn.Load(); m != 1 {
		t.Errorf("%d requests at the device at once, want 1", m)
	}
}

// Many queries for one outlet ask the device for it once: those that come
// while it is read wait for that read, those after are answered from the
// cache.
func TestOneOutletAskedByManyIsReadOnce(t *testing.T) {
	d := newStateFake(8)
	d.gate = make(chan struct{})
	p := statePDU(t, d)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := p.ReadOutlets(t.Context(), []int{3}); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, func() bool { return len(d.calls()) == 1 })
	close(d.gate)
	wg.Wait()
	if calls := d.calls(); len(calls) != 1 || !slices.Equal(calls[0], []int{3}) {
		t.Errorf("50 queries for outlet 3 cost state reads %v, want one of [3]", calls)
	}
}

// A query whose outlets are all in the read in the air waits for that
// read; one that wants another outlet gathers for the next.
func TestQueryJoinsTheReadInTheAir(t *testing.T) {
	d := newStateFake(8)
	d.gate = make(chan struct{})
	p := statePDU(t, d)
	first := make(chan error, 1)
	go func() {
		_, err := p.ReadOutlets(t.Context(), []int{1, 2})
		first <- err
	}()
	waitFor(t, func() bool { return len(d.calls()) == 1 })
	p.mu.Lock()
	joined := p.joinStates(d, []int{2})
	other := p.joinStates(d, []int{2, 5})
	air, gathering := p.states.air, p.states.gathering
	p.mu.Unlock()
	if joined != air {
		t.Error("a query for outlet 2 did not join the read of outlets 1 and 2 in the air")
	}
	if other != gathering || other == air {
		t.Error("a query for outlets 2 and 5 did not gather for the next read")
	}
	close(d.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-joined.done
	<-other.done
	if calls := d.calls(); len(calls) != 2 || !slices.Equal(calls[1], []int{2, 5}) {
		t.Errorf("state reads %v, want [1 2] then [2 5]", calls)
	}
	if r, err := p.ReadOutlets(t.Context(), []int{1, 2, 5}); err != nil || len(r.Outlets) != 3 {
		t.Errorf("outlets 1, 2 and 5 after their reads: %v, %v", r.Outlets, err)
	}
	if n := len(d.calls()); n != 2 {
		t.Errorf("a query for outlets just read cost a state read (%d in all)", n)
	}
}

// A switch makes the next status query go to the device, and a state read
// that was in the air when it happened neither answers later queries nor
// is kept.
func TestSwitchForgetsTheStates(t *testing.T) {
	d := newStateFake(4)
	p := statePDU(t, d)
	for range 3 {
		if _, err := p.ReadOutlets(t.Context(), []int{2}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.calls()); n != 1 {
		t.Fatalf("three queries within the TTL cost %d state reads, want 1", n)
	}
	if _, err := p.Switch(t.Context(), 2, On); err != nil {
		t.Fatal(err)
	}
	r, err := p.ReadOutlets(t.Context(), []int{2})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.calls()); n != 1 {
		// The switch's read-back is a whole reading, as fresh as can be.
		t.Errorf("after the switch the query cost a state read though the read-back was whole (%d reads)", n)
	}
	if o, _ := r.Outlet(2); o.State != On {
		t.Errorf("after switching outlet 2 on a query reads %s", o.State)
	}

	// A read in the air across a switch: the query after the switch is
	// not answered by it, and what it read is not kept.
	d.mu.Lock()
	d.gate = make(chan struct{})
	d.mu.Unlock()
	p.cached.Store(nil) // the read-back's whole reading aside
	before := make(chan error, 1)
	go func() {
		_, err := p.ReadOutlets(t.Context(), []int{3})
		before <- err
	}()
	waitFor(t, func() bool { return len(d.calls()) == 2 })
	p.invalidate()
	after := make(chan error, 1)
	go func() {
		_, err := p.ReadOutlets(t.Context(), []int{3})
		after <- err
	}()
	waitFor(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.states.gathering != nil
	})
	close(d.gate)
	if err := <-before; err != nil {
		t.Fatal(err)
	}
	if err := <-after; err != nil {
		t.Fatal(err)
	}
	if n := len(d.calls()); n != 3 {
		t.Errorf("a query after a switch was answered by the read from before it: %d state reads, want 3", n)
	}
}

// A whole reading (the poller's) answers status queries within the TTL;
// a driver that cannot read states alone is read whole.
func TestWholeReadingAnswersStatus(t *testing.T) {
	d := newStateFake(4)
	p := statePDU(t, d)
	if _, err := p.ReadFresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	r, err := p.ReadOutlets(t.Context(), []int{1, 4})
	_, has1 := r.Outlet(1)
	_, has4 := r.Outlet(4)
	if err != nil || !has1 || !has4 {
		t.Fatalf("outlets 1 and 4: %v, %v", r.Outlets, err)
	}
	if n := len(d.calls()); n != 0 {
		t.Errorf("a query within the TTL of a whole reading cost %d state reads", n)
	}

	plain := newFake(4)
	q := testPDU(t, "plain", plain, nil)
	f := testFleet(t, []*PDU{q}, Machine{Name: "m", Outlets: []OutletRef{{PDU: "plain", Outlet: 2}}})
	if st, err := f.Status(t.Context(), "m"); err != nil || st.State != Off {
		t.Fatalf("status of m: %+v, %v", st, err)
	}
	if n := plain.reads.Load(); n != 1 {
		t.Errorf("a status query through a driver without ReadStates cost %d whole reads, want 1", n)
	}
}

// A machine's status asks its PDU for its own outlets' states only.
func TestStatusAsksForItsOutletsOnly(t *testing.T) {
	d := newStateFake(8)
	p := statePDU(t, d)
	f := testFleet(t, []*PDU{p}, Machine{Name: "m", Outlets: []OutletRef{{PDU: "s", Outlet: 5}, {PDU: "s", Outlet: 6}}})
	d.set(6, On)
	st, err := f.Status(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != On {
		t.Errorf("m reads %s with outlet 6 on", st.State)
	}
	if calls := d.calls(); len(calls) != 1 || !slices.Equal(calls[0], []int{5, 6}) {
		t.Errorf("the status of m cost state reads %v, want one of [5 6]", calls)
	}
	if d.reads.Load() != 0 {
		t.Errorf("the status of m cost %d whole reads, want none", d.reads.Load())
	}
}

// An action reads the machine whole before it switches, the read that
// PDU.Switch shares: no state read on the switch path.
func TestActionsReadWhole(t *testing.T) {
	d := newStateFake(4)
	p := statePDU(t, d)
	f := testFleet(t, []*PDU{p}, Machine{Name: "m", Outlets: []OutletRef{{PDU: "s", Outlet: 3}}})
	if _, err := f.On(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	if calls := d.calls(); len(calls) != 0 {
		t.Errorf("switching m on cost state reads %v, want none", calls)
	}
	if d.state(3) != On {
		t.Errorf("outlet 3 is %s after on", d.state(3))
	}
}

// A state read that fails marks the PDU failing, as a failed read does;
// while it fails, status queries read it whole, so that its coming back
// shows in LastPoll.
func TestFailingPDUIsReadWhole(t *testing.T) {
	d := newStateFake(4)
	d.readErr = errors.New("no answer")
	failing := &failingStates{stateFake: d}
	p := testPDU(t, "s", d.fakeDriver, func(c *PDUConfig) { c.Driver = failing })
	if _, err := p.ReadOutlets(t.Context(), []int{1}); err == nil {
		t.Fatal("a failed state read answered no error")
	}
	if p.LastPoll().Err == nil {
		t.Error("a failed state read left LastPoll without an error")
	}
	d.fakeDriver.mu.Lock()
	d.readErr = nil
	d.fakeDriver.mu.Unlock()
	if _, err := p.ReadOutlets(t.Context(), []int{1}); err != nil {
		t.Fatal(err)
	}
	if n := d.reads.Load(); n != 1 {
		t.Errorf("a status query of a failing PDU cost %d whole reads, want 1", n)
	}
	if poll := p.LastPoll(); poll.Err != nil || poll.At.IsZero() {
		t.Errorf("LastPoll after the PDU answers again: %+v", poll)
	}
}

// failingStates fails its state reads while its fake's readErr is set.
type failingStates struct{ *stateFake }

func (d *failingStates) ReadStates(ctx context.Context, outlets []int) ([]Outlet, error) {
	d.fakeDriver.mu.Lock()
	err := d.readErr
	d.fakeDriver.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return d.stateFake.ReadStates(ctx, outlets)
}
