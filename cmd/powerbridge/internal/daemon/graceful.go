package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/shutdown"
)

// gracefulFor builds the graceful shutdown of a configured machine, or nil
// when it has none. powerBelow, when not nil, tells whether the machine's
// metered outlets have dropped to standby.
func gracefulFor(m config.Machine, stateDir string, log *slog.Logger, powerBelow func(context.Context) (bool, error)) (*shutdown.Machine, error) {
	sh := m.Shutdown
	if sh == nil {
		return nil, nil
	}
	s := &shutdown.Machine{
		Name:         m.Name,
		Timeout:      sh.Timeout.Std(),
		CutOnFailure: sh.OnFailure == "cut",
		Logger:       log,
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
		s.PinDir = stateDir
	}
	s.Graceful = shutdown.Graceful{
		// The login and command get a third of the budget at most, so that a
		// command that hangs leaves time to watch the host go down.
		RequestTimeout: min(shutdown.DefaultRequestTimeout, s.Timeout/3),
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
		s.Graceful.Probe = shutdown.TCPProbe{Addr: l.TCP}
		s.Graceful.Failures = l.Failures
		s.Graceful.Interval = l.Interval.Std()
		s.Graceful.Settle = l.Settle.Std()
		if l.PowerBelowWatts > 0 {
			s.Graceful.PowerBelow = powerBelow
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
