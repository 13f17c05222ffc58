package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/shutdown"
)

// sshShutdown is a machine's graceful shutdown over ssh, as the power domain
// sees it (power.Graceful).
type sshShutdown struct {
	machine      string
	run          shutdown.Graceful
	timeout      time.Duration
	cutOnFailure bool
	pinDir       string // where the machine's pinned host key lives; "" if not pinned
	log          *slog.Logger
}

// Shutdown runs the whole graceful shutdown within the machine's timeout and
// writes it to the log as one line, with its phases and timings.
func (s *sshShutdown) Shutdown(ctx context.Context) power.ShutdownReport {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r := s.run.Run(ctx)
	rep := power.ShutdownReport{Down: r.Down()}
	rep.Phases = append(rep.Phases, phase("request", r.Request, r.RequestOutcome()))
	if r.WaitDown.Ran {
		rep.Phases = append(rep.Phases, phase("wait-down", r.WaitDown, r.WaitOutcome()))
	}
	if !rep.Down {
		rep.Cut = s.cutOnFailure
		rep.Reason = r.String()
	}
	level := slog.LevelInfo
	if !rep.Down {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, "graceful shutdown", "machine", s.machine, "down", rep.Down, "policy", s.policy(), "shutdown", r)
	return rep
}

func (s *sshShutdown) policy() string {
	if s.cutOnFailure {
		return "cut"
	}
	return "fail"
}

func phase(name string, p shutdown.Phase, outcome string) power.Phase {
	return power.Phase{Name: name, Duration: p.Took, Seconds: p.Took.Seconds(), Outcome: outcome}
}

// ForgetHostKey forgets the pinned host key; a strict known_hosts file is the
// operator's to edit, and an insecure policy pins nothing.
func (s *sshShutdown) ForgetHostKey() error {
	if s.pinDir == "" {
		return nil
	}
	return shutdown.ForgetPin(s.pinDir, s.machine)
}

// gracefulFor builds the graceful shutdown of a configured machine, or nil
// when it has none. powerBelow, when not nil, tells whether the machine's
// metered outlets have dropped to standby.
func gracefulFor(m config.Machine, stateDir string, log *slog.Logger, powerBelow func(context.Context) (bool, error)) (*sshShutdown, error) {
	sh := m.Shutdown
	if sh == nil {
		return nil, nil
	}
	s := &sshShutdown{
		machine:      m.Name,
		timeout:      sh.Timeout.Std(),
		cutOnFailure: sh.OnFailure == "cut",
		log:          log,
	}
	var signers []ssh.Signer
	if sh.SSH.KeyFile != "" {
		signer, err := shutdown.LoadKey(sh.SSH.KeyFile, sh.SSH.KeyPassphraseFile)
		if err != nil {
			return nil, fmt.Errorf("machine %s: %w", m.Name, err)
		}
		signers = append(signers, signer)
	}
	var policy shutdown.HostKeyPolicy
	switch {
	case sh.SSH.InsecureIgnoreHostKey:
		log.Warn("INSECURE: any ssh host key is accepted for this machine (insecure_ignore_host_key)", "machine", m.Name)
		policy = shutdown.InsecureIgnoreHostKey{}
	case sh.SSH.KnownHosts != "":
		policy = shutdown.StrictKnownHosts{File: sh.SSH.KnownHosts}
	default:
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return nil, fmt.Errorf("machine %s: pinned host keys need state_dir: %w", m.Name, err)
		}
		policy = shutdown.PinOnFirstUse{StateDir: stateDir, Machine: m.Name}
		s.pinDir = stateDir
	}
	s.run = shutdown.Graceful{
		// The login and command get a third of the budget at most, so that a
		// command that hangs leaves time to watch the host go down.
		RequestTimeout: min(shutdown.DefaultRequestTimeout, s.timeout/3),
		SSH: &shutdown.SSH{
			Addr:           sh.SSH.Addr(),
			User:           sh.SSH.User,
			Signers:        signers,
			UseAgent:       sh.SSH.Agent,
			HostKeys:       policy,
			Command:        sh.Command,
			ConnectTimeout: sh.SSH.ConnectTimeout.Std(),
		},
	}
	if l := m.Liveness; l != nil {
		s.run.Probe = shutdown.TCPProbe{Addr: l.TCP}
		s.run.Failures = l.Failures
		s.run.Interval = l.Interval.Std()
		s.run.Settle = l.Settle.Std()
		if l.PowerBelowWatts > 0 {
			s.run.PowerBelow = powerBelow
		}
	}
	return s, nil
}

// livenessFor builds the liveness watch of a configured machine, or nil.
func livenessFor(m config.Machine) *power.Liveness {
	l := m.Liveness
	if l == nil {
		return nil
	}
	return &power.Liveness{
		Probe:     shutdown.TCPProbe{Addr: l.TCP},
		BootGrace: l.BootGrace.Std(),
		Interval:  l.PollInterval.Std(),
	}
}
