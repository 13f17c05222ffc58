package power

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Defaults for a Wake's zero fields.
const (
	// DefaultWakeResend is how often the wake-up is sent again while the
	// machine has not answered: a NIC whose outlet was just switched on needs
	// seconds of standby power and link before it hears anything.
	DefaultWakeResend = 10 * time.Second
	// DefaultWakeProbeInterval is how often the probe is asked while waiting.
	DefaultWakeProbeInterval = time.Second
	// wakeAnswerReserve is the part of the action timeout kept back from the
	// wait, so that the caller hears why the machine is not up rather than
	// that its action was still under way.
	wakeAnswerReserve = 2 * time.Second
)

// Teller is a Prober that can say it cannot tell, such as a TCP probe of a
// name that does not resolve (which Alive counts as alive, so as never to cut
// a running machine over a DNS hiccup).
type Teller interface {
	Tell(ctx context.Context) (alive bool, err error)
}

// tell asks p whether the host is up; err is set when p cannot tell. A
// Prober that is no Teller always can.
func tell(ctx context.Context, p Prober) (bool, error) {
	if t, ok := p.(Teller); ok {
		return t.Tell(ctx)
	}
	return p.Alive(ctx), nil
}

// Waker powers a machine on without an outlet: Wake-on-LAN's magic packet
// (power/wol). It cannot tell whether the machine woke; the liveness probe
// does.
type Waker interface {
	Wake(ctx context.Context) error
}

// Wake is how a machine is woken up by LAN. Such a machine has a liveness
// probe, which gives its state, and a graceful shutdown, which is its only
// way off unless it has an outlet as well.
//
// A machine with outlets and a Wake (a BIOS that does not power on when AC
// returns) switches its outlets on and then wakes; its off and state are
// those of its outlets. A machine with no outlets is on while its probe
// answers (or within the boot grace of a wake-up), off otherwise; its off is
// the shutdown alone, and when the host is not seen going down the off fails,
// whatever the shutdown's policy: there is nothing to cut.
type Wake struct {
	Waker Waker
	// Resend is how often the wake-up is sent again until the probe answers;
	// DefaultWakeResend if zero.
	Resend time.Duration
	// ProbeInterval is how often the probe is asked while waiting;
	// DefaultWakeProbeInterval if zero.
	ProbeInterval time.Duration
	// Reboot, when set, is how a cycle of a machine with no outlets restarts
	// it: a reboot command over ssh, whose report is Down once the host went
	// down. Nil: the cycle is the off, then the on.
	Reboot Graceful
}

// ErrNoCut is returned for a cut of a machine that has no outlet.
var ErrNoCut = errors.New("the machine has no outlet to cut: it is woken by LAN and its only off is the clean shutdown")

// checkWake refuses a machine woken by LAN that could not be driven.
func checkWake(m Machine) error {
	switch {
	case m.Wake == nil:
		return nil
	case m.Wake.Waker == nil:
		return fmt.Errorf("machine %s: Wake-on-LAN without a sender", m.Name)
	case m.Liveness == nil:
		return fmt.Errorf("machine %s: Wake-on-LAN needs a liveness probe, the only way to tell the machine is on", m.Name)
	case m.Graceful == nil && len(m.Outlets) == 0:
		return fmt.Errorf("machine %s: Wake-on-LAN with no outlet needs a graceful shutdown, its only way off", m.Name)
	}
	return nil
}

// wakeOnly reports whether m has no outlet and is woken by LAN.
func (m *machine) wakeOnly() bool { return m.Wake != nil && len(m.Outlets) == 0 }

// wakeStatus is the state of a machine with no outlet, from a probe now; a
// probe that cannot tell is an error, as an unreadable PDU is.
func (f *Fleet) wakeStatus(ctx context.Context, m *machine) (MachineStatus, error) {
	alive, err := tell(ctx, m.Liveness.Probe)
	if err != nil {
		return MachineStatus{Machine: m.Name}, fmt.Errorf("machine %s: its liveness probe cannot tell whether it is on: %w", m.Name, err)
	}
	now := time.Now()
	m.probed(alive, now)
	return m.wakeState(alive, now), nil
}

// wakeState is the state of a machine with no outlet whose probe last said
// alive: on while it answers and while it boots from a wake-up (within the
// boot grace), and shutting down while it answers during its off. (The off
// itself reads the state first: a machine that does not answer is off, off
// under way or not.)
func (m *machine) wakeState(alive bool, now time.Time) MachineStatus {
	st := MachineStatus{Machine: m.Name, Outlets: []OutletStatus{}, State: Off}
	m.mu.Lock()
	defer m.mu.Unlock()
	booting := !m.poweredOn.IsZero() && now.Sub(m.poweredOn) <= m.Liveness.BootGrace
	if alive || booting {
		st.State = On
	}
	if st.State == On && m.cur != nil && m.cur.key == (runKey{action: ActionOff}) {
		st.ShuttingDown = true
	}
	st.Power = st.State
	return st
}

// lastWakeStatus is wakeState from the background probe; ok is false before
// its first probe.
func (m *machine) lastWakeStatus() (MachineStatus, bool) {
	m.mu.Lock()
	at, alive := m.probedAt, m.failingSince.IsZero()
	m.mu.Unlock()
	if at.IsZero() {
		return MachineStatus{Machine: m.Name}, false
	}
	return m.wakeState(alive, time.Now()), true
}

// wakeOn switches m's outlets on, if it has any, and wakes it unless its
// probe answers already; it returns once the probe answers.
//
// A halted OS behind live outlets is not cycled, as a machine without a
// wake-up is: the BIOS of a machine woken by LAN does not power on with AC,
// and some NICs are armed for WoL only by an OS that shut down cleanly.
func (f *Fleet) wakeOn(ctx context.Context, m *machine, res *Result) error {
	if len(m.Outlets) > 0 {
		f.journalSwitch(m, On)
		if err := f.switchAll(ctx, m, On, res); err != nil {
			return err
		}
	}
	if alive, err := tell(ctx, m.Liveness.Probe); alive && err == nil {
		m.probed(true, time.Now())
		res.State = On
		return nil
	}
	if m.Graceful != nil {
		if err := m.Graceful.ForgetHostKey(); err != nil {
			f.log.Warn("forgetting the host key", "machine", m.Name, "error", err.Error())
		}
	}
	return f.awaitUp(ctx, m, res, true)
}

// awaitUp waits until m's probe answers, sending the wake-up first and again
// every Resend when send is set, and records the outcome in res. Meanwhile
// m counts as booting.
func (f *Fleet) awaitUp(ctx context.Context, m *machine, res *Result, send bool) error {
	w := m.Wake
	resend := orDefault(w.Resend, DefaultWakeResend)
	tick := time.NewTicker(orDefault(w.ProbeInterval, DefaultWakeProbeInterval))
	defer tick.Stop()
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-min(wakeAnswerReserve, time.Until(dl)/10)))
		defer cancel()
	}
	start := time.Now()
	m.bootingSince(start)

	wakes, sent := 0, time.Time{}
	var sendErr, probeErr error
	for {
		if send && (sent.IsZero() || time.Since(sent) >= resend) {
			sent = time.Now()
			if err := w.Waker.Wake(ctx); err != nil {
				if wakes == 0 {
					m.bootingSince(time.Time{})
					return fmt.Errorf("waking by LAN: %w", err)
				}
				sendErr = err
				f.log.Warn("sending the wake-up again", "machine", m.Name, "error", err.Error())
			} else {
				wakes++
			}
		}
		alive, err := tell(ctx, m.Liveness.Probe)
		if probeErr = err; alive && err == nil && ctx.Err() == nil {
			m.probed(true, time.Now())
			res.Changed, res.State = true, On
			res.Notes = append(res.Notes, fmt.Sprintf("answered its liveness probe %s after the %s", time.Since(start).Round(time.Millisecond), upCause(send, wakes)))
			return nil
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		// A machine that does not answer is not counted as booting: the
		// caller is told it failed, and a status must not say otherwise.
		m.bootingSince(time.Time{})
		return notUp(time.Since(start), send, wakes, sendErr, probeErr)
	}
}

// bootingSince records when m was last powered on (zero: it is not booting).
func (m *machine) bootingSince(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.poweredOn = t
	if !t.IsZero() {
		m.failingSince = time.Time{}
	}
}

// notUp is the error of a machine that did not answer its probe within
// waited: what was sent, and what to check.
func notUp(waited time.Duration, send bool, wakes int, sendErr, probeErr error) error {
	err := fmt.Errorf("no answer to the liveness probe within %s of the %s", waited.Round(time.Second), upCause(send, wakes))
	if send {
		err = fmt.Errorf("%w (check that the NIC is armed for it, ethtool wol g, that the BIOS allows wake on LAN, and the MAC)", err)
	}
	if sendErr != nil {
		err = fmt.Errorf("%w; the last wake-up failed: %v", err, sendErr)
	}
	if probeErr != nil {
		err = fmt.Errorf("%w; the probe cannot tell: %v", err, probeErr)
	}
	return err
}

func upCause(send bool, wakes int) string {
	switch {
	case !send:
		return "reboot"
	case wakes == 1:
		return "wake-up (one sent)"
	}
	return fmt.Sprintf("first wake-up (%d sent)", wakes)
}

// wakeOff shuts m, a machine with no outlet, down; an off it cannot confirm
// is an error, since there is no power to cut.
func (f *Fleet) wakeOff(ctx context.Context, m *machine, res *Result) error {
	st, err := f.wakeStatus(ctx, m)
	if err != nil {
		return err
	}
	if st.State == Off {
		res.State = Off
		return nil
	}
	if err := f.wakeShutdown(ctx, m, m.Graceful, res, false); err != nil {
		return err
	}
	res.Changed, res.State = true, Off
	return nil
}

// wakeShutdown runs g on m, the shutdown or (reboot) the reboot, and
// records it in res; the host not going down is an error. Only a shutdown
// is counted as one.
func (f *Fleet) wakeShutdown(ctx context.Context, m *machine, g Graceful, res *Result, reboot bool) error {
	start := time.Now()
	rep := g.Shutdown(ctx)
	res.Phases = append(res.Phases, rep.Phases...)
	res.Shutdown, res.Reason = "graceful", ""
	if reboot {
		res.Shutdown = "reboot"
	}
	if !rep.Down {
		res.Shutdown, res.Reason, res.State = "refused", rep.Reason, On
	}
	if !reboot {
		f.obs.Shutdown(m.Name, res.Shutdown, res.Reason, time.Since(start))
	}
	if !rep.Down {
		return fmt.Errorf("the host was not seen going down, and a machine woken by LAN has no outlet to cut: %s", rep.Reason)
	}
	m.bootingSince(time.Time{})
	return nil
}

// wakeCycle restarts m. With outlets: the outlets' cycle, then the wake-up.
// With none: the reboot when one is configured, else the off and the on.
func (f *Fleet) wakeCycle(ctx context.Context, m *machine, res *Result) error {
	switch {
	case len(m.Outlets) > 0:
		if err := f.cycle(ctx, m, res); err != nil {
			return err
		}
		return f.awaitUp(ctx, m, res, true)
	case m.Wake.Reboot != nil:
		if err := f.wakeShutdown(ctx, m, m.Wake.Reboot, res, true); err != nil {
			return fmt.Errorf("rebooting: %w", err)
		}
		return f.awaitUp(ctx, m, res, false)
	}
	if err := f.wakeOff(ctx, m, res); err != nil {
		return err
	}
	return f.wakeOn(ctx, m, res)
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
