// Package shutdown shuts a machine's operating system down cleanly over ssh
// and tells when it has gone down, so that its power can then be cut.
//
// Request logs in and runs the shutdown command; WaitDown waits until a
// liveness Probe has failed several times in a row (or metered power has
// fallen); Graceful runs the two and reports how each phase ended and how long
// it took. Host keys are checked against a known_hosts file, pinned on first
// use under a state directory, or, only when asked for by name, ignored.
//
// It implements the power domain's interfaces itself, as power/apc
// implements power.Driver: a Machine is a power.Graceful and a TCPProbe a
// power.Prober. It knows nothing of HTTP, configuration files or how PDUs
// are reached: the caller builds an SSH from its configuration, and passes in
// a function to read outlet power when it has a metered PDU.
package shutdown

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Defaults applied by Request to an SSH's zero fields.
const (
	DefaultCommand        = "sudo systemctl poweroff"
	DefaultConnectTimeout = 10 * time.Second
	DefaultPort           = "22"
)

// Errors of Request, to test with errors.Is. Every error Request returns also
// says which user and address it was about and what it was doing.
var (
	// ErrUnreachable: the command could not be sent because the host did not
	// let us in: the connection was refused or timed out, there is no route,
	// the name does not resolve, or the login was refused. A machine that is
	// commissioning or was never deployed has no key of ours, so a refused
	// login is normal there: the host is as good as unreachable.
	ErrUnreachable = errors.New("unreachable")

	// ErrHostKey: the host key was unknown (strict known_hosts) or did not
	// match the known one. The error is a *HostKeyError saying which.
	ErrHostKey = errors.New("host key rejected")

	// ErrUnconfirmed: the command was sent, or may have been, but no answer
	// came back: the connection was lost, the context ended, or the command
	// was killed by a signal (as systemd does to sessions while it shuts
	// down). The shutdown may well be under way; only a probe can tell.
	ErrUnconfirmed = errors.New("shutdown command sent but not confirmed")
)

// SSH says how to log in to a machine and shut it down. It is plain data
// built by the caller; the zero values of Command, ConnectTimeout and the
// port in Addr mean the defaults.
type SSH struct {
	Addr     string // host or host:port; port 22 if none is given
	User     string
	Signers  []ssh.Signer // tried before the agent's keys; see LoadKey
	UseAgent bool         // also offer the keys of the ssh-agent at $SSH_AUTH_SOCK
	HostKeys HostKeyPolicy
	Command  string // DefaultCommand if empty

	// ConnectTimeout bounds the TCP connect, the ssh handshake and the login
	// together. DefaultConnectTimeout if zero.
	ConnectTimeout time.Duration
}

// Request logs in and runs the shutdown command, and returns nil once the
// host has accepted it: exit status 0, or a session torn down without an exit
// status (*ssh.ExitMissingError) or with io.EOF, which is what a host that
// goes down at once looks like. It says nothing about the shutdown having
// finished: see WaitDown.
//
// The whole call is bounded by ctx. Errors wrap ErrUnreachable, ErrHostKey or
// ErrUnconfirmed where they fit; any other error (a bad configuration, a
// command that exits non-zero) means the shutdown was not requested.
func (s *SSH) Request(ctx context.Context) error {
	addr := withDefaultPort(s.Addr)
	who := fmt.Sprintf("ssh %s@%s", s.User, addr)
	if err := s.validate(); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	command := s.Command
	if command == "" {
		command = DefaultCommand
	}

	hostKeyCallback, hostKeyAlgos, err := s.HostKeys.hostKeyCheck(addr)
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	signers := s.Signers
	if s.UseAgent {
		agentSigners, closeAgent, err := dialAgent(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", who, err)
		}
		defer closeAgent()
		signers = append(signers[:len(signers):len(signers)], agentSigners...)
	}
	config := &ssh.ClientConfig{
		User: s.User,
		// One publickey method holding every key: x/crypto tries each method
		// name once, so a second PublicKeys method (say, for the agent) would
		// never be tried.
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback:   hostKeyCallback,
		HostKeyAlgorithms: hostKeyAlgos,
	}

	client, err := s.dial(ctx, addr, config)
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	defer client.Close()
	if err := run(ctx, client, command); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	return nil
}

func (s *SSH) validate() error {
	switch {
	case s.Addr == "":
		return errors.New("no address")
	case s.User == "":
		return errors.New("no user")
	case s.HostKeys == nil:
		return errors.New("no host key policy (StrictKnownHosts, PinOnFirstUse or InsecureIgnoreHostKey)")
	case len(s.Signers) == 0 && !s.UseAgent:
		return errors.New("no key to log in with (Signers or UseAgent)")
	}
	return nil
}

// dial connects and logs in, all within ConnectTimeout (and ctx).
func (s *SSH) dial(ctx context.Context, addr string, config *ssh.ClientConfig) (*ssh.Client, error) {
	timeout := s.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: connecting: %w", ErrUnreachable, err)
	}

	// ClientConfig.Timeout would bound only the TCP connect; a host that
	// accepts the connection and then says nothing would hang the handshake.
	// The connection's deadline bounds handshake and login as well, and the
	// AfterFunc covers a ctx cancelled without a deadline.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })

	var verdict keyVerdict
	cfg := *config
	cfg.HostKeyCallback = verdict.watch(config.HostKeyCallback)
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, &cfg)
	if !stop() {
		// ctx ended while logging in; even if the login just succeeded, the
		// deadline set by the AfterFunc has made the connection useless.
		if err == nil {
			c.Close()
		}
		return nil, fmt.Errorf("%w: connecting and logging in: %w", ErrUnreachable, ctx.Err())
	}
	if err != nil {
		return nil, verdict.explain(err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// keyVerdict tells a failed login apart from a failed handshake: once the
// host key has been accepted, what fails next is the login. x/crypto calls
// the host key callback from its key exchange goroutine.
type keyVerdict struct {
	mu       sync.Mutex
	accepted bool
	err      error
}

// watch returns check, recording its verdict.
func (v *keyVerdict) watch(check ssh.HostKeyCallback) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		v.mu.Lock()
		defer v.mu.Unlock()
		v.accepted, v.err = err == nil, err
		return err
	}
}

// explain says what a failed handshake and login, err, failed at.
func (v *keyVerdict) explain(err error) error {
	v.mu.Lock()
	accepted, keyErr := v.accepted, v.err
	v.mu.Unlock()
	switch {
	case keyErr != nil:
		return fmt.Errorf("checking host key: %w", keyErr)
	case accepted && !isNetError(err):
		return fmt.Errorf("%w: login refused: %w", ErrUnreachable, err)
	case accepted:
		return fmt.Errorf("%w: connection lost while logging in: %w", ErrUnreachable, err)
	}
	return fmt.Errorf("%w: ssh handshake: %w", ErrUnreachable, err)
}

// run runs command in a new session of client and classifies the outcome.
func run(ctx context.Context, client *ssh.Client, command string) error {
	// If the network vanishes without a FIN, Session.Run blocks until TCP
	// gives up, which takes minutes: closing the client when ctx ends is what
	// unblocks it. stop() reports whether that happened.
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()

	sess, err := client.NewSession()
	if err != nil {
		if !stop() {
			return fmt.Errorf("%w: opening a session: %w", ErrUnreachable, ctx.Err())
		}
		return fmt.Errorf("opening a session: %w", err)
	}
	defer sess.Close()
	var out tail
	sess.Stdout, sess.Stderr = &out, &out

	if err := sess.Start(command); err != nil {
		if !stop() {
			return fmt.Errorf("%w: starting %q: %w", ErrUnconfirmed, command, ctx.Err())
		}
		if errors.Is(err, io.EOF) {
			// The exec request went out but the connection closed before
			// its reply: the command may have started.
			return fmt.Errorf("%w: starting %q: %w", ErrUnconfirmed, command, err)
		}
		return fmt.Errorf("starting %q: %w", command, err)
	}
	err = sess.Wait()
	if !stop() {
		return fmt.Errorf("%w: no answer to %q: %w", ErrUnconfirmed, command, ctx.Err())
	}
	var exitMissing *ssh.ExitMissingError
	var exitErr *ssh.ExitError
	switch {
	case err == nil, errors.As(err, &exitMissing), errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &exitErr) && exitErr.Signal() != "":
		return fmt.Errorf("%w: %q ended by signal %s%s", ErrUnconfirmed, command, exitErr.Signal(), out.suffix())
	case errors.As(err, &exitErr):
		return fmt.Errorf("%q exited with status %d%s", command, exitErr.ExitStatus(), out.suffix())
	default:
		return fmt.Errorf("%w: running %q: %w", ErrUnconfirmed, command, err)
	}
}

// dialAgent returns the signers of the ssh-agent at $SSH_AUTH_SOCK and a
// function to close the connection to it.
func dialAgent(ctx context.Context) ([]ssh.Signer, func(), error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("ssh-agent: $SSH_AUTH_SOCK is not set")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh-agent: %w", err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("ssh-agent at %s: listing keys: %w", sock, err)
	}
	return signers, func() { conn.Close() }, nil
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// withDefaultPort adds port 22 to an address that has none.
func withDefaultPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil || addr == "" {
		return addr
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), DefaultPort)
}

// tail keeps the last bytes a command wrote, to explain a failure. Stdout and
// stderr are copied by two goroutines, hence the lock.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 256

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = t.buf[len(t.buf)-tailSize:]
	}
	return len(p), nil
}

// suffix is ": <output>" for an error message, or nothing.
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(bytes.TrimSpace(t.buf))
	if s == "" {
		return ""
	}
	return ": " + strings.Join(strings.Fields(s), " ")
}
