package power

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Machine is a MAAS machine and the outlets that feed it.
type Machine struct {
	Name    string
	Outlets []OutletRef
	// Graceful, when set, shuts the OS down before power is cut. Nil means
	// "off" cuts power at once.
	Graceful Graceful
	// Liveness, when set, lets the machine read "off" when its OS has halted
	// with the outlets still live.
	Liveness *Liveness
	// Wake, when set, wakes the machine by LAN (see Wake): with or without
	// outlets.
	Wake *Wake
}

// Graceful shuts a machine's operating system down cleanly and reports once
// it is down (or why it is not). The machine's off sequence cuts power after it.
type Graceful interface {
	Shutdown(ctx context.Context) ShutdownReport
	// ForgetHostKey drops what was learnt of the machine's identity (a
	// pinned ssh host key). MAAS gives a machine new host keys on every
	// deployment, and a deployment starts with a power-on from off.
	ForgetHostKey() error
}

// Liveness watches whether a machine's OS is up.
//
// After commissioning, MAAS makes a machine power itself off from inside
// while its outlets stay live. Such a machine must read "off", and the next
// power-on must cycle its outlets to bring it up.
type Liveness struct {
	Probe Prober
	// BootGrace is how long a host may fail its probe before it counts as
	// halted, and how long after a power-on it may fail at all: a booting
	// machine (PXE, commissioning) has no sshd for minutes.
	BootGrace time.Duration
	// Interval is how often the probe runs in the background.
	Interval time.Duration
}

// Prober tells whether a host is up; shutdown.TCPProbe is one.
type Prober interface {
	Alive(ctx context.Context) bool
}

// ShutdownReport is how a graceful shutdown went.
type ShutdownReport struct {
	// Down is true when the OS was seen to go down.
	Down bool
	// Cut says whether power may be cut anyway when the OS was not seen to
	// go down (policy "cut"); when false the off action fails instead.
	Cut bool
	// Reason says why it was not graceful, for the log and the answer.
	Reason string
	// Phases lists what happened, in order, for the log.
	Phases []Phase
}

// Phase is one step of a shutdown and how long it took.
type Phase struct {
	Name     string
	Duration time.Duration
	Outcome  string
}

// Action is something done to a machine.
type Action string

const (
	ActionOn    Action = "on"
	ActionOff   Action = "off"
	ActionCycle Action = "cycle"
)

// Result is the outcome of a power action.
type Result struct {
	Machine string
	Action  Action
	State   State
	// Changed is true when an outlet was seen to change state: read back
	// switched after a switch request. A switch that failed is not a change.
	Changed bool
	// Switched lists the outlets ("pdu/N") that changed state, in order.
	Switched []string
	// Shutdown says how an "off" ended: "graceful", "cut" (power cut without
	// a confirmed shutdown; Reason says why) or "" (no shutdown configured
	// or nothing to do).
	Shutdown string
	Reason   string
	Phases   []Phase
	Notes    []string
	// Duration is how long the action took, waiting included.
	Duration time.Duration
}

// machine is a configured machine and its state. The state is shared with
// the machine of the same name in the fleet that replaces this one.
type machine struct {
	Machine
	*machineState
}

type machineState struct {
	mu  sync.Mutex
	cur *run // the action under way, if any
	// poweredOn is when powerbridge last switched the machine on.
	poweredOn time.Time
	// failingSince is when the current run of failed liveness probes began;
	// zero while the host answers or before the first probe.
	failingSince time.Time
	// probedAt is when the liveness probe last ran.
	probedAt time.Time
	// journaled is true while the action under way has a record in the
	// journal. Only that action touches it.
	journaled bool
}

// halted reports whether the OS is down though its outlets may be live: the
// probe has failed for longer than the boot grace, and no power-on happened
// within it. Called with m.mu held.
func (m *machine) halted(now time.Time) bool {
	if m.Liveness == nil || m.failingSince.IsZero() {
		return false
	}
	grace := m.Liveness.BootGrace
	return now.Sub(m.failingSince) > grace && now.Sub(m.poweredOn) > grace
}

// probed records the outcome of one liveness probe.
func (m *machine) probed(alive bool, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.probedAt = now
	switch {
	case alive:
		m.failingSince = time.Time{}
	case m.failingSince.IsZero():
		m.failingSince = now
	}
}

// run is one action on one machine, or on one of its outlets (or on an
// outlet that feeds no machine); identical requests wait on it together.
type run struct {
	key    runKey
	done   chan struct{}
	result Result
	outlet OutletResult
	err    error
}

// runKey says which action a run is: requests with the same key join.
type runKey struct {
	action Action
	outlet OutletRef // zero for an action on the whole machine
}

func (k runKey) String() string {
	if k.outlet == (OutletRef{}) {
		return string(k.action)
	}
	return fmt.Sprintf("%s of outlet %s", k.action, k.outlet)
}

// act runs one action on a machine. Actions on one machine run one at a time;
// a request for the action already under way joins it instead of starting
// another (MAAS repeats a power POST up to seven times while it waits).
//
// The action runs under the fleet's action timeout, detached from ctx: if the
// caller gives up, the action still finishes, and a repeated request joins it.
func (f *Fleet) act(ctx context.Context, name string, action Action, do func(context.Context, *machine, *Result) error) (Result, error) {
	m, err := f.machine(name)
	if err != nil {
		return Result{}, err
	}
	r, err := f.start(ctx, m.machineState, runKey{action: action}, string(action)+" "+m.Name, func(r *run) { f.execute(ctx, m, r, do) })
	if err != nil {
		return Result{}, err
	}
	if err := wait(ctx, r); err != nil {
		return Result{}, err
	}
	return r.result, r.err
}

// start returns the run of key on st: the one under way, or a new one that
// begin starts in a goroutine of its own once any other action on st has
// ended. what names the action for an error ("off bigboy").
func (f *Fleet) start(ctx context.Context, st *machineState, key runKey, what string, begin func(*run)) (*run, error) {
	for {
		st.mu.Lock()
		cur := st.cur
		if cur == nil {
			r := &run{key: key, done: make(chan struct{})}
			st.cur = r
			st.mu.Unlock()
			go begin(r)
			return r, nil
		}
		st.mu.Unlock()
		if cur.key == key {
			return cur, nil
		}
		// Another action is under way: wait for it, then start ours.
		select {
		case <-cur.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: waiting for the %s under way: %w", what, cur.key, ctx.Err())
		}
	}
}

// wait waits for r to end, or for ctx to.
func wait(ctx context.Context, r *run) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s still under way: %w", r.key, ctx.Err())
	}
}

// finish ends r, whose outcome is set: its waiters read it, and the next
// action on st may start.
func (st *machineState) finish(r *run) {
	st.mu.Lock()
	st.cur = nil
	st.mu.Unlock()
	close(r.done)
}

func (f *Fleet) execute(ctx context.Context, m *machine, r *run, do func(context.Context, *machine, *Result) error) {
	start := time.Now()
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
	defer cancel()
	action := r.key.action
	res := Result{Machine: m.Name, Action: action, State: Unknown}
	err := do(actx, m, &res)
	// Whatever the outcome, the action has ended: nothing of it is left
	// for a restart to carry out.
	f.journalEnd(m)
	if err != nil {
		err = fmt.Errorf("%s %s: %w", action, m.Name, err)
	}
	res.Duration = time.Since(start)

	attrs := []any{"principal", Principal(ctx), "machine", m.Name, "action", action,
		"changed", res.Changed, "state", res.State, "duration", time.Since(start).Round(time.Millisecond)}
	if len(res.Switched) > 0 {
		attrs = append(attrs, "switched", res.Switched)
	}
	if res.Shutdown != "" {
		attrs = append(attrs, "shutdown", res.Shutdown)
	}
	if res.Reason != "" {
		attrs = append(attrs, "reason", res.Reason)
	}
	f.audit.Record(AuditRecord{
		Principal: Principal(ctx), Machine: m.Name, Action: action, Changed: res.Changed, Switched: res.Switched, State: res.State,
		Shutdown: res.Shutdown, Reason: res.Reason, Duration: time.Since(start), Err: err,
	})
	result := "ok"
	if err != nil {
		result = "error"
		f.log.Error("power action failed", append(attrs, "error", err.Error())...)
	} else {
		f.log.Info("power action", attrs...)
	}
	f.obs.Action(m.Name, action, result, time.Since(start))

	r.result, r.err = res, err
	m.finish(r)
}

type principalKey struct{}

// WithPrincipal records who asked for an action, for the log.
func WithPrincipal(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, principalKey{}, name)
}

// Principal returns who asked, or "-" when nobody said.
func Principal(ctx context.Context) string {
	if p, ok := ctx.Value(principalKey{}).(string); ok {
		return p
	}
	return "-"
}
