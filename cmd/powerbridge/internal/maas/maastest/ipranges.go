package maastest

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
)

type iprange struct {
	id         int
	typ        string
	start, end netip.Addr
	comment    string
	subnet     int
}

// AddRange adds an IP range as POST ipranges/ would, failing the test if MAAS
// would refuse it.
func (s *Server) AddRange(typ, start, end, comment string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, status, body := s.createRange(url.Values{"type": {typ}, "start_ip": {start}, "end_ip": {end}, "comment": {comment}})
	if r == nil {
		s.tb.Fatalf("maastest: AddRange %s %s-%s: %d %v", typ, start, end, status, body)
	}
	return r.id
}

// Ranges returns the ranges as "type start-end comment", sorted.
func (s *Server) Ranges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.ranges {
		out = append(out, fmt.Sprintf("%s %s-%s %s", r.typ, r.start, r.end, r.comment))
	}
	sort.Strings(out)
	return out
}

func (s *Server) listRanges(w http.ResponseWriter, _ *http.Request) {
	out := []any{}
	for _, id := range sortedKeys(s.ranges) {
		out = append(out, s.rangeJSON(s.ranges[id]))
	}
	writeJSON(w, out)
}

func (s *Server) postRange(w http.ResponseWriter, r *http.Request) {
	ir, status, body := s.createRange(r.PostForm)
	if ir == nil {
		writeStatus(w, status, body)
		return
	}
	s.mutate(r, "ipranges/")
	writeJSON(w, s.rangeJSON(ir))
}

// createRange is POST ipranges/. It returns the new range, or a status and
// an answer body.
func (s *Server) createRange(form url.Values) (*iprange, int, any) {
	typ := form.Get("type")
	if typ != "dynamic" && typ != "reserved" {
		if typ == "" {
			return nil, http.StatusBadRequest, map[string][]string{"type": {"This field is required."}}
		}
		return nil, http.StatusBadRequest, map[string][]string{"type": {fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", typ)}}
	}
	start, end, errs := parseRangeEnds(form)
	if errs != nil {
		return nil, http.StatusBadRequest, errs
	}
	sn := s.subnetFor(start)
	if sn == nil {
		if typ == "dynamic" {
			// MAAS crashes on this one instead of validating it.
			return nil, http.StatusInternalServerError, "Internal server error."
		}
		return nil, http.StatusBadRequest, map[string][]string{"subnet": {"This field is required."}}
	}
	ir := &iprange{typ: typ, start: start, end: end, comment: form.Get("comment"), subnet: sn.id}
	if errs := s.validRange(ir); errs != nil {
		return nil, http.StatusBadRequest, errs
	}
	ir.id = len(s.ranges) + 1
	s.ranges[ir.id] = ir
	return ir, http.StatusOK, nil
}

func (s *Server) updateRange(ir *iprange, form url.Values) map[string][]string {
	next := *ir
	if _, ok := form["start_ip"]; ok {
		a, err := netip.ParseAddr(form.Get("start_ip"))
		if err != nil {
			return map[string][]string{"start_ip": {"Enter a valid IPv4 or IPv6 address."}}
		}
		next.start = a
	}
	if _, ok := form["end_ip"]; ok {
		a, err := netip.ParseAddr(form.Get("end_ip"))
		if err != nil {
			return map[string][]string{"end_ip": {"Enter a valid IPv4 or IPv6 address."}}
		}
		next.end = a
	}
	if c, ok := form["comment"]; ok {
		next.comment = c[0]
	}
	if errs := s.validRange(&next); errs != nil {
		return errs
	}
	*ir = next
	return nil
}

func parseRangeEnds(form url.Values) (start, end netip.Addr, errs map[string][]string) {
	errs = map[string][]string{}
	var err error
	for _, f := range []struct {
		name string
		to   *netip.Addr
	}{{"start_ip", &start}, {"end_ip", &end}} {
		v := form.Get(f.name)
		if v == "" {
			errs[f.name] = []string{"This field is required."}
			continue
		}
		if *f.to, err = netip.ParseAddr(v); err != nil {
			errs[f.name] = []string{"Enter a valid IPv4 or IPv6 address."}
		}
	}
	if len(errs) > 0 {
		return start, end, errs
	}
	return start, end, nil
}

// validRange is IPRange.clean: ends in order and inside the subnet, not the
// network or broadcast address, and no overlap: a reserved range may not
// overlap another range; a dynamic one may overlap nothing in use (ranges,
// the gateway, DNS servers in the subnet, static addresses of racks).
func (s *Server) validRange(ir *iprange) map[string][]string {
	if errs := s.rangeBounds(ir); errs != nil {
		return errs
	}
	if s.rangeOverlaps(ir) {
		if ir.typ == "reserved" {
			return bothEnds("Requested reserved range conflicts with an existing range.")
		}
		return bothEnds("Requested dynamic range conflicts with an existing IP address or range.")
	}
	if ir.typ == "dynamic" && s.rangeHoldsUsedAddr(ir) {
		return bothEnds("Requested dynamic range conflicts with an existing IP address or range.")
	}
	return nil
}

func bothEnds(msg string) map[string][]string {
	return map[string][]string{"start_ip": {msg}, "end_ip": {msg}}
}

// rangeBounds: ends in order, inside the subnet, not its network or
// broadcast address.
func (s *Server) rangeBounds(ir *iprange) map[string][]string {
	sn := s.subnets[ir.subnet]
	if ir.end.Less(ir.start) {
		return map[string][]string{"end_ip": {"End IP address must not be less than Start IP address."}}
	}
	if !sn.cidr.Contains(ir.start) || !sn.cidr.Contains(ir.end) {
		return bothEnds(fmt.Sprintf("IP addresses must be within subnet: %s.", sn.cidr))
	}
	if ir.start == sn.cidr.Masked().Addr() {
		return map[string][]string{"start_ip": {"Reserved network address cannot be included in IP range."}}
	}
	if ir.end == broadcast(sn.cidr) {
		return map[string][]string{"end_ip": {"Broadcast address cannot be included in IP range."}}
	}
	return nil
}

// rangeOverlaps tells whether ir overlaps another range on its subnet.
func (s *Server) rangeOverlaps(ir *iprange) bool {
	for _, o := range s.ranges {
		if o.id == ir.id || o.subnet != ir.subnet {
			continue
		}
		if !o.end.Less(ir.start) && !ir.end.Less(o.start) {
			return true
		}
	}
	return false
}

// rangeHoldsUsedAddr tells whether ir holds an address in use on its
// subnet: the gateway, a DNS server, a rack's static address.
func (s *Server) rangeHoldsUsedAddr(ir *iprange) bool {
	sn := s.subnets[ir.subnet]
	used := append([]string{sn.gateway}, sn.dns...)
	for _, rk := range s.racks {
		for _, i := range rk.ifaces {
			used = append(used, i.IP)
		}
	}
	for _, u := range used {
		if a, err := netip.ParseAddr(u); err == nil && sn.cidr.Contains(a) && !a.Less(ir.start) && !ir.end.Less(a) {
			return true
		}
	}
	return false
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := bits; i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a)
}

// JSON shapes, after src/maasserver/api/examples/*.json.
func (s *Server) rangeJSON(ir *iprange) map[string]any {
	return map[string]any{
		"id": ir.id, "type": ir.typ, "start_ip": ir.start.String(), "end_ip": ir.end.String(),
		"comment": ir.comment, "subnet": s.subnetJSON(s.subnets[ir.subnet]),
		"user":         map[string]any{"is_superuser": true, "username": "admin", "email": "admin@example.com", "is_local": true, "resource_uri": apiPrefix + "users/admin/"},
		"resource_uri": fmt.Sprintf("%sipranges/%d/", apiPrefix, ir.id),
	}
}
