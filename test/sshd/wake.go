package sshd

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Link is how the host reaches a Server started with NetNS: the host's end of
// the veth pair, and the broadcast address of the /30 it shares with the
// namespace, which reaches the namespace and nothing else.
type Link struct {
	Namespace string
	HostIf    string
	Broadcast string
}

// Link returns the namespace's link. Only for a Server started with NetNS.
func (s *Server) Link(t testing.TB) Link {
	t.Helper()
	if s.ns == nil {
		t.Fatal("sshd: Link needs a server started with Options.NetNS")
	}
	base := strings.TrimSuffix(s.ns.subnet, "/30")
	last := strings.LastIndexByte(base, '.')
	n, _ := strconv.Atoi(base[last+1:])
	return Link{Namespace: s.ns.name, HostIf: s.ns.hostIf, Broadcast: base[:last+1] + strconv.Itoa(n+3)}
}

// ListenUDP opens a UDP socket in the server's namespace on port of every
// address there, broadcasts included. It is closed at the end of the test.
func (s *Server) ListenUDP(t testing.TB, port int) *net.UDPConn {
	t.Helper()
	link := s.Link(t)
	var conn *net.UDPConn
	if err := inNetNS(link.Namespace, func() error {
		var err error
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		return err
	}); err != nil {
		t.Fatalf("sshd: listening on UDP port %d in %s: %v", port, link.Namespace, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Boot starts sshd again on its address, as a machine that was woken up
// brings its sshd up. Unlike Restart it may be called from any goroutine: it
// returns its error instead of failing the test.
func (s *Server) Boot(t testing.TB) error { return s.start(t) }

// Running reports whether the sshd listener runs.
func (s *Server) Running() bool {
	select {
	case <-s.Exited():
		return false
	default:
		return true
	}
}

// setns(2)'s number: package syscall is frozen and lacks it.
var sysSetns = map[string]uintptr{
	"amd64": 308, "386": 346, "arm64": 268, "arm": 375, "riscv64": 268,
	"loong64": 268, "ppc64le": 350, "s390x": 339,
}

// inNetNS runs fn on an OS thread that has entered namespace ns, and then
// puts the thread back into the namespace it came from; sockets fn opens
// stay in ns. Should the way back fail, the thread stays locked to its
// goroutine and ends with it, so nothing else ever runs in ns by accident.
// (A thread left in ns could be the process's main one, which `ip netns
// pids` then lists, and the namespace's cleanup kills.)
func inNetNS(ns string, fn func() error) error {
	nr, ok := sysSetns[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
	}
	setns := func(f *os.File) error {
		if _, _, e := syscall.RawSyscall(nr, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
			return fmt.Errorf("setns %s: %w", f.Name(), e)
		}
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer home.Close()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer f.Close()
		if err := setns(f); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = fn()
		if setns(home) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}
