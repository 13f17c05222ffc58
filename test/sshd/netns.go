package sshd

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// netns is a network namespace of the test's own, joined to the host by a
// veth pair on a /30 of 198.51.100.0/24 (TEST-NET-2, RFC 5737): addresses
// that route nowhere real, so a test cannot reach beyond its own namespace.
type netns struct {
	name, hostIf, nsIf string
	hostAddr, nsAddr   string
	subnet             string // a.b.c.d/30, for the safety route
}

func newNetNS(t testing.TB) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		t.Skipf("ip netns is unavailable: %v: %s", err, out)
	}
	sfx := randomSuffix()
	n := &netns{
		name:   "pbtest-" + sfx,
		hostIf: "pbh-" + sfx, // interface names are at most 15 bytes
		nsIf:   "pbn-" + sfx,
	}
	// A /30 that no other test's namespace is using right now.
	for tries := 0; ; tries++ {
		b := make([]byte, 1)
		rand.Read(b)
		base := int(b[0]%64) * 4
		subnet := fmt.Sprintf("198.51.100.%d/30", base)
		out, _ := exec.Command("ip", "-4", "route", "show", "match", subnet).Output()
		if !strings.Contains(string(out), "198.51.100.") || tries == 20 {
			n.subnet = subnet
			n.hostAddr = "198.51.100." + strconv.Itoa(base+1)
			n.nsAddr = "198.51.100." + strconv.Itoa(base+2)
			break
		}
	}
	t.Cleanup(func() { n.remove(t) })

	run(t, "ip", "netns", "add", n.name)
	run(t, "ip", "link", "add", n.hostIf, "type", "veth", "peer", "name", n.nsIf, "netns", n.name)
	run(t, "ip", "addr", "add", n.hostAddr+"/30", "dev", n.hostIf)
	run(t, "ip", "link", "set", n.hostIf, "up")
	run(t, "ip", "-n", n.name, "addr", "add", n.nsAddr+"/30", "dev", n.nsIf)
	run(t, "ip", "-n", n.name, "link", "set", n.nsIf, "up")
	run(t, "ip", "-n", n.name, "link", "set", "lo", "up")
	// Should the veth's route ever go away while a client still sends to the
	// namespace, this drops the traffic instead of letting it follow the
	// default route off the machine.
	run(t, "ip", "route", "add", "blackhole", n.subnet, "metric", "4242")
	return n
}

// remove ends every process left in the namespace (all of them started by
// this test) and deletes the namespace, the veth pair and the safety route.
func (n *netns) remove(t testing.TB) {
	if out, err := exec.Command("ip", "netns", "pids", n.name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	for _, args := range [][]string{
		{"netns", "del", n.name},
		{"link", "del", n.hostIf},
		{"route", "del", "blackhole", n.subnet, "metric", "4242"},
	} {
		exec.Command("ip", args...).Run() // gone already is fine
	}
}
