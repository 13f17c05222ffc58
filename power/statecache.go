package power

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// StateReader is a Driver that can read the state of some outlets alone,
// without the pending column, meters and PDU-wide readings a Read fetches:
// one varbind per outlet where the protocol allows, in one request. A
// status query needs no more, and a card whose time grows with the objects
// asked for answers it that much sooner. A state that says a command is
// under way reads as the state the outlet is leaving, as in Read.
type StateReader interface {
	// ReadStates returns the outlets asked for, in outlet-number order,
	// with their number, name and state (and Pending where the state
	// column tells it). An outlet the PDU does not have is left out.
	ReadStates(ctx context.Context, outlets []int) ([]Outlet, error)
}

// readFlight is a whole read of the PDU under way (PDU.read).
type readFlight struct {
	done    chan struct{}
	reading Reading
	err     error
}

// stateCache is what the status queries of a PDU read of its outlets'
// states: the states known, and the flights that read them. Its fields but
// known are guarded by the PDU's mu.
//
// At most one state read is in the air (on the worker) and one gathering:
// a query whose outlets are all in the one in the air waits for it; any
// other adds its outlets to the gathering one, whose outlets are fixed only
// when the worker takes it, after the one in the air. So a burst of cold
// queries costs the card at most two requests, and asks for each distinct
// outlet once.
type stateCache struct {
	// known are the states read in the current generation; a switch
	// forgets them (PDU.invalidate). Queries load it without the lock.
	known     atomicStates
	air       *stateFlight
	gathering *stateFlight
}

// knownState is an outlet's state and when it was read.
type knownState struct {
	outlet Outlet
	at     time.Time
}

// stateFlight is one read of outlet states, for everyone waiting on it.
type stateFlight struct {
	want map[int]bool // the outlets asked for: fixed once the worker takes it
	done chan struct{}
	got  map[int]Outlet
	err  error
}

// forget drops the known states and detaches the read in the air: after a
// switch no query may be answered by what was read before it. The
// gathering read is not sent yet, so what it reads is after the switch.
func (c *stateCache) forget() {
	c.known.Store(nil)
	c.air = nil
}

// ReadOutlets returns a reading that holds the named outlets of the PDU
// (their number, name and state; meters only when they come from a whole
// reading), for a status query: look them up with Reading.Outlet, as it
// may hold others (a whole reading answers as it stands). Each outlet
// comes from the cache when it was read less than CacheTTL ago in the
// current generation, by a whole reading or a state read; otherwise the
// query joins a state read (see stateCache). A driver that is not a
// StateReader is read whole, as Read does.
func (p *PDU) ReadOutlets(ctx context.Context, outlets []int) (Reading, error) {
	sr, ok := p.cfg.Driver.(StateReader)
	if !ok {
		return p.Read(ctx)
	}
	if r, ok := p.knownOutlets(outlets); ok {
		return r, nil
	}
	p.mu.Lock()
	// Again under the lock: a read that finished since the look above
	// must not be followed by another request.
	if r, ok := p.knownOutlets(outlets); ok {
		p.mu.Unlock()
		return r, nil
	}
	if p.last.Err != nil {
		// The PDU does not answer: it is read whole until it does, so
		// that its coming back is seen by all (LastPoll, the log).
		p.mu.Unlock()
		return p.Read(ctx)
	}
	if whole := p.flight; whole != nil {
		// A whole read is under way: it has every outlet, and a state
		// read would wait behind it on the worker anyway.
		p.mu.Unlock()
		select {
		case <-whole.done:
			if whole.err != nil {
				return Reading{}, whole.err
			}
			return whole.reading, nil
		case <-ctx.Done():
			return Reading{}, fmt.Errorf("reading PDU %s: %w", p.cfg.Name, ctx.Err())
		}
	}
	f := p.joinStates(sr, outlets)
	p.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return Reading{}, f.err
		}
		var r Reading
		for _, n := range outlets {
			if o, ok := f.got[n]; ok {
				r.Outlets = append(r.Outlets, o)
			}
		}
		return r, nil
	case <-ctx.Done():
		return Reading{}, fmt.Errorf("reading PDU %s: %w", p.cfg.Name, ctx.Err())
	}
}

// knownOutlets answers for outlets from what is known: for each, the newer
// of the whole reading and its state read, when younger than CacheTTL.
func (p *PDU) knownOutlets(outlets []int) (Reading, bool) {
	ttl := p.cfg.CacheTTL
	if ttl <= 0 {
		return Reading{}, false
	}
	now := time.Now()
	whole := p.cached.Load()
	if whole != nil && now.Sub(whole.at) >= ttl {
		whole = nil
	}
	known := p.states.known.Load()
	if whole != nil && !newerThan(known, outlets, whole.at) {
		// The warm route's usual case: the whole reading answers, as
		// it stands, with nothing to copy.
		return whole.reading, true
	}
	r := Reading{}
	for _, n := range outlets {
		var best Outlet
		var at time.Time
		if whole != nil {
			if o, ok := whole.reading.Outlet(n); ok {
				best, at = o, whole.at
			}
		}
		if k, ok := known[n]; ok && now.Sub(k.at) < ttl && k.at.After(at) {
			best, at = k.outlet, k.at
		}
		if at.IsZero() {
			return Reading{}, false
		}
		r.Outlets = append(r.Outlets, best)
	}
	return r, true
}

// joinStates returns the state read that will answer outlets: the one in
// the air when it asks for them all, else the gathering one, started if
// need be. p.mu is held.
func (p *PDU) joinStates(sr StateReader, outlets []int) *stateFlight {
	c := &p.states
	if a := c.air; a != nil && hasAll(a.want, outlets) {
		return a
	}
	g := c.gathering
	if g == nil {
		g = &stateFlight{want: map[int]bool{}, done: make(chan struct{})}
		c.gathering = g
		go p.flyStates(sr, g)
	}
	for _, n := range outlets {
		g.want[n] = true
	}
	return g
}

// flyStates performs state read f once the worker takes it, under its own
// deadline, not a caller's, like a whole read (fly).
func (p *PDU) flyStates(sr StateReader, f *stateFlight) {
	ctx, cancel := context.WithTimeout(context.Background(), max(p.cfg.ReadTimeout, readGoesOn))
	defer cancel()
	err := p.do(ctx, func() {
		// Taken by the worker: from here on the outlets are fixed, and
		// queries wanting others gather for the next read.
		p.mu.Lock()
		if p.states.gathering == f {
			p.states.gathering = nil
		}
		p.states.air = f
		gen := p.gen
		outlets := slices.Sorted(maps.Keys(f.want))
		p.mu.Unlock()
		start := time.Now()
		got, err := sr.ReadStates(ctx, outlets)
		p.cfg.Observer.DeviceCall(p.cfg.Name, "read", time.Since(start), err)
		f.got = make(map[int]Outlet, len(got))
		for _, o := range got {
			f.got[o.Number] = o
		}
		f.err = err
		// Known before the worker takes the next read: a query for
		// these outlets from now on is answered by them, never asks
		// again.
		p.mu.Lock()
		if err == nil && p.gen == gen {
			p.states.remember(f.got, time.Now())
		}
		if p.states.air == f {
			p.states.air = nil
		}
		p.mu.Unlock()
	})
	if f.err == nil && err != nil {
		f.err = err
	}
	if f.err != nil {
		f.err = fmt.Errorf("reading PDU %s: %w", p.cfg.Name, f.err)
	}
	p.mu.Lock()
	if p.states.gathering == f {
		p.states.gathering = nil // never taken by the worker (shutting down)
	}
	wasFailing := p.last.Err != nil
	if f.err != nil {
		// Told as a whole read's failure is; its success is not, as it
		// holds no whole reading (the next whole read tells it).
		p.last.Err = f.err
	}
	p.mu.Unlock()
	close(f.done)
	if f.err != nil && !wasFailing {
		p.log.Warn("PDU cannot be read", "error", f.err.Error())
	}
}

// remember adds what a state read found to the known states. p.mu is held.
func (c *stateCache) remember(got map[int]Outlet, at time.Time) {
	old := c.known.Load()
	known := make(map[int]knownState, len(old)+len(got))
	maps.Copy(known, old)
	for n, o := range got {
		known[n] = knownState{outlet: o, at: at}
	}
	c.known.Store(known)
}

// newerThan reports whether known has a state of one of outlets read after at.
func newerThan(known map[int]knownState, outlets []int, at time.Time) bool {
	for _, n := range outlets {
		if k, ok := known[n]; ok && k.at.After(at) {
			return true
		}
	}
	return false
}

func hasAll(set map[int]bool, outlets []int) bool {
	for _, n := range outlets {
		if !set[n] {
			return false
		}
	}
	return true
}

// atomicStates holds the known states, replaced whole by each state read so
// that queries read them without a lock.
type atomicStates struct {
	p atomic.Pointer[map[int]knownState]
}

func (a *atomicStates) Load() map[int]knownState {
	if m := a.p.Load(); m != nil {
		return *m
	}
	return nil
}

func (a *atomicStates) Store(m map[int]knownState) {
	if m == nil {
		a.p.Store(nil)
		return
	}
	a.p.Store(&m)
}
