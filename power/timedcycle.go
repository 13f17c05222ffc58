package power

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TimedCycler is a Driver whose device can finish a power cycle by itself:
// one request switches an outlet off and sets the device's own timer to
// switch it on again (a Shelly's toggle_after, a Tasmota Backlog with a
// Delay). A cycle sent that way ends on even if powerbridge dies between
// the off and the on.
type TimedCycler interface {
	// CycleTimed switches outlet off and has the device switch it on
	// again after offFor. Like Switch, it sends the request once and never
	// retries it, and its errors mean what Switch's do.
	CycleTimed(ctx context.Context, outlet int, offFor time.Duration) error
}

// minTimedOff is the shortest off time a timed cycle asks for, whatever
// the power-on delay: time enough to read the outlet back off.
const minTimedOff = 2 * time.Second

// CyclesItself tells whether the PDU's device finishes a cycle on its own
// timer (its driver is a TimedCycler).
func (p *PDU) CyclesItself() bool {
	_, ok := p.cfg.Driver.(TimedCycler)
	return ok
}

// cycleTimed cycles outlet n on the device's timer: one request switches it
// off for the power-on delay (at least minTimedOff); the outlet is read
// back off, then back on. An outlet that is already off is only switched
// on. Should the device's timer not switch it on within the switch
// timeout, it is switched on as Switch does: an absolute on, which is what
// the cycle was asked to end in.
func (p *PDU) cycleTimed(ctx context.Context, n int) (SwitchOutcome, error) {
	what := fmt.Sprintf("cycling %s/%d on the device's timer", p.cfg.Name, n)
	r, err := p.Read(ctx)
	if err != nil {
		return SwitchOutcome{}, fmt.Errorf("%s: %w", what, err)
	}
	o, ok := r.Outlet(n)
	if !ok {
		return SwitchOutcome{}, fmt.Errorf("%s: %w %d (the PDU has %d)", what, ErrUnknownOutlet, n, len(r.Outlets))
	}
	if o.State == Off && !o.Pending {
		return p.Switch(ctx, n, On)
	}
	offFor := max(p.cfg.PowerOnDelay, minTimedOff)
	p.markOff(n) // before the request: a crash must not forget it may be off
	var sent error
	if err := p.do(ctx, func() {
		start := time.Now()
		sent = p.cfg.Driver.(TimedCycler).CycleTimed(ctx, n, offFor)
		p.cfg.Observer.DeviceCall(p.cfg.Name, "switch", time.Since(start), sent)
	}); err != nil {
		return SwitchOutcome{}, fmt.Errorf("%s: %w", what, err)
	}
	sentAt := time.Now()
	p.invalidate()
	p.markOff(n)
	out := SwitchOutcome{Changed: true}
	if err := p.awaitState(ctx, n, Off, p.cfg.SwitchTimeout, sent); err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	if sent != nil {
		out.Note = fmt.Sprintf("the PDU answered %q but the outlet switched off", sent)
	}
	if err := p.awaitState(ctx, n, On, time.Until(sentAt.Add(offFor+p.cfg.SwitchTimeout)), nil); err == nil {
		return out, nil
	} else if ctx.Err() != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	p.log.Warn("the device's timer did not switch the outlet back on; switching it on", "outlet", n)
	if _, err := p.Switch(ctx, n, On); err != nil {
		return out, err
	}
	out.Note = "the device's timer did not switch the outlet back on; it was switched on"
	return out, nil
}

// awaitState reads outlet n back until it shows state to, for up to within.
// sent is the device's answer to the request that should lead there: a
// definite refusal ends the wait as soon as the outlet reads unchanged.
func (p *PDU) awaitState(ctx context.Context, n int, to State, within time.Duration, sent error) error {
	ctx, cancel := context.WithTimeout(ctx, max(within, 0))
	defer cancel()
	wait := p.wait
	var last Outlet
	var lastErr error
	for {
		r, err := p.ReadFresh(ctx)
		if err == nil {
			last, _ = r.Outlet(n)
			if last.State == to {
				return nil
			}
			if errors.Is(sent, ErrRefused) && !last.Pending {
				return sent
			}
		} else {
			lastErr = err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			switch {
			case sent != nil:
				return fmt.Errorf("%w; the outlet still reads %s after %s", sent, last.State, within.Round(time.Millisecond))
			case lastErr != nil && last.State == Unknown:
				return fmt.Errorf("could not read the outlet back: %w", lastErr)
			}
			return fmt.Errorf("the outlet still reads %s after %s, not %s", last.State, within.Round(time.Millisecond), to)
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// cyclesItself tells whether m is cycled on its device's timer: when its one
// outlet is on a PDU that can. A machine with two supplies is cycled off
// then on, both at once, as before: two timers started one after the other
// need not overlap.
func (f *Fleet) cyclesItself(m *machine) bool {
	return len(m.Outlets) == 1 && f.pdus[m.Outlets[0].PDU].CyclesItself()
}

// cycleTimed cycles m's one outlet on its device's timer (see cyclesItself).
func (f *Fleet) cycleTimed(ctx context.Context, m *machine, res *Result) error {
	ref := m.Outlets[0]
	out, err := f.pdus[ref.PDU].cycleTimed(ctx, ref.Outlet)
	m.mu.Lock()
	m.poweredOn, m.failingSince = time.Now(), time.Time{}
	m.mu.Unlock()
	if out.Note != "" {
		res.Notes = append(res.Notes, fmt.Sprintf("%s: %s", ref, out.Note))
	}
	if out.Changed {
		res.Switched = append(res.Switched, ref.String())
	}
	if err != nil {
		return err
	}
	res.Changed = true
	res.State = On
	return nil
}

// cycleOutletTimed is switchOutlet's cycle of one outlet on its device's
// timer.
func cycleOutletTimed(ctx context.Context, p *PDU, ref OutletRef, res *OutletResult) (wentOff bool, err error) {
	out, err := p.cycleTimed(ctx, ref.Outlet)
	if out.Note != "" {
		res.Notes = append(res.Notes, out.Note)
	}
	if err != nil {
		return out.Changed, err
	}
	res.State, res.Changed = On, true
	return out.Changed, nil
}
