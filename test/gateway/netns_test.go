// Package gateway shows the files "powerbridge gateway" renders doing their
// job on a real kernel: three network namespaces (node, gateway, corp)
// joined by veth pairs, the generated sysctl drop-in and firewall rules
// loaded inside the gateway namespace only, and TCP between them.
//
// The files are the golden files of the doc-range lab
// (cmd/powerbridge/internal/gateway/testdata/golden/doclab-*), which that
// package's golden test proves are exactly what Render produces; this
// package cannot import the helper (it is internal to cmd/powerbridge).
//
// Safety: every namespace is created here with a random suffix and deleted
// in t.Cleanup; the veth pairs are created straight into them and never
// exist on the host; addresses are documentation ranges (RFC 5737); every
// sysctl and rule is applied with "ip netns exec" in our gateway namespace.
// Nothing runs "sysctl --system" or "netplan apply", and the host's own
// ip_forward is checked to be untouched.
package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const golden = "../../cmd/powerbridge/internal/gateway/testdata/golden/"

// The doc-range lab (cmd/powerbridge/internal/gateway/testdata/doclab.yaml).
const (
	nodeAddr    = "198.51.100.10" // a node on the cluster network
	gwCluster   = "198.51.100.1"  // the gateway's cluster0
	gwCorp      = "203.0.113.2"   // the gateway's corp0
	corpAddr    = "203.0.113.1"   // a server on corp (the "router")
	clusterCIDR = "198.51.100.0/24"
)

type lab struct {
	t                *testing.T
	node, gw, corp   string // namespace names
	firewall, sysctl string // the rendered files
	unit             string
}

func newLab(t *testing.T, backend string) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root (CI runs this as root)")
	}
	for _, tool := range []string{"ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	fwTool := map[string]string{"nftables": "nft", "iptables": "iptables-restore"}[backend]
	if _, err := exec.LookPath(fwTool); err != nil {
		t.Skipf("%s is not installed", fwTool)
	}
	dir := golden + "doclab-" + backend + "/"
	l := &lab{t: t, sysctl: dir + "99-zz-powerbridge-gateway.conf", unit: dir + "powerbridge-gateway-firewall.service"}
	l.firewall = dir + map[string]string{"nftables": "gateway.nft", "iptables": "gateway.iptables"}[backend]
	for _, f := range []string{l.sysctl, l.firewall, l.unit} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("golden file missing: %v", err)
		}
	}

	var b [3]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	l.node, l.gw, l.corp = "pbgw-node-"+suffix, "pbgw-gw-"+suffix, "pbgw-corp-"+suffix
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		t.Skipf("ip netns is unavailable: %v: %s", err, out)
	}
	for _, ns := range []string{l.node, l.gw, l.corp} {
		l.ip("netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("removing namespace %s: %v: %s", ns, err, out)
			}
		})
	}
	// Each veth pair is created with its ends already in our namespaces.
	l.ip("link", "add", "cluster0", "netns", l.gw, "type", "veth", "peer", "name", "eth0", "netns", l.node)
	l.ip("link", "add", "corp0", "netns", l.gw, "type", "veth", "peer", "name", "eth0", "netns", l.corp)

	l.ip("-n", l.node, "addr", "add", nodeAddr+"/24", "dev", "eth0")
	l.ip("-n", l.gw, "addr", "add", gwCluster+"/24", "dev", "cluster0")
	l.ip("-n", l.gw, "addr", "add", gwCorp+"/24", "dev", "corp0")
	l.ip("-n", l.corp, "addr", "add", corpAddr+"/24", "dev", "eth0")
	for ns, links := range map[string][]string{l.node: {"lo", "eth0"}, l.gw: {"lo", "cluster0", "corp0"}, l.corp: {"lo", "eth0"}} {
		for _, link := range links {
			l.ip("-n", ns, "link", "set", link, "up")
		}
	}
	// The node's default route is the gateway, as MAAS's DHCP will say.
	// Corp has no route back to the cluster network: only NAT gets answers home.
	l.ip("-n", l.node, "route", "add", "default", "via", gwCluster)
	l.ip("-n", l.gw, "route", "add", "default", "via", corpAddr)
	return l
}

func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inGW runs a shell command inside the gateway namespace.
func (l *lab) inGW(cmd string) string {
	l.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", l.gw, "sh", "-c", cmd).CombinedOutput()
	if err != nil {
		l.t.Fatalf("in %s: %s: %v: %s", l.gw, cmd, err, out)
	}
	return string(out)
}

// unitCommands returns the unit's Exec<kind>= lines with the firewall file's
// installed path replaced by the golden file's, so that the test loads and
// unloads the rules exactly as systemd would.
func (l *lab) unitCommands(kind string) []string {
	l.t.Helper()
	data, err := os.ReadFile(l.unit)
	if err != nil {
		l.t.Fatal(err)
	}
	abs, _ := filepath.Abs(l.firewall)
	var cmds []string
	for _, line := range strings.Split(string(data), "\n") {
		cmd, ok := strings.CutPrefix(line, "Exec"+kind+"=")
		if !ok {
			continue
		}
		cmd = strings.TrimPrefix(cmd, "-") // systemd's "ignore failure"
		cmd = strings.ReplaceAll(cmd, "/etc/powerbridge/"+filepath.Base(l.firewall), abs)
		cmds = append(cmds, cmd)
	}
	if len(cmds) == 0 {
		l.t.Fatalf("%s has no Exec%s=", l.unit, kind)
	}
	return cmds
}

// sysSetns is setns(2)'s number: package syscall is frozen and lacks it.
var sysSetns = map[string]uintptr{
	"amd64": 308, "386": 346, "arm64": 268, "arm": 375, "riscv64": 268,
	"loong64": 268, "ppc64le": 350, "s390x": 339,
}

// inNetns runs fn on an OS thread that has entered namespace ns. The thread
// is never unlocked, so it ends with the goroutine and no other goroutine
// ever runs in the namespace; sockets fn opens stay in it.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		nr, ok := sysSetns[runtime.GOARCH]
		if !ok {
			errc <- fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
			return
		}
		if _, _, e := syscall.RawSyscall(nr, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
			errc <- fmt.Errorf("setns %s: %w", ns, e)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// listen starts a TCP server in ns on addr that answers each connection
// with the address it came from, and stops at the end of the test.
func (l *lab) listen(ns, addr string) string {
	l.t.Helper()
	var ln net.Listener
	if err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(addr, "0"))
		return err
	}); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// dial connects from ns to addr once and returns the peer's view of our
// address, or the error.
func dial(ns, addr string, timeout time.Duration) (string, error) {
	var seen string
	err := inNetns(ns, func() error {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		line, err := bufio.NewReader(c).ReadString('\n')
		seen = strings.TrimSpace(line)
		return err
	})
	return seen, err
}

// dialEventually retries until a connection succeeds or the deadline passes
// (links and neighbours take a moment to come up).
func dialEventually(ns, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		seen, err := dial(ns, addr, 500*time.Millisecond)
		if err == nil || ctx.Err() != nil {
			return seen, err
		}
		select {
		case <-ctx.Done():
			return seen, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func hostIPForward(t *testing.T) string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestForwardingThroughNAT: node→corp fails before the files are applied and
// works after, masqueraded behind the gateway's corp address; a new
// connection from corp into the cluster is dropped even when corp has a
// route to it, and goes through once the unit's ExecStop has removed our
// rules (so it was our rules that dropped it).
func TestForwardingThroughNAT(t *testing.T) {
	for _, backend := range []string{"nftables", "iptables"} {
		t.Run(backend, func(t *testing.T) {
			hostFwd := hostIPForward(t)
			l := newLab(t, backend)

			corpSrv := l.listen(l.corp, corpAddr)
			nodeSrv := l.listen(l.node, nodeAddr)
			// The lab itself works: each side reaches its gateway's address.
			if _, err := dialEventually(l.corp, net.JoinHostPort(corpAddr, portOf(corpSrv))); err != nil {
				t.Fatalf("corp cannot reach its own server: %v", err)
			}

			// Before: the gateway does not forward.
			if seen, err := dial(l.node, corpSrv, time.Second); err == nil {
				t.Fatalf("node reached corp before anything was applied (as %s)", seen)
			}

			// Apply the generated files, in the gateway namespace only.
			l.inGW("sysctl -p " + l.sysctl)
			if got := strings.TrimSpace(l.inGW("cat /proc/sys/net/ipv4/ip_forward")); got != "1" {
				t.Fatalf("ip_forward in the gateway namespace is %s after sysctl -p", got)
			}
			for _, cmd := range l.unitCommands("Start") {
				l.inGW(cmd)
			}
			// Starting again (a reload) must not stack rules.
			for _, cmd := range l.unitCommands("Reload") {
				l.inGW(cmd)
			}
			if backend == "iptables" {
				if n := strings.Count(l.inGW("iptables -S FORWARD"), "-j PB-GW-FORWARD"); n != 1 {
					t.Errorf("FORWARD jumps to our chain %d times after start and reload", n)
				}
			}

			// After: node reaches corp, seen as the gateway's corp address.
			seen, err := dialEventually(l.node, corpSrv)
			if err != nil {
				t.Fatalf("node cannot reach corp through the gateway: %v", err)
			}
			if seen != gwCorp {
				t.Errorf("corp saw the node as %s, want the gateway's corp address %s (masquerade)", seen, gwCorp)
			}

			// Corp learns a route into the cluster: a new connection from
			// corp must still not get in.
			l.ip("-n", l.corp, "route", "add", clusterCIDR, "via", gwCorp)
			if seen, err := dial(l.corp, nodeSrv, time.Second); err == nil {
				t.Errorf("a new connection from corp reached the node (as %s)", seen)
			}
			// Control: without our rules (the unit's ExecStop) it gets in,
			// so it was our rules that refused it.
			for _, cmd := range l.unitCommands("Stop") {
				l.inGW(cmd)
			}
			if _, err := dialEventually(l.corp, nodeSrv); err != nil {
				t.Errorf("with our rules removed, corp still cannot reach the node: %v (the lab, not the rules, blocked it)", err)
			}

			if got := hostIPForward(t); got != hostFwd {
				t.Errorf("the host's ip_forward changed from %s to %s", hostFwd, got)
			}
		})
	}
}

func portOf(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}
