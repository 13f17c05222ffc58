package power

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// fakeDriver is an in-memory PDU. Outlets switch when told (or, with lag set,
// after that many reads, like an APC card whose command is still pending).
type fakeDriver struct {
	mu       sync.Mutex
	states   map[int]State
	pending  map[int]int // outlet → reads left before the switch shows
	want     map[int]State
	lag      int
	switches []switchRecord

	reads    atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64

	readGate chan struct{} // when set, Read waits for a value (or ctx)
	readErr  error
	// switchAnswer is returned by Switch; switchWorks decides whether the
	// outlet really changes.
	switchAnswer error
	switchBroken bool
	// lose is how many of the next switches are lost on the way: not
	// carried out, and answered with ErrNoAnswer.
	lose int
}

type switchRecord struct {
	outlet int
	to     State
	at     time.Time
}

func newFake(outlets int) *fakeDriver {
	d := &fakeDriver{states: map[int]State{}, pending: map[int]int{}, want: map[int]State{}}
	for n := 1; n <= outlets; n++ {
		d.states[n] = Off
	}
	return d
}

func (d *fakeDriver) enter() func() {
	n := d.inFlight.Add(1)
	for {
		m := d.maxIn.Load()
		if n <= m || d.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	return func() { d.inFlight.Add(-1) }
}

func (d *fakeDriver) Read(ctx context.Context) (Reading, error) {
	defer d.enter()()
	d.reads.Add(1)
	if d.readGate != nil {
		select {
		case <-d.readGate:
		case <-ctx.Done():
			return Reading{}, ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.readErr != nil {
		return Reading{}, d.readErr
	}
	var r Reading
	for n := 1; n <= len(d.states); n++ {
		if left, ok := d.pending[n]; ok {
			if left == 0 {
				d.states[n] = d.want[n]
				delete(d.pending, n)
			} else {
				d.pending[n] = left - 1
			}
		}
		_, pend := d.pending[n]
		r.Outlets = append(r.Outlets, Outlet{Number: n, State: d.states[n], Pending: pend})
	}
	return r, nil
}

func (d *fakeDriver) Switch(ctx context.Context, n int, to State) error {
	defer d.enter()()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.switches = append(d.switches, switchRecord{n, to, time.Now()})
	if d.lose > 0 {
		d.lose--
		return fmt.Errorf("switching outlet %d: %w", n, ErrNoAnswer)
	}
	if !d.switchBroken && !errors.Is(d.switchAnswer, ErrRefused) {
		if d.lag == 0 {
			d.states[n] = to
		} else {
			d.pending[n], d.want[n] = d.lag, to
		}
	}
	return d.switchAnswer
}

func (d *fakeDriver) Close() error { return nil }

func (d *fakeDriver) set(n int, s State) {
	d.mu.Lock()
	d.states[n] = s
	d.mu.Unlock()
}

func (d *fakeDriver) state(n int) State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.states[n]
}

func (d *fakeDriver) switchLog() []switchRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]switchRecord(nil), d.switches...)
}
