package shutdown_test

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/powerbridge/powerbridge/power/shutdown"
)

// How the machine's off sequence uses the package: shut down gracefully, then
// cut power, or apply the machine's policy.
func ExampleGraceful() {
	key, err := shutdown.LoadKey("/etc/powerbridge/id_ed25519", "")
	if err != nil {
		slog.Error("ssh key", "err", err)
		return
	}
	g := shutdown.Graceful{
		SSH: &shutdown.SSH{
			Addr:     "bigboy.maas",
			User:     "ubuntu",
			Signers:  []ssh.Signer{key},
			HostKeys: shutdown.PinOnFirstUse{StateDir: "/var/lib/powerbridge", Machine: "bigboy"},
		},
		Probe: shutdown.TCPProbe{Addr: "bigboy.maas:22"},
		// For a metered PDU: PowerBelow: func(ctx context.Context) (bool, error) { ... },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	r := g.Run(ctx)
	slog.Info("shutdown", "machine", "bigboy", "graceful", r)
	if r.Down() {
		// cut power: "graceful"
	} else {
		// policy cut: cut power, answer "cut, because " + r.Err().Error()
		// policy fail: leave power on, answer the error
	}
}
