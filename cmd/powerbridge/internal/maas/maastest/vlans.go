package maastest

import (
	"fmt"
	"net/url"
	"strconv"
)

type vlan struct {
	id, vid, fabricID, mtu int
	name                   string
	dhcpOn                 bool
	primary, secondary     string
}

// AddVLAN adds a VLAN with tag vid on fabric fabricID and returns its object id.
func (s *Server) AddVLAN(fabricID, vid int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := 5001 + len(s.vlans)
	name := "untagged"
	if vid != 0 {
		name = strconv.Itoa(vid)
	}
	s.vlans[id] = &vlan{id: id, vid: vid, fabricID: fabricID, mtu: 1500, name: name}
	return id
}

// SetDHCP sets a VLAN's DHCP state directly, bypassing MAAS's rules (as an
// operator's earlier clicks might have left it).
func (s *Server) SetDHCP(vlanID int, on bool, primary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vlans[vlanID]
	v.dhcpOn, v.primary = on, primary
}

// DHCP returns a VLAN's DHCP state.
func (s *Server) DHCP(vlanID int) (on bool, primary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vlans[vlanID]
	return v.dhcpOn, v.primary
}

// updateVLAN applies VLANForm's rules: primary_rack must be a rack with an
// interface on a VLAN of the same VID (MAAS filters racks by VID, not by VLAN
// object), and dhcp_on needs a dynamic range on one of the VLAN's subnets and
// a primary rack, given or already set.
func (s *Server) updateVLAN(v *vlan, form url.Values) map[string][]string {
	errs := map[string][]string{}
	primary := v.primary
	if vs, ok := form["primary_rack"]; ok {
		primary = vs[0]
		if primary != "" && !s.rackOnVID(primary, v.vid) {
			errs["primary_rack"] = []string{"Select a valid choice. That choice is not one of the available choices."}
		}
	}
	dhcpOn := v.dhcpOn
	if vs, ok := form["dhcp_on"]; ok {
		dhcpOn = s.parseBool("dhcp_on", vs[0])
		if dhcpOn && !s.vlanHasDynamicRange(v.id) {
			errs["dhcp_on"] = []string{"dhcp can only be turned on when a dynamic IP range is defined."}
		}
	}
	if dhcpOn && primary == "" {
		errs["__all__"] = append(errs["__all__"], "dhcp can only be turned on when a primary rack controller is set.")
	}
	if len(errs) > 0 {
		return errs
	}
	v.primary, v.dhcpOn = primary, dhcpOn
	return nil
}

func (s *Server) rackOnVID(systemID string, vid int) bool {
	for _, rk := range s.racks {
		if rk.systemID != systemID {
			continue
		}
		for _, i := range rk.ifaces {
			if v := s.vlans[i.VLAN]; v != nil && v.vid == vid {
				return true
			}
		}
	}
	return false
}

func (s *Server) vlanHasDynamicRange(vlanID int) bool {
	for _, r := range s.ranges {
		if r.typ == "dynamic" && s.subnets[r.subnet].vlan == vlanID {
			return true
		}
	}
	return false
}

// JSON shapes, after src/maasserver/api/examples/*.json.
func (s *Server) vlanJSON(v *vlan) map[string]any {
	return map[string]any{
		"id": v.id, "vid": v.vid, "name": v.name, "mtu": v.mtu,
		"fabric": fmt.Sprintf("fabric-%d", v.fabricID), "fabric_id": v.fabricID,
		"dhcp_on": v.dhcpOn, "external_dhcp": nil, "relay_vlan": nil,
		"primary_rack": nullable(v.primary), "secondary_rack": nullable(v.secondary),
		"space": "undefined", "resource_uri": fmt.Sprintf("%svlans/%d/", apiPrefix, v.id),
	}
}
