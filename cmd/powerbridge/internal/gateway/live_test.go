package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHost is a live system in memory: Run and NetplanTry change its state
// the way the real commands would.
type fakeHost struct {
	mu        sync.Mutex
	ipForward bool
	loaded    bool
	enabled   bool
	policy    string
	resolvers []string
	perLink   bool
	addrs     map[netip.Prefix]bool
	ran       []string
	tries     int
}

func (h *fakeHost) IPForward() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ipForward, nil
}
func (h *fakeHost) FirewallLoaded(context.Context, string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.loaded, nil
}
func (h *fakeHost) UnitEnabled(context.Context) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.enabled, nil
}
func (h *fakeHost) ForwardPolicy(context.Context) (string, error) { return h.policy, nil }
func (h *fakeHost) Resolvers() ([]string, bool, error)            { return h.resolvers, h.perLink, nil }
func (h *fakeHost) HasAddress(_ context.Context, p netip.Prefix) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addrs[p], nil
}

func (h *fakeHost) Run(_ context.Context, argv ...string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmd := strings.Join(argv, " ")
	h.ran = append(h.ran, cmd)
	switch {
	case strings.HasPrefix(cmd, "sysctl -p "):
		h.ipForward = true
	case strings.HasPrefix(cmd, "systemctl enable "):
		h.enabled = true
	case strings.HasPrefix(cmd, "systemctl reload-or-restart "):
		h.loaded = true
	}
	return nil
}

func (h *fakeHost) NetplanTry(ctx context.Context, ready func(context.Context) bool) error {
	h.mu.Lock()
	h.tries++
	h.addrs[netip.MustParsePrefix("192.168.1.195/24")] = true
	h.addrs[netip.MustParsePrefix("192.168.23.1/24")] = true
	h.mu.Unlock()
	if !ready(ctx) {
		return errors.New("not ready")
	}
	return nil
}

// liveEnv is the lab's root with a fake live system and no MAAS.
func liveEnv(t *testing.T, h Host) (*Env, *Spec, *bytes.Buffer) {
	t.Helper()
	need(t, "netplan", "systemd-analyze")
	l := newLab(t)
	s, err := LoadSpec(nil, l.config, Overrides{}, false)
	if err != nil {
		t.Fatal(err)
	}
	// Live runs validate strictly: skip where the firewall check cannot run.
	files, _ := Render(s)
	if err := (&validator{strict: true}).firewall(context.Background(), s.Firewall, fileAt(files, s.firewallFile())); errors.Is(err, errUnavailable) {
		t.Skip(err)
	}
	var out bytes.Buffer
	return &Env{root: l.root, stateDir: "/var/lib/powerbridge", host: h, out: &out, now: time.Now}, s, &out
}

func findingsText(fs []finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Problem + " | " + f.Fix + "\n")
	}
	return b.String()
}

// TestLiveCheckAndApply: on a host with forwarding off, no NAT, Docker's
// FORWARD policy of DROP and a resolver asking the corp DNS first, check
// names each with its fix; apply loads the firewall, then forwarding, then
// the network, and a second apply does nothing live either.
func TestLiveCheckAndApply(t *testing.T) {
	t.Parallel()
	h := &fakeHost{policy: "DROP", resolvers: []string{"192.168.1.1", "192.168.23.1"}, addrs: map[netip.Prefix]bool{}}
	e, s, out := liveEnv(t, h)
	ctx := context.Background()

	fs, _, err := check(ctx, e, s)
	if err != nil {
		t.Fatal(err)
	}
	got := findingsText(fs)
	for _, want := range []string{
		"ip forwarding is off (net.ipv4.ip_forward = 0)",
		"sysctl -w net.ipv4.ip_forward=1",
		"NAT is missing: the table inet powerbridge_gw is not loaded",
		"powerbridge-gateway-firewall.service is not enabled",
		"iptables' FORWARD policy is DROP (Docker and ufw set it)",
		"iptables -I DOCKER-USER -i cluster0 -o corp0 -j ACCEPT",
		"this host's resolver asks 192.168.1.1 first, not MAAS (192.168.23.1)",
		"no interface has the cluster address 192.168.23.1/24",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check lacks %q:\n%s", want, got)
		}
	}

	if err := Apply(ctx, e, s); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	wantRan := []string{
		"systemctl daemon-reload",
		"systemctl enable " + UnitName,
		"systemctl reload-or-restart " + UnitName,
		"sysctl -p " + SysctlFile,
	}
	if !slices.Equal(h.ran, wantRan) || h.tries != 1 {
		t.Errorf("apply ran %q and netplan try %d times; want %q then netplan try once", h.ran, h.tries, wantRan)
	}

	h.ran, h.tries = nil, 0
	out.Reset()
	if err := Apply(ctx, e, s); err != nil {
		t.Fatal(err)
	}
	if len(h.ran) > 0 || h.tries > 0 || !strings.Contains(out.String(), "No changes") {
		t.Errorf("second apply ran %q, netplan try %d times:\n%s", h.ran, h.tries, out)
	}

	// What apply cannot change: Docker's policy. MAAS in the resolver comes
	// with the network (systemd-resolved asks every link's servers at once).
	h.resolvers, h.perLink = []string{"192.168.1.1", "192.168.23.1"}, true
	fs, _, _ = check(ctx, e, s)
	if len(fs) != 1 || !strings.Contains(fs[0].Problem, "FORWARD policy is DROP") {
		t.Errorf("after apply, check found:\n%s", findingsText(fs))
	}
	h.resolvers = []string{"192.168.1.1"}
	fs, _, _ = check(ctx, e, s)
	if got := findingsText(fs); !strings.Contains(got, "(systemd-resolved) does not ask MAAS (192.168.23.1) at all") {
		t.Errorf("resolved without MAAS: check found:\n%s", got)
	}
	h.resolvers = []string{"192.168.1.1", "192.168.23.1"}
	// With the iptables backend our rules sit in FORWARD itself: no problem.
	s.Firewall = IPTables
	if err := Apply(ctx, e, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.root, NFTFile)); err == nil {
		t.Error("switching to iptables left the nftables file")
	}
	if !slices.ContainsFunc(h.ran, func(c string) bool { return strings.Contains(c, "nft delete table inet "+NFTTable) }) {
		t.Errorf("switching to iptables did not remove the nftables table: %q", h.ran)
	}
	fs, _, _ = check(ctx, e, s)
	if len(fs) != 0 {
		t.Errorf("iptables backend: check found:\n%s", findingsText(fs))
	}
}

// TestLiveRollback: rollback stops the unit before removing it and turns
// forwarding off again when it was off before apply.
func TestLiveRollback(t *testing.T) {
	t.Parallel()
	h := &fakeHost{policy: "ACCEPT", addrs: map[netip.Prefix]bool{}}
	e, s, out := liveEnv(t, h)
	ctx := context.Background()
	if err := Apply(ctx, e, s); err != nil {
		t.Fatal(err)
	}
	h.ran = nil
	if err := Rollback(ctx, e, ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"systemctl disable --now " + UnitName, "systemctl daemon-reload", "sysctl -w net.ipv4.ip_forward=0"}
	if !slices.Equal(h.ran, want) {
		t.Errorf("rollback ran %q, want %q", h.ran, want)
	}
	if !strings.Contains(out.String(), `run "netplan try"`) {
		t.Errorf("rollback does not say how to bring the old network back:\n%s", out)
	}
}

// TestNetplanTry: confirmed when ready; left to revert (stdin closed, no
// newline) when the network never comes up. A script stands in for netplan.
func TestNetplanTry(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "netplan")
	script := "#!/bin/sh\necho 'Do you want to keep these settings?'\nif read line; then echo accepted; exit 0; fi\necho reverting; exit 78\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := netplanTry(ctx, bin, func(context.Context) bool { return true }); err != nil {
		t.Errorf("ready at once: %v", err)
	}
	old := readyTimeout
	readyTimeout = 300 * time.Millisecond
	defer func() { readyTimeout = old }()
	err := netplanTry(ctx, bin, func(context.Context) bool { return false })
	if err == nil || !strings.Contains(err.Error(), "reverted") || !strings.Contains(err.Error(), "reverting") {
		t.Errorf("never ready: err = %v", err)
	}
}

func TestResolvConfAndAddresses(t *testing.T) {
	got := parseResolvConf(strings.NewReader("# resolved\nnameserver 192.168.23.1\nnameserver 192.168.1.1\nsearch maas\n"))
	if !slices.Equal(got, []string{"192.168.23.1", "192.168.1.1"}) {
		t.Errorf("nameservers %q", got)
	}
	ipJSON := `[{"ifindex":2,"ifname":"cluster0","addr_info":[{"family":"inet","local":"192.168.23.1","prefixlen":24}]}]`
	if ok, err := hasAddress([]byte(ipJSON), netip.MustParsePrefix("192.168.23.1/24")); !ok || err != nil {
		t.Errorf("hasAddress = %t, %v", ok, err)
	}
	if ok, _ := hasAddress([]byte(ipJSON), netip.MustParsePrefix("192.168.23.1/16")); ok {
		t.Error("hasAddress ignores the prefix length")
	}
}
