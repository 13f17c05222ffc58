package power

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	for _, p := range pdus {
		f.pdus[p.Name()] = p
		f.pduOrder = append(f.pduOrder, p.Name())
	}
	for _, m := range machines {
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
// interval, until ctx ends.
func (f *Fleet) Watch(ctx context.Context) {
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

// SwitchOutlet switches or cycles one outlet directly, outside any machine.
func (f *Fleet) SwitchOutlet(ctx context.Context, pdu string, n int, action Action) (SwitchOutcome, error) {
	p, err := f.PDU(pdu)
	if err != nil {
		return SwitchOutcome{}, err
	}
	start := time.Now()
	var out SwitchOutcome
	switch action {
	case ActionOn:
		out, err = p.Switch(ctx, n, On)
	case ActionOff:
		out, err = p.Switch(ctx, n, Off)
	case ActionCycle:
		out, err = SwitchOutcome{Changed: true}, p.Cycle(ctx, n)
	default:
		return SwitchOutcome{}, fmt.Errorf("unknown action %q", action)
	}
	ref := OutletRef{PDU: pdu, Outlet: n}
	f.audit.Record(AuditRecord{Principal: Principal(ctx), Outlet: ref.String(), Action: action, Changed: out.Changed, Duration: time.Since(start), Err: err})
	return out, err
}
