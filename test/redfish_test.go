package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

const redfishUser, redfishPass = "admin", adminPass

// redfishConfig is maasConfig's fleet: node1 (rack1/1) is Members[0], the
// system MAAS picks when node_id is empty.
func redfishConfig(pdu string) string { return maasConfig(pdu) }

// maasRedfish sends what MAAS's redfish power driver sends (reference/
// redfish.md): Basic auth, User-Agent MAAS, a new connection per request,
// Content-Type application/json on every request; 2.7 never sends If-Match
// and does not wait, 3.8 does both.
type maasRedfish struct {
	t      *testing.T
	base   string
	nodeID string // "" makes every request first read Systems' Members[0]
	v27    bool
	client *http.Client // maasClient unless set

	mu  sync.Mutex
	log []string
}

type rfAnswer struct {
	code int
	body map[string]any
	raw  string
	etag string
}

func (m *maasRedfish) do(method, p, body, ifMatch string) rfAnswer {
	m.t.Helper()
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, m.base+p, rd)
	if err != nil {
		m.t.Fatal(err)
	}
	req.SetBasicAuth(redfishUser, redfishPass)
	req.Header.Set("User-Agent", "MAAS")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Connection", "close")
	if m.v27 {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	client := maasClient
	if m.client != nil {
		client = m.client
	}
	resp, err := client.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s: %v", method, p, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := rfAnswer{code: resp.StatusCode, raw: string(data), etag: resp.Header.Get("ETag")}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a.body); err != nil {
			m.t.Errorf("%s %s: a body that is not JSON (MAAS fails on it): %q", method, p, data)
		}
	}
	if resp.StatusCode >= 400 && resp.ContentLength < 0 {
		m.t.Errorf("%s %s: a %d answer without Content-Length", method, p, resp.StatusCode)
	}
	m.mu.Lock()
	m.log = append(m.log, fmt.Sprintf("%s %s -> %d", method, p, resp.StatusCode))
	m.mu.Unlock()
	return a
}

func (m *maasRedfish) want(a rfAnswer, codes ...int) {
	m.t.Helper()
	for _, c := range codes {
		if a.code == c {
			return
		}
	}
	m.t.Fatalf("answer %d %s, want one of %v; requests so far:\n%s", a.code, a.raw, codes, strings.Join(m.log, "\n"))
}

// id is MAAS's node id: node_id, else the last segment of Members[0].
func (m *maasRedfish) id() string {
	if m.nodeID != "" {
		return m.nodeID
	}
	a := m.do("GET", "/redfish/v1/Systems", "", "")
	m.want(a, 200)
	members, _ := a.body["Members"].([]any)
	if len(members) == 0 {
		m.t.Fatalf("Systems has no members: %s", a.raw)
	}
	return path.Base(strings.TrimRight(members[0].(map[string]any)["@odata.id"].(string), "/"))
}

// get is G: the system, and its PowerState.
func (m *maasRedfish) get(id string) rfAnswer {
	m.t.Helper()
	a := m.do("GET", "/redfish/v1/Systems/"+id, "", "")
	m.want(a, 200)
	if _, ok := a.body["PowerState"].(string); !ok {
		m.t.Fatalf("GET Systems/%s: no PowerState (MAAS 2.7 crashes on it): %s", id, a.raw)
	}
	return a
}

func (m *maasRedfish) query() (string, string) {
	id := m.id()
	return id, m.get(id).body["PowerState"].(string)
}

// as38 maps PowerState as MAAS 3.8 does.
func as38(state string) string {
	switch state {
	case "Off", "PoweringOn":
		return "off"
	case "On", "Paused", "PoweringOff":
		return "on"
	}
	return "again"
}

func (m *maasRedfish) reset(id, resetType string) {
	m.t.Helper()
	m.want(m.do("POST", "/redfish/v1/Systems/"+id+"/Actions/ComputerSystem.Reset", `{"ResetType": "`+resetType+`"}`, ""), 200, 202, 204)
}

func (m *maasRedfish) pxe(id string) {
	m.t.Helper()
	etag := ""
	if !m.v27 {
		m.get(id)
		g := m.get(id)
		etag, _ = g.body["@odata.etag"].(string)
		if etag == "" {
			etag = g.etag
		}
	}
	m.want(m.do("PATCH", "/redfish/v1/Systems/"+id, `{"Boot": {"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "Pxe"}}`, etag), 200, 204)
}

// poll38 is 3.8's wait after a Reset: G until the state maps to want.
func (m *maasRedfish) poll38(id, want string) {
	m.t.Helper()
	waitUntil(m.t, 30*time.Second, id+" reads "+want, func() bool { return as38(m.get(id).body["PowerState"].(string)) == want })
}

// on38 and off38 are MAAS 3.8's power on and off.
func (m *maasRedfish) on38() {
	id, state := m.query()
	if as38(state) == "on" {
		m.reset(id, "ForceOff")
		m.poll38(id, "off")
	}
	m.pxe(id)
	m.reset(id, "On")
	m.poll38(id, "on")
	m.query()
	m.query()
}

func (m *maasRedfish) off38() {
	id, state := m.query()
	if state != "Off" {
		m.reset(id, "ForceOff")
		m.poll38(id, "off")
	}
	m.pxe(id)
}

// send27 is one attempt of MAAS 2.7's power method: its query, then the
// requests the state it read calls for (see the reference's table).
func (m *maasRedfish) send27(want string) {
	m.t.Helper()
	if m.nodeID == "" {
		m.id() // process_redfish_context, before the query's own
	}
	id, state := m.query()
	switch {
	case want == "on":
		if strings.ToLower(state) == "on" {
			m.reset(id, "ForceOff")
		}
		m.pxe(id)
		m.reset(id, "On")
	case strings.ToLower(state) != "off":
		m.reset(id, "ForceOff")
		m.pxe(id)
	default:
		m.pxe(id)
	}
}

// redfishRig is a bridge with node1 on rack1/1 of a simulated PDU.
type redfishRig struct {
	dev    *pdusim.Device
	agent  *pdusim.Agent
	bridge *bridge
}

// rfOptions shape a redfishRig: outlet 1 on at the start (set before the
// bridge reads the PDU: its read cache would hide a later change), a slower
// switch (an outlet that takes this long to show its new state, so that an
// action outlasts MAAS's first pause), config lines to add.
type rfOptions struct {
	on          bool
	switchDelay time.Duration
	extra       string
}

func newRedfishRig(t *testing.T, o rfOptions) *redfishRig {
	t.Helper()
	if o.switchDelay == 0 {
		o.switchDelay = 50 * time.Millisecond
	}
	dev, err := pdusim.New("ap7900", pdusim.Options{SwitchDelay: o.switchDelay})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= dev.Outlets(); n++ {
		dev.SetOutletState(n, power.Off)
	}
	if o.on {
		dev.SetOutletState(1, power.On)
	}
	agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	pdu := fmt.Sprintf(`
  - name: rack1
    address: %q
    snmp: {version: "1", community: private, read_community: public, timeout: 500ms, retries: 1}
    power_on_delay: 200ms
    switch_timeout: 10s
`, agent.Addr())
	return &redfishRig{dev: dev, agent: agent, bridge: startBridge(t, redfishConfig(pdu)+o.extra)}
}

func (r *redfishRig) maas(t *testing.T, nodeID string, v27 bool) *maasRedfish {
	return &maasRedfish{t: t, base: r.bridge.URL, nodeID: nodeID, v27: v27}
}

// switched asserts outlet 1's state at the PDU and how often it switched.
func (r *redfishRig) switched(t *testing.T, what string, want power.State, times int) {
	t.Helper()
	if got, n := r.dev.OutletState(1), r.dev.Switches(1); got != want || n != times {
		t.Errorf("after %s the PDU shows outlet 1 %s, switched %d times; want %s, %d times", what, got, n, want, times)
	}
}

func TestRedfishMAAS38Sequences(t *testing.T) {
	for _, nodeID := range []string{"node1", ""} {
		t.Run("node_id="+nodeID, func(t *testing.T) {
			r := newRedfishRig(t, rfOptions{})
			m := r.maas(t, nodeID, false)
			m.on38()
			r.switched(t, "on from Off", power.On, 1)
			m.on38() // a power-on of a machine that is on: ForceOff, then On
			r.switched(t, "on from On", power.On, 3)
			m.off38()
			r.switched(t, "off", power.Off, 4)
			m.off38()
			r.switched(t, "off of a machine that is off", power.Off, 4)
			if _, state := m.query(); state != "Off" {
				t.Errorf("query after off: PowerState %q", state)
			}
		})
	}
}

func TestRedfishMAAS27Sequences(t *testing.T) {
	for _, nodeID := range []string{"node1", ""} {
		t.Run("node_id="+nodeID, func(t *testing.T) {
			r := newRedfishRig(t, rfOptions{})
			m := r.maas(t, nodeID, true)
			for _, step := range []struct {
				want, what string
				state      power.State
				switches   int
			}{
				{"on", "on from Off", power.On, 1},
				{"on", "on from On (the ForceOff-PATCH-On burst)", power.On, 3},
				{"off", "off", power.Off, 4},
			} {
				// MAAS 2.7 checks after its pause and, while the state is not
				// yet the target, sends the whole sequence again. The PDU is
				// held so that the check and the re-send both meet the action
				// under way, as a slow card makes them do, whatever the load
				// on this machine; the re-send must join it.
				r.dev.Hold()
				m.send27(step.want)
				if _, state := m.query(); strings.ToLower(state) == step.want {
					t.Fatalf("%s: the check read %s with the PDU held", step.what, state)
				}
				m.send27(step.want)
				r.dev.Release()
				// A later check: 2.7 pauses up to 12 s; the test waits for
				// the state instead of guessing a pause long enough.
				waitUntil(t, 30*time.Second, step.what+" reads "+step.want, func() bool {
					_, state := m.query()
					return strings.ToLower(state) == step.want
				})
				r.switched(t, step.what, step.state, step.switches)
			}
			if t.Failed() {
				t.Logf("requests:\n%s", strings.Join(m.log, "\n"))
			}
		})
	}
}

// A Reset sent again while the first is under way joins it: MAAS 3.8
// re-POSTs after a dropped connection, 2.7 re-sends whole sequences.
func TestRedfishResetRepeatedWhileUnderway(t *testing.T) {
	r := newRedfishRig(t, rfOptions{on: true})
	m := r.maas(t, "node1", false)
	r.dev.Hold() // the off is under way until released, however slow this machine
	for range 3 {
		m.reset("node1", "ForceOff")
	}
	if state := m.get("node1").body["PowerState"]; state != "PoweringOff" {
		t.Errorf("PowerState while the off is under way: %v, want PoweringOff", state)
	}
	r.dev.Release()
	m.poll38("node1", "off")
	waitUntil(t, 10*time.Second, "PowerState Off", func() bool { return m.get("node1").body["PowerState"] == "Off" })
	r.switched(t, "three ForceOffs", power.Off, 1)
	if n := len(r.bridge.logs.lines("redfish reset joins the one queued")); n != 2 {
		t.Errorf("%d resets logged as joined, want 2", n)
	}
}

// MAAS 2.7's power-on of a machine that is on: ForceOff, PATCH and On
// within milliseconds. The On must follow the off, not race it.
func TestRedfishForceOffPatchOnBurst(t *testing.T) {
	r := newRedfishRig(t, rfOptions{on: true})
	m := r.maas(t, "node1", true)
	m.reset("node1", "ForceOff")
	m.pxe("node1")
	m.reset("node1", "On")
	waitUntil(t, 20*time.Second, "node1 On again", func() bool {
		return m.get("node1").body["PowerState"] == "On" && r.dev.Switches(1) == 2
	})
	r.switched(t, "ForceOff, PATCH, On", power.On, 2)
}

func TestRedfishTrailingSlashIfMatchAndBootKept(t *testing.T) {
	r := newRedfishRig(t, rfOptions{})
	m := r.maas(t, "node1", false)
	for _, p := range []string{"/redfish/v1/", "/redfish/v1/Systems/", "/redfish/v1/Systems/node1/"} {
		m.want(m.do("GET", p, "", ""), 200)
	}
	m.want(m.do("POST", "/redfish/v1/Systems/node1/Actions/ComputerSystem.Reset/", `{"ResetType":"On"}`, ""), 204)
	waitUntil(t, 10*time.Second, "node1 On", func() bool { return m.get("node1").body["PowerState"] == "On" })
	r.switched(t, "On through a trailing slash", power.On, 1)

	g := m.get("node1")
	etag := g.body["@odata.etag"].(string)
	if etag == "" || g.etag != etag {
		t.Fatalf("ETag header %q, @odata.etag %q", g.etag, etag)
	}
	pxe := `{"Boot": {"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "Pxe"}}`
	m.want(m.do("PATCH", "/redfish/v1/Systems/node1", pxe, etag), 204)
	after := m.get("node1")
	if after.etag == etag {
		t.Errorf("ETag %s did not change with the boot override", etag)
	}
	boot := after.body["Boot"].(map[string]any)
	if boot["BootSourceOverrideEnabled"] != "Once" || boot["BootSourceOverrideTarget"] != "Pxe" {
		t.Errorf("Boot after the PATCH: %v", boot)
	}
	stale := m.do("PATCH", "/redfish/v1/Systems/node1", `{"Boot": {"BootSourceOverrideTarget": "Hdd"}}`, etag)
	m.want(stale, 412)
	if code := redfishErrorCode(stale.body); code != "Base.1.8.PreconditionFailed" {
		t.Errorf("412 body: %s", stale.raw)
	}
	m.want(m.do("PATCH", "/redfish/v1/Systems/node1/", pxe, ""), 204) // MAAS 2.7: no If-Match
	bad := m.do("PATCH", "/redfish/v1/Systems/node1", `{"Boot": {"BootSourceOverrideTarget": "Floppy"}}`, "")
	m.want(bad, 400)
	if code := redfishErrorCode(bad.body); code != "Base.1.8.PropertyValueNotInList" {
		t.Errorf("bad target: %s", bad.raw)
	}
	m.want(m.do("PATCH", "/redfish/v1/Systems/node1", `{"Boot": {"BootSourceOverrideTarget": "Hdd"}}`, ""), 204)
	want := m.get("node1").etag

	// A restart keeps the override and its ETag.
	r.bridge.cmd.Process.Signal(os.Interrupt)
	waitUntil(t, 20*time.Second, "the first bridge stops answering", func() bool {
		resp, err := http.Get(r.bridge.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	r.bridge = startProcess(t, r.bridge.URL, "serve", "--config", r.bridge.Config, "--log-level", "debug")
	m.base = r.bridge.URL
	g = m.get("node1")
	if boot := g.body["Boot"].(map[string]any); boot["BootSourceOverrideTarget"] != "Hdd" || g.etag != want {
		t.Errorf("after a restart: Boot %v, ETag %s; want target Hdd, ETag %s", boot, g.etag, want)
	}
	unknown := m.do("GET", "/redfish/v1/Systems/ghost", "", "")
	m.want(unknown, 404)
	if code := redfishErrorCode(unknown.body); code != "Base.1.8.ResourceNotFound" {
		t.Errorf("unknown system: %s", unknown.raw)
	}
	badReset := m.do("POST", "/redfish/v1/Systems/node1/Actions/ComputerSystem.Reset", `{"ResetType":"Nmi"}`, "")
	m.want(badReset, 400)
	if code := redfishErrorCode(badReset.body); code != "Base.1.8.ActionParameterNotSupported" {
		t.Errorf("Nmi: %s", badReset.raw)
	}
}

func redfishErrorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	if _, ok := e["@Message.ExtendedInfo"].([]any); !ok {
		return "(no @Message.ExtendedInfo)"
	}
	return code
}

// Wrong credentials are answered 401 in Redfish's error format; the
// webhook's bearer token is not a Redfish credential; sessions end when
// deleted; failed logins, by Basic, by session token or by a session's
// UserName and Password, count against the API's per-address limit.
func TestRedfishCredentials(t *testing.T) {
	r := newRedfishRig(t, rfOptions{})
	send := func(method, p, body string, set func(*http.Request)) (int, map[string]any, http.Header) {
		t.Helper()
		var rd io.Reader = http.NoBody
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, r.bridge.URL+p, rd)
		req.Header.Set("Content-Type", "application/json")
		if set != nil {
			set(req)
		}
		resp, err := maasClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		data, _ := io.ReadAll(resp.Body)
		json.Unmarshal(data, &out)
		if strings.Contains(string(data), redfishPass) || strings.Contains(string(data), maasToken) {
			t.Errorf("%s %s: a credential in the answer: %s", method, p, data)
		}
		return resp.StatusCode, out, resp.Header
	}
	token := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Auth-Token", tok) }
	}
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
	}{
		{"none", nil},
		{"wrong password", basic(redfishUser, "wrong")},
		{"the webhook's bearer token", bearer(maasToken)},
		{"a made-up session token", token("0123456789abcdef")},
	} {
		code, body, h := send("GET", "/redfish/v1/Systems", "", tc.set)
		if code != 401 || redfishErrorCode(body) != "Base.1.8.NoValidSession" || h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %v, WWW-Authenticate %q; want 401 NoValidSession with a challenge", tc.name, code, body, h.Get("WWW-Authenticate"))
		}
	}
	code, body, _ := send("POST", "/redfish/v1/SessionService/Sessions", `{"UserName": "admin", "Password": "wrong"}`, nil)
	if code != 401 || redfishErrorCode(body) != "Base.1.8.NoValidSession" {
		t.Errorf("login with a wrong password: %d %v", code, body)
	}

	code, body, h := send("POST", "/redfish/v1/SessionService/Sessions", `{"UserName": "admin", "Password": "`+redfishPass+`"}`, nil)
	tok, loc := h.Get("X-Auth-Token"), h.Get("Location")
	if code != 201 || tok == "" || !strings.HasPrefix(loc, "/redfish/v1/SessionService/Sessions/") || body["UserName"] != "admin" {
		t.Fatalf("login: %d %v, token given %v, Location %q", code, body, tok != "", loc)
	}
	if code, _, _ := send("GET", "/redfish/v1/Systems/node1", "", token(tok)); code != 200 {
		t.Errorf("GET with the session: %d", code)
	}
	if code, _, _ := send("DELETE", loc, "", token(tok)); code != 204 {
		t.Errorf("DELETE of the session: %d", code)
	}
	if code, _, _ := send("GET", "/redfish/v1/Systems", "", token(tok)); code != 401 {
		t.Errorf("GET with a deleted session: %d, want 401", code)
	}
	if strings.Contains(r.bridge.logs.String(), tok) || strings.Contains(r.bridge.logs.String(), redfishPass) {
		t.Error("a credential is in the log")
	}

	// Five failures above and the deleted session's use make six; the
	// limit (ten at once) is spent by four more, and the next is 429.
	for i := 0; i < 4; i++ {
		if code, _, _ := send("GET", "/redfish/v1/Systems", "", basic(redfishUser, "wrong")); code != 401 {
			t.Fatalf("failure %d: %d, want 401", 7+i, code)
		}
	}
	code, body, h = send("GET", "/redfish/v1/Systems", "", basic(redfishUser, "wrong"))
	if code != 429 || h.Get("Retry-After") == "" || redfishErrorCode(body) == "" {
		t.Errorf("the eleventh failure: %d %v, Retry-After %q; want 429 in Redfish's format", code, body, h.Get("Retry-After"))
	}
	if code, _, _ := send("GET", "/v1/machines/node1/status", "", bearer("wrong")); code != 429 {
		t.Errorf("the webhook routes after Redfish's failures: %d, want 429 (one limit for the address)", code)
	}
}

// A machine with a clean shutdown: GracefulShutdown and, by default,
// ForceOff (all MAAS sends) run it before the cut, against a real sshd;
// force_off: cut makes ForceOff a plain cut. The Reset is answered before
// the shutdown is done.
func TestRedfishCleanShutdown(t *testing.T) {
	for _, tc := range []struct {
		name, resetType, extra string
		graceful               bool
	}{
		{"ForceOff by default", "ForceOff", "", true},
		{"GracefulShutdown", "GracefulShutdown", "", true},
		{"ForceOff with force_off: cut", "ForceOff", "redfish: {force_off: cut}\n", false},
		{"GracefulShutdown with force_off: cut", "GracefulShutdown", "redfish: {force_off: cut}\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newShutdownRig(t, rigOptions{extra: tc.extra, timeout: 30 * time.Second})
			offAt := watchOutlet(t, r.dev, 1)
			exited := r.sshd.Exited()
			m := &maasRedfish{t: t, base: r.bridge.URL, nodeID: "node1"}
			m.reset("node1", tc.resetType)
			if tc.graceful {
				if r.dev.OutletState(1) != power.On {
					t.Error("the outlet was off before the Reset was answered: the answer waited for the shutdown")
				}
				if state := m.get("node1").body["PowerState"]; state != "PoweringOff" {
					t.Errorf("PowerState during the shutdown: %v, want PoweringOff", state)
				}
			}
			m.poll38("node1", "off")
			waitUntil(t, 20*time.Second, "node1 reads Off", func() bool { return m.get("node1").body["PowerState"] == "Off" })
			if r.dev.OutletState(1) != power.Off || r.dev.Switches(1) != 1 {
				t.Errorf("outlet 1 %s, switched %d times; want off, once", r.dev.OutletState(1), r.dev.Switches(1))
			}
			cmds := r.sshd.Commands(t)
			if !tc.graceful {
				if len(cmds) != 0 {
					t.Errorf("a plain cut ran %+v on the machine", cmds)
				}
				return
			}
			if len(cmds) != 1 || cmds[0].Line != "sudo systemctl poweroff" {
				t.Fatalf("commands run on the machine: %+v, want one sudo systemctl poweroff", cmds)
			}
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				t.Fatal("the outlet is off but the machine's sshd never went down")
			}
			if !cmds[0].At.Before(offAt()) {
				t.Errorf("the command ran at %s, the outlet went off at %s", cmds[0].At.Format(time.StampMicro), offAt().Format(time.StampMicro))
			}
		})
	}
}
