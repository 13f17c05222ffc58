package power

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MachineStatus is a machine's state with the outlets it was read from.
type MachineStatus struct {
	Machine string
	// State is what MAAS is told: Power, except that a halted OS reads off.
	State State
	// Power is what the outlets say: on when any is on, off when all are.
	Power   State
	Outlets []OutletStatus
	// Halted is true when the outlets are live but the OS has halted.
	Halted bool
	// ShuttingDown is true while a graceful shutdown is under way; the
	// machine reads on until power is cut.
	ShuttingDown bool
	// Phase is the step of that shutdown ("request", "wait-down"), ""
	// before it begins.
	Phase string
}

// OutletStatus is one outlet of a machine.
type OutletStatus struct {
	PDU    string
	Outlet int
	Name   string
	State  State
}

// Status reads a machine's power state: off when every outlet is off, on when
// any is on, unknown otherwise. An unreadable PDU is an error, never "off".
func (f *Fleet) Status(ctx context.Context, name string) (MachineStatus, error) {
	m, err := f.machine(name)
	if err != nil {
		return MachineStatus{}, err
	}
	if m.wakeOnly() {
		return f.wakeStatus(ctx, m)
	}
	readings, err := f.readAll(ctx, m.Outlets, true)
	if err != nil {
		return MachineStatus{Machine: m.Name}, err
	}
	return m.status(readings)
}

// status is a machine's state as an action reads it before switching: from
// whole readings, which the switches that follow share (PDU.Switch reads
// the outlet and its pending column first).
func (f *Fleet) status(ctx context.Context, m *machine) (MachineStatus, error) {
	if m.wakeOnly() {
		return f.wakeStatus(ctx, m)
	}
	readings, err := f.readAll(ctx, m.Outlets, false)
	if err != nil {
		return MachineStatus{Machine: m.Name}, err
	}
	return m.status(readings)
}

// LastStatus is a machine's state from its PDUs' last polls, without asking
// any device; ok is false while one of them has no current reading.
func (f *Fleet) LastStatus(name string) (st MachineStatus, ok bool) {
	m, err := f.machine(name)
	if err != nil {
		return st, false
	}
	if m.wakeOnly() {
		return m.lastWakeStatus()
	}
	var rs readings
	for _, ref := range m.Outlets {
		poll := f.pdus[ref.PDU].LastPoll()
		if poll.Err != nil || poll.At.IsZero() {
			return st, false
		}
		rs = append(rs, pduReading{ref.PDU, poll.Reading})
	}
	st, err = m.status(rs)
	return st, err == nil
}

// LastPoll is the named PDU's last poll (PDU.LastPoll), without asking the
// device.
func (f *Fleet) LastPoll(pdu string) (Poll, error) {
	p, err := f.PDU(pdu)
	if err != nil {
		return Poll{}, err
	}
	return p.LastPoll(), nil
}

// status combines the readings of m's outlets: off when every outlet is off,
// on when any is on, unknown otherwise; then a halted OS reads off.
func (m *machine) status(rs readings) (MachineStatus, error) {
	st := MachineStatus{Machine: m.Name}
	anyOn, allOff := false, true
	for _, ref := range m.Outlets {
		o, ok := rs.of(ref.PDU).Outlet(ref.Outlet)
		if !ok {
			return st, fmt.Errorf("machine %s: PDU %s has no outlet %d", m.Name, ref.PDU, ref.Outlet)
		}
		st.Outlets = append(st.Outlets, OutletStatus{PDU: ref.PDU, Outlet: ref.Outlet, Name: o.Name, State: o.State})
		anyOn = anyOn || o.State == On
		allOff = allOff && o.State == Off
	}
	switch {
	case anyOn:
		st.Power = On
	case allOff:
		st.Power = Off
	default:
		st.Power = Unknown
	}
	st.State = st.Power

	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case st.Power != On:
	case m.halted(time.Now()):
		st.Halted, st.State = true, Off
	case m.cur != nil && m.cur.key == runKey{action: ActionOff}:
		st.ShuttingDown, st.Phase = true, m.phase
	}
	return st, nil
}

// readAll reads the PDUs behind refs, in parallel: whole, or with
// statesOnly, as a status query does, only the states of refs' outlets
// (PDU.ReadOutlets).
func (f *Fleet) readAll(ctx context.Context, refs []OutletRef, statesOnly bool) (readings, error) {
	type answer struct {
		pdu string
		r   Reading
		err error
	}
	var names []string
	seen := map[string]bool{}
	for _, ref := range refs {
		if !seen[ref.PDU] {
			seen[ref.PDU] = true
			names = append(names, ref.PDU)
		}
	}
	if len(names) == 1 {
		// Most machines hang off one PDU: read it here, with no goroutine
		// to start and wait for on the path of every status query.
		r, err := f.pdus[names[0]].readFor(ctx, refs, statesOnly)
		if err != nil {
			return nil, err
		}
		return readings{{names[0], r}}, nil
	}
	answers := make(chan answer, len(names))
	for _, name := range names {
		go func() {
			r, err := f.pdus[name].readFor(ctx, refs, statesOnly)
			answers <- answer{name, r, err}
		}()
	}
	out := make(readings, 0, len(names))
	var errs []error
	for range names {
		a := <-answers
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		out = append(out, pduReading{a.pdu, a.r})
	}
	return out, errors.Join(errs...)
}

// readFor reads p for the outlets of refs on it: whole, or with statesOnly
// their states alone.
func (p *PDU) readFor(ctx context.Context, refs []OutletRef, statesOnly bool) (Reading, error) {
	if !statesOnly {
		return p.Read(ctx)
	}
	var ns []int
	for _, ref := range refs {
		if ref.PDU == p.cfg.Name {
			ns = append(ns, ref.Outlet)
		}
	}
	return p.ReadOutlets(ctx, ns)
}
