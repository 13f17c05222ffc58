package shutdown_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crypto/ed25519"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/powerbridge/powerbridge/power/shutdown"
	"github.com/powerbridge/powerbridge/test/sshd"
)

// These tests run a real OpenSSH sshd on 127.0.0.1 (and, for one, in a
// network namespace of their own): see package test/sshd.

const poweroff = "sudo systemctl poweroff"

// client returns an SSH that logs in to srv with its authorised key.
func client(t *testing.T, srv *sshd.Server, policy shutdown.HostKeyPolicy) *shutdown.SSH {
	t.Helper()
	signer, err := shutdown.LoadKey(srv.ClientKeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	return &shutdown.SSH{
		Addr:           srv.Addr,
		User:           srv.User,
		Signers:        []ssh.Signer{signer},
		HostKeys:       policy,
		ConnectTimeout: 30 * time.Second,
	}
}

// knownHosts writes a known_hosts file holding srv's keys of the given types.
func knownHosts(t *testing.T, srv *sshd.Server, keyTypes ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, srv.KnownHosts(keyTypes...), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func fingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }

// timeout is a context with a deadline. Where the deadline is not what a
// test is about it is a minute: generous bounds that fail a hang, never a
// loaded machine (an ssh login under -race beside a busy suite can take
// tens of seconds).
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestRequestThenWaitDown(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.GoesDown})
	s := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)})

	if err := s.Request(timeout(t, time.Minute)); err != nil {
		t.Fatalf("Request: %v", err)
	}
	// Request returns once the command ran; whether the host went down is
	// WaitDown's to find out. (How soon Request returns is not asserted:
	// it races the second sshd takes to go, on a loaded machine.)

	probe := shutdown.TCPProbe{Addr: srv.Addr, Timeout: 500 * time.Millisecond}
	if err := shutdown.WaitDown(timeout(t, 30*time.Second), probe, 3, 100*time.Millisecond, 200*time.Millisecond); err != nil {
		t.Fatalf("WaitDown: %v", err)
	}
	select {
	case <-srv.Exited():
	default:
		t.Fatal("WaitDown returned while sshd was still listening")
	}

	cmds := srv.Commands(t)
	if len(cmds) != 1 || cmds[0].Line != poweroff {
		t.Errorf("commands run: %+v, want exactly one %q", cmds, poweroff)
	}
}

func TestGraceful(t *testing.T) {
	t.Parallel()
	t.Run("down", func(t *testing.T) {
		t.Parallel()
		srv := sshd.Start(t, sshd.Options{Behaviour: sshd.GoesDown})
		g := shutdown.Graceful{
			SSH:      client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)}),
			Probe:    shutdown.TCPProbe{Addr: srv.Addr, Timeout: 500 * time.Millisecond},
			Interval: 100 * time.Millisecond,
			Settle:   100 * time.Millisecond,
		}
		r := g.Run(timeout(t, time.Minute))
		if !r.Down() || r.Err() != nil {
			t.Fatalf("Run: %s; want the host down", r)
		}
		if r.RequestOutcome() != "requested" || r.WaitOutcome() != "down" {
			t.Errorf("outcomes %q, %q; want requested, down", r.RequestOutcome(), r.WaitOutcome())
		}
		if !strings.HasPrefix(r.String(), "request requested in ") || !strings.Contains(r.String(), ", wait down in ") {
			t.Errorf("String() = %q", r)
		}
	})
	t.Run("unreachable skips the wait", func(t *testing.T) {
		t.Parallel()
		g := shutdown.Graceful{SSH: &shutdown.SSH{
			Addr: closedPort(t), User: "ubuntu", Signers: []ssh.Signer{newSigner(t)},
			HostKeys: shutdown.InsecureIgnoreHostKey{},
		}}
		r := g.Run(timeout(t, time.Minute))
		if r.Down() || !errors.Is(r.Err(), shutdown.ErrUnreachable) || r.WaitDown.Ran {
			t.Fatalf("Run: %s; want unreachable and no wait", r)
		}
		if r.RequestOutcome() != "unreachable" || r.WaitOutcome() != "skipped" {
			t.Errorf("outcomes %q, %q; want unreachable, skipped", r.RequestOutcome(), r.WaitOutcome())
		}
	})
}

func TestStrictRefusesUnknownHostKey(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	// A known_hosts file that knows other hosts, not this one.
	other := knownhosts.Line([]string{"node9.maas"}, newSigner(t).PublicKey()) + "\n"
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}

	err := client(t, srv, shutdown.StrictKnownHosts{File: file}).Request(timeout(t, time.Minute))
	if !errors.Is(err, shutdown.ErrHostKey) {
		t.Fatalf("Request: %v; want ErrHostKey", err)
	}
	var hk *shutdown.HostKeyError
	if !errors.As(err, &hk) || hk.Problem != shutdown.KeyUnknown {
		t.Fatalf("Request: %v; want a HostKeyError for an unknown key", err)
	}
	for _, want := range []string{"ssh " + srv.User + "@" + srv.Addr + ": ", "host key unknown", fingerprint(srv.HostKey("ed25519")), file} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if cmds := srv.Commands(t); len(cmds) != 0 {
		t.Errorf("commands run with an unknown host key: %+v", cmds)
	}
}

func TestStrictRefusesChangedHostKey(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	s := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)})
	if err := s.Request(timeout(t, time.Minute)); err != nil {
		t.Fatalf("Request with the known key: %v", err)
	}
	old := srv.HostKey("ed25519")

	srv.RegenerateHostKeys(t)
	srv.Restart(t)
	err := s.Request(timeout(t, time.Minute))
	var hk *shutdown.HostKeyError
	if !errors.Is(err, shutdown.ErrHostKey) || !errors.As(err, &hk) || hk.Problem != shutdown.KeyMismatch {
		t.Fatalf("Request after the key changed: %v; want a host key mismatch", err)
	}
	for _, want := range []string{"host key mismatch", fingerprint(srv.HostKey("ed25519")), fingerprint(old)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if cmds := srv.Commands(t); len(cmds) != 1 {
		t.Errorf("commands run: %d, want only the first", len(cmds))
	}
}

func TestPinOnFirstUse(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	state := t.TempDir()
	s := client(t, srv, shutdown.PinOnFirstUse{StateDir: state, Machine: "node1"})
	pinFile := filepath.Join(state, "known_hosts.d", "node1")

	for i := range 2 {
		if err := s.Request(timeout(t, time.Minute)); err != nil {
			t.Fatalf("Request %d: %v", i+1, err)
		}
	}
	pinned, err := os.ReadFile(pinFile)
	if err != nil {
		t.Fatalf("no pin: %v", err)
	}
	if want := string(srv.KnownHosts("ed25519")); string(pinned) != want {
		t.Errorf("pin file holds %q, want %q", pinned, want)
	}

	srv.RegenerateHostKeys(t)
	srv.Restart(t)
	err = s.Request(timeout(t, time.Minute))
	var hk *shutdown.HostKeyError
	if !errors.Is(err, shutdown.ErrHostKey) || !errors.As(err, &hk) || hk.Problem != shutdown.KeyMismatch {
		t.Fatalf("Request after the key changed: %v; want a host key mismatch", err)
	}
	if !strings.Contains(err.Error(), "forget its pin") || !strings.Contains(err.Error(), pinFile) {
		t.Errorf("error %q does not point at the pin", err)
	}

	if err := shutdown.ForgetPin(state, "node1"); err != nil {
		t.Fatalf("ForgetPin: %v", err)
	}
	if err := s.Request(timeout(t, time.Minute)); err != nil {
		t.Fatalf("Request after ForgetPin: %v", err)
	}
	if pinned, _ := os.ReadFile(pinFile); string(pinned) != string(srv.KnownHosts("ed25519")) {
		t.Errorf("pin file after ForgetPin holds %q, want the new key", pinned)
	}
	if n := len(srv.Commands(t)); n != 3 {
		t.Errorf("commands run: %d, want 3", n)
	}
}

// A server with RSA, ECDSA and Ed25519 host keys, of which only one is known.
// Left to itself x/crypto asks for ECDSA first and then fails with a key
// mismatch; the control subtests show that trap is live against this server.
func TestOneOfManyHostKeysKnown(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp, HostKeyTypes: []string{"rsa", "ecdsa", "ed25519"}})

	for _, kt := range []string{"ed25519", "rsa", "ecdsa"} {
		t.Run("strict "+kt, func(t *testing.T) {
			s := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv, kt)})
			if err := s.Request(timeout(t, time.Minute)); err != nil {
				t.Fatalf("Request with only the %s key known: %v", kt, err)
			}
		})
		t.Run("pinned "+kt, func(t *testing.T) {
			state := t.TempDir()
			os.MkdirAll(filepath.Join(state, "known_hosts.d"), 0o700)
			if err := os.WriteFile(filepath.Join(state, "known_hosts.d", "node1"), srv.KnownHosts(kt), 0o600); err != nil {
				t.Fatal(err)
			}
			s := client(t, srv, shutdown.PinOnFirstUse{StateDir: state, Machine: "node1"})
			if err := s.Request(timeout(t, time.Minute)); err != nil {
				t.Fatalf("Request with only the %s key pinned: %v", kt, err)
			}
		})
	}
	for _, kt := range []string{"ed25519", "rsa"} {
		t.Run("control: x/crypto alone with "+kt, func(t *testing.T) {
			check, err := knownhosts.New(knownHosts(t, srv, kt))
			if err != nil {
				t.Fatal(err)
			}
			signer, err := shutdown.LoadKey(srv.ClientKeyFile, "")
			if err != nil {
				t.Fatal(err)
			}
			c, err := ssh.Dial("tcp", srv.Addr, &ssh.ClientConfig{
				User: srv.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
				HostKeyCallback: check, Timeout: 5 * time.Second,
			})
			if err == nil {
				c.Close()
				t.Skip("x/crypto no longer falls into the multi-key trap; the fix is harmless but moot")
			}
			if !strings.Contains(err.Error(), "key mismatch") {
				t.Fatalf("plain x/crypto: %v; want a key mismatch", err)
			}
		})
	}
}

func TestClosedPortIsUnreachableAtOnce(t *testing.T) {
	t.Parallel()
	// A connect timeout and a deadline far off: a refused connection
	// fails on the refusal, never on either.
	s := &shutdown.SSH{
		Addr: closedPort(t), User: "ubuntu", Signers: []ssh.Signer{newSigner(t)},
		HostKeys: shutdown.InsecureIgnoreHostKey{}, ConnectTimeout: time.Minute,
	}
	err := s.Request(timeout(t, 2*time.Minute))
	if !errors.Is(err, shutdown.ErrUnreachable) {
		t.Fatalf("Request: %v; want ErrUnreachable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Request: %v; want it to fail on the refusal, not on a timeout", err)
	}
	if !strings.Contains(err.Error(), "ssh ubuntu@"+s.Addr+": unreachable: connecting: ") {
		t.Errorf("error %q does not say what was being done", err)
	}
}

func TestLoginRefusedIsUnreachable(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	stranger, err := shutdown.LoadKey(srv.NewClientKey(t, "stranger", "", false), "")
	if err != nil {
		t.Fatal(err)
	}
	s := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)})
	s.Signers = []ssh.Signer{stranger}

	err = s.Request(timeout(t, time.Minute))
	if !errors.Is(err, shutdown.ErrUnreachable) || !strings.Contains(err.Error(), "login refused") {
		t.Fatalf("Request: %v; want ErrUnreachable, login refused", err)
	}
	if cmds := srv.Commands(t); len(cmds) != 0 {
		t.Errorf("commands run without a login: %+v", cmds)
	}
}

func TestWaitDownHostThatStaysUp(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	if err := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)}).Request(timeout(t, time.Minute)); err != nil {
		t.Fatalf("Request: %v", err)
	}

	probe := shutdown.TCPProbe{Addr: srv.Addr, Timeout: 500 * time.Millisecond}
	ctx := timeout(t, 1500*time.Millisecond)
	err := shutdown.WaitDown(ctx, probe, 3, 100*time.Millisecond, 100*time.Millisecond)
	// It gave up at the deadline, not before.
	if ctx.Err() == nil {
		t.Errorf("WaitDown returned %v before its deadline", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitDown: %v; want the deadline", err)
	}
	if !strings.Contains(err.Error(), "still up after ") || !strings.Contains(err.Error(), "(0 of 3 failures in a row)") {
		t.Errorf("error %q does not say how far it got", err)
	}
}

func TestEncryptedKey(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	keyFile := srv.NewClientKey(t, "locked", "correct horse", true)
	dir := t.TempDir()
	passFile := filepath.Join(dir, "passphrase")
	wrongFile := filepath.Join(dir, "wrong")
	os.WriteFile(passFile, []byte("correct horse\n"), 0o600)
	os.WriteFile(wrongFile, []byte("battery staple\n"), 0o600)

	signer, err := shutdown.LoadKey(keyFile, passFile)
	if err != nil {
		t.Fatalf("LoadKey with the passphrase: %v", err)
	}
	s := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)})
	s.Signers = []ssh.Signer{signer}
	if err := s.Request(timeout(t, time.Minute)); err != nil {
		t.Fatalf("Request with the decrypted key: %v", err)
	}

	for _, tc := range []struct {
		name, key, pass string
		want            string
	}{
		{"no passphrase file", keyFile, "", "loading ssh key " + keyFile + ": the key is encrypted and no passphrase file is given"},
		{"wrong passphrase", keyFile, wrongFile, "loading ssh key " + keyFile + ": wrong passphrase in " + wrongFile},
		{"missing passphrase file", keyFile, filepath.Join(dir, "nope"), "reading the passphrase: open " + filepath.Join(dir, "nope")},
		{"public key given", keyFile + ".pub", "", "this is a public key; give the private key"},
		{"missing key", filepath.Join(dir, "nokey"), "", "loading ssh key: open " + filepath.Join(dir, "nokey")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := shutdown.LoadKey(tc.key, tc.pass)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadKey: %v; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "horse") || strings.Contains(err.Error(), "staple") {
				t.Errorf("error %q reveals a passphrase", err)
			}
		})
	}
}

// The agent's key is authorised, the file key is not: both must be offered
// within one publickey method, or x/crypto never gets to the agent's.
func TestAgent(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	authorised, err := os.ReadFile(srv.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(authorised)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)

	s := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)})
	s.Signers = []ssh.Signer{newSigner(t)}
	s.UseAgent = true
	if err := s.Request(timeout(t, time.Minute)); err != nil {
		t.Fatalf("Request with the agent's key: %v", err)
	}

	t.Setenv("SSH_AUTH_SOCK", "")
	if err := s.Request(timeout(t, time.Minute)); err == nil || !strings.Contains(err.Error(), "$SSH_AUTH_SOCK is not set") {
		t.Fatalf("Request without an agent: %v; want it to say SSH_AUTH_SOCK is not set", err)
	}
}

// The network vanishes while the command runs: no FIN, no RST, nothing. On
// its own Session.Run would wait for TCP to give up, minutes later.
func TestNetworkVanishesMidCommand(t *testing.T) {
	t.Parallel()
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.Hangs, NetNS: true})
	s := client(t, srv, shutdown.StrictKnownHosts{File: knownHosts(t, srv)})

	// Long enough to log in and send the command on a loaded machine.
	const limit = 15 * time.Second
	done := make(chan error, 1)
	go func() { done <- s.Request(timeout(t, limit)) }()
	srv.WaitCommand(t, limit)
	srv.CutLink(t)

	select {
	case err := <-done:
		// Ended by its own deadline, which is what a Session.Run left
		// to TCP would not be.
		if !errors.Is(err, shutdown.ErrUnconfirmed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Request: %v; want ErrUnconfirmed at the deadline", err)
		}
	case <-time.After(limit + time.Minute):
		t.Fatalf("Request still blocked a minute after its %s deadline", limit)
	}

	// A host that has gone silent fails the probe by timing out.
	probe := shutdown.TCPProbe{Addr: srv.Addr, Timeout: 200 * time.Millisecond}
	if err := shutdown.WaitDown(timeout(t, 5*time.Second), probe, 2, 50*time.Millisecond, 0); err != nil {
		t.Fatalf("WaitDown on a silent host: %v", err)
	}
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
