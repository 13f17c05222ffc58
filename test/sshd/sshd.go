// Package sshd runs a real OpenSSH sshd for tests, standing in for a machine
// that powerbridge shuts down over ssh.
//
// A Server listens on 127.0.0.1 (or, for the vanishing-network case, inside a
// network namespace of its own reached over a veth pair), with host and client
// keys generated in the test's temporary directory. Whatever command the client
// asks for, sshd runs a forced command instead: it records the command asked
// for, prints a line, and then behaves as the test chose. With GoesDown it
// kills the sshd listener about a second after answering, so that the port
// closes the way it does on a machine going down.
//
// The package uses /usr/sbin/sshd and ssh-keygen from OpenSSH, and ip(8) for
// namespaces. It is for tests only: every failure is fatal to the test.
package sshd

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Path is the sshd binary the harness runs.
const Path = "/usr/sbin/sshd"

// Behaviour is what the forced command does once it has recorded the command.
type Behaviour int

const (
	// GoesDown prints a line, exits 0, and about a second later kills the sshd
	// listener: the port closes like a machine going down.
	GoesDown Behaviour = iota
	// StaysUp prints a line and exits 0; sshd keeps listening, like a machine
	// that ignores the request.
	StaysUp
	// Hangs never answers: the command sleeps until the harness kills it. Used
	// to take the network away while a client waits for the command.
	Hangs
)

// Options shape a Server. The zero value is an ed25519 host key, loopback, and
// GoesDown.
type Options struct {
	Behaviour Behaviour
	// HostKeyTypes are ssh-keygen -t names ("ed25519", "ecdsa", "rsa"); the
	// default is just ed25519.
	HostKeyTypes []string
	// NetNS runs sshd in a network namespace of its own, reachable from the
	// host over a veth pair with addresses in 198.51.100.0/24 (TEST-NET-2).
	// It needs root and ip netns; the test is skipped otherwise.
	NetNS bool
	// Quiet leaves sshd's log out of a failed test's output: a test with
	// many servers prints the lines that explain its failure itself.
	Quiet bool
}

// Server is one running sshd.
type Server struct {
	Dir  string // the test's directory for keys, config, logs
	Addr string // host:port to connect to
	User string // the user the client logs in as (the one running the test)

	// ClientKeyFile is an unencrypted private key whose public half is
	// authorised.
	ClientKeyFile string
	// CommandLog records one line per command run: "<unix time> <command>".
	CommandLog string

	opts     Options
	port     int
	hostKeys map[string]ssh.PublicKey // by ssh-keygen -t name
	ns       *netns

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when the current sshd process has exited
}

// Start generates keys and configuration in a fresh temporary directory and
// starts sshd. The server is stopped and everything removed in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Skipf("no OpenSSH sshd: %v", err)
	}
	if len(opts.HostKeyTypes) == 0 {
		opts.HostKeyTypes = []string{"ed25519"}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshd: current user: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root insists on its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshd: %v", err)
		}
	}
	s := &Server{
		Dir:      t.TempDir(),
		User:     u.Username,
		opts:     opts,
		hostKeys: map[string]ssh.PublicKey{},
	}
	s.CommandLog = filepath.Join(s.Dir, "commands.log")
	s.RegenerateHostKeys(t)
	s.ClientKeyFile = s.NewClientKey(t, "client", "", true)
	s.writeScript(t)

	listen := "127.0.0.1"
	if opts.NetNS {
		s.ns = newNetNS(t)
		listen = s.ns.nsAddr
	}
	// Registered after the namespace's own cleanup, so it runs before it.
	t.Cleanup(func() { s.cleanup(t) })

	// Pick a free port; another process may grab it before sshd binds, so try
	// a few.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t, listen)
		s.Addr = net.JoinHostPort(listen, strconv.Itoa(s.port))
		s.writeConfig(t, listen)
		err := s.start(t)
		if err == nil {
			return s
		}
		if attempt == 3 || !strings.Contains(s.SSHDLog(), "Address already in use") {
			t.Fatalf("sshd: %v\n%s", err, s.SSHDLog())
		}
	}
}

// HostKey returns the server's public host key of an ssh-keygen type, or nil.
func (s *Server) HostKey(keyType string) ssh.PublicKey { return s.hostKeys[keyType] }

// KnownHosts returns known_hosts lines for the server's host keys of the given
// types (all of them if none is given), in the form OpenSSH writes them.
func (s *Server) KnownHosts(keyTypes ...string) []byte {
	if len(keyTypes) == 0 {
		keyTypes = s.opts.HostKeyTypes
	}
	var b bytes.Buffer
	for _, kt := range keyTypes {
		if k := s.hostKeys[kt]; k != nil {
			b.WriteString(knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, k) + "\n")
		}
	}
	return b.Bytes()
}

// RegenerateHostKeys replaces the host keys on disk, as a redeployed machine
// gets new ones. A running sshd keeps the old keys until Restart.
func (s *Server) RegenerateHostKeys(t testing.TB) {
	t.Helper()
	for _, kt := range s.opts.HostKeyTypes {
		file := filepath.Join(s.Dir, "ssh_host_"+kt+"_key")
		os.Remove(file)
		os.Remove(file + ".pub")
		s.hostKeys[kt] = keygen(t, file, kt, "")
	}
}

// NewClientKey generates a client key pair named name in the server's
// directory, encrypted with passphrase unless it is empty, and returns the
// private key's path. With authorize its public key is added to the
// authorised keys.
func (s *Server) NewClientKey(t testing.TB, name, passphrase string, authorize bool) string {
	t.Helper()
	file := filepath.Join(s.Dir, name+"_key")
	keygen(t, file, "ed25519", passphrase)
	if authorize {
		pub, err := os.ReadFile(file + ".pub")
		if err != nil {
			t.Fatalf("sshd: %v", err)
		}
		f, err := os.OpenFile(filepath.Join(s.Dir, "authorized_keys"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatalf("sshd: %v", err)
		}
		defer f.Close()
		if _, err := f.Write(pub); err != nil {
			t.Fatalf("sshd: %v", err)
		}
	}
	return file
}

// Command is one command the forced command recorded.
type Command struct {
	At   time.Time
	Line string // $SSH_ORIGINAL_COMMAND
}

// Commands returns the commands recorded so far.
func (s *Server) Commands(t testing.TB) []Command {
	t.Helper()
	data, err := os.ReadFile(s.CommandLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("sshd: %v", err)
	}
	var cmds []Command
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		stamp, line, _ := strings.Cut(sc.Text(), " ")
		secs, err := strconv.ParseFloat(stamp, 64)
		if err != nil {
			t.Fatalf("sshd: bad line in %s: %q", s.CommandLog, sc.Text())
		}
		cmds = append(cmds, Command{At: time.Unix(0, int64(secs*1e9)), Line: line})
	}
	return cmds
}

// WaitCommand waits until at least one command has been recorded and returns
// the first.
func (s *Server) WaitCommand(t testing.TB, timeout time.Duration) Command {
	t.Helper()
	var cmds []Command
	waitFor(t, timeout, "a command to be recorded", func() bool {
		cmds = s.Commands(t)
		return len(cmds) > 0
	})
	return cmds[0]
}

// Exited returns a channel closed once the current sshd listener has exited.
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

// Stop terminates the sshd listener and waits until it has exited. Sessions
// already running carry on, as they do with a real sshd.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Restart stops sshd if it runs and starts it again on the same address,
// with whatever host keys are on disk now.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	if err := s.start(t); err != nil {
		t.Fatalf("sshd: restarting: %v\n%s", err, s.SSHDLog())
	}
}

// CutLink takes the namespace's end of the veth pair down. From then on
// nothing the host sends reaches sshd and nothing comes back: no FIN, no RST,
// the way a network vanishes. Only for a Server started with NetNS.
func (s *Server) CutLink(t testing.TB) {
	t.Helper()
	if s.ns == nil {
		t.Fatal("sshd: CutLink needs a server started with Options.NetNS")
	}
	run(t, "ip", "-n", s.ns.name, "link", "set", s.ns.nsIf, "down")
}

// SSHDLog returns what sshd logged, for failure messages.
func (s *Server) SSHDLog() string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
	return string(data)
}

func (s *Server) start(t testing.TB) error {
	t.Helper()
	cfg := filepath.Join(s.Dir, "sshd_config")
	pidFile := filepath.Join(s.Dir, "sshd.pid")
	os.Remove(pidFile)

	argv := []string{Path, "-D", "-f", cfg, "-E", filepath.Join(s.Dir, "sshd.log")}
	if out, err := exec.Command(Path, "-t", "-f", cfg).CombinedOutput(); err != nil {
		return fmt.Errorf("sshd -t: %v: %s", err, out)
	}
	if s.ns != nil {
		argv = append([]string{"ip", "netns", "exec", s.ns.name}, argv...)
	}
	// -D keeps sshd in the foreground, so that this test owns the process.
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	// sshd writes its pid file once its listening sockets are bound.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if data, err := os.ReadFile(pidFile); err == nil && len(bytes.TrimSpace(data)) > 0 {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("sshd exited before listening on %s", s.Addr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop(t)
			return fmt.Errorf("sshd not listening on %s after 10s", s.Addr)
		}
	}
}

func (s *Server) writeConfig(t testing.TB, listen string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "Port %d\nListenAddress %s\n", s.port, listen)
	for _, kt := range s.opts.HostKeyTypes {
		fmt.Fprintf(&b, "HostKey %s\n", filepath.Join(s.Dir, "ssh_host_"+kt+"_key"))
	}
	fmt.Fprintf(&b, "PidFile %s\n", filepath.Join(s.Dir, "sshd.pid"))
	fmt.Fprintf(&b, "AuthorizedKeysFile %s\n", filepath.Join(s.Dir, "authorized_keys"))
	fmt.Fprintf(&b, "ForceCommand %s\n", filepath.Join(s.Dir, "command.sh"))
	b.WriteString(`PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The temporary directory is not laid out the way StrictModes demands.
StrictModes no
PermitRootLogin prohibit-password
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
`)
	if err := os.WriteFile(filepath.Join(s.Dir, "sshd_config"), []byte(b.String()), 0o600); err != nil {
		t.Fatalf("sshd: %v", err)
	}
}

// writeScript writes the forced command. It records $$ so that cleanup can
// end sessions sshd leaves behind (sshd puts each in a session of its own, out
// of reach of the listener's process group).
func (s *Server) writeScript(t testing.TB) {
	t.Helper()
	q := func(p string) string { return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'" }
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Forced command of the powerbridge test sshd.\n")
	fmt.Fprintf(&b, "echo $$ >> %s\n", q(filepath.Join(s.Dir, "sessions.pid")))
	fmt.Fprintf(&b, "printf '%%s %%s\\n' \"$(date +%%s.%%N)\" \"$SSH_ORIGINAL_COMMAND\" >> %s\n", q(s.CommandLog))
	switch s.opts.Behaviour {
	case GoesDown:
		b.WriteString("echo \"test sshd: $SSH_ORIGINAL_COMMAND: going down\"\n")
		// The background job must not hold the session's stdout open, or sshd
		// would wait for it before closing the channel.
		fmt.Fprintf(&b, "(sleep 1; kill \"$(cat %s)\") </dev/null >/dev/null 2>&1 &\n", q(filepath.Join(s.Dir, "sshd.pid")))
		b.WriteString("exit 0\n")
	case StaysUp:
		b.WriteString("echo \"test sshd: $SSH_ORIGINAL_COMMAND: staying up\"\nexit 0\n")
	case Hangs:
		b.WriteString("exec sleep 300\n")
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "command.sh"), []byte(b.String()), 0o755); err != nil {
		t.Fatalf("sshd: %v", err)
	}
}

func (s *Server) cleanup(t testing.TB) {
	s.Stop(t)
	if data, err := os.ReadFile(filepath.Join(s.Dir, "sessions.pid")); err == nil {
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if t.Failed() && !s.opts.Quiet {
		t.Logf("sshd log:\n%s", s.SSHDLog())
	}
}

// keygen runs ssh-keygen and returns the public key it wrote.
func keygen(t testing.TB, file, keyType, passphrase string) ssh.PublicKey {
	t.Helper()
	args := []string{"-q", "-t", keyType, "-N", passphrase, "-C", "powerbridge-test", "-f", file}
	if keyType == "rsa" {
		args = append(args, "-b", "2048") // enough for a test, and fast
	}
	run(t, "ssh-keygen", args...)
	data, err := os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatalf("sshd: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatalf("sshd: %s.pub: %v", file, err)
	}
	return pub
}

func freePort(t testing.TB, host string) int {
	t.Helper()
	if host != "127.0.0.1" {
		// The namespace has its own port space: any port will do.
		b := make([]byte, 2)
		rand.Read(b)
		return 20000 + int(binary.BigEndian.Uint16(b))%20000
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshd: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("sshd: timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("sshd: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func randomSuffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}
