package power

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// PDUConfig is how one PDU is driven.
type PDUConfig struct {
	Name   string
	Driver Driver
	// PowerOnDelay is the least time an outlet stays off before it is
	// switched on again.
	PowerOnDelay time.Duration
	// InrushDelay spaces the PDU's power-ons (inrush.go); MaxAmperes, when
	// more than 0, is its power budget, waited on for BudgetWait (budget.go).
	InrushDelay time.Duration
	MaxAmperes  float64
	BudgetWait  time.Duration
	// MaxAmperesPerPhase caps the load of each of Phases (phasebudget.go).
	MaxAmperesPerPhase float64
	// Restore puts outlets back after a restart (restore.go); Phases
	// lists each phase's outlets, each with an inrush guard (inrush.go).
	Restore bool
	Phases  [][]int
	// OffTimes, when set, keeps when each outlet went off across restarts,
	// so that the power-on delay holds across them too.
	OffTimes OffTimes
	// SwitchTimeout bounds the read-back that verifies a switch.
	SwitchTimeout time.Duration
	// ReadTimeout bounds how long one read of the PDU is waited for,
	// retries included. The read itself may go on for up to
	// readGoesOn, for whoever asks next: a slow card's first read, which
	// detects it (two dozen requests under SNMPv1), takes longer than
	// any one query waits, and cut short it would start again from
	// nothing every time. A silent card fails a read at its first
	// request's timeout, however long this is.
	ReadTimeout time.Duration
	// CacheTTL is how long a reading answers queries before the PDU is asked
	// again. MAAS queries after every action and polls in the background.
	CacheTTL time.Duration
	Logger   *slog.Logger
	Observer Observer
}

// readGoesOn is how long a read of the PDU may go on, however long its
// callers wait (see PDUConfig.ReadTimeout).
const readGoesOn = 2 * time.Minute

// PDU is one power distribution unit as the rest of the program sees it.
//
// All traffic to the device goes through one worker goroutine, one request at
// a time: gosnmp's client is not safe for concurrent use, and APC management
// cards serve one request at a time anyway. Reads are coalesced and cached,
// and every switch is verified by reading the outlet back.
type PDU struct {
	cfg  PDUConfig
	log  *slog.Logger
	jobs chan func()
	quit chan struct{}
	done chan struct{}

	inrush *inrushGuard
	phases map[int]*inrushGuard // outlet → its phase's guard
	watch  *outletWatch
	budget *budget // nil: no max_amperes

	closeOnce sync.Once
	closeErr  error

	// cached is the last good reading of the current generation. Queries
	// load it without taking mu, so that a burst of them answered from
	// memory never queues on a lock; it is stored only under mu, where
	// the generation is checked.
	cached atomic.Pointer[readResult]

	mu      sync.Mutex
	gen     uint64      // bumped by every switch: readings from before it are stale
	flight  *readFlight // the read under way, if any
	states  stateCache  // the status queries' reads of outlet states (statecache.go)
	lastOff map[int]time.Time
	last    Poll          // the outcome of the latest read
	wait    time.Duration // how long verification waits between read-backs
}

type readResult struct {
	reading Reading
	at      time.Time
}

// NewPDU starts the PDU's worker. Close stops it.
func NewPDU(cfg PDUConfig) *PDU {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 5 * time.Second
	}
	if cfg.SwitchTimeout <= 0 {
		cfg.SwitchTimeout = 20 * time.Second
	}
	p := &PDU{
		cfg:     cfg,
		log:     cfg.Logger.With("pdu", cfg.Name),
		jobs:    make(chan func()),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		lastOff: map[int]time.Time{},
		wait:    100 * time.Millisecond,
		inrush:  newInrushGuard(cfg.Name, cfg.InrushDelay, cfg.budgeted()),
		phases:  phaseGuards(cfg.Name, cfg.InrushDelay, cfg.budgeted(), cfg.Phases),
		watch:   newOutletWatch(cfg.Name),
	}
	if cfg.OffTimes != nil {
		for n, at := range cfg.OffTimes.Load(cfg.Name) {
			p.lastOff[n] = at
		}
	}
	p.budget = newPDUBudget(cfg)
	go p.work()
	return p
}

// Name is the PDU's configured name.
func (p *PDU) Name() string { return p.cfg.Name }

// PowerOnDelay is the PDU's configured power-on delay.
func (p *PDU) PowerOnDelay() time.Duration { return p.cfg.PowerOnDelay }

func (p *PDU) work() {
	defer close(p.done)
	for {
		select {
		case job := <-p.jobs:
			job()
		case <-p.quit:
			return
		}
	}
}

// Close stops the worker and closes the driver. Later calls do nothing.
func (p *PDU) Close() error {
	p.closeOnce.Do(func() {
		close(p.quit)
		<-p.done
		p.closeErr = p.cfg.Driver.Close()
	})
	return p.closeErr
}

// do runs fn on the worker and waits for it. If ctx ends while fn waits in
// the queue, fn never runs.
func (p *PDU) do(ctx context.Context, fn func()) error {
	ran := make(chan struct{})
	job := func() {
		defer close(ran)
		if ctx.Err() == nil {
			fn()
		}
	}
	select {
	case p.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.quit:
		return errors.New("PDU is shutting down")
	}
	<-ran
	return ctx.Err()
}

// Read returns a reading of every outlet, from the cache when it is younger
// than the PDU's CacheTTL. Concurrent callers share one request to the device.
func (p *PDU) Read(ctx context.Context) (Reading, error) {
	return p.read(ctx, p.cfg.CacheTTL)
}

// ReadFresh asks the device, sharing only a request that is already under way.
func (p *PDU) ReadFresh(ctx context.Context) (Reading, error) {
	return p.read(ctx, 0)
}

func (p *PDU) read(ctx context.Context, maxAge time.Duration) (Reading, error) {
	if r, ok := p.fresh(maxAge); ok {
		return r, nil
	}
	p.mu.Lock()
	// Again under the lock: a read that finished since the look above
	// has cached its reading and left, and must not be followed by
	// another request to the device.
	if r, ok := p.fresh(maxAge); ok {
		p.mu.Unlock()
		return r, nil
	}
	f := p.flight
	if f == nil {
		f = &readFlight{done: make(chan struct{})}
		p.flight = f
		go p.fly(f, p.gen)
	}
	p.mu.Unlock()

	select {
	case <-f.done:
		return f.reading, f.err
	case <-ctx.Done():
		return Reading{}, fmt.Errorf("reading PDU %s: %w", p.cfg.Name, ctx.Err())
	}
}

// fresh returns the cached reading when it is younger than maxAge.
func (p *PDU) fresh(maxAge time.Duration) (Reading, bool) {
	if c := p.cached.Load(); c != nil && maxAge > 0 && time.Since(c.at) < maxAge {
		return c.reading, true
	}
	return Reading{}, false
}

// fly performs one read for everyone waiting on f. It runs under its own
// deadline, not a caller's: the first caller giving up must not fail the rest.
func (p *PDU) fly(f *readFlight, gen uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), max(p.cfg.ReadTimeout, readGoesOn))
	defer cancel()
	err := p.do(ctx, func() {
		start := time.Now()
		f.reading, f.err = p.cfg.Driver.Read(ctx)
		p.cfg.Observer.DeviceCall(p.cfg.Name, "read", time.Since(start), f.err)
	})
	if f.err == nil && err != nil {
		f.err = err
	}
	if f.err != nil {
		f.err = fmt.Errorf("reading PDU %s: %w", p.cfg.Name, f.err)
	}
	now := time.Now()
	p.mu.Lock()
	if p.flight == f {
		p.flight = nil
	}
	current := f.err == nil && p.gen == gen
	if current {
		p.cached.Store(&readResult{reading: f.reading, at: now})
	}
	wasFailing := p.last.Err != nil
	if f.err == nil {
		p.last = Poll{Reading: f.reading, At: now}
	} else {
		p.last.Err = f.err
	}
	p.mu.Unlock()
	if current {
		// Before the readers are answered: what they see is told of.
		p.watch.observe(f.reading, now)
		p.budget.learn(f.reading)
	}
	close(f.done)
	// One line when the PDU stops answering and one when it is back, not
	// one per failed read: MAAS and the poller keep asking meanwhile.
	switch {
	case f.err != nil && !wasFailing:
		p.log.Warn("PDU cannot be read", "error", f.err.Error())
	case f.err == nil && wasFailing:
		p.log.Info("PDU can be read again")
	}
}

// invalidate forgets the cached reading and detaches the read under way, so
// that the next Read sees the device as it is after a switch.
func (p *PDU) invalidate() {
	p.mu.Lock()
	p.gen++
	p.cached.Store(nil)
	p.states.forget()
	p.flight = nil
	p.mu.Unlock()
}

// SwitchOutcome tells how a switch went.
type SwitchOutcome struct {
	// Changed is false when the outlet was already in the wanted state and
	// nothing was sent to the device.
	Changed bool
	// Note says what the device did that was odd but harmless, such as
	// answering an error to a switch it carried out.
	Note string
}

// maxResends bounds how often one switch is sent again after it got no
// answer and the outlet read back unchanged.
const maxResends = 2

// Switch turns outlet n on or off and returns once a read-back shows it so.
//
// If the device answers with an error or not at all, the outlet is read
// back anyway: some APC cards answer genErr to a switch that worked, and a
// lost answer may hide one that did. A switch that was answered, with an
// error or not, is never sent again. One that got no answer (ErrNoAnswer)
// while the outlet still reads the old state, not pending, is sent again,
// at most maxResends times within SwitchTimeout: an absolute on or off sent
// to an outlet that did not change is harmless, unlike a resent reboot
// (which is never used: Cycle is off, then on). An outlet is never switched
// on sooner than PowerOnDelay after it went off.
func (p *PDU) Switch(ctx context.Context, n int, to State) (SwitchOutcome, error) {
	what := fmt.Sprintf("switching %s/%d %s", p.cfg.Name, n, to)
	if to != On && to != Off {
		return SwitchOutcome{}, fmt.Errorf("%s: can only switch on or off", what)
	}
	// Whatever reads find meanwhile, the outlet is powerbridge's to change.
	p.watch.begin(n)
	final := Unknown
	defer func() { p.watch.end(n, final) }()
	r, err := p.Read(ctx)
	if err != nil {
		return SwitchOutcome{}, fmt.Errorf("%s: %w", what, err)
	}
	o, ok := r.Outlet(n)
	if !ok {
		return SwitchOutcome{}, fmt.Errorf("%s: %w %d (the PDU has %d)", what, ErrUnknownOutlet, n, len(r.Outlets))
	}
	if o.State == to && !o.Pending {
		final = to
		return SwitchOutcome{}, nil
	}
	if to == On {
		if err := p.waitPowerOnDelay(ctx, n); err != nil {
			return SwitchOutcome{}, fmt.Errorf("%s: %w", what, err)
		}
	}

	sent, err := p.send(ctx, n, to)
	if err != nil {
		return SwitchOutcome{}, fmt.Errorf("%s: %w", what, err)
	}
	out := SwitchOutcome{Changed: true}
	sent, resent, err := p.verify(ctx, n, to, sent)
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	final = to
	switch {
	case resent > 0 && sent == nil:
		out.Note = fmt.Sprintf("the switch got no answer and the outlet read back unchanged; sent again %d time(s), then it switched", resent)
		p.log.Warn("switch got no answer, sent again and verified", "outlet", n, "to", to, "resent", resent)
	case sent != nil:
		out.Note = fmt.Sprintf("the PDU answered %q but the outlet switched", sent)
		p.log.Warn("switch answered with an error but verified", "outlet", n, "to", to, "answer", sent.Error(), "resent", resent)
	}
	return out, nil
}

// send asks the device, through the worker, to switch outlet n, and returns
// the device's answer; the error is the worker's (ctx ended, shutting
// down), in which case nothing was sent.
func (p *PDU) send(ctx context.Context, n int, to State) (answer, err error) {
	if to == Off {
		// Before the request too: a crash while it is on its way must
		// not forget that the outlet may have gone off.
		p.markOff(n)
	}
	if to == On {
		release, err := p.takeTurn(ctx, n)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	if err := p.do(ctx, func() {
		start := time.Now()
		answer = p.cfg.Driver.Switch(ctx, n, to)
		if to == On {
			p.guard(n).sentOn(time.Now())
			p.budget.switchedOn(n, time.Now())
		}
		p.cfg.Observer.DeviceCall(p.cfg.Name, "switch", time.Since(start), answer)
	}); err != nil {
		return nil, err
	}
	p.invalidate()
	if to == Off {
		p.markOff(n)
	}
	return answer, nil
}

// verify reads outlet n back until it shows state to, or the switch deadline
// passes. sent is the device's answer to the switch request. A switch that
// got no answer and reads back unchanged is sent again (see Switch); verify
// returns the answer to the last one sent and how many were sent again.
func (p *PDU) verify(ctx context.Context, n int, to State, sent error) (error, int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.SwitchTimeout)
	defer cancel()
	wait := p.wait
	resent := 0
	var last Outlet
	var lastErr error
	for {
		r, err := p.ReadFresh(ctx)
		if err == nil {
			last, _ = r.Outlet(n)
			if last.State == to {
				return sent, resent, nil
			}
		} else {
			lastErr = err
		}
		// A definite refusal will not turn into a switch by waiting.
		if errors.Is(sent, ErrRefused) && err == nil && !last.Pending {
			return sent, resent, sent
		}
		// Lost on the way: the driver waited for a late answer before
		// it said so, and the outlet shows no command under way.
		if errors.Is(sent, ErrNoAnswer) && err == nil && !last.Pending && last.State != Unknown && resent < maxResends {
			again, err := p.send(ctx, n, to)
			if err == nil {
				resent++
				sent = again
				wait = p.wait
				continue
			}
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			switch {
			case sent != nil:
				return sent, resent, fmt.Errorf("%w; the outlet still reads %s after %s", sent, last.State, p.cfg.SwitchTimeout)
			case lastErr != nil && last.State == Unknown:
				return sent, resent, fmt.Errorf("could not read the outlet back: %w", lastErr)
			}
			return sent, resent, fmt.Errorf("the outlet still reads %s after %s", last.State, p.cfg.SwitchTimeout)
		}
		wait = min(wait*2, time.Second)
	}
}

// markOff notes that outlet n goes off now, in memory and in OffTimes.
func (p *PDU) markOff(n int) {
	now := time.Now()
	p.mu.Lock()
	p.lastOff[n] = now
	p.mu.Unlock()
	if p.cfg.OffTimes == nil {
		return
	}
	if err := p.cfg.OffTimes.Record(OutletRef{PDU: p.cfg.Name, Outlet: n}, now); err != nil {
		p.log.Warn("recording when the outlet went off failed; a restart could switch it on before the power-on delay",
			"outlet", n, "error", err.Error())
	}
}

// waitPowerOnDelay waits until outlet n has been off for PowerOnDelay.
func (p *PDU) waitPowerOnDelay(ctx context.Context, n int) error {
	p.mu.Lock()
	off, ok := p.lastOff[n]
	p.mu.Unlock()
	if !ok {
		return nil
	}
	left := time.Until(off.Add(p.cfg.PowerOnDelay))
	if left <= 0 {
		return nil
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting out the power-on delay: %w", ctx.Err())
	}
}

// Cycle switches outlet n off, waits the power-on delay and switches it on,
// each step verified. It never uses the PDU's own reboot command, whose
// progress cannot be read back; a device that cycles on its own timer
// (TimedCycler), read back off and then on, is asked to.
func (p *PDU) Cycle(ctx context.Context, n int) error {
	if p.CyclesItself() {
		_, err := p.cycleTimed(ctx, n)
		return err
	}
	if _, err := p.Switch(ctx, n, Off); err != nil {
		return err
	}
	_, err := p.Switch(ctx, n, On)
	return err
}
