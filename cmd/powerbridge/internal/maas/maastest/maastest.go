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
//
// This file holds the server and its routing; each resource has a file of
// its own with its state, seeding, handlers, rules and JSON (subnets.go,
// vlans.go, ipranges.go, racks.go, machines.go with power.go, settings.go),
// and auth.go checks OAuth.
package maastest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	path, op, ok := s.accept(w, r)
	if !ok {
		return
	}
	for _, rt := range routes {
		if rt.path == path && rt.method == r.Method && (rt.op == op || rt.op == anyOp) {
			rt.serve(s, w, r)
			return
		}
	}
	if m := idPath.FindStringSubmatch(path); m != nil {
		s.serveObject(w, r, m[1], m[2], op)
		return
	}
	noRoute(w, r, path, op)
}

// noRoute answers a call the fake does not serve, as MAAS does.
func noRoute(w http.ResponseWriter, r *http.Request, path, op string) {
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

// accept checks what every request needs (the API's prefix, a trailing
// slash, OAuth, a form-encoded body) and returns the path under the API
// and MAAS's op; false when it has answered the request.
func (s *Server) accept(w http.ResponseWriter, r *http.Request) (path, op string, ok bool) {
	if !strings.HasPrefix(r.URL.Path, apiPrefix) {
		http.Error(w, "Not Found", http.StatusNotFound)
		return "", "", false
	}
	path = strings.TrimPrefix(r.URL.Path, apiPrefix)
	if !strings.HasSuffix(path, "/") {
		s.violation("%s %s: MAAS paths end in '/'; without it MAAS answers 404", r.Method, r.URL.Path)
		notFound(w, r)
		return "", "", false
	}
	if !s.authorized(w, r) {
		return "", "", false
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
			return "", "", false
		}
	}
	op = r.URL.Query().Get("op")
	if op == "" && r.Method == http.MethodPost && r.PostForm != nil {
		op = r.PostForm.Get("op") // MAAS takes op from the body of a POST too
	}
	return path, op, true
}

// route is one call on a collection the fake answers: its path under the
// API, method and MAAS's op ("" for none, anyOp for whatever).
type route struct {
	path, method, op string
	serve            func(s *Server, w http.ResponseWriter, r *http.Request)
}

const anyOp = "*"

// routes are the calls on collections, each served in its resource's file;
// calls on one object ("subnets/5/") go to serveObject.
var routes = []route{
	{"version/", http.MethodGet, anyOp, (*Server).serveVersion},
	{"subnets/", http.MethodGet, "", (*Server).listSubnets},
	{"ipranges/", http.MethodGet, "", (*Server).listRanges},
	{"ipranges/", http.MethodPost, "", (*Server).postRange},
	{"rackcontrollers/", http.MethodGet, "", (*Server).listRacks},
	{"rackcontrollers/", http.MethodGet, "describe_power_types", (*Server).describePowerTypes},
	{"machines/", http.MethodGet, "", (*Server).listMachines},
	{"maas/", http.MethodGet, "get_config", (*Server).getConfig},
	{"maas/", http.MethodPost, "set_config", (*Server).setConfig},
}

// serveObject answers a call on one object: kind is its collection, idStr
// its id or system_id.
func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, kind, idStr, op string) {
	if kind == "machines" && op == "power_parameters" {
		s.machinePowerParameters(w, r, idStr)
		return
	}
	if op != "" {
		writeStatus(w, http.StatusBadRequest, fmt.Sprintf("Unrecognised signature: method=%s op=%s", r.Method, op))
		return
	}
	switch kind {
	case "machines":
		s.serveMachine(w, r, idStr)
		return
	case "rackcontrollers":
		s.serveRack(w, r, idStr)
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
		serveOne(s, w, r, s.subnets[id], "No Subnet matches the given query.", s.updateSubnet, s.subnetJSON)
	case "vlans":
		serveOne(s, w, r, s.vlans[id], "VLAN with specified ID does not exist.", s.updateVLAN, s.vlanJSON)
	case "ipranges":
		serveOne(s, w, r, s.ranges[id], "No IPRange matches the given query.", s.updateRange, s.rangeJSON)
	}
}

// serveOne answers GET and PUT on one object (nil: there is none, and
// missing is MAAS's answer): its JSON, or an update by the resource's form
// rules.
func serveOne[T any](s *Server, w http.ResponseWriter, r *http.Request, obj *T, missing string,
	update func(*T, url.Values) map[string][]string, toJSON func(*T) map[string]any) {
	if obj == nil {
		writeStatus(w, http.StatusNotFound, missing)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, toJSON(obj))
	case http.MethodPut:
		if errs := update(obj, r.PostForm); errs != nil {
			writeJSONStatus(w, http.StatusBadRequest, errs)
			return
		}
		s.mutate(r, strings.TrimPrefix(r.URL.Path, apiPrefix)) // the path as sent
		writeJSON(w, toJSON(obj))
	default:
		writeStatus(w, http.StatusMethodNotAllowed, "Method Not Allowed")
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

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
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
