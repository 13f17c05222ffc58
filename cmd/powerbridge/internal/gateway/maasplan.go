package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
)

// maasView is what MAAS has now, read before anything is changed.
type maasView struct {
	Version  string
	Subnet   maas.Subnet
	Ranges   []maas.IPRange // on the cluster subnet
	Rack     *maas.RackController
	Upstream string
}

func (v *maasView) summary() string {
	s := fmt.Sprintf("MAAS %s; subnet %s (id %d) on VLAN %s", v.Version, v.Subnet.CIDR, v.Subnet.ID, v.Subnet.VLAN)
	if v.Rack != nil {
		s += fmt.Sprintf("; rack controller %s (%s)", v.Rack.Hostname, v.Rack.SystemID)
	}
	return s
}

// maasChange is one API change, with what check says about the state it fixes.
type maasChange struct {
	Desc    string // "subnet 192.168.23.0/24: gateway_ip 192.168.23.254 → 192.168.23.1"
	Problem string
	Fix     string
	do      func(ctx context.Context, c *maas.Client) error
}

// errNoSubnet means MAAS does not know the cluster subnet (yet).
var errNoSubnet = errors.New("no such subnet in MAAS")

// readMAAS reads the cluster subnet, its VLAN, ranges and rack controllers.
func readMAAS(ctx context.Context, c *maas.Client, s *Spec) (*maasView, error) {
	ver, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	v := &maasView{Version: ver.Version}
	subnets, err := c.Subnets(ctx)
	if err != nil {
		return nil, err
	}
	if v.Subnet, err = clusterSubnet(subnets, s); err != nil {
		return nil, err
	}
	// The subnet's embedded VLAN is what MAAS has now; read it on its own
	// anyway so that DHCP state is as fresh as it can be.
	if vl, err := c.VLAN(ctx, v.Subnet.VLAN.ID); err == nil {
		v.Subnet.VLAN = vl
	} else if !maas.IsNotFound(err) {
		return nil, err
	}
	ranges, err := c.IPRanges(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range ranges {
		if r.Subnet.ID == v.Subnet.ID {
			v.Ranges = append(v.Ranges, r)
		}
	}
	racks, err := c.RackControllers(ctx)
	if err != nil {
		return nil, err
	}
	v.Rack, err = pickRack(racks, v.Subnet, s)
	if err != nil {
		return nil, err
	}
	if v.Upstream, err = c.GetConfig(ctx, "upstream_dns"); err != nil {
		return nil, err
	}
	return v, nil
}

// clusterSubnet finds the cluster network among MAAS's subnets.
func clusterSubnet(subnets []maas.Subnet, s *Spec) (maas.Subnet, error) {
	var known []string
	for _, sn := range subnets {
		p, err := netip.ParsePrefix(sn.CIDR)
		if err == nil && p.Masked() == s.Cluster.CIDR {
			return sn, nil
		}
		known = append(known, sn.CIDR)
	}
	return maas.Subnet{}, fmt.Errorf("%w: MAAS has no subnet %s (it has: %s). MAAS learns subnets from its rack controller's interfaces: "+
		"once %s has %s (apply with --skip-maas first), the subnet appears; then run apply again",
		errNoSubnet, s.Cluster.CIDR, strings.Join(orNone(known), ", "), s.Cluster.Name, s.Cluster.Prefix())
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"none"}
	}
	return s
}

// pickRack finds the rack controller to serve DHCP on the subnet's VLAN: the
// VLAN's primary rack if it has one, the one configured, or the only rack
// with an interface on the VLAN (preferring the one holding our address).
func pickRack(racks []maas.RackController, sn maas.Subnet, s *Spec) (*maas.RackController, error) {
	want := s.MAAS.RackController
	if want == "" && sn.VLAN.PrimaryRack != "" {
		want = sn.VLAN.PrimaryRack
	}
	if want != "" {
		return namedRack(racks, want, sn)
	}
	var names, candidates []string
	var on []maas.RackController
	for _, r := range racks {
		names = append(names, r.Hostname)
		if rackOnVLAN(r, sn.VLAN.ID) {
			on = append(on, r)
			candidates = append(candidates, r.Hostname)
		}
	}
	switch len(on) {
	case 0:
		return nil, fmt.Errorf("no rack controller has an interface on VLAN %s of subnet %s (rack controllers: %s); "+
			"is this host's %s up with %s? MAAS learns VLANs from its rack's interfaces",
			sn.VLAN, sn.CIDR, strings.Join(orNone(names), ", "), s.Cluster.Name, s.Cluster.Prefix())
	case 1:
		return &on[0], nil
	}
	for i := range on {
		if rackHasAddr(on[i], s.Cluster.Address.String()) {
			return &on[i], nil
		}
	}
	return nil, fmt.Errorf("rack controllers %s are all on VLAN %s; name one in gateway.maas.rack_controller", strings.Join(candidates, ", "), sn.VLAN)
}

// namedRack is the rack controller want names (system id, hostname or
// FQDN), which must have an interface on the subnet's VLAN.
func namedRack(racks []maas.RackController, want string, sn maas.Subnet) (*maas.RackController, error) {
	var names []string
	for _, r := range racks {
		names = append(names, r.Hostname)
		if r.SystemID != want && r.Hostname != want && r.FQDN != want {
			continue
		}
		if !rackOnVLAN(r, sn.VLAN.ID) {
			return nil, fmt.Errorf("rack controller %s (%s) has no interface on VLAN %s of subnet %s, so MAAS will not let it serve DHCP there",
				r.Hostname, r.SystemID, sn.VLAN, sn.CIDR)
		}
		return &r, nil
	}
	return nil, fmt.Errorf("no rack controller is %q (rack controllers: %s); fix gateway.maas.rack_controller", want, strings.Join(orNone(names), ", "))
}

func rackOnVLAN(r maas.RackController, vlanID int) bool {
	for _, i := range r.InterfaceSet {
		if i.VLAN != nil && i.VLAN.ID == vlanID {
			return true
		}
	}
	return false
}

func rackHasAddr(r maas.RackController, addr string) bool {
	for _, i := range r.InterfaceSet {
		for _, l := range i.Links {
			if l.IPAddress == addr {
				return true
			}
		}
	}
	return false
}

// planMAAS compares MAAS with s and lists the changes, in the order MAAS
// needs them: the subnet's gateway and DNS, reserved ranges, the dynamic
// range, then DHCP (which MAAS refuses without a dynamic range), then
// upstream DNS. notes are things the helper will not change by itself.
func planMAAS(v *maasView, s *Spec) (changes []maasChange, notes []string) {
	add := func(ch []maasChange, n []string) {
		changes, notes = append(changes, ch...), append(notes, n...)
	}
	add(planSubnet(v.Subnet, s), nil)
	add(planReserved(v, s), nil)
	add(planDynamic(v, s))
	add(planDHCP(v))
	add(planUpstreamDNS(v, s), nil)
	return changes, notes
}

// planSubnet sets the subnet's gateway and DNS servers, as DHCP hands them
// out.
func planSubnet(sn maas.Subnet, s *Spec) []maasChange {
	subj := "subnet " + sn.CIDR
	form := url.Values{}
	var descs []string
	gwWant := s.Cluster.Address.String()
	if sn.GatewayIP != gwWant {
		form.Set("gateway_ip", gwWant)
		descs = append(descs, fmt.Sprintf("gateway_ip %s → %s", orDash(sn.GatewayIP), gwWant))
	}
	dnsWant := addrStrings(s.MAAS.SubnetDNS)
	if !slices.Equal(sn.DNSServers, dnsWant) {
		form.Set("dns_servers", strings.Join(dnsWant, " "))
		descs = append(descs, fmt.Sprintf("dns_servers %s → %s", listOrDash(sn.DNSServers), listOrDash(dnsWant)))
	}
	if len(form) == 0 {
		return nil
	}
	id := sn.ID
	ch := maasChange{
		Desc: subj + ": " + strings.Join(descs, ", "),
		do: func(ctx context.Context, c *maas.Client) error {
			_, err := c.UpdateSubnet(ctx, id, form)
			return err
		},
	}
	switch {
	case sn.GatewayIP == "":
		ch.Problem = fmt.Sprintf("MAAS %s has no gateway: DHCP hands the nodes no default route, so they have no internet", subj)
	case sn.GatewayIP != gwWant:
		ch.Problem = fmt.Sprintf("MAAS %s hands out gateway %s, not this host's cluster address %s: the nodes have no internet", subj, sn.GatewayIP, gwWant)
		if strings.HasSuffix(sn.GatewayIP, ".254") {
			ch.Problem += " (.254 is MAAS's default for a subnet it discovers)"
		}
	default:
		ch.Problem = fmt.Sprintf("MAAS %s hands out DNS servers %s, not %s", subj, listOrDash(sn.DNSServers), listOrDash(dnsWant))
	}
	ch.Fix = "powerbridge gateway apply (sets " + strings.Join(slices.Sorted(maps.Keys(form)), " and ") + ")"
	if form.Has("gateway_ip") {
		ch.Fix += "; nodes commissioned or deployed with the old gateway keep it in their network config: recommission or redeploy them"
	}
	return []maasChange{ch}
}

// planReserved makes the reserved ranges: one that matches exactly is fine
// whatever its comment; one with our name but other bounds is moved; else
// one is created.
func planReserved(v *maasView, s *Spec) []maasChange {
	subj := "subnet " + v.Subnet.CIDR
	var changes []maasChange
	for _, r := range s.MAAS.Reserved {
		start, end := r.Start.String(), r.End.String()
		exact, named := reservedMatch(v.Ranges, r)
		switch {
		case exact != nil:
		case named != nil:
			id := named.ID
			changes = append(changes, maasChange{
				Desc:    fmt.Sprintf("%s: reserved range %q %s → %s", subj, r.Name, span(named.StartIP, named.EndIP), span(start, end)),
				Problem: fmt.Sprintf("MAAS reserves %s for %q, not %s", span(named.StartIP, named.EndIP), r.Name, span(start, end)),
				Fix:     "powerbridge gateway apply (moves the range)",
				do: func(ctx context.Context, c *maas.Client) error {
					_, err := c.UpdateIPRange(ctx, id, url.Values{"start_ip": {start}, "end_ip": {end}})
					return err
				},
			})
		default:
			name := r.Name
			changes = append(changes, maasChange{
				Desc:    fmt.Sprintf("%s: create reserved range %s %q", subj, span(start, end), name),
				Problem: fmt.Sprintf("MAAS does not reserve %s (%s): its DHCP may lease it to a node", span(start, end), name),
				Fix:     "powerbridge gateway apply (creates the reserved range)",
				do: func(ctx context.Context, c *maas.Client) error {
					_, err := c.CreateIPRange(ctx, maas.Reserved, start, end, name)
					return err
				},
			})
		}
	}
	return changes
}

// reservedMatch finds MAAS's reserved range with r's bounds, and the last
// other one with r's name as its comment.
func reservedMatch(ranges []maas.IPRange, r ReservedSpec) (exact, named *maas.IPRange) {
	start, end := r.Start.String(), r.End.String()
	for i, e := range ranges {
		if e.Type != maas.Reserved {
			continue
		}
		if e.StartIP == start && e.EndIP == end {
			exact = &ranges[i]
		} else if e.Comment == r.Name {
			named = &ranges[i]
		}
	}
	return exact, named
}

// planDynamic makes the dynamic range, before DHCP: MAAS refuses DHCP
// without one. Of several dynamic ranges none is moved or removed: which
// one is stale is for the user to say.
func planDynamic(v *maasView, s *Spec) ([]maasChange, []string) {
	dstart := s.MAAS.DynamicStart
	if !dstart.IsValid() {
		return nil, nil
	}
	sn, subj := v.Subnet, "subnet "+v.Subnet.CIDR
	var dynamic []maas.IPRange
	for _, e := range v.Ranges {
		if e.Type == maas.Dynamic {
			dynamic = append(dynamic, e)
		}
	}
	start, end := dstart.String(), s.MAAS.DynamicEnd.String()
	exact := slices.ContainsFunc(dynamic, func(e maas.IPRange) bool { return e.StartIP == start && e.EndIP == end })
	switch {
	case exact && len(dynamic) > 1:
		return nil, []string{fmt.Sprintf("MAAS has %d dynamic ranges on %s; only %s-%s is configured (remove the others in MAAS if they are stale)", len(dynamic), sn.CIDR, start, end)}
	case exact:
		return nil, nil
	case len(dynamic) > 1:
		return nil, []string{fmt.Sprintf("MAAS has %d dynamic ranges on %s and none is %s-%s: remove the stale ones in MAAS, then apply again", len(dynamic), sn.CIDR, start, end)}
	case len(dynamic) == 1:
		id, old := dynamic[0].ID, dynamic[0]
		return []maasChange{{
			Desc:    fmt.Sprintf("%s: dynamic range %s-%s → %s-%s", subj, old.StartIP, old.EndIP, start, end),
			Problem: fmt.Sprintf("MAAS's DHCP pool on %s is %s-%s, not %s-%s", sn.CIDR, old.StartIP, old.EndIP, start, end),
			Fix:     "powerbridge gateway apply (moves the dynamic range)",
			do: func(ctx context.Context, c *maas.Client) error {
				_, err := c.UpdateIPRange(ctx, id, url.Values{"start_ip": {start}, "end_ip": {end}})
				return err
			},
		}}, nil
	}
	return []maasChange{{
		Desc:    fmt.Sprintf("%s: create dynamic range %s-%s", subj, start, end),
		Problem: fmt.Sprintf("MAAS has no dynamic range on %s: it cannot serve DHCP", sn.CIDR),
		Fix:     "powerbridge gateway apply (creates the dynamic range)",
		do: func(ctx context.Context, c *maas.Client) error {
			_, err := c.CreateIPRange(ctx, maas.Dynamic, start, end, "powerbridge gateway: DHCP pool")
			return err
		},
	}}, nil
}

// planDHCP turns DHCP on, with the primary rack, and notes another DHCP
// server MAAS saw on the VLAN.
func planDHCP(v *maasView) ([]maasChange, []string) {
	sn, vl := v.Subnet, v.Subnet.VLAN
	var changes []maasChange
	var notes []string
	if v.Rack != nil && (!vl.DHCPOn || vl.PrimaryRack == "") {
		form := url.Values{"dhcp_on": {maas.Bool(true)}}
		desc := fmt.Sprintf("VLAN %s: dhcp_on %t → true", vl, vl.DHCPOn)
		if vl.DHCPOn {
			desc = fmt.Sprintf("VLAN %s: dhcp_on true", vl)
		}
		if vl.PrimaryRack == "" {
			form.Set("primary_rack", v.Rack.SystemID)
			desc += fmt.Sprintf(", primary_rack - → %s (%s)", v.Rack.SystemID, v.Rack.Hostname)
		}
		id := vl.ID
		changes = append(changes, maasChange{
			Desc:    desc,
			Problem: fmt.Sprintf("DHCP is off on VLAN %s, subnet %s: nodes cannot PXE boot or get an address", vl, sn.CIDR),
			Fix:     "powerbridge gateway apply (turns MAAS DHCP on, served by " + v.Rack.Hostname + ")",
			do: func(ctx context.Context, c *maas.Client) error {
				_, err := c.UpdateVLAN(ctx, id, form)
				return err
			},
		})
	}
	if vl.ExternalDHCP != "" {
		notes = append(notes, fmt.Sprintf("MAAS saw another DHCP server (%s) on VLAN %s: two DHCP servers on one network hand out conflicting leases; turn that one off", vl.ExternalDHCP, vl))
	}
	return changes, notes
}

// planUpstreamDNS sets where MAAS forwards what it does not answer itself.
func planUpstreamDNS(v *maasView, s *Spec) []maasChange {
	upWant := addrStrings(s.MAAS.UpstreamDNS)
	have := maas.SplitList(v.Upstream)
	if slices.Equal(have, upWant) || len(upWant) == 0 {
		return nil
	}
	value := strings.Join(upWant, " ")
	return []maasChange{{
		Desc:    fmt.Sprintf("MAAS setting upstream_dns %s → %s", listOrDash(have), value),
		Problem: fmt.Sprintf("MAAS forwards DNS to %s, not to %s: names outside .maas may not resolve, for the nodes or this host", listOr(have, "no upstream server"), value),
		Fix:     "powerbridge gateway apply (sets upstream_dns)",
		do: func(ctx context.Context, c *maas.Client) error {
			return c.SetConfig(ctx, "upstream_dns", value)
		},
	}}
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// span writes a range, or its one address.
func span(start, end string) string {
	if start == end {
		return start
	}
	return start + "-" + end
}

func listOr(l []string, none string) string {
	if len(l) == 0 {
		return none
	}
	return strings.Join(l, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func listOrDash(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, " ")
}
