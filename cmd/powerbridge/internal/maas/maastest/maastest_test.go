package maastest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder stands in for the test the fake reports client bugs to, so that
// the fake's own strictness can be tested.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

func header(key, nonce, ts string) string {
	p := strings.Split(key, ":")
	return fmt.Sprintf(`OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", oauth_token="%s", oauth_signature="&%s", oauth_nonce="%s", oauth_timestamp="%s"`, p[0], p[1], p[2], nonce, ts)
}

func do(t *testing.T, s *Server, method, path, auth string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.URL+"/MAAS/api/2.0/"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFakeCatchesClientBugs shows that the fake fails a test for what a real
// MAAS would break on, and answers as MAAS does.
func TestFakeCatchesClientBugs(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	v := s.AddVLAN(0, 0)
	s.AddSubnet("192.0.2.0/24", v, "")
	rack := s.AddRack("maas", Iface{Name: "eth1", VLAN: v, IP: "192.0.2.1"})
	s.AddRange("dynamic", "192.0.2.100", "192.0.2.200", "")
	now := strconv.FormatInt(time.Now().Unix(), 10)
	n := 0
	nonce := func() string { n++; return fmt.Sprintf("nonce%d", n) }
	if status, body := do(t, s, "GET", "version/", header(Key, "seen", now), nil); status != 200 {
		t.Fatalf("a good request: %d %s", status, body)
	}

	cases := []struct {
		name       string
		method     string
		path, auth string
		form       url.Values
		wantStatus int
		violation  string
	}{
		{"no trailing slash", "GET", "subnets", header(Key, nonce(), now), nil, 404, "end in '/'"},
		{"float timestamp", "GET", "subnets/", header(Key, nonce(), now+".5"), nil, 400, "not an integer"},
		{"no nonce", "GET", "subnets/", strings.Replace(header(Key, "", now), `oauth_nonce="", `, "", 1), nil, 401, "lacks oauth_nonce"},
		{"reused nonce", "GET", "subnets/", header(Key, "seen", now), nil, 401, "used twice"},
		{"dhcp_on=1", "PUT", fmt.Sprintf("vlans/%d/", v), header(Key, nonce(), now), url.Values{"dhcp_on": {"1"}, "primary_rack": {rack}}, 200, "any value but true/false"},
		{"set_config name in query", "POST", "maas/?op=set_config&name=upstream_dns", header(Key, nonce(), now), url.Values{"value": {"192.0.2.53"}}, 400, "query string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := do(t, s, c.method, c.path, c.auth, c.form)
			if status != c.wantStatus {
				t.Errorf("status %d (%s), want %d", status, body, c.wantStatus)
			}
			vs := rec.violations()
			if len(vs) == 0 || !strings.Contains(strings.Join(vs, "\n"), c.violation) {
				t.Errorf("violations %q, want one about %q", vs, c.violation)
			}
		})
	}
	if on, _ := s.DHCP(v); !on {
		t.Error("dhcp_on=1 did not turn DHCP on, as MAAS would")
	}
}

// TestFakeAnswersLikeMAAS covers answers that are MAAS's rules, not client bugs.
func TestFakeAnswersLikeMAAS(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	v := s.AddVLAN(0, 0)
	s.AddSubnet("192.0.2.0/24", v, "192.0.2.254")
	now := strconv.FormatInt(time.Now().Unix(), 10)
	n := 0
	auth := func() string { n++; return header(Key, fmt.Sprintf("n%d", n), now) }

	status, body := do(t, s, "GET", "subnets/", header("a:b:c", "x1", now), nil)
	if status != 401 {
		t.Errorf("unknown consumer: %d %s", status, body)
	}
	p := strings.Split(Key, ":")
	status, body = do(t, s, "GET", "subnets/", header(p[0]+":"+p[1]+":wrong", "x2", now), nil)
	if status != 401 || !strings.Contains(body, "Expected signature base string: &"+p[2]) {
		t.Errorf("wrong secret: %d %s, want MAAS's echo of the secret", status, body)
	}
	status, body = do(t, s, "POST", "ipranges/", auth(), url.Values{"type": {"dynamic"}, "start_ip": {"198.51.100.10"}, "end_ip": {"198.51.100.20"}})
	if status != 500 {
		t.Errorf("dynamic range outside every subnet: %d %s, want MAAS's 500", status, body)
	}
	status, body = do(t, s, "POST", "ipranges/", auth(), url.Values{"type": {"reserved"}, "start_ip": {"198.51.100.10"}, "end_ip": {"198.51.100.20"}})
	if status != 400 {
		t.Errorf("reserved range outside every subnet: %d %s, want 400", status, body)
	}
	status, body = do(t, s, "POST", "ipranges/", auth(), url.Values{"type": {"dynamic"}, "start_ip": {"192.0.2.200"}, "end_ip": {"192.0.2.254"}})
	if status != 400 || !strings.Contains(body, "conflicts") {
		t.Errorf("dynamic range over the gateway: %d %s", status, body)
	}
	status, body = do(t, s, "PUT", fmt.Sprintf("vlans/%d/", v), auth(), url.Values{"dhcp_on": {"true"}})
	if status != 400 || !strings.Contains(body, "dynamic IP range") || !strings.Contains(body, "primary rack") {
		t.Errorf("dhcp on with nothing: %d %s", status, body)
	}
	status, body = do(t, s, "POST", "maas/?op=set_config", auth(), url.Values{"name": {"upstream_dns"}, "value": {"192.0.2.53"}})
	if status != 200 || body != "OK" {
		t.Errorf("set_config: %d %s", status, body)
	}
	status, body = do(t, s, "GET", "maas/?op=get_config&name=upstream_dns", auth(), nil)
	if status != 200 || strings.TrimSpace(body) != `"192.0.2.53"` {
		t.Errorf("get_config: %d %s", status, body)
	}
	if vs := rec.violations(); len(vs) > 0 {
		t.Errorf("unexpected violations: %q", vs)
	}
}

// A rack on another fabric's VLAN with the same VID is a valid primary rack:
// MAAS filters the choices by VID.
func TestPrimaryRackByVID(t *testing.T) {
	s := New(t)
	v0 := s.AddVLAN(0, 0)
	v1 := s.AddVLAN(1, 0)
	v10 := s.AddVLAN(2, 10)
	s.AddSubnet("192.0.2.0/24", v0, "")
	s.AddRange("dynamic", "192.0.2.100", "192.0.2.200", "")
	other := s.AddRack("other", Iface{Name: "eth0", VLAN: v1})
	tagged := s.AddRack("tagged", Iface{Name: "eth0", VLAN: v10})
	now := strconv.FormatInt(time.Now().Unix(), 10)
	status, body := do(t, s, "PUT", fmt.Sprintf("vlans/%d/", v0), header(Key, "a", now), url.Values{"dhcp_on": {"true"}, "primary_rack": {tagged}})
	if status != 400 {
		t.Errorf("rack on VID 10 as primary of VID 0: %d %s", status, body)
	}
	status, body = do(t, s, "PUT", fmt.Sprintf("vlans/%d/", v0), header(Key, "b", now), url.Values{"dhcp_on": {"true"}, "primary_rack": {other}})
	if status != 200 {
		t.Errorf("rack on another fabric's VID 0: %d %s", status, body)
	}
}
