package maastest

import (
	"fmt"
	"net/http"
	"net/netip"
)

type rack struct {
	systemID, hostname string
	ifaces             []iface
}

// Iface is a rack controller's interface, for AddRack.
type Iface struct {
	Name, MAC string
	VLAN      int    // the VLAN's object id; 0 for a disconnected interface
	IP        string // a static address, or ""
}

type iface struct {
	Iface
	id int
}

// AddRack adds a rack controller and returns its system_id.
func (s *Server) AddRack(hostname string, ifaces ...Iface) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &rack{systemID: fmt.Sprintf("rk%04d", len(s.racks)+1), hostname: hostname}
	for _, i := range ifaces {
		r.ifaces = append(r.ifaces, iface{Iface: i, id: s.id()})
	}
	s.racks = append(s.racks, r)
	return r.systemID
}

func (s *Server) listRacks(w http.ResponseWriter, _ *http.Request) {
	out := []any{}
	for _, rk := range s.racks {
		out = append(out, s.rackJSON(rk))
	}
	writeJSON(w, out)
}

func (s *Server) describePowerTypes(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, []any{
		map[string]any{"name": "manual", "description": "Manual", "fields": []any{}},
		map[string]any{"name": "webhook", "description": "Webhook", "fields": []any{}},
	})
}

func (s *Server) serveRack(w http.ResponseWriter, r *http.Request, systemID string) {
	for _, rk := range s.racks {
		if rk.systemID == systemID && r.Method == http.MethodGet {
			writeJSON(w, s.rackJSON(rk))
			return
		}
	}
	writeStatus(w, http.StatusNotFound, "No RackController matches the given query.")
}

// JSON shapes, after src/maasserver/api/examples/*.json.
func (s *Server) rackJSON(rk *rack) map[string]any {
	var ifaces []any
	var ips []string
	for _, i := range rk.ifaces {
		var v any
		if i.VLAN != 0 {
			v = s.vlanJSON(s.vlans[i.VLAN])
		}
		links := []any{}
		if i.IP != "" {
			ips = append(ips, i.IP)
			link := map[string]any{"id": i.id, "mode": "static", "ip_address": i.IP}
			if a, err := netip.ParseAddr(i.IP); err == nil {
				if sn := s.subnetFor(a); sn != nil {
					link["subnet"] = s.subnetJSON(sn)
				}
			}
			links = append(links, link)
		}
		ifaces = append(ifaces, map[string]any{
			"id": i.id, "name": i.Name, "type": "physical", "mac_address": i.MAC, "enabled": true,
			"system_id": rk.systemID, "vlan": v, "links": links, "parents": []string{}, "children": []string{},
			"effective_mtu": 1500, "params": "", "tags": []string{},
			"resource_uri": fmt.Sprintf("%snodes/%s/interfaces/%d/", apiPrefix, rk.systemID, i.id),
		})
	}
	return map[string]any{
		"system_id": rk.systemID, "hostname": rk.hostname, "fqdn": rk.hostname + ".maas",
		"node_type_name": "Region and rack controller", "interface_set": ifaces, "ip_addresses": ips,
		"resource_uri": fmt.Sprintf("%srackcontrollers/%s/", apiPrefix, rk.systemID),
	}
}
