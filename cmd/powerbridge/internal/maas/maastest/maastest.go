// Package maastest is a fake MAAS region for tests: an httptest server that
// speaks the parts of the MAAS 2.0 REST API powerbridge uses, in MAAS's JSON
// shapes, and follows MAAS's rules strictly.
//
// Two kinds of failure are kept apart. What a real MAAS would refuse (a
// wrong key, DHCP without a dynamic range or a primary rack, a dynamic range
// over the gateway) is answered as MAAS answers it, so that a test can check
// the client's handling. What shows a client bug (a missing OAuth field, a
// reused nonce, a non-integer timestamp, a path without its trailing slash,
// a boolean that is not true/false, name/value of set_config in the query
// string) is answered as MAAS would and also fails the test, so that no test
// passes against the fake with a client that a real MAAS would break.
//
// The fake's rules come from canonical/maas (forms_vlan.py, models/iprange.py,
// api/maas.py, piston's OAuth handling) and reference/gateway.md.
package maastest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Key is the API key the fake accepts unless a test sets another.
const Key = "cOnSuMeRkEy12345678:tOkEnKeY1234567890:SeCrEtToKeNsEcReT1234567890abcd"

// Server is a fake MAAS. Its methods seed and inspect its state; the client
// under test sees only HTTP.
type Server struct {
	*httptest.Server
	tb testing.TB

	// Now is the fake's clock, for OAuth timestamps.
	Now func() time.Time

	mu        sync.Mutex
	consumer  string
	token     string
	secret    string
	version   string
	nonces    map[string]bool
	nextID    int
	vlans     map[int]*vlan
	subnets   map[int]*subnet
	ranges    map[int]*iprange
	racks     []*rack
	machines  []*machine
	config    map[string]any
	mutations []string
	requests  int
	// failStatus, when not 0, answers every request (see FailWith).
	failStatus int
	failBody   string
}

type vlan struct {
	id, vid, fabricID, mtu int
	name                   string
	dhcpOn                 bool
	primary, secondary     string
}

type subnet struct {
	id      int
	cidr    netip.Prefix
	vlan    int
	gateway string
	dns     []string
}

type iprange struct {
	id         int
	typ        string
	start, end netip.Addr
	comment    string
	subnet     int
}

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

type machine struct {
	systemID, hostname, powerType string
	params                        map[string]string
}

// New starts a fake MAAS with no subnets, VLANs or racks; Close is registered
// with tb.Cleanup.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		tb:      tb,
		Now:     time.Now,
		version: "3.4.2",
		nonces:  map[string]bool{},
		nextID:  1,
		vlans:   map[int]*vlan{},
		subnets: map[int]*subnet{},
		ranges:  map[int]*iprange{},
		config:  map[string]any{"upstream_dns": nil, "maas_name": "maas", "dnssec_validation": "auto"},
	}
	s.SetKey(Key)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// URL of the MAAS UI, as a user would copy it ("http://127.0.0.1:N/MAAS/").
func (s *Server) MAASURL() string { return s.URL + "/MAAS/" }

// SetKey changes the API key the fake accepts.
func (s *Server) SetKey(key string) {
	p := strings.Split(key, ":")
	if len(p) != 3 {
		s.tb.Fatalf("maastest: bad key %q", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consumer, s.token, s.secret = p[0], p[1], p[2]
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

// AddMachine adds a machine and returns its system_id.
func (s *Server) AddMachine(hostname string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &machine{systemID: fmt.Sprintf("mc%04d", len(s.machines)+1), hostname: hostname, powerType: "manual", params: map[string]string{}}
	s.machines = append(s.machines, m)
	return m.systemID
}

// SetConfig sets a MAAS setting directly.
func (s *Server) SetConfig(name string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config[name] = value
}

// SetDHCP sets a VLAN's DHCP state directly, bypassing MAAS's rules (as an
// operator's earlier clicks might have left it).
func (s *Server) SetDHCP(vlanID int, on bool, primary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vlans[vlanID]
	v.dhcpOn, v.primary = on, primary
}

// FailWith answers every request from now on with status and body, as a
// MAAS behind a failing proxy or still starting up does; 0 ends that.
func (s *Server) FailWith(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failBody = status, body
}

// Mutations lists every change made through the API, in order, as
// "PUT subnets/1/ gateway_ip=192.168.23.1".
func (s *Server) Mutations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mutations)
}

// Requests counts the requests served.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Subnet returns a subnet's gateway and DNS servers.
func (s *Server) Subnet(id int) (gateway string, dns []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.subnets[id]
	return sn.gateway, slices.Clone(sn.dns)
}

// DHCP returns a VLAN's DHCP state.
func (s *Server) DHCP(vlanID int) (on bool, primary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vlans[vlanID]
	return v.dhcpOn, v.primary
}

// Config returns a MAAS setting.
func (s *Server) Config(name string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config[name]
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

// Machine returns a machine's power type and parameters.
func (s *Server) Machine(systemID string) (powerType string, params map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.machines {
		if m.systemID == systemID {
			return m.powerType, maps.Clone(m.params)
		}
	}
	return "", nil
}

func (s *Server) id() int { s.nextID++; return s.nextID }

// violation reports a client bug: a real MAAS would have broken on it.
func (s *Server) violation(format string, args ...any) {
	s.tb.Errorf("maastest: the client broke MAAS's API rules: "+format, args...)
}

const apiPrefix = "/MAAS/api/2.0/"

var idPath = regexp.MustCompile(`^(subnets|vlans|ipranges|machines|rackcontrollers)/([^/]+)/$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.failStatus != 0 {
		http.Error(w, s.failBody, s.failStatus)
		return
	}

	if !strings.HasPrefix(r.URL.Path, apiPrefix) {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	if !strings.HasSuffix(path, "/") {
		s.violation("%s %s: MAAS paths end in '/'; without it MAAS answers 404", r.Method, r.URL.Path)
		notFound(w, r)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		ct := r.Header.Get("Content-Type")
		if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") && !strings.HasPrefix(ct, "multipart/form-data") {
			s.violation("%s %s: body is %q; MAAS reads only form-encoded bodies", r.Method, path, ct)
		}
		var err error
		if strings.HasPrefix(ct, "multipart/form-data") {
			err = r.ParseMultipartForm(1 << 20)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	q := r.URL.Query()
	op := q.Get("op")
	if op == "" && r.Method == http.MethodPost && r.PostForm != nil {
		op = r.PostForm.Get("op") // MAAS takes op from the body of a POST too
	}

	switch {
	case path == "version/" && r.Method == http.MethodGet:
		writeJSON(w, map[string]any{"version": s.version, "subversion": "", "capabilities": []string{"networks-management", "static-ipaddresses", "ipv6-deployment-ubuntu", "devices-management", "storage-deployment-ubuntu", "network-deployment-ubuntu"}})
	case path == "subnets/" && r.Method == http.MethodGet && op == "":
		out := []any{}
		for _, id := range sortedKeys(s.subnets) {
			out = append(out, s.subnetJSON(s.subnets[id]))
		}
		writeJSON(w, out)
	case path == "ipranges/" && r.Method == http.MethodGet && op == "":
		out := []any{}
		for _, id := range sortedKeys(s.ranges) {
			out = append(out, s.rangeJSON(s.ranges[id]))
		}
		writeJSON(w, out)
	case path == "ipranges/" && r.Method == http.MethodPost && op == "":
		ir, status, body := s.createRange(r.PostForm)
		if ir == nil {
			writeStatus(w, status, body)
			return
		}
		s.mutate(r, path)
		writeJSON(w, s.rangeJSON(ir))
	case path == "rackcontrollers/" && r.Method == http.MethodGet && op == "":
		out := []any{}
		for _, rk := range s.racks {
			out = append(out, s.rackJSON(rk))
		}
		writeJSON(w, out)
	case path == "rackcontrollers/" && r.Method == http.MethodGet && op == "describe_power_types":
		writeJSON(w, []any{
			map[string]any{"name": "manual", "description": "Manual", "fields": []any{}},
			map[string]any{"name": "webhook", "description": "Webhook", "fields": []any{}},
		})
	case path == "machines/" && r.Method == http.MethodGet && op == "":
		out := []any{}
		for _, m := range s.machines {
			out = append(out, s.machineJSON(m))
		}
		writeJSON(w, out)
	case path == "maas/" && op == "get_config" && r.Method == http.MethodGet:
		s.getConfig(w, q)
	case path == "maas/" && op == "set_config" && r.Method == http.MethodPost:
		s.setConfig(w, r)
	case idPath.MatchString(path):
		m := idPath.FindStringSubmatch(path)
		s.serveObject(w, r, m[1], m[2], op)
	default:
		if op != "" {
			writeStatus(w, http.StatusBadRequest, fmt.Sprintf("Unrecognised signature: method=%s op=%s", r.Method, op))
			return
		}
		if path == "subnets/" || path == "ipranges/" || path == "machines/" || path == "rackcontrollers/" || path == "maas/" {
			writeStatus(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		notFound(w, r)
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, http.StatusNotFound, "Unknown API endpoint: "+r.URL.Path+".")
}

func (s *Server) mutate(r *http.Request, path string) {
	var keys []string
	for k := range r.PostForm {
		if k != "op" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	line := r.Method + " " + path
	if op := r.URL.Query().Get("op"); op != "" {
		line += "?op=" + op
	}
	for _, k := range keys {
		line += " " + k + "=" + r.PostForm.Get(k)
	}
	s.mutations = append(s.mutations, line)
}

// authorized checks the OAuth header the way MAAS (piston3's OAuth) does.
// Wrong credentials are a 401; a malformed header is also a client bug.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "OAuth ") {
		s.violation("%s %s: no OAuth Authorization header", r.Method, r.URL.Path)
		writeStatus(w, http.StatusUnauthorized, "Authorization Required")
		return false
	}
	params := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(h, "OAuth "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			s.violation("OAuth header part %q is not key=\"value\"", part)
			continue
		}
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			s.violation("OAuth header value of %s is not quoted", k)
		}
		uv, err := url.PathUnescape(strings.Trim(v, `"`))
		if err != nil {
			s.violation("OAuth header value of %s is not percent-encoded properly", k)
		}
		if _, dup := params[k]; dup {
			s.violation("OAuth header repeats %s", k)
		}
		params[k] = uv
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature", "oauth_nonce", "oauth_timestamp"} {
		if params[k] == "" {
			s.violation("OAuth header lacks %s", k)
			writeStatus(w, http.StatusUnauthorized, "Missing OAuth parameter: "+k)
			return false
		}
	}
	if v, ok := params["oauth_version"]; ok && v != "1.0" {
		s.violation("oauth_version is %q, not 1.0", v)
	}
	if params["oauth_signature_method"] != "PLAINTEXT" {
		s.violation("oauth_signature_method is %q; the client signs PLAINTEXT", params["oauth_signature_method"])
		writeStatus(w, http.StatusUnauthorized, "Invalid signature method")
		return false
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	if err != nil {
		s.violation("oauth_timestamp %q is not an integer number of seconds", params["oauth_timestamp"])
		writeStatus(w, http.StatusBadRequest, "Invalid timestamp")
		return false
	}
	if d := s.Now().Unix() - ts; d > 300 || d < -300 {
		writeStatus(w, http.StatusBadRequest, fmt.Sprintf("Expired timestamp: given %d and now %d has a greater difference than threshold 300", ts, s.Now().Unix()))
		return false
	}
	if params["oauth_consumer_key"] != s.consumer {
		writeStatus(w, http.StatusUnauthorized, "Invalid consumer.")
		return false
	}
	if params["oauth_token"] != s.token {
		writeStatus(w, http.StatusUnauthorized, "Invalid access token: "+params["oauth_token"])
		return false
	}
	// MAAS records the nonce before it checks the signature: a retry with
	// the same nonce fails even when the first attempt's signature was wrong.
	nonceKey := params["oauth_consumer_key"] + "\x00" + params["oauth_token"] + "\x00" + params["oauth_nonce"]
	if s.nonces[nonceKey] {
		s.violation("nonce %q used twice; MAAS refuses every reuse", params["oauth_nonce"])
		writeStatus(w, http.StatusUnauthorized, "Nonce already used: "+params["oauth_nonce"])
		return false
	}
	s.nonces[nonceKey] = true
	if params["oauth_signature"] != "&"+s.secret {
		// MAAS's real answer, secret and all: the trap a client must not print.
		writeStatus(w, http.StatusUnauthorized, "Invalid signature. Expected signature base string: &"+s.secret)
		return false
	}
	return true
}

func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, kind, idStr, op string) {
	if kind == "machines" && op == "power_parameters" {
		s.machinePowerParameters(w, r, idStr)
		return
	}
	if op != "" {
		writeStatus(w, http.StatusBadRequest, fmt.Sprintf("Unrecognised signature: method=%s op=%s", r.Method, op))
		return
	}
	if kind == "machines" || kind == "rackcontrollers" {
		s.serveNode(w, r, kind, idStr)
		return
	}
	id, err := strconv.Atoi(idStr)
	if err != nil {
		// MAAS would try a specifier ("cidr:..."); the fake knows ids only.
		writeStatus(w, http.StatusNotFound, "No "+strings.TrimSuffix(kind, "s")+" matches the given query.")
		return
	}
	switch kind {
	case "subnets":
		sn := s.subnets[id]
		if sn == nil {
			writeStatus(w, http.StatusNotFound, "No Subnet matches the given query.")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, s.subnetJSON(sn))
		case http.MethodPut:
			if errs := s.updateSubnet(sn, r.PostForm); errs != nil {
				writeJSONStatus(w, http.StatusBadRequest, errs)
				return
			}
			s.mutate(r, "subnets/"+idStr+"/")
			writeJSON(w, s.subnetJSON(sn))
		default:
			writeStatus(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
	case "vlans":
		v := s.vlans[id]
		if v == nil {
			writeStatus(w, http.StatusNotFound, "VLAN with specified ID does not exist.")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, s.vlanJSON(v))
		case http.MethodPut:
			if errs := s.updateVLAN(v, r.PostForm); errs != nil {
				writeJSONStatus(w, http.StatusBadRequest, errs)
				return
			}
			s.mutate(r, "vlans/"+idStr+"/")
			writeJSON(w, s.vlanJSON(v))
		default:
			writeStatus(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
	case "ipranges":
		ir := s.ranges[id]
		if ir == nil {
			writeStatus(w, http.StatusNotFound, "No IPRange matches the given query.")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, s.rangeJSON(ir))
		case http.MethodPut:
			if errs := s.updateRange(ir, r.PostForm); errs != nil {
				writeJSONStatus(w, http.StatusBadRequest, errs)
				return
			}
			s.mutate(r, "ipranges/"+idStr+"/")
			writeJSON(w, s.rangeJSON(ir))
		default:
			writeStatus(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
	}
}

func (s *Server) serveNode(w http.ResponseWriter, r *http.Request, kind, systemID string) {
	if kind == "rackcontrollers" {
		for _, rk := range s.racks {
			if rk.systemID == systemID && r.Method == http.MethodGet {
				writeJSON(w, s.rackJSON(rk))
				return
			}
		}
		writeStatus(w, http.StatusNotFound, "No RackController matches the given query.")
		return
	}
	for _, m := range s.machines {
		if m.systemID != systemID {
			continue
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, s.machineJSON(m))
		case http.MethodPut:
			if pt := r.PostForm.Get("power_type"); pt != "" {
				m.powerType = pt
			}
			for k := range r.PostForm {
				if p, ok := strings.CutPrefix(k, "power_parameters_"); ok {
					m.params[p] = r.PostForm.Get(k)
				}
			}
			s.mutate(r, "machines/"+systemID+"/")
			writeJSON(w, s.machineJSON(m))
		default:
			writeStatus(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
		return
	}
	writeStatus(w, http.StatusNotFound, "No Machine matches the given query.")
}

// parseBool reads a boolean form field the way MAAS does: "true"/"false" in
// any case are booleans and any other non-empty string is true.
func (s *Server) parseBool(field, v string) bool {
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false", "":
		return false
	}
	s.violation("%s=%q: MAAS reads any value but true/false as true", field, v)
	return true
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

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
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

func (s *Server) subnetFor(a netip.Addr) *subnet {
	for _, id := range sortedKeys(s.subnets) {
		if s.subnets[id].cidr.Contains(a) {
			return s.subnets[id]
		}
	}
	return nil
}

// validRange is IPRange.clean: ends in order and inside the subnet, not the
// network or broadcast address, and no overlap: a reserved range may not
// overlap another range; a dynamic one may overlap nothing in use (ranges,
// the gateway, DNS servers in the subnet, static addresses of racks).
func (s *Server) validRange(ir *iprange) map[string][]string {
	both := func(msg string) map[string][]string {
		return map[string][]string{"start_ip": {msg}, "end_ip": {msg}}
	}
	sn := s.subnets[ir.subnet]
	if ir.end.Less(ir.start) {
		return map[string][]string{"end_ip": {"End IP address must not be less than Start IP address."}}
	}
	if !sn.cidr.Contains(ir.start) || !sn.cidr.Contains(ir.end) {
		return both(fmt.Sprintf("IP addresses must be within subnet: %s.", sn.cidr))
	}
	if ir.start == sn.cidr.Masked().Addr() {
		return map[string][]string{"start_ip": {"Reserved network address cannot be included in IP range."}}
	}
	if ir.end == broadcast(sn.cidr) {
		return map[string][]string{"end_ip": {"Broadcast address cannot be included in IP range."}}
	}
	in := func(a netip.Addr) bool { return !a.Less(ir.start) && !ir.end.Less(a) }
	for _, o := range s.ranges {
		if o.id == ir.id || o.subnet != ir.subnet {
			continue
		}
		if !o.end.Less(ir.start) && !ir.end.Less(o.start) {
			if ir.typ == "reserved" {
				return both("Requested reserved range conflicts with an existing range.")
			}
			return both("Requested dynamic range conflicts with an existing IP address or range.")
		}
	}
	if ir.typ == "dynamic" {
		var used []string
		used = append(used, sn.gateway)
		used = append(used, sn.dns...)
		for _, rk := range s.racks {
			for _, i := range rk.ifaces {
				used = append(used, i.IP)
			}
		}
		for _, u := range used {
			if a, err := netip.ParseAddr(u); err == nil && sn.cidr.Contains(a) && in(a) {
				return both("Requested dynamic range conflicts with an existing IP address or range.")
			}
		}
	}
	return nil
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := bits; i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a)
}

func (s *Server) getConfig(w http.ResponseWriter, q url.Values) {
	// MAAS reads get_config's name from the query string only.
	name := q.Get("name")
	if name == "" {
		writeStatus(w, http.StatusBadRequest, "No provided name!")
		return
	}
	v, ok := s.config[name]
	if !ok {
		writeJSONStatus(w, http.StatusBadRequest, map[string][]string{"name": {fmt.Sprintf("%s is not a valid config setting.", name)}})
		return
	}
	writeJSON(w, v)
}

func (s *Server) setConfig(w http.ResponseWriter, r *http.Request) {
	// MAAS reads set_config's name and value from the body only.
	name, value := r.PostForm.Get("name"), r.PostForm.Get("value")
	if name == "" {
		if r.URL.Query().Get("name") != "" {
			s.violation("set_config: name in the query string; MAAS reads it from the body only")
		}
		writeStatus(w, http.StatusBadRequest, "No provided name!")
		return
	}
	if _, ok := r.PostForm["value"]; !ok {
		writeStatus(w, http.StatusBadRequest, "No provided value!")
		return
	}
	if _, ok := s.config[name]; !ok {
		writeJSONStatus(w, http.StatusBadRequest, map[string][]string{"name": {fmt.Sprintf("%s is not a valid config setting.", name)}})
		return
	}
	if name == "upstream_dns" {
		for _, a := range splitList(value) {
			if _, err := netip.ParseAddr(a); err != nil {
				writeJSONStatus(w, http.StatusBadRequest, map[string][]string{"upstream_dns": {fmt.Sprintf("Invalid IP address: %s.", a)}})
				return
			}
		}
	}
	s.config[name] = value
	s.mutate(r, "maas/")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "OK")
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

func (s *Server) subnetJSON(sn *subnet) map[string]any {
	return map[string]any{
		"id": sn.id, "name": sn.cidr.String(), "cidr": sn.cidr.String(),
		"vlan": s.vlanJSON(s.vlans[sn.vlan]), "rdns_mode": 2,
		"gateway_ip": nullable(sn.gateway), "dns_servers": slices.Clone(sn.dns),
		"allow_dns": true, "allow_proxy": true, "active_discovery": false, "managed": true,
		"space": "undefined", "resource_uri": fmt.Sprintf("%ssubnets/%d/", apiPrefix, sn.id),
	}
}

func (s *Server) rangeJSON(ir *iprange) map[string]any {
	return map[string]any{
		"id": ir.id, "type": ir.typ, "start_ip": ir.start.String(), "end_ip": ir.end.String(),
		"comment": ir.comment, "subnet": s.subnetJSON(s.subnets[ir.subnet]),
		"user":         map[string]any{"is_superuser": true, "username": "admin", "email": "admin@example.com", "is_local": true, "resource_uri": apiPrefix + "users/admin/"},
		"resource_uri": fmt.Sprintf("%sipranges/%d/", apiPrefix, ir.id),
	}
}

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

func (s *Server) machineJSON(m *machine) map[string]any {
	return map[string]any{
		"system_id": m.systemID, "hostname": m.hostname, "fqdn": m.hostname + ".maas",
		"power_type": m.powerType, "power_state": "unknown", "status_name": "Ready",
		"resource_uri": fmt.Sprintf("%smachines/%s/", apiPrefix, m.systemID),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus answers text, as MAAS does for errors that are not form
// validation; a map body (form errors) goes out as JSON.
func writeStatus(w http.ResponseWriter, status int, body any) {
	if m, ok := body.(map[string][]string); ok {
		writeJSONStatus(w, status, m)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}
