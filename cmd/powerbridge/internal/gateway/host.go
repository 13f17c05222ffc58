package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Host is the live system: what check reads and apply changes beyond the
// files. Under --root there is none and nothing live is read or changed.
type Host interface {
	// IPForward reports net.ipv4.ip_forward.
	IPForward() (bool, error)
	// FirewallLoaded tells whether our rules are in the kernel.
	FirewallLoaded(ctx context.Context, backend string) (bool, error)
	// UnitEnabled tells whether our unit starts at boot.
	UnitEnabled(ctx context.Context) (bool, error)
	// ForwardPolicy is iptables' FORWARD policy ("ACCEPT", "DROP"), or ""
	// when iptables is not installed.
	ForwardPolicy(ctx context.Context) (string, error)
	// Resolvers lists the nameservers the host's resolver asks, in order.
	// perLink is true for systemd-resolved, which asks every link's
	// servers at once: there, order across links means nothing.
	Resolvers() (servers []string, perLink bool, err error)
	// HasAddress tells whether an interface has the address.
	HasAddress(ctx context.Context, p netip.Prefix) (bool, error)
	// Run runs a command, failing with its output.
	Run(ctx context.Context, argv ...string) error
	// NetplanTry brings the netplan configuration live with "netplan try",
	// confirming it once ready reports the network is as configured and
	// letting netplan revert it if not.
	NetplanTry(ctx context.Context, ready func(context.Context) bool) error
}

// liveHost is the machine this runs on.
type liveHost struct{}

func (liveHost) IPForward() (bool, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) == "1", nil
}

func (liveHost) FirewallLoaded(ctx context.Context, backend string) (bool, error) {
	var checks [][]string
	if backend == IPTables {
		checks = [][]string{
			{"iptables", "-C", "FORWARD", "-j", IPTForward},
			{"iptables", "-t", "nat", "-C", "POSTROUTING", "-j", IPTPostrouting},
		}
	} else {
		checks = [][]string{{"nft", "list", "table", "inet", NFTTable}}
	}
	for _, c := range checks {
		_, _, err := run(ctx, c[0], c[1:]...)
		if errors.Is(err, errUnavailable) {
			return false, err
		}
		if err != nil {
			return false, nil
		}
	}
	return true, nil
}

func (liveHost) UnitEnabled(ctx context.Context) (bool, error) {
	out, _, err := run(ctx, "systemctl", "is-enabled", UnitName)
	if errors.Is(err, errUnavailable) {
		return false, err
	}
	return strings.TrimSpace(out) == "enabled", nil
}

func (liveHost) ForwardPolicy(ctx context.Context) (string, error) {
	out, stderr, err := run(ctx, "iptables", "-S", "FORWARD")
	if errors.Is(err, errUnavailable) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("iptables -S FORWARD: %v: %s", err, strings.TrimSpace(stderr))
	}
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "-P FORWARD "); ok {
			return strings.TrimSpace(p), nil
		}
	}
	return "", nil
}

// Resolvers reads systemd-resolved's list of upstream servers when it runs
// (/etc/resolv.conf then only names its stub, 127.0.0.53), else resolv.conf.
func (liveHost) Resolvers() ([]string, bool, error) {
	for i, p := range []string{"/run/systemd/resolve/resolv.conf", "/etc/resolv.conf"} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		defer f.Close()
		return parseResolvConf(f), i == 0, nil
	}
	return nil, false, nil
}

func parseResolvConf(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, f[1])
		}
	}
	return out
}

func (liveHost) HasAddress(ctx context.Context, p netip.Prefix) (bool, error) {
	out, stderr, err := run(ctx, "ip", "-j", "addr", "show")
	if err != nil {
		return false, fmt.Errorf("ip addr: %v: %s", err, strings.TrimSpace(stderr))
	}
	return hasAddress([]byte(out), p)
}

func hasAddress(ipJSON []byte, p netip.Prefix) (bool, error) {
	var links []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(ipJSON, &links); err != nil {
		return false, fmt.Errorf("reading ip -j addr: %w", err)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Local == p.Addr().String() && a.PrefixLen == p.Bits() {
				return true, nil
			}
		}
	}
	return false, nil
}

func (liveHost) Run(ctx context.Context, argv ...string) error {
	out, stderr, err := run(ctx, argv[0], argv[1:]...)
	if err != nil {
		msg := strings.TrimSpace(stderr + out)
		if msg == "" {
			return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
	}
	return nil
}

// netplanTryTimeout is how long netplan waits for the confirmation before
// it reverts; readyTimeout how long we wait for the network to come up
// (a variable for tests).
const netplanTryTimeout = 120 * time.Second

var readyTimeout = 60 * time.Second

// NetplanTry runs "netplan try" and confirms it (a newline on its stdin)
// only once ready says so. netplan try needs an open stdin pipe: with
// /dev/null it sees end of file, "times out" at once and reverts. Closing
// the pipe without a newline is how we let it revert.
func (liveHost) NetplanTry(ctx context.Context, ready func(context.Context) bool) error {
	return netplanTry(ctx, "netplan", ready)
}

func netplanTry(ctx context.Context, bin string, ready func(context.Context) bool) error {
	cmd := exec.CommandContext(ctx, bin, "try", "--timeout", fmt.Sprint(int(netplanTryTimeout.Seconds())))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("netplan try: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	ok := waitFor(rctx, ready)
	cancel()
	if ok {
		_, _ = io.WriteString(stdin, "\n")
	}
	stdin.Close()
	err = cmd.Wait()
	switch {
	case !ok:
		return fmt.Errorf("the network did not come up as configured within %s; netplan try reverted it:\n%s", readyTimeout, indent(out.String()))
	case err != nil:
		return fmt.Errorf("netplan try: %w:\n%s", err, indent(out.String()))
	}
	return nil
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func(context.Context) bool) bool {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if cond(ctx) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
