package test

// The fault suite: a simulated PDU that misbehaves the way real ones do
// (power/pdusim's fault knobs), behind the real binary, driven the way MAAS
// drives it. For each fault: what MAAS sees (status code and body), that
// the outlet switched at most once, that no answer came later than the
// configured bound, the one log line that tells an operator, and the metric
// that counts it. RELIABILITY.md has the table.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// The bounds the fault rigs configure.
const (
	faultStatusBound = 2 * time.Second
	faultActionBound = 30 * time.Second
	// answerAtAll is how many times its bound a request is waited for
	// before the test calls it a hang: generous, so that a loaded machine
	// never fails it, and still far from the minutes a hang lasts.
	answerAtAll = 4
)

// The SNMPv3 user of the v3 rigs.
const (
	faultV3User = "powerbridge"
	faultV3Auth = "fault-auth-passphrase"
	faultV3Priv = "fault-priv-passphrase"
)

// faultRig is one simulated AP7900 (or faultSetup.model) as rack1 behind a powerbridge, with
// node1 on outlet 1 and bigboy on outlets 3 and 4, all off at the start.
type faultRig struct {
	dev         *pdusim.Device
	agent       *pdusim.Agent
	b           *bridge
	statusBound time.Duration
}

type faultSetup struct {
	// snmp is the PDU's snmp line in the bridge's config; the default is
	// v1 with the agent's communities.
	snmp string
	// v3 serves the SNMPv3 user instead of communities.
	v3 bool
	// cold applies the fault before the bridge starts, so that nothing of
	// the PDU is cached or detected.
	cold func(*pdusim.Agent)
	// statusBound replaces faultStatusBound as timeouts.status.
	statusBound time.Duration
	// model is the simulated PDU's built-in model; "ap7900" by default.
	model string
}

func newFaultRig(t *testing.T, s faultSetup) *faultRig {
	t.Helper()
	if s.model == "" {
		s.model = "ap7900"
	}
	dev, err := pdusim.New(s.model, pdusim.Options{SwitchDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= dev.Outlets(); n++ {
		dev.SetOutletState(n, power.Off)
	}
	acc := pdusim.Access{Community: "public", WriteCommunity: "private"}
	if s.v3 {
		acc = pdusim.Access{Users: []pdusim.User{{Name: faultV3User, AuthProtocol: "SHA", AuthPassphrase: faultV3Auth, PrivProtocol: "AES", PrivPassphrase: faultV3Priv}}}
	}
	agent, err := dev.Listen("127.0.0.1:0", acc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	if s.snmp == "" {
		s.snmp = `{version: "1", community: private, read_community: public, timeout: 500ms, retries: 1}`
		if s.v3 {
			s.snmp = v3Line(faultV3Auth, faultV3Priv)
		}
	}
	if s.cold != nil {
		s.cold(agent)
	}
	if s.statusBound == 0 {
		s.statusBound = faultStatusBound
	}
	// Polled once at the start and then not for an hour, so that what the
	// PDU sees is what the test's requests cause.
	cfg := fmt.Sprintf(`
auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: %s, action: %s}
pdus:
  - name: rack1
    address: %q
    snmp: %s
    power_on_delay: 200ms
    switch_timeout: 5s
    poll_interval: 1h
machines:
  - {name: node1, outlets: ["rack1/1"]}
  - {name: bigboy, outlets: ["rack1/3", "rack1/4"]}
`, maasToken, s.statusBound, faultActionBound, agent.Addr(), s.snmp)
	return &faultRig{dev: dev, agent: agent, b: startBridge(t, cfg), statusBound: s.statusBound}
}

func v3Line(auth, priv string) string {
	return fmt.Sprintf(`{version: "3", user: %s, auth_protocol: SHA, auth_passphrase: %s, priv_protocol: AES, priv_passphrase: %s, timeout: 500ms, retries: 1}`,
		faultV3User, auth, priv)
}

// answer is what MAAS got for one request.
type answer struct {
	code int
	body string
	took time.Duration
}

// call makes one MAAS request and waits for its answer a generous
// multiple of the bound the config promises for its kind (the status bound
// for a query, the action bound for a POST): a hang fails, a loaded
// machine does not. How long it took is logged, not asserted.
func (r *faultRig) call(t *testing.T, method, path string) answer {
	t.Helper()
	bound := r.statusBound
	if method == http.MethodPost {
		bound = faultActionBound
	}
	start := time.Now()
	code, body := r.b.maas(t, maasCall{method: method, path: path, auth: bearer(maasToken), within: answerAtAll * bound})
	a := answer{code, body, time.Since(start)}
	t.Logf("%s %s: %d in %s: %s", method, path, a.code, a.took.Round(time.Millisecond), strings.TrimSpace(a.body))
	if a.code == http.StatusNotFound || (a.code >= 300 && a.code < 400) {
		t.Errorf("%s %s answered %d, which MAAS misreads", method, path, a.code)
	}
	if a.code != http.StatusOK && (onRegex.MatchString(a.body) || offRegex.MatchString(a.body)) {
		t.Errorf("%s %s: the error body %q matches a power regex", method, path, a.body)
	}
	return a
}

// ready waits until machine's status reads as want before any fault: the
// first read detects the PDU (eight requests under SNMPv3), which a loaded
// machine may not finish within one query's bound. It is a precondition,
// not what a test is about.
func (r *faultRig) ready(t *testing.T, machine, want string) {
	t.Helper()
	waitUntil(t, time.Minute, machine+" reads before the fault", func() bool {
		q := r.status(t, machine)
		return q.code == 200 && (want == "" || q.body == want)
	})
}

func (r *faultRig) status(t *testing.T, machine string) answer {
	t.Helper()
	return r.call(t, http.MethodGet, "/v1/machines/"+machine+"/status")
}

func (r *faultRig) post(t *testing.T, machine, action string) answer {
	t.Helper()
	return r.call(t, http.MethodPost, "/v1/machines/"+machine+"/"+action)
}

// metric reads one series from a scrape of the bridge's /metrics, 0 when
// it is absent.
func (r *faultRig) metric(t *testing.T, series string) float64 {
	t.Helper()
	code, scrape := get(t, r.b.URL+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %.200s", code, scrape)
	}
	v, _ := sample(scrape, series)
	return v
}

// oneLogLine waits for the log line with msg and checks that there is
// exactly one, containing each of has; it returns it.
func (r *faultRig) oneLogLine(t *testing.T, msg string, has ...string) string {
	t.Helper()
	match := `msg="` + msg
	waitUntil(t, 5*time.Second, "the log says "+msg, func() bool { return len(r.b.logs.lines(match)) > 0 })
	lines := r.b.logs.lines(match)
	if len(lines) != 1 {
		t.Errorf("%d log lines %q, want one:\n%s", len(lines), msg, strings.Join(lines, "\n"))
	}
	for _, s := range has {
		if !strings.Contains(lines[0], s) {
			t.Errorf("the log line %s does not say %q", lines[0], s)
		}
	}
	return lines[0]
}

// switchedAtMostOnce checks every outlet of the PDU: at most one change of
// state, and as many SETs received as want (a SET is never sent twice).
func (r *faultRig) switchedAtMostOnce(t *testing.T, sets int64) {
	t.Helper()
	for n := 1; n <= r.dev.Outlets(); n++ {
		if got := r.dev.Switches(n); got > 1 {
			t.Errorf("outlet %d switched %d times", n, got)
		}
	}
	if got := r.agent.Stats().Sets; got != sets {
		t.Errorf("the PDU received %d SETs, want %d", got, sets)
	}
}

// errorOf is the "error" of a JSON error body.
func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Errorf("body %q is not a JSON error", body)
	}
	return e.Error
}

const (
	running = `{"status":"running"}` + "\n"
	stopped = `{"status":"stopped"}` + "\n"
)

// Silence: a hung card, from the start. MAAS's query gets an error within
// the status bound; an action fails without sending anything.
func TestFaultSilence(t *testing.T) {
	// A silent read with one retry takes three SNMP timeouts (the wait for
	// a late answer between): 1.5 s, inside a 5 s bound on a loaded machine.
	r := newFaultRig(t, faultSetup{cold: func(a *pdusim.Agent) { a.SetSilent(true) }, statusBound: 5 * time.Second})
	q := r.status(t, "node1")
	if q.code != http.StatusBadGateway || !strings.Contains(errorOf(t, q.body), "no answer") {
		t.Errorf("status: %d %s, want 502 saying there was no answer", q.code, q.body)
	}
	p := r.post(t, "node1", "on")
	if p.code != http.StatusBadGateway || !strings.Contains(errorOf(t, p.body), "no answer") {
		t.Errorf("on: %d %s, want 502 saying there was no answer", p.code, p.body)
	}
	r.switchedAtMostOnce(t, 0)
	r.oneLogLine(t, "PDU cannot be read", "no answer", "check the address and the community")
	if v := r.metric(t, `powerbridge_snmp_timeouts_total{op="read",pdu="rack1"}`); v < 1 {
		t.Errorf("powerbridge_snmp_timeouts_total{op=read} = %v, want at least 1", v)
	}
	if v := r.metric(t, `powerbridge_pdu_up{pdu="rack1"}`); v != 0 {
		t.Errorf("powerbridge_pdu_up = %v, want 0", v)
	}

	r.agent.SetSilent(false)
	if q := r.status(t, "node1"); q.code != 200 || q.body != stopped {
		t.Errorf("status once the PDU answers: %d %q", q.code, q.body)
	}
	r.oneLogLine(t, "PDU can be read again")
}

// Slow answers: every answer 1.5 s late, within the SNMP timeout. Queries
// still answer, the switch is slow but done once. (The status bound is the
// default 10 s: the rigs' 2 s would leave a query half a second beside the
// card's 1.5 s, which a loaded machine takes.)
func TestFaultSlowAnswers(t *testing.T) {
	r := newFaultRig(t, faultSetup{snmp: `{version: "1", community: private, read_community: public, timeout: 2s, retries: 1}`, statusBound: 10 * time.Second})
	r.ready(t, "node1", stopped)
	r.agent.SetLatency(1500 * time.Millisecond)

	// Ask until a query had to go to the PDU (once the cached reading is
	// older than the cache's two seconds), as the PDU counts requests.
	before := r.agent.Stats().Requests
	waitUntil(t, 15*time.Second, "a query reads the slow PDU", func() bool {
		q := r.status(t, "node1")
		if q.code != 200 || q.body != stopped {
			t.Fatalf("status from a slow PDU: %d %q", q.code, q.body)
		}
		return r.agent.Stats().Requests > before
	})
	p := r.post(t, "node1", "on")
	if p.code != 200 {
		t.Errorf("on: %d %s, want 200", p.code, p.body)
	}
	if r.dev.OutletState(1) != power.On {
		t.Errorf("outlet 1 is %v", r.dev.OutletState(1))
	}
	r.switchedAtMostOnce(t, 1)
	r.oneLogLine(t, "power action", "machine=node1", "action=on", "state=on")
	// The one switch took longer than a second: it is in no bucket below.
	if v := r.metric(t, `powerbridge_snmp_request_duration_seconds_count{op="switch",pdu="rack1"}`); v != 1 {
		t.Errorf("%v switches observed, want 1", v)
	}
	if v := r.metric(t, `powerbridge_snmp_request_duration_seconds_bucket{op="switch",pdu="rack1",le="1"}`); v != 0 {
		t.Errorf("%v switches took at most 1s, want 0", v)
	}
}

// Every third request lost: reads are sent again and go through; a lost
// SET fails its action, and MAAS's next POST completes it. MAAS's whole
// pattern ends with each outlet switched once per action.
func TestFaultEveryNthRequestDropped(t *testing.T) {
	r := newFaultRig(t, faultSetup{})
	r.ready(t, "node1", "")
	r.agent.DropEveryNthRequest(3)
	maas := newMAASDriver(r.b.URL, maasToken, 0.05)
	for _, step := range []struct{ machine, want string }{{"node1", "on"}, {"bigboy", "on"}, {"node1", "off"}, {"bigboy", "off"}} {
		if _, err := maas.power(t.Context(), step.machine, step.want); err != nil {
			t.Fatalf("MAAS powering %s %s: %v", step.machine, step.want, err)
		}
	}
	t.Logf("MAAS's calls: %s", maas.summary())
	for _, c := range maas.made() {
		if c.Code == 0 {
			t.Errorf("%s %s: no answer after %s", c.Method, c.Path, c.Took)
		}
	}
	for _, n := range []int{1, 3, 4} {
		if got := r.dev.Switches(n); got != 2 || r.dev.OutletState(n) != power.Off {
			t.Errorf("outlet %d: %v after %d switches, want off after 2 (on, off)", n, r.dev.OutletState(n), got)
		}
	}
	if s := r.agent.Stats(); s.Dropped == 0 {
		t.Fatalf("Stats = %+v: nothing was dropped", s)
	}
	r.oneLogLine(t, "PDU reads needed retries", "pdu=rack1")
	if v := r.metric(t, `powerbridge_snmp_retries_total{pdu="rack1"}`); v < 1 {
		t.Errorf("powerbridge_snmp_retries_total = %v, want at least 1", v)
	}
}

// The answer to a SET lost after the SET took effect: the outlet is read
// back, not switched again, and MAAS is told it worked.
func TestFaultAnswerLostAfterSet(t *testing.T) {
	r := newFaultRig(t, faultSetup{})
	r.agent.DropEveryNthAnswerAfterSet(1)
	p := r.post(t, "node1", "on")
	if p.code != 200 || !strings.Contains(p.body, "the outlet switched") {
		t.Errorf("on: %d %s, want 200 with a note that the outlet switched all the same", p.code, p.body)
	}
	if q := r.status(t, "node1"); q.code != 200 || q.body != running {
		t.Errorf("status: %d %q", q.code, q.body)
	}
	r.switchedAtMostOnce(t, 1)
	r.oneLogLine(t, "switch answered with an error but verified", "outlet=1", "no answer")
	if v := r.metric(t, `powerbridge_snmp_timeouts_total{op="switch",pdu="rack1"}`); v != 1 {
		t.Errorf("powerbridge_snmp_timeouts_total{op=switch} = %v, want 1", v)
	}
}

// genErr answered to a SET that did switch, as some APC cards do: read
// back, found switched, not sent again.
func TestFaultGenErrOnSet(t *testing.T) {
	r := newFaultRig(t, faultSetup{})
	r.agent.GenErrOnSet(true)
	p := r.post(t, "node1", "on")
	if p.code != 200 || !strings.Contains(p.body, "genErr") {
		t.Errorf("on: %d %s, want 200 with a note of the genErr", p.code, p.body)
	}
	if q := r.status(t, "node1"); q.code != 200 || q.body != running {
		t.Errorf("status: %d %q", q.code, q.body)
	}
	r.switchedAtMostOnce(t, 1)
	r.oneLogLine(t, "switch answered with an error but verified", "outlet=1", "genErr")
	if v := r.metric(t, `powerbridge_snmp_errors_total{op="switch",pdu="rack1"}`); v != 1 {
		t.Errorf("powerbridge_snmp_errors_total{op=switch} = %v, want 1", v)
	}
	if v := r.metric(t, `powerbridge_snmp_timeouts_total{op="switch",pdu="rack1"}`); v != 0 {
		t.Errorf("powerbridge_snmp_timeouts_total{op=switch} = %v, want 0: genErr is an answer", v)
	}
}

// A wrong community: the agent says nothing, as real agents do. With the
// read community wrong, queries fail within their bound and say what to
// check; with only the write community wrong, the switch goes unanswered,
// the read-back shows it was not carried out, and the action fails.
func TestFaultWrongCommunity(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		r := newFaultRig(t, faultSetup{snmp: `{version: "1", community: wrong-write-community, read_community: wrong-read-community, timeout: 500ms, retries: 1}`})
		q := r.status(t, "node1")
		if q.code != http.StatusBadGateway || !strings.Contains(errorOf(t, q.body), "check the address and the community") {
			t.Errorf("status: %d %s, want 502 pointing at the community", q.code, q.body)
		}
		r.switchedAtMostOnce(t, 0)
		r.oneLogLine(t, "PDU cannot be read", "check the address and the community")
		if v := r.metric(t, `powerbridge_snmp_timeouts_total{op="read",pdu="rack1"}`); v < 1 {
			t.Errorf("powerbridge_snmp_timeouts_total{op=read} = %v, want at least 1", v)
		}
	})
	t.Run("write", func(t *testing.T) {
		r := newFaultRig(t, faultSetup{snmp: `{version: "1", community: wrong-write-community, read_community: public, timeout: 500ms, retries: 1}`})
		p := r.post(t, "node1", "on")
		msg := errorOf(t, p.body)
		if p.code != http.StatusBadGateway || !strings.Contains(msg, "check the address and the community") || !strings.Contains(msg, "still reads off") {
			t.Errorf("on: %d %s, want 502 saying the outlet still reads off and pointing at the community", p.code, p.body)
		}
		if r.dev.Switches(1) != 0 {
			t.Error("the outlet switched")
		}
		r.oneLogLine(t, "power action failed", "machine=node1", "still reads off")
		// Unanswered and read back unchanged, the SET is sent again,
		// twice (a wrong community looks like a lost datagram): all three
		// time out.
		if v := r.metric(t, `powerbridge_snmp_timeouts_total{op="switch",pdu="rack1"}`); v != 3 {
			t.Errorf("powerbridge_snmp_timeouts_total{op=switch} = %v, want 3", v)
		}
	})
}

// Wrong SNMPv3 keys: a wrong auth passphrase draws a Report the bridge
// cannot authenticate, and says so; a wrong privacy passphrase draws
// silence.
func TestFaultWrongV3Keys(t *testing.T) {
	for _, tc := range []struct {
		name, snmp, says, metric string
	}{
		{"auth", v3Line("wrong-auth-passphrase", faultV3Priv), "does not authenticate with the configured user and auth passphrase",
			`powerbridge_snmp_errors_total{op="read",pdu="rack1"}`},
		{"priv", v3Line(faultV3Auth, "wrong-priv-passphrase"), "check the address, the user and the passphrases",
			`powerbridge_snmp_timeouts_total{op="read",pdu="rack1"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFaultRig(t, faultSetup{v3: true, snmp: tc.snmp, statusBound: 10 * time.Second})
			q := r.status(t, "node1")
			if q.code != http.StatusBadGateway || !strings.Contains(errorOf(t, q.body), tc.says) {
				t.Errorf("status: %d %s, want 502 saying %q", q.code, q.body, tc.says)
			}
			p := r.post(t, "node1", "on")
			if p.code != http.StatusBadGateway {
				t.Errorf("on: %d %s, want 502", p.code, p.body)
			}
			r.switchedAtMostOnce(t, 0)
			r.oneLogLine(t, "PDU cannot be read", tc.says)
			if v := r.metric(t, tc.metric); v < 1 {
				t.Errorf("%s = %v, want at least 1", tc.metric, v)
			}
		})
	}
}

// The card reboots in the middle of powering bigboy on, between its two
// outlets: its SNMPv3 engine comes back with new boots and time, the bridge
// learns them from the card's Report and carries on; each outlet is
// switched once.
func TestFaultPDURestartsMidOperation(t *testing.T) {
	r := newFaultRig(t, faultSetup{v3: true})
	r.ready(t, "bigboy", "")
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		deadline := time.Now().Add(10 * time.Second)
		for r.dev.OutletState(3) != power.On && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // polling the device, not waiting for the bridge
		}
		r.agent.Restart()
	}()
	p := r.post(t, "bigboy", "on")
	<-restarted
	if p.code != 200 {
		t.Errorf("on: %d %s", p.code, p.body)
	}
	if r.agent.EngineBoots() != 2 {
		t.Fatalf("the card did not restart: boots %d", r.agent.EngineBoots())
	}
	if q := r.status(t, "bigboy"); q.code != 200 || q.body != running {
		t.Errorf("status: %d %q", q.code, q.body)
	}
	if r.dev.OutletState(3) != power.On || r.dev.OutletState(4) != power.On {
		t.Errorf("outlets 3, 4: %v, %v", r.dev.OutletState(3), r.dev.OutletState(4))
	}
	r.switchedAtMostOnce(t, 2)
	// Should the restart have come after the power-on's last request, the
	// next read of the PDU meets it (queries read it once the cached
	// reading is two seconds old).
	waitUntil(t, 10*time.Second, "a request meets the restarted card", func() bool {
		r.status(t, "bigboy")
		return len(r.b.logs.lines(`msg="PDU restarted`)) > 0
	})
	r.oneLogLine(t, "PDU restarted", "engine boots 1 to 2")
	if v := r.metric(t, `powerbridge_pdu_restarts_total{pdu="rack1"}`); v != 1 {
		t.Errorf("powerbridge_pdu_restarts_total = %v, want 1", v)
	}
}

// The card is replaced (or reset to factory settings) between two actions:
// a new SNMPv3 engine ID at the same address. The bridge discovers the new
// engine (a switch that meets it before any read does is refused, never
// sent again, and MAAS's next POST goes through); the outlet switches once.
func TestFaultPDUReplaced(t *testing.T) {
	r := newFaultRig(t, faultSetup{v3: true})
	r.ready(t, "node1", "")
	addr := r.agent.Addr()
	before := r.agent.Stats().Sets
	r.agent.Close()
	agent, err := r.dev.Listen(addr, pdusim.Access{Users: []pdusim.User{{Name: faultV3User, AuthProtocol: "SHA", AuthPassphrase: faultV3Auth, PrivProtocol: "AES", PrivPassphrase: faultV3Priv}}})
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	t.Cleanup(func() { agent.Close() })
	r.agent = agent

	maas := newMAASDriver(r.b.URL, maasToken, 0.05)
	if _, err := maas.power(t.Context(), "node1", "on"); err != nil {
		t.Fatalf("MAAS powering node1 on: %v", err)
	}
	t.Logf("MAAS's calls: %s", maas.summary())
	if before != 0 || r.dev.Switches(1) != 1 || r.agent.Stats().Sets != 1 {
		t.Errorf("outlet 1 switched %d times by %d SETs to the new card, want once by one", r.dev.Switches(1), r.agent.Stats().Sets)
	}
	r.oneLogLine(t, "PDU answers from a new SNMP engine")
	if v := r.metric(t, `powerbridge_pdu_restarts_total{pdu="rack1"}`); v != 1 {
		t.Errorf("powerbridge_pdu_restarts_total = %v, want 1", v)
	}
}
