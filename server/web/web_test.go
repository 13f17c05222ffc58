package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// driver is a PDU of two outlets that can be made to fail its reads.
type driver struct {
	mu     sync.Mutex
	states map[int]power.State
	watts  float64
	err    error
}

func (d *driver) Read(context.Context) (power.Reading, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return power.Reading{}, d.err
	}
	w := d.watts
	r := power.Reading{Info: power.Info{Vendor: "APC", Model: "AP8941"}, Meter: power.Meter{CurrentAmperes: []float64{w / 230}, PowerWatts: &w}}
	for n := 1; n <= 2; n++ {
		r.Outlets = append(r.Outlets, power.Outlet{Number: n, State: d.states[n]})
	}
	return r, nil
}

func (d *driver) Switch(_ context.Context, n int, to power.State) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.states[n] = to
	return nil
}

func (d *driver) Close() error { return nil }

func (d *driver) state(n int) power.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.states[n]
}

func (d *driver) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

func newFleet(t *testing.T) (*power.Fleet, *driver) {
	d := &driver{states: map[int]power.State{1: power.On, 2: power.Off}, watts: 230}
	pdu := power.NewPDU(power.PDUConfig{Name: "rack1", Driver: d, SwitchTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second})
	f, err := power.NewFleet([]*power.PDU{pdu}, []power.Machine{{Name: "node1", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 1}}}}, power.FleetConfig{ActionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.ReadPDU(context.Background(), "rack1"); err != nil {
		t.Fatal(err)
	}
	return f, d
}

// users lets in admin and viewer (Basic) with the password "pw".
type users struct{}

func (users) Check(r *http.Request) (string, bool) {
	u, p, ok := r.BasicAuth()
	return u, ok && p == "pw" && (u == "admin" || u == "viewer")
}

type openGate struct{}

func (openGate) Admit(r *http.Request, check func(*http.Request) (string, bool)) (string, bool, time.Duration) {
	who, ok := check(r)
	return who, ok, 0
}

func newPage(t *testing.T, f *power.Fleet, h *History) http.Handler {
	return New(Config{
		Fleet:    func(*http.Request) Fleet { return f },
		Auth:     users{},
		ReadOnly: func(_ *http.Request, who string) bool { return who == "viewer" },
		History:  h,
	}, openGate{})
}

func signIn(t *testing.T, h http.Handler, user string) (cookie *http.Cookie, st stateView) {
	t.Helper()
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"user": {user}, "password": {"pw"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("sign-in: %d %s", w.Code, w.Body)
	}
	cookie = w.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Errorf("the session cookie is HttpOnly=%v SameSite=%v Secure=%v; want HttpOnly, Strict, not Secure over plain HTTP", cookie.HttpOnly, cookie.SameSite, cookie.Secure)
	}
	return cookie, getState(t, h, cookie)
}

func getState(t *testing.T, h http.Handler, cookie *http.Cookie) (st stateView) {
	t.Helper()
	req := httptest.NewRequest("GET", "/api/state", nil)
	req.AddCookie(cookie)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("state: %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStateShowsAnUnreadablePDUAsUnreachable(t *testing.T) {
	f, d := newFleet(t)
	page := newPage(t, f, NewHistory(0))
	cookie, st := signIn(t, page, "admin")
	if st.Machines[0].State != "on" || st.PDUs[0].Outlets[1].State != "off" || !st.PDUs[0].Up || st.PDUs[0].Vendor != "APC" {
		t.Fatalf("before the failure: %+v", st)
	}
	d.fail(errors.New("request timeout"))
	f.ReadPDU(context.Background(), "rack1")
	st = getState(t, page, cookie)
	p := st.PDUs[0]
	if p.Up || !strings.Contains(p.Error, "request timeout") {
		t.Errorf("the PDU that cannot be read shows up=%v error=%q", p.Up, p.Error)
	}
	for _, o := range p.Outlets {
		if o.State != unreachable {
			t.Errorf("outlet %d of the unreadable PDU shows %q, want %q", o.Number, o.State, unreachable)
		}
	}
	if m := st.Machines[0]; m.State != unreachable || m.Outlets[0].State != unreachable {
		t.Errorf("node1 on the unreadable PDU shows %q (outlet %q), want %q", m.State, m.Outlets[0].State, unreachable)
	}
}

func TestViewerAndCSRF(t *testing.T) {
	f, d := newFleet(t)
	page := newPage(t, f, nil)
	post := func(path string, cookie *http.Cookie, csrf string) int {
		req := httptest.NewRequest("POST", path, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		if csrf != "" {
			req.Header.Set(CSRFHeader, csrf)
		}
		w := httptest.NewRecorder()
		page.ServeHTTP(w, req)
		return w.Code
	}
	vc, vst := signIn(t, page, "viewer")
	if !vst.ReadOnly {
		t.Error("the viewer's state is not read-only")
	}
	ac, ast := signIn(t, page, "admin")
	for _, tc := range []struct {
		what   string
		cookie *http.Cookie
		csrf   string
		want   int
	}{
		{"no session", nil, ast.CSRF, 401},
		{"no token", ac, "", 403},
		{"the viewer's token on the admin's session", ac, vst.CSRF, 403},
		{"a viewer with its token", vc, vst.CSRF, 403},
	} {
		if got := post("/api/machines/node1/off", tc.cookie, tc.csrf); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, got, tc.want)
		}
	}
	if d.state(1) != power.On {
		t.Fatal("a refused POST switched node1")
	}
	if got := post("/api/machines/node1/off", ac, ast.CSRF); got != 200 || d.state(1) != power.Off {
		t.Errorf("the admin with its token: %d, outlet %s; want 200 and off", got, d.state(1))
	}
	if got := post("/logout", ac, ast.CSRF); got != 200 {
		t.Errorf("sign-out: %d", got)
	}
	if got := post("/api/machines/node1/on", ac, ast.CSRF); got != 401 {
		t.Errorf("a POST on a signed-out session: %d, want 401", got)
	}
}

func TestSessionsExpire(t *testing.T) {
	s := newSessions(time.Minute, time.Hour)
	t0 := time.Now()
	tok := s.create("admin", t0)
	for i := 1; i <= 70; i++ { // used every 50 s: never idle for a minute
		if _, ok := s.lookup(tok, t0.Add(time.Duration(i)*50*time.Second)); !ok != (i*50 >= 3600) {
			t.Fatalf("at %d s the session is live=%v", i*50, ok)
		}
	}
	tok = s.create("admin", t0)
	if _, ok := s.lookup(tok, t0.Add(61*time.Second)); ok {
		t.Error("a session unused for over its idle time is still live")
	}
}

func TestHistory(t *testing.T) {
	f, d := newFleet(t)
	h := NewHistory(time.Hour)
	h.Sample(f, time.Now())
	d.fail(errors.New("timeout"))
	f.ReadPDU(context.Background(), "rack1")
	h.Sample(f, time.Now())
	h.Sample(f, time.Now()) // the same outage: no second gap
	d.fail(nil)
	d.Switch(context.Background(), 1, power.Off)
	f.ReadPDU(context.Background(), "rack1")
	h.Sample(f, time.Now())

	pts := h.chart("rack1")
	if len(pts) != 3 || !pts[0].Up || pts[1].Up || !pts[2].Up || pts[0].W == nil || *pts[0].W != 230 {
		t.Errorf("chart: %+v; want up (230 W), a gap, up", pts)
	}
	var states []string
	for _, s := range h.timeline("node1", time.Now()) {
		states = append(states, s.State)
	}
	if strings.Join(states, ",") != "on,unreachable,off" {
		t.Errorf("node1's timeline: %v; want on, unreachable, off", states)
	}
}

func TestChartIsDownsampled(t *testing.T) {
	h := NewHistory(time.Hour) // steps of 5 s
	ph := &pduHistory{}
	h.pdus["p"] = ph
	now := time.Now().Truncate(5 * time.Second)
	for i := range 3600 { // an hour of polls every second
		w := float64(i)
		ph.add(now.Add(time.Duration(i)*time.Second), power.Meter{PowerWatts: &w, CurrentAmperes: []float64{w / 100}}, h.window/maxSamples)
	}
	if len(ph.samples) != maxSamples {
		t.Errorf("an hour of polls every second is %d samples; want %d, one per 5 s step", len(ph.samples), maxSamples)
	}
	if s := ph.samples[0]; s.polls != 5 || s.watts != 2 {
		t.Errorf("the first step holds %d polls, mean %.1f W; want 5 polls of 0..4 W, mean 2", s.polls, s.watts)
	}
	pts := h.chart("p")
	if len(pts) != maxPoints {
		t.Errorf("%d samples drew %d points; want %d", len(ph.samples), len(pts), maxPoints)
	}
	if first := *pts[0].W; first != 14.5 || pts[0].A[0] < 0.14 || pts[0].A[0] > 0.15 {
		t.Errorf("the first point is %.2f W, %.3f A; want the mean of the first 30 polls, 14.5 W and 0.145 A", first, pts[0].A[0])
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		res  power.Result
		want string
	}{
		{power.Result{Machine: "m", Action: power.ActionOff, State: power.Off, Changed: true, Shutdown: "graceful", Switched: []string{"r/1"}, Duration: 2 * time.Second},
			"m is off: it shut down cleanly over ssh, then its power was cut; switched r/1 (2.0 s)."},
		{power.Result{Machine: "m", Action: power.ActionOff, State: power.Off, Changed: true, Shutdown: "cut", Reason: "ssh: connection refused"},
			"m is off: its power was cut without a confirmed clean shutdown (ssh: connection refused) (0.0 s)."},
		{power.Result{Machine: "m", Action: power.ActionOn, State: power.On}, "m was already on: nothing was switched (0.0 s)."},
	} {
		if got := machineWords(tc.res); got != tc.want {
			t.Errorf("machineWords:\n got %q\nwant %q", got, tc.want)
		}
	}
	got := outletWords(power.OutletResult{PDU: "r", Outlet: 3, Action: power.ActionOff, State: power.Off, Changed: true, Machine: "m", CutWithoutShutdown: true})
	if want := "outlet r/3 is off; it feeds m, whose power was cut without its clean shutdown (0.0 s)."; got != want {
		t.Errorf("outletWords:\n got %q\nwant %q", got, want)
	}
}

// The page's first load is its four files: under 100 kB, and none of them
// names another host to load anything from.
func TestAssetsStayOnThisHost(t *testing.T) {
	total := 0
	for _, name := range []string{"index.html", "app.js", "app.css", "icon.svg"} {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "") // a namespace, not a request
		if strings.Contains(text, "://") || strings.Contains(text, "//fonts") {
			t.Errorf("%s names another host", name)
		}
	}
	if total >= 100_000 {
		t.Errorf("the page's files are %d bytes; the first load must stay under 100 kB", total)
	}
	req := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	newPage(t, nil, nil).ServeHTTP(w, req)
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
}

// waitingGraceful says it is waiting for the host to go down until released.
type waitingGraceful struct{ waiting, release chan struct{} }

func (g waitingGraceful) Shutdown(ctx context.Context) power.ShutdownReport {
	power.EnterPhase(ctx, "wait-down")
	close(g.waiting)
	<-g.release
	return power.ShutdownReport{Down: true}
}
func (g waitingGraceful) ForgetHostKey() error { return nil }

// A clean shutdown under way shows with its step, from the last poll alone.
func TestStateShowsTheShutdownUnderWay(t *testing.T) {
	d := &driver{states: map[int]power.State{1: power.On, 2: power.Off}, watts: 230}
	pdu := power.NewPDU(power.PDUConfig{Name: "rack1", Driver: d, SwitchTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second})
	g := waitingGraceful{waiting: make(chan struct{}), release: make(chan struct{})}
	f, err := power.NewFleet([]*power.PDU{pdu}, []power.Machine{{Name: "node1", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 1}}, Graceful: g}},
		power.FleetConfig{ActionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	f.ReadPDU(t.Context(), "rack1")
	page := newPage(t, f, nil)
	cookie, _ := signIn(t, page, "admin")
	done := make(chan struct{})
	go func() { f.Off(context.Background(), "node1"); close(done) }()
	<-g.waiting
	m := getState(t, page, cookie).Machines[0]
	if m.State != "shutting down" || !strings.Contains(m.Detail, "waiting for the host to go down") || !m.Graceful || m.Underway != "off" {
		t.Errorf("during the clean shutdown node1 shows %+v", m)
	}
	close(g.release)
	<-done
}

// Under TLS the session cookie is Secure, though the listener hides r.TLS.
func TestSessionCookieIsSecureUnderTLS(t *testing.T) {
	page := New(Config{Fleet: func(*http.Request) Fleet { return nil }, Auth: users{}, TLS: true}, openGate{})
	req := httptest.NewRequest("POST", "/login", strings.NewReader("user=admin&password=pw"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	page.ServeHTTP(w, req)
	if c := w.Result().Cookies(); w.Code != 200 || len(c) != 1 || !c[0].Secure || c[0].MaxAge <= 0 {
		t.Errorf("sign-in under TLS: %d, cookies %+v; want one Secure cookie with an expiry", w.Code, c)
	}
}

// A browser that has a file already gets 304 and no body.
func TestAssetsAnswerNotModified(t *testing.T) {
	page := newPage(t, nil, nil)
	w := httptest.NewRecorder()
	page.ServeHTTP(w, httptest.NewRequest("GET", "/app.js", nil))
	etag := w.Header().Get("ETag")
	if w.Code != 200 || etag == "" || w.Body.Len() == 0 {
		t.Fatalf("GET /app.js: %d, ETag %q, %d bytes", w.Code, etag, w.Body.Len())
	}
	req := httptest.NewRequest("GET", "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	page.ServeHTTP(w, req)
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("GET /app.js with its ETag: %d, %d bytes; want 304 and none", w.Code, w.Body.Len())
	}
}

// The state carries each PDU's changes nobody asked for (outlet, the
// machine it feeds, from, to, when) and its power budget where it has one.
func TestStateShowsUnexpectedChangesAndTheBudget(t *testing.T) {
	d := &driver{states: map[int]power.State{1: power.On, 2: power.Off}, watts: 230}
	pdu := power.NewPDU(power.PDUConfig{Name: "rack1", Driver: d, SwitchTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, MaxAmperes: 4})
	f, err := power.NewFleet([]*power.PDU{pdu}, []power.Machine{{Name: "node1", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 1}}}}, power.FleetConfig{ActionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.ReadPDU(t.Context(), "rack1"); err != nil {
		t.Fatal(err)
	}
	page := newPage(t, f, nil)
	cookie, st := signIn(t, page, "admin")
	p := st.PDUs[0]
	if len(p.Unexpected) != 0 {
		t.Errorf("before any change behind its back rack1 shows %+v", p.Unexpected)
	}
	if b := p.Budget; b == nil || b.Max != 4 || b.Load == nil || *b.Load != 1 || b.Headroom == nil || *b.Headroom != 3 {
		t.Errorf("rack1's budget shows %+v; want max 4, load 1, headroom 3", b)
	}

	// Outlet 1 switched off at the PDU, found by the next read.
	d.Switch(t.Context(), 1, power.Off)
	if _, err := f.ReadPDU(t.Context(), "rack1"); err != nil {
		t.Fatal(err)
	}
	got := getState(t, page, cookie).PDUs[0].Unexpected
	if len(got) != 1 || got[0].Outlet != 1 || got[0].Machine != "node1" || got[0].From != "on" || got[0].To != "off" || got[0].At <= 0 {
		t.Errorf("after outlet 1 was switched off behind powerbridge's back rack1 shows %+v; want one change of outlet 1 (node1) on to off", got)
	}

	// A PDU with no budget shows none.
	plain, _ := newFleet(t)
	if _, st := signIn(t, newPage(t, plain, nil), "admin"); st.PDUs[0].Budget != nil {
		t.Errorf("a PDU without max_amperes shows a budget %+v", st.PDUs[0].Budget)
	}
}
