package shutdown

import (
	"context"
	"log/slog"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// Machine is one machine's graceful shutdown as the power domain asks for
// it: it implements power.Graceful, as power/apc implements power.Driver.
type Machine struct {
	Name     string
	Graceful Graceful
	// Timeout bounds the whole shutdown: login, command, and waiting for
	// the host to go down.
	Timeout time.Duration
	// CutOnFailure is the machine's policy when the host is not seen going
	// down: cut power anyway (true), or fail the off and leave it on.
	CutOnFailure bool
	// PinDir is the state directory holding the machine's pinned host key;
	// "" when its keys are not pinned (a known_hosts file, or insecure).
	PinDir string
	Logger *slog.Logger
}

var (
	_ power.Graceful = (*Machine)(nil)
	_ power.Prober   = TCPProbe{}
)

// Shutdown runs the whole graceful shutdown within the machine's timeout and
// writes it to the log as one line, with its phases and timings.
func (m *Machine) Shutdown(ctx context.Context) power.ShutdownReport {
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	r := m.Graceful.Run(ctx)
	rep := r.Report(m.CutOnFailure)
	level := slog.LevelInfo
	if !rep.Down {
		level = slog.LevelWarn
	}
	if m.Logger != nil {
		m.Logger.Log(ctx, level, "graceful shutdown", "machine", m.Name, "down", rep.Down, "policy", m.policy(), "shutdown", r)
	}
	return rep
}

func (m *Machine) policy() string {
	if m.CutOnFailure {
		return "cut"
	}
	return "fail"
}

// ForgetHostKey forgets the pinned host key; a strict known_hosts file is the
// operator's to edit, and an insecure policy pins nothing.
func (m *Machine) ForgetHostKey() error {
	if m.PinDir == "" {
		return nil
	}
	return ForgetPin(m.PinDir, m.Name)
}

// Report is r as the power domain is told it: whether the host went down,
// the phases, and, when it did not, why and whether power may be cut
// anyway (cut, the machine's policy).
func (r Result) Report(cut bool) power.ShutdownReport {
	rep := power.ShutdownReport{Down: r.Down()}
	rep.Phases = append(rep.Phases, phase("request", r.Request, r.RequestOutcome()))
	if r.WaitDown.Ran {
		rep.Phases = append(rep.Phases, phase("wait-down", r.WaitDown, r.WaitOutcome()))
	}
	if !rep.Down {
		rep.Cut = cut
		rep.Reason = r.String()
	}
	return rep
}

func phase(name string, p Phase, outcome string) power.Phase {
	return power.Phase{Name: name, Duration: p.Took, Outcome: outcome}
}
