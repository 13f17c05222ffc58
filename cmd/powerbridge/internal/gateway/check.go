package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// finding is one thing wrong, with how to fix it.
type finding struct {
	Problem string
	Fix     string
}

// check lists what keeps this host from being the cluster's gateway as
// configured: files apply would change, the live system (forwarding, NAT, a
// FORWARD policy of DROP, the resolver, addresses) and MAAS.
func check(ctx context.Context, e *Env, s *Spec) ([]finding, []string, error) {
	p, err := makePlan(ctx, e, s)
	if err != nil {
		return nil, nil, err
	}
	fs := checkFiles(p)
	checked := []string{"files under " + e.root}
	if h := e.host; h != nil {
		checked = append(checked, "ip forwarding", "NAT", "iptables FORWARD policy", "resolver", "addresses")
		live, err := checkLive(ctx, h, s, p.ipForward)
		if err != nil {
			return nil, nil, err
		}
		fs = append(fs, live...)
	}
	if e.maas != nil {
		checked = append(checked, "MAAS at "+e.maas.URL())
		fs = append(fs, checkMAAS(p, s)...)
	}
	notes := append([]string{"checked: " + strings.Join(checked, ", ")}, p.notes...)
	return fs, notes, nil
}

// checkFiles: every file apply would change is a problem.
func checkFiles(p *plan) []finding {
	var fs []finding
	add := func(problem, fix string) { fs = append(fs, finding{problem, fix}) }
	for _, f := range p.files {
		switch f.Op {
		case opMoveAside:
			add(fmt.Sprintf("%s: %s", f.Path, f.Why), "powerbridge gateway apply (moves it to the backup)")
		case opCreate:
			add(fmt.Sprintf("%s is missing", f.Path), "powerbridge gateway apply")
		case opUpdate:
			add(fmt.Sprintf("%s is not what apply writes (powerbridge gateway plan shows the difference)", f.Path), "powerbridge gateway apply")
		case opRemove:
			add(fmt.Sprintf("%s is left over (%s)", f.Path, f.Why), "powerbridge gateway apply (removes it)")
		}
	}
	return fs
}

// checkLive reads the running system: forwarding, NAT and its unit, the
// FORWARD policy, the resolver, the addresses.
func checkLive(ctx context.Context, h Host, s *Spec, ipForward bool) ([]finding, error) {
	var fs []finding
	add := func(problem, fix string) { fs = append(fs, finding{problem, fix}) }
	if !ipForward {
		add("ip forwarding is off (net.ipv4.ip_forward = 0): nothing from the cluster gets past this host",
			"powerbridge gateway apply (writes "+SysctlFile+" and runs sysctl -p); at once: sysctl -w net.ipv4.ip_forward=1")
	}
	nat, err := checkNAT(ctx, h, s)
	if err != nil {
		return nil, err
	}
	fs = append(fs, nat...)
	rs, perLink, err := h.Resolvers()
	if err != nil {
		return nil, err
	}
	switch {
	case perLink && !slices.ContainsFunc(rs, func(ns string) bool { return isMAASDNS(ns, s) }):
		add(fmt.Sprintf("this host's resolver (systemd-resolved) does not ask MAAS (%s) at all, only %s: .maas names do not resolve here", s.Cluster.Address, strings.Join(rs, ", ")),
			"powerbridge gateway apply (the netplan file gives "+s.Cluster.Name+" MAAS as its DNS), then netplan try; resolvectl dns shows each link's servers")
	case !perLink && len(rs) > 0 && !isMAASDNS(rs[0], s):
		add(fmt.Sprintf("this host's resolver asks %s first, not MAAS (%s): .maas names fail or depend on that server", rs[0], s.Cluster.Address),
			"list "+s.Cluster.Address.String()+" first in /etc/resolv.conf (or use systemd-resolved, which the netplan file configures)")
	}
	if ok, _ := h.HasAddress(ctx, s.Corp.Address); !ok {
		add(fmt.Sprintf("no interface has the corp address %s", s.Corp.Address), "powerbridge gateway apply (netplan try brings it up)")
	}
	if ok, _ := h.HasAddress(ctx, s.Cluster.Prefix()); !ok {
		add(fmt.Sprintf("no interface has the cluster address %s: MAAS cannot serve DHCP on %s", s.Cluster.Prefix(), s.Cluster.CIDR), "powerbridge gateway apply (netplan try brings it up)")
	}
	return fs, nil
}

// checkNAT: our rules loaded, their unit enabled, and no FORWARD policy
// of DROP that our nftables table cannot get past.
func checkNAT(ctx context.Context, h Host, s *Spec) ([]finding, error) {
	var fs []finding
	add := func(problem, fix string) { fs = append(fs, finding{problem, fix}) }
	if ok, err := h.FirewallLoaded(ctx, s.Firewall); err != nil {
		return nil, err
	} else if !ok {
		what := "table inet " + NFTTable
		if s.Firewall == IPTables {
			what = "chains " + IPTForward + " and " + IPTPostrouting + " (or the jumps to them)"
		}
		add("NAT is missing: the "+what+" is not loaded, so the cluster's traffic leaves with addresses corp cannot answer",
			"powerbridge gateway apply; if the files are in place: systemctl restart "+UnitName)
	}
	if ok, err := h.UnitEnabled(ctx); err == nil && !ok {
		add(UnitName+" is not enabled: NAT is gone after a reboot", "systemctl enable "+UnitName)
	}
	pol, err := h.ForwardPolicy(ctx)
	if err != nil {
		return nil, err
	}
	if pol == "DROP" && s.Firewall == NFTables {
		add("iptables' FORWARD policy is DROP (Docker and ufw set it): it drops the cluster's traffic even though our nftables table accepts it",
			fmt.Sprintf("set gateway.firewall: iptables and apply (our rules then sit in FORWARD itself); or, with Docker: "+
				"iptables -I DOCKER-USER -i %[1]s -o %[2]s -j ACCEPT; iptables -I DOCKER-USER -i %[2]s -o %[1]s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT "+
				"(without Docker, FORWARD instead of DOCKER-USER; with ufw: ufw route allow in on %[1]s out on %[2]s)", s.Cluster.Name, s.Corp.Name))
	}
	return fs, nil
}

// checkMAAS: a MAAS that could not be read, and every change planned for it.
func checkMAAS(p *plan, s *Spec) []finding {
	var fs []finding
	if p.maasErr != nil {
		fix := maasReadFix
		if errors.Is(p.maasErr, errNoSubnet) {
			fix = "bring up " + s.Cluster.Name + " with " + s.Cluster.Prefix().String() + " (powerbridge gateway apply --skip-maas), wait for MAAS to list the subnet, then apply"
		}
		fs = append(fs, finding{"MAAS: " + p.maasErr.Error(), fix})
	}
	for _, c := range p.maas {
		fs = append(fs, finding{c.Problem, c.Fix})
	}
	return fs
}

// maasReadFix is what to do when MAAS could not be read at all.
const maasReadFix = "check gateway.maas.url and that MAAS is running"

// maasReadHint follows the error of a failed read of MAAS: what to do,
// unless the error says so itself.
func maasReadHint(err error) string {
	if errors.Is(err, errNoSubnet) {
		return ""
	}
	return " (" + maasReadFix + ", or run with --skip-maas)"
}

// isMAASDNS tells whether a nameserver is MAAS's DNS on this host.
func isMAASDNS(ns string, s *Spec) bool {
	switch ns {
	case s.Cluster.Address.String(), s.Corp.Address.Addr().String(), "127.0.0.1", "::1":
		return true
	}
	return false
}

func printFindings(w io.Writer, fs []finding, notes []string) {
	for _, f := range fs {
		fmt.Fprintf(w, "problem: %s\n    fix: %s\n", f.Problem, f.Fix)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	if len(fs) == 0 {
		fmt.Fprintln(w, "No problems found.")
	} else {
		fmt.Fprintf(w, "%d problem(s) found.\n", len(fs))
	}
}
