package power

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// ErrUnknownMachine is returned for a machine that is not configured.
var ErrUnknownMachine = errors.New("no such machine")

// ErrUnknownPDU is returned for a PDU that is not configured.
var ErrUnknownPDU = errors.New("no such PDU")

// ErrUnknownOutlet is returned for an outlet number the PDU does not have.
var ErrUnknownOutlet = errors.New("no outlet")

// Fleet is every configured PDU and machine.
type Fleet struct {
	pdus     map[string]*PDU
	pduOrder []string
	machines map[string]*machine
	order    []string
	timeout  time.Duration
	log      *slog.Logger
	obs      Observer
	audit    Auditor
	journal  Journal // nil: none
	free     *outletStates
	groups   *groupSet // nil: none
}

// FleetConfig is how a fleet behaves.
type FleetConfig struct {
	// ActionTimeout bounds every on / off / cycle, graceful shutdown included.
	ActionTimeout time.Duration
	Logger        *slog.Logger
	Observer      Observer
	// Audit, when set, is given one record per power action.
	Audit Auditor
	// Previous is the fleet this one replaces on a config reload. A machine
	// of the same name keeps its state: an action under way on the old fleet
	// still holds off a new one, and liveness history carries over.
	Previous *Fleet
	// Journal, when set, records the switching of machines with more than
	// one outlet while it is under way (see Journal and Finish).
	Journal Journal
}

// NewFleet builds a fleet of the given PDUs and the machines on them.
func NewFleet(pdus []*PDU, machines []Machine, cfg FleetConfig) (*Fleet, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Audit == nil {
		cfg.Audit = nopAuditor{}
	}
	f := &Fleet{pdus: map[string]*PDU{}, machines: map[string]*machine{}, timeout: cfg.ActionTimeout, log: cfg.Logger, obs: cfg.Observer, audit: cfg.Audit, journal: cfg.Journal}
	f.free = &outletStates{m: map[OutletRef]*machineState{}}
	if cfg.Previous != nil {
		f.free = cfg.Previous.free
	}
	for _, p := range pdus {
		f.pdus[p.Name()] = p
		f.pduOrder = append(f.pduOrder, p.Name())
	}
	for _, m := range machines {
		if err := checkWake(m); err != nil {
			return nil, err
		}
		for _, o := range m.Outlets {
			if f.pdus[o.PDU] == nil {
				return nil, fmt.Errorf("machine %s: outlet %s: %w", m.Name, o, ErrUnknownPDU)
			}
		}
		state := &machineState{}
		if prev := cfg.Previous; prev != nil && prev.machines[m.Name] != nil {
			state = prev.machines[m.Name].machineState
		}
		f.machines[m.Name] = &machine{Machine: m, machineState: state}
		f.order = append(f.order, m.Name)
	}
	return f, nil
}

// Close stops every PDU's worker.
func (f *Fleet) Close() error { return f.Retire(nil) }

// Retire closes the PDUs of f that next does not use, once f has been
// replaced by next on a reload (next may be nil: close them all).
func (f *Fleet) Retire(next *Fleet) error {
	var errs []error
	for _, name := range f.pduOrder {
		p := f.pdus[name]
		if next != nil && next.pdus[name] == p {
			continue
		}
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// Watch probes the liveness of every machine that has it, each at its own
// interval, until ctx ends; and makes f the fleet that logs, audits and
// counts the changes its PDUs' reads find that nobody asked powerbridge for.
func (f *Fleet) Watch(ctx context.Context) {
	f.watchUnexpected()
	for _, name := range f.order {
		m := f.machines[name]
		if m.Liveness == nil {
			continue
		}
		go func() {
			t := time.NewTicker(m.Liveness.Interval)
			defer t.Stop()
			for {
				m.probed(m.Liveness.Probe.Alive(ctx), time.Now())
				select {
				case <-t.C:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
}

// MachineWatts is the power a machine's outlets draw, from a fresh reading.
// metered is false when the PDU does not meter every one of its outlets.
func (f *Fleet) MachineWatts(ctx context.Context, name string) (watts float64, metered bool, err error) {
	m, err := f.machine(name)
	if err != nil {
		return 0, false, err
	}
	if len(m.Outlets) == 0 {
		return 0, false, nil // nothing meters a machine with no outlet
	}
	for _, ref := range m.Outlets {
		r, err := f.pdus[ref.PDU].ReadFresh(ctx)
		if err != nil {
			return 0, false, err
		}
		o, ok := r.Outlet(ref.Outlet)
		if !ok || o.PowerWatts == nil {
			return 0, false, nil
		}
		watts += *o.PowerWatts
	}
	return watts, true, nil
}

// ForgetHostKey forgets the pinned ssh host key of a machine.
func (f *Fleet) ForgetHostKey(name string) error {
	m, err := f.machine(name)
	if err != nil {
		return err
	}
	if m.Graceful == nil {
		return fmt.Errorf("machine %s has no graceful shutdown configured, so no host key", name)
	}
	return m.Graceful.ForgetHostKey()
}

// Poll keeps every PDU's reading fresh until ctx ends (see PDU.Poll).
func (f *Fleet) Poll(ctx context.Context, interval time.Duration) {
	for _, p := range f.pdus {
		go p.Poll(ctx, interval)
	}
}

// Machines lists the configured machines in config order.
func (f *Fleet) Machines() []Machine {
	out := make([]Machine, len(f.order))
	for i, name := range f.order {
		out[i] = f.machines[name].Machine
	}
	return out
}

// PDUs lists the configured PDUs in config order.
func (f *Fleet) PDUs() []*PDU {
	out := make([]*PDU, len(f.pduOrder))
	for i, name := range f.pduOrder {
		out[i] = f.pdus[name]
	}
	return out
}

// PDUNames lists the configured PDUs' names in config order.
func (f *Fleet) PDUNames() []string { return slices.Clone(f.pduOrder) }

// PDU returns the PDU with the given name.
func (f *Fleet) PDU(name string) (*PDU, error) {
	if p := f.pdus[name]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownPDU, name)
}

// MachineOf returns the machine an outlet feeds, if any.
func (f *Fleet) MachineOf(ref OutletRef) (string, bool) {
	for _, name := range f.order {
		for _, o := range f.machines[name].Outlets {
			if o == ref {
				return name, true
			}
		}
	}
	return "", false
}

func (f *Fleet) machine(name string) (*machine, error) {
	if m := f.machines[name]; m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownMachine, name)
}

// ReadPDU reads every outlet of the named PDU (through its cache).
func (f *Fleet) ReadPDU(ctx context.Context, name string) (Reading, error) {
	p, err := f.PDU(name)
	if err != nil {
		return Reading{}, err
	}
	return p.Read(ctx)
}

// OutletResult is the outcome of an action on one outlet, as answered to
// the caller.
type OutletResult struct {
	PDU    string
	Outlet int
	Action Action
	State  State
	// Changed is true when the outlet was seen to change state; an outlet
	// already in the state asked for is not switched.
	Changed bool
	// Machine is the machine the outlet feeds, if any.
	Machine string
	// CutWithoutShutdown is true when the outlet of a machine with a
	// graceful shutdown was switched off without it: its OS lost power
	// while running, if this was its last live outlet.
	CutWithoutShutdown bool
	Notes              []string
	Duration           time.Duration
}

// outletStates holds the action state of the outlets that feed no machine,
// shared by the fleets that replace one another on reloads, so that an
// outlet's actions run one at a time like a machine's.
type outletStates struct {
	mu sync.Mutex
	m  map[OutletRef]*machineState
}

func (o *outletStates) of(ref OutletRef) *machineState {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.m[ref]
	if st == nil {
		st = &machineState{}
		o.m[ref] = st
	}
	return st
}

// SwitchOutlet switches one outlet on or off, or cycles it (off, the
// power-on delay, on), the way a machine action runs: detached from ctx
// and bounded by the action timeout, so that a caller who goes away does
// not leave a cycle half done; joined by an identical request under way;
// on and off leave alone an outlet already in that state.
//
// An outlet that feeds a machine is switched under the machine's action
// lock (after any action on the machine under way, and holding off the
// next), and a cycle of it is journaled like the machine's. No graceful
// shutdown is run: switching an outlet is a hand at the PDU, and the
// result says when it cut a machine that has one.
func (f *Fleet) SwitchOutlet(ctx context.Context, pdu string, n int, action Action) (OutletResult, error) {
	p, err := f.PDU(pdu)
	if err != nil {
		return OutletResult{}, err
	}
	ref := OutletRef{PDU: pdu, Outlet: n}
	if action != ActionOn && action != ActionOff && action != ActionCycle {
		return OutletResult{}, fmt.Errorf("outlet %s: unknown action %q", ref, action)
	}
	var m *machine
	var st *machineState
	if name, ok := f.MachineOf(ref); ok {
		m = f.machines[name]
		st = m.machineState
	} else {
		// Only outlets the PDU has get a state of their own.
		r, err := p.Read(ctx)
		if err != nil {
			return OutletResult{}, fmt.Errorf("%s outlet %s: %w", action, ref, err)
		}
		if _, ok := r.Outlet(n); !ok {
			return OutletResult{}, fmt.Errorf("%s outlet %s: %w %d (the PDU has %d)", action, ref, ErrUnknownOutlet, n, len(r.Outlets))
		}
		st = f.free.of(ref)
	}
	r, err := f.start(ctx, st, runKey{action: action, outlet: ref}, fmt.Sprintf("%s outlet %s", action, ref), func(r *run) { f.executeOutlet(ctx, p, m, st, r) })
	if err != nil {
		return OutletResult{}, err
	}
	if err := wait(ctx, r); err != nil {
		return OutletResult{}, err
	}
	return r.outlet, r.err
}

// executeOutlet runs r, an action on one outlet of p that feeds machine m
// (nil: none) and whose action state is st.
func (f *Fleet) executeOutlet(ctx context.Context, p *PDU, m *machine, st *machineState, r *run) {
	start := time.Now()
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
	defer cancel()
	ref, action := r.key.outlet, r.key.action
	res := OutletResult{PDU: ref.PDU, Outlet: ref.Outlet, Action: action, State: Unknown}
	wentOff, err := f.switchOutlet(actx, p, m, ref, action, &res)
	if m != nil {
		f.journalEnd(m)
		res.Machine = m.Name
		if wentOff && m.Graceful != nil {
			res.CutWithoutShutdown = true
			res.Notes = append(res.Notes, fmt.Sprintf("outlet %s of machine %s was cut without the machine's graceful shutdown (POST /v1/machines/%s/off runs it)", ref, m.Name, m.Name))
		}
		if res.State == On && res.Changed {
			m.mu.Lock()
			m.poweredOn, m.failingSince = time.Now(), time.Time{}
			m.mu.Unlock()
		}
	}
	if err != nil {
		err = fmt.Errorf("%s outlet %s: %w", action, ref, err)
	}
	res.Duration = time.Since(start)
	f.recordOutlet(ctx, start, m, ref, action, res, err)
	r.outlet, r.err = res, err
	st.finish(r)
}

// switchOutlet carries out action on the outlet ref of p, which feeds m (nil
// for an outlet that feeds no machine), and records in res what it read and
// changed; wentOff reports whether the outlet was seen to switch off.
func (f *Fleet) switchOutlet(ctx context.Context, p *PDU, m *machine, ref OutletRef, action Action, res *OutletResult) (wentOff bool, err error) {
	sw := func(to State) error {
		out, err := p.Switch(ctx, ref.Outlet, to)
		if out.Note != "" {
			res.Notes = append(res.Notes, out.Note)
		}
		if err != nil {
			return err
		}
		res.State = to
		if out.Changed {
			res.Changed = true
			wentOff = wentOff || to == Off
		}
		return nil
	}
	switch action {
	case ActionOn:
		err = sw(On)
	case ActionOff:
		err = sw(Off)
	case ActionCycle:
		if m != nil {
			// A crash between the off and the on must end on.
			f.journalBegin(m, []OutletRef{ref}, On, false)
		}
		if p.CyclesItself() {
			return cycleOutletTimed(ctx, p, ref, res)
		}
		if err = sw(Off); err == nil {
			err = sw(On)
		}
	}
	return wentOff, err
}

// recordOutlet audits and logs an outlet action begun at start, with its
// result res and error err.
func (f *Fleet) recordOutlet(ctx context.Context, start time.Time, m *machine, ref OutletRef, action Action, res OutletResult, err error) {
	var switched []string
	if res.Changed {
		switched = []string{ref.String()}
	}
	f.audit.Record(AuditRecord{Principal: Principal(ctx), Outlet: ref.String(), Action: action, Changed: res.Changed, Switched: switched,
		Duration: time.Since(start), Err: err})
	attrs := []any{"principal", Principal(ctx), "outlet", ref.String(), "action", action, "changed", res.Changed,
		"duration", time.Since(start).Round(time.Millisecond)}
	if m != nil {
		attrs = append(attrs, "machine", m.Name, "cut_without_shutdown", res.CutWithoutShutdown)
	}
	if err != nil {
		f.log.Error("outlet action failed", append(attrs, "error", err.Error())...)
	} else {
		f.log.Info("outlet action", attrs...)
	}
}
