package maastest

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

type subnet struct {
	id      int
	cidr    netip.Prefix
	vlan    int
	gateway string
	dns     []string
}

// AddSubnet adds a subnet on VLAN vlanID (gateway "" for none) and returns its id.
func (s *Server) AddSubnet(cidr string, vlanID int, gateway string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vlans[vlanID] == nil {
		s.tb.Fatalf("maastest: AddSubnet: no VLAN %d", vlanID)
	}
	id := len(s.subnets) + 1
	s.subnets[id] = &subnet{id: id, cidr: netip.MustParsePrefix(cidr), vlan: vlanID, gateway: gateway, dns: []string{}}
	return id
}

// Subnet returns a subnet's gateway and DNS servers.
func (s *Server) Subnet(id int) (gateway string, dns []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.subnets[id]
	return sn.gateway, slices.Clone(sn.dns)
}

func (s *Server) listSubnets(w http.ResponseWriter, _ *http.Request) {
	out := []any{}
	for _, id := range sortedKeys(s.subnets) {
		out = append(out, s.subnetJSON(s.subnets[id]))
	}
	writeJSON(w, out)
}

func (s *Server) updateSubnet(sn *subnet, form url.Values) map[string][]string {
	errs := map[string][]string{}
	gw, setGW := sn.gateway, false
	if vs, ok := form["gateway_ip"]; ok {
		setGW = true
		gw = strings.TrimSpace(vs[0])
		if gw != "" {
			a, err := netip.ParseAddr(gw)
			switch {
			case err != nil:
				errs["gateway_ip"] = []string{"Enter a valid IPv4 or IPv6 address."}
			case !sn.cidr.Contains(a):
				errs["gateway_ip"] = []string{"Gateway IP must be within CIDR range."}
			}
		}
	}
	dns, setDNS := sn.dns, false
	if vs, ok := form["dns_servers"]; ok {
		setDNS = true
		dns = []string{}
		for _, d := range splitList(vs[0]) {
			if _, err := netip.ParseAddr(d); err != nil {
				errs["dns_servers"] = []string{fmt.Sprintf("Invalid IP address: %s.", d)}
				break
			}
			dns = append(dns, d)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if setGW {
		sn.gateway = gw
	}
	if setDNS {
		sn.dns = dns
	}
	return nil
}

func (s *Server) subnetFor(a netip.Addr) *subnet {
	for _, id := range sortedKeys(s.subnets) {
		if s.subnets[id].cidr.Contains(a) {
			return s.subnets[id]
		}
	}
	return nil
}

// JSON shapes, after src/maasserver/api/examples/*.json.
func (s *Server) subnetJSON(sn *subnet) map[string]any {
	return map[string]any{
		"id": sn.id, "name": sn.cidr.String(), "cidr": sn.cidr.String(),
		"vlan": s.vlanJSON(s.vlans[sn.vlan]), "rdns_mode": 2,
		"gateway_ip": nullable(sn.gateway), "dns_servers": slices.Clone(sn.dns),
		"allow_dns": true, "allow_proxy": true, "active_discovery": false, "managed": true,
		"space": "undefined", "resource_uri": fmt.Sprintf("%ssubnets/%d/", apiPrefix, sn.id),
	}
}
