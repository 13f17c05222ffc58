package power

import (
	"context"
	"fmt"
	"time"
)

// On powers a machine on. A machine already on is left alone.
func (f *Fleet) On(ctx context.Context, name string) (Result, error) {
	return f.act(ctx, name, ActionOn, f.on)
}

// Off powers a machine off, shutting its OS down first when configured.
func (f *Fleet) Off(ctx context.Context, name string) (Result, error) {
	return f.act(ctx, name, ActionOff, f.off)
}

// Cycle switches a machine's outlets off (no shutdown), waits the power-on
// delay and switches them on.
func (f *Fleet) Cycle(ctx context.Context, name string) (Result, error) {
	return f.act(ctx, name, ActionCycle, f.cycleAction)
}

func (f *Fleet) on(ctx context.Context, m *machine, res *Result) error {
	if m.Wake != nil {
		return f.wakeOn(ctx, m, res)
	}
	st, err := f.status(ctx, m)
	if err != nil {
		return err
	}
	if st.State == On {
		res.State = On
		// A machine runs on one supply, but an outlet left off (a switch
		// that failed midway, MAAS's retry of it, or a hand at the PDU) is
		// switched on too: "on" means every outlet on.
		f.journalSwitch(m, On)
		return f.switchAll(ctx, m, On, res)
	}
	if st.Halted {
		// The BIOS powers the machine up when AC returns.
		res.Notes = append(res.Notes, "the OS had halted with power on: cycling the outlets")
		// A crash between the off and the on must end on, not off.
		f.journalBegin(m, m.Outlets, On, false)
		if err := f.switchAll(ctx, m, Off, res); err != nil {
			return err
		}
	}
	if m.Graceful != nil {
		if err := m.Graceful.ForgetHostKey(); err != nil {
			f.log.Warn("forgetting the host key", "machine", m.Name, "error", err.Error())
		}
	}
	f.journalSwitch(m, On)
	err = f.switchAll(ctx, m, On, res)
	m.mu.Lock()
	m.poweredOn, m.failingSince = time.Now(), time.Time{}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	res.State = On
	return nil
}

func (f *Fleet) off(ctx context.Context, m *machine, res *Result) error {
	if m.wakeOnly() {
		return f.wakeOff(ctx, m, res)
	}
	st, err := f.status(ctx, m)
	if err != nil {
		return err
	}
	if st.Power == Off {
		res.State = Off
		return nil
	}
	if st.Halted {
		// Nothing left to shut down; the outlets are only drawing standby.
		res.Shutdown, res.Reason = "cut", "the OS had already halted"
	} else if m.Graceful != nil && st.Power == On {
		// From before the request until power is cut, a crash leaves an
		// OS asked to go down with its power on: the restart asks again,
		// under the same policy (Finish).
		f.journalBegin(m, m.Outlets, Off, true)
		start := time.Now()
		rep := m.Graceful.Shutdown(ctx)
		res.Phases = rep.Phases
		switch {
		case rep.Down:
			res.Shutdown = "graceful"
		case rep.Cut:
			res.Shutdown, res.Reason = "cut", rep.Reason
		default:
			res.Shutdown, res.Reason = "refused", rep.Reason
		}
		f.obs.Shutdown(m.Name, res.Shutdown, res.Reason, time.Since(start))
		if res.Shutdown == "refused" {
			res.State = On
			return fmt.Errorf("graceful shutdown failed and the machine's policy leaves power on: %s", rep.Reason)
		}
		// The shutdown is decided: a crash from here on must cut the
		// rest of the power, not ask an OS that is down again (under
		// policy fail, that would leave power on).
		if m.journaled || len(m.Outlets) > 1 {
			f.journalBegin(m, m.Outlets, Off, false)
		}
	} else {
		f.journalSwitch(m, Off)
	}
	if err := f.switchAll(ctx, m, Off, res); err != nil {
		return err
	}
	res.State = Off
	return nil
}

// cycleAction is the cycle: wakeCycle for a machine woken by LAN, cycle
// for any other.
func (f *Fleet) cycleAction(ctx context.Context, m *machine, res *Result) error {
	if m.Wake != nil {
		return f.wakeCycle(ctx, m, res)
	}
	return f.cycle(ctx, m, res)
}

func (f *Fleet) cycle(ctx context.Context, m *machine, res *Result) error {
	// A crash between the off and the on must end on.
	f.journalBegin(m, m.Outlets, On, false)
	if f.cyclesItself(m) {
		return f.cycleTimed(ctx, m, res)
	}
	if err := f.switchAll(ctx, m, Off, res); err != nil {
		return err
	}
	err := f.switchAll(ctx, m, On, res)
	m.mu.Lock()
	m.poweredOn, m.failingSince = time.Now(), time.Time{}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	res.Changed = true
	res.State = On
	return nil
}

// journalSwitch journals the switch of all of m's outlets to state to when
// a crash could leave it half done: when m has more than one outlet.
func (f *Fleet) journalSwitch(m *machine, to State) {
	if len(m.Outlets) > 1 && !m.journaled {
		f.journalBegin(m, m.Outlets, to, false)
	}
}

// switchAll switches every outlet of m, one after another: a machine with two
// power supplies is on as soon as either is, and switching them in config
// order keeps what happens predictable.
func (f *Fleet) switchAll(ctx context.Context, m *machine, to State, res *Result) error {
	return f.switchOutlets(ctx, m, m.Outlets, to, res)
}

// switchOutlets switches refs, outlets of m, in order, and records in res
// those seen to change. The caller has journaled what a crash would leave
// half done; the record is removed when the action ends (execute), in
// success or failure, so a failed switch is never carried out later.
func (f *Fleet) switchOutlets(ctx context.Context, m *machine, refs []OutletRef, to State, res *Result) error {
	for _, ref := range refs {
		out, err := f.pdus[ref.PDU].Switch(ctx, ref.Outlet, to)
		if out.Changed && err == nil {
			// Only a verified switch is a change: a request that failed
			// left the outlet reading as it was.
			res.Changed = true
			res.Switched = append(res.Switched, ref.String())
		}
		if out.Note != "" {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %s", ref, out.Note))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
