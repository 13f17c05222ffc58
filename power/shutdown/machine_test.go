package shutdown_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/shutdown"
)

// A machine whose sshd refuses the connection is reported not down at
// once, with the reason; its policy says whether power may be cut.
func TestMachineIsTheDomainsGraceful(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from now on
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []bool{true, false} {
		var logged bytes.Buffer
		var g power.Graceful = &shutdown.Machine{
			Name: "m",
			Graceful: shutdown.Graceful{SSH: &shutdown.SSH{
				Addr: addr, User: "ubuntu", Signers: []ssh.Signer{signer}, HostKeys: shutdown.InsecureIgnoreHostKey{},
			}},
			Timeout:      10 * time.Second,
			CutOnFailure: cut,
			Logger:       slog.New(slog.NewTextHandler(&logged, nil)),
		}
		rep := g.Shutdown(context.Background())
		if rep.Down || rep.Cut != cut || !strings.Contains(rep.Reason, "unreachable") {
			t.Errorf("cut policy %v: %+v, want not down, Cut %v, the reason unreachable", cut, rep, cut)
		}
		if len(rep.Phases) != 1 || rep.Phases[0].Name != "request" || rep.Phases[0].Outcome != "unreachable" {
			t.Errorf("phases %+v, want the request alone, unreachable", rep.Phases)
		}
		policy := map[bool]string{true: "policy=cut", false: "policy=fail"}[cut]
		if out := logged.String(); !strings.Contains(out, "graceful shutdown") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, policy) {
			t.Errorf("log line %q, want a warning with %s", out, policy)
		}
		if err := g.ForgetHostKey(); err != nil {
			t.Errorf("ForgetHostKey without a pin: %v", err)
		}
	}
}

func TestResultReport(t *testing.T) {
	r := shutdown.Result{
		Request:  shutdown.Phase{Ran: true, Took: 400 * time.Millisecond},
		WaitDown: shutdown.Phase{Ran: true, Took: 6 * time.Second},
	}
	rep := r.Report(false)
	if !rep.Down || rep.Reason != "" || len(rep.Phases) != 2 || rep.Phases[1].Name != "wait-down" || rep.Phases[1].Outcome != "down" || rep.Phases[1].Duration != 6*time.Second {
		t.Errorf("a shutdown seen through: %+v", rep)
	}
	r.WaitDown.Err = context.DeadlineExceeded
	if rep := r.Report(true); rep.Down || !rep.Cut || !strings.Contains(rep.Reason, "wait timeout") {
		t.Errorf("a host still up at the deadline: %+v", rep)
	}
}
