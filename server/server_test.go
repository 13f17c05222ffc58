package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// fakeFleet answers from a map of machine states.
type fakeFleet struct {
	states map[string]power.State
	err    error         // returned by every call when set
	delay  chan struct{} // when set, Status waits on it or the context
	calls  []string
}

func (f *fakeFleet) Machines() []power.Machine {
	return []power.Machine{{Name: "node1", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 1}}}}
}
func (f *fakeFleet) PDUNames() []string { return nil }
func (f *fakeFleet) Status(ctx context.Context, m string) (power.MachineStatus, error) {
	if f.delay != nil {
		select {
		case <-f.delay:
		case <-ctx.Done():
			return power.MachineStatus{}, fmt.Errorf("reading PDU rack1: %w", ctx.Err())
		}
	}
	if f.err != nil {
		return power.MachineStatus{}, f.err
	}
	s, ok := f.states[m]
	if !ok {
		return power.MachineStatus{}, fmt.Errorf("%w %q", power.ErrUnknownMachine, m)
	}
	return power.MachineStatus{Machine: m, State: s}, nil
}
func (f *fakeFleet) act(m string, a power.Action, to power.State) (power.Result, error) {
	f.calls = append(f.calls, string(a)+" "+m)
	if _, ok := f.states[m]; !ok {
		return power.Result{}, fmt.Errorf("%w %q", power.ErrUnknownMachine, m)
	}
	f.states[m] = to
	return power.Result{Machine: m, Action: a, State: to, Changed: true}, nil
}
func (f *fakeFleet) On(_ context.Context, m string) (power.Result, error) {
	return f.act(m, power.ActionOn, power.On)
}
func (f *fakeFleet) Off(_ context.Context, m string) (power.Result, error) {
	return f.act(m, power.ActionOff, power.Off)
}
func (f *fakeFleet) Cycle(_ context.Context, m string) (power.Result, error) {
	return f.act(m, power.ActionCycle, power.On)
}
func (f *fakeFleet) ReadPDU(context.Context, string) (power.Reading, error) {
	return power.Reading{}, power.ErrUnknownPDU
}
func (f *fakeFleet) SwitchOutlet(context.Context, string, int, power.Action) (power.OutletResult, error) {
	return power.OutletResult{}, power.ErrUnknownPDU
}
func (f *fakeFleet) MachineOf(power.OutletRef) (string, bool) { return "", false }
func (f *fakeFleet) ForgetHostKey(string) error               { return nil }

const token = "t0ken"

func newTestServer(f *fakeFleet) http.Handler {
	return New(f, Config{
		Auth: NewAuthenticator([]Credential{
			{Name: "maas", Token: token},
			{Name: "admin", User: "admin", Password: "pw"},
		}),
		StatusTimeout: 100 * time.Millisecond,
		ActionTimeout: time.Second,
	})
}

// maasRequest is shaped like a request from MAAS's webhook driver.
func maasRequest(method, path string) *http.Request {
	var body io.Reader
	if method == http.MethodPost {
		body = http.NoBody
	}
	r := httptest.NewRequest(method, path, body)
	r.Header.Set("User-Agent", "MAAS 3.5.0")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// MAAS's default regexes, which its driver applies to the query body.
var (
	onRE  = regexp.MustCompile(`status.*\:.*running`)
	offRE = regexp.MustCompile(`status.*\:.*stopped`)
)

func TestStatusBodies(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"on1": power.On, "off1": power.Off, "unk": power.Unknown}}
	h := newTestServer(f)
	for _, tc := range []struct {
		machine  string
		code     int
		body     string
		on, off  bool
		noSystem bool
	}{
		{machine: "on1", code: 200, body: `{"status":"running"}` + "\n", on: true},
		{machine: "off1", code: 200, body: `{"status":"stopped"}` + "\n", off: true},
		{machine: "on1", code: 200, body: `{"status":"running"}` + "\n", on: true, noSystem: true},
		{machine: "unk", code: http.StatusBadGateway},
	} {
		t.Run(fmt.Sprintf("%s system_id=%v", tc.machine, !tc.noSystem), func(t *testing.T) {
			req := maasRequest(http.MethodGet, "/v1/machines/"+tc.machine+"/status")
			if !tc.noSystem {
				req.Header.Set("System_Id", "abc123")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.code {
				t.Fatalf("code = %d, want %d; body %s", w.Code, tc.code, w.Body)
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Errorf("body = %q, want %q", w.Body, tc.body)
			}
			if tc.code == 200 {
				if got := onRE.MatchString(w.Body.String()); got != tc.on {
					t.Errorf("power_on_regex matches: %v, want %v", got, tc.on)
				}
				if got := offRE.MatchString(w.Body.String()); got != tc.off {
					t.Errorf("power_off_regex matches: %v, want %v", got, tc.off)
				}
			}
			if w.Header().Get("Content-Length") == "" {
				t.Error("no Content-Length: MAAS fails a non-200 answer without one")
			}
		})
	}
}

func TestAuth(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"node1": power.On}}
	h := newTestServer(f)
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		code int
	}{
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }, 200},
		{"basic", func(r *http.Request) { r.SetBasicAuth("admin", "pw") }, 200},
		{"no credentials", func(r *http.Request) { r.Header.Del("Authorization") }, 401},
		{"wrong token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, 401},
		{"token prefix", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token[:3]) }, 401},
		{"wrong password", func(r *http.Request) { r.SetBasicAuth("admin", "nope") }, 401},
		{"password as token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer pw") }, 401},
		{"token as basic password", func(r *http.Request) { r.SetBasicAuth("maas", token) }, 401},
		{"other scheme", func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := maasRequest(http.MethodGet, "/v1/machines/node1/status")
			tc.set(req)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.code {
				t.Errorf("code = %d, want %d", w.Code, tc.code)
			}
			if tc.code == 401 && (onRE.MatchString(w.Body.String()) || offRE.MatchString(w.Body.String())) {
				t.Errorf("401 body %q matches a power regex", w.Body)
			}
		})
	}
	if len(f.calls) != 0 {
		t.Errorf("unauthenticated requests reached the fleet: %v", f.calls)
	}
}

// MAAS takes a 404 as success and fails a redirected POST.
func TestNeverNotFoundNorRedirect(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"node1": power.Off}}
	h := newTestServer(f)
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodPost, "/v1/machines/ghost/on", http.StatusBadRequest},
		{http.MethodGet, "/v1/machines/ghost/status", http.StatusBadRequest},
		{http.MethodPost, "/v1/machines/node1/on/", http.StatusOK},
		{http.MethodGet, "/v1/machines/node1/status/", http.StatusOK},
		{http.MethodPost, "/v1/machine/node1/on", http.StatusBadRequest},
		{http.MethodPost, "/", http.StatusBadRequest},
		{http.MethodGet, "/v1/machines/node1/on", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, maasRequest(tc.method, tc.path))
			if w.Code != tc.code {
				t.Errorf("code = %d, want %d; body %s", w.Code, tc.code, w.Body)
			}
			if !strings.HasPrefix(w.Body.String(), "{") {
				t.Errorf("body %q is not JSON", w.Body)
			}
		})
	}
}

func TestActionAnswers(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"node1": power.Off}}
	h := newTestServer(f)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, maasRequest(http.MethodPost, "/v1/machines/node1/on"))
	if w.Code != 200 {
		t.Fatalf("on: %d %s", w.Code, w.Body)
	}
	if f.states["node1"] != power.On || len(f.calls) != 1 {
		t.Errorf("after on: state %s, calls %v", f.states["node1"], f.calls)
	}
}

// A PDU that never answers must not hang MAAS's query: the answer is an
// error within the status timeout.
func TestSilentPDUAnswersInTime(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"node1": power.On}, delay: make(chan struct{})}
	h := newTestServer(f)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, maasRequest(http.MethodGet, "/v1/machines/node1/status"))
	if w.Code != http.StatusGatewayTimeout {
		t.Errorf("code = %d, want 504; body %s", w.Code, w.Body)
	}
}

func TestPDUErrorIsBadGateway(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"node1": power.On}, err: errors.New("reading PDU rack1: request timeout")}
	w := httptest.NewRecorder()
	newTestServer(f).ServeHTTP(w, maasRequest(http.MethodGet, "/v1/machines/node1/status"))
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "request timeout") {
		t.Errorf("code = %d body %s, want 502 with the PDU's error", w.Code, w.Body)
	}
}
