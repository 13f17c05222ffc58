package redfish

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// fakeFleet is the domain in memory: one machine, m, whose actions wait for
// a release when gate is set, and a log of what was called.
type fakeFleet struct {
	mu    sync.Mutex
	state power.State
	calls []power.Action
	gate  chan struct{}
	cur   power.Action
}

func (f *fakeFleet) Machines() []power.Machine {
	return []power.Machine{{Name: "m", Outlets: []power.OutletRef{{PDU: "r", Outlet: 1}}}}
}

func (f *fakeFleet) Status(context.Context, string) (power.MachineStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return power.MachineStatus{Machine: "m", State: f.state, Power: f.state}, nil
}

func (f *fakeFleet) act(a power.Action, to power.State) (power.Result, error) {
	f.mu.Lock()
	f.calls, f.cur = append(f.calls, a), a
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	f.state, f.cur = to, ""
	f.mu.Unlock()
	return power.Result{State: to}, nil
}

func (f *fakeFleet) On(context.Context, string) (power.Result, error) {
	return f.act(power.ActionOn, power.On)
}
func (f *fakeFleet) Off(context.Context, string) (power.Result, error) {
	return f.act(power.ActionOff, power.Off)
}
func (f *fakeFleet) Cut(context.Context, string) (power.Result, error) {
	return f.act(power.ActionCut, power.Off)
}
func (f *fakeFleet) Cycle(context.Context, string) (power.Result, error) {
	return f.act(power.ActionCycle, power.On)
}
func (f *fakeFleet) Underway(string) (power.Action, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur, f.cur != ""
}

func (f *fakeFleet) log() []power.Action {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

type openAuth struct{}

func (openAuth) Check(r *http.Request) (string, bool) {
	u, p, ok := r.BasicAuth()
	return u, ok && u == "admin" && p == "pw"
}

type plainGate struct{}

func (plainGate) Admit(r *http.Request, check func(*http.Request) (string, bool)) (string, bool, time.Duration) {
	who, ok := check(r)
	return who, ok, 0
}

// newTestService mounts the face at /redfish, as server.New does.
func newTestService(f *fakeFleet, cuts bool) http.Handler {
	r := chi.NewRouter()
	r.Mount("/redfish", New(Config{
		Fleet:        func(*http.Request) Fleet { return f },
		Auth:         openAuth{},
		ForceOffCuts: func(*http.Request, string) bool { return cuts },
	}, plainGate{}))
	return r
}

func call(t testing.TB, h http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "/redfish"+path, strings.NewReader(body))
	req.SetBasicAuth("admin", "pw")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func powerState(t *testing.T, h http.Handler) string {
	t.Helper()
	w := call(t, h, "GET", "/v1/Systems/m", "")
	var sys struct{ PowerState string }
	if err := json.Unmarshal(w.Body.Bytes(), &sys); err != nil || w.Code != 200 {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	return sys.PowerState
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func reset(t *testing.T, h http.Handler, rt string) {
	t.Helper()
	if w := call(t, h, "POST", "/v1/Systems/m/Actions/ComputerSystem.Reset", `{"ResetType":"`+rt+`"}`); w.Code != 204 {
		t.Fatalf("Reset %s: %d %s", rt, w.Code, w.Body)
	}
}

// The Resets of one system run in the order they came, identical ones
// joined, each answered before it is carried out, with the transition shown.
func TestResetsRunInOrderAndJoin(t *testing.T) {
	f := &fakeFleet{state: power.On, gate: make(chan struct{})}
	h := newTestService(f, false)
	reset(t, h, "ForceOff")
	reset(t, h, "ForceOff")
	reset(t, h, "On")
	reset(t, h, "On")
	if got := powerState(t, h); got != "PoweringOff" {
		t.Errorf("PowerState during the off: %s", got)
	}
	f.gate <- struct{}{}
	waitFor(t, "the on starts", func() bool { return len(f.log()) == 2 })
	if got := powerState(t, h); got != "PoweringOn" {
		t.Errorf("PowerState during the on: %s", got)
	}
	f.gate <- struct{}{}
	waitFor(t, "PowerState On", func() bool { return powerState(t, h) == "On" })
	if got := f.log(); !slices.Equal(got, []power.Action{power.ActionOff, power.ActionOn}) {
		t.Errorf("actions = %v, want [off on]", got)
	}
}

func TestResetTypes(t *testing.T) {
	for _, tc := range []struct {
		rt   string
		cuts bool
		want []power.Action
	}{
		{"On", false, []power.Action{power.ActionOn}},
		{"ForceOn", false, []power.Action{power.ActionOn}},
		{"ForceOff", false, []power.Action{power.ActionOff}},
		{"ForceOff", true, []power.Action{power.ActionCut}},
		{"GracefulShutdown", true, []power.Action{power.ActionOff}},
		{"GracefulRestart", false, []power.Action{power.ActionOff, power.ActionOn}},
		{"ForceRestart", false, []power.Action{power.ActionCycle}},
		{"PowerCycle", false, []power.Action{power.ActionCycle}},
	} {
		f := &fakeFleet{state: power.On}
		h := newTestService(f, tc.cuts)
		reset(t, h, tc.rt)
		waitFor(t, tc.rt+" done", func() bool {
			return len(f.log()) == len(tc.want) && powerState(t, h) != "PoweringOn" && powerState(t, h) != "PoweringOff"
		})
		if got := f.log(); !slices.Equal(got, tc.want) {
			t.Errorf("%s (cuts %v): %v, want %v", tc.rt, tc.cuts, got, tc.want)
		}
	}
	h := newTestService(&fakeFleet{}, false)
	for body, code := range map[string]string{
		`{"ResetType":"Nmi"}`: "Base.1.8.ActionParameterNotSupported",
		`{}`:                  "Base.1.8.ActionParameterMissing",
		`{"ResetType":1}`:     "Base.1.8.ActionParameterValueTypeError",
		`not json`:            "Base.1.8.MalformedJSON",
	} {
		w := call(t, h, "POST", "/v1/Systems/m/Actions/ComputerSystem.Reset", body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"code":"`+code+`"`) {
			t.Errorf("Reset %s: %d %s, want 400 %s", body, w.Code, w.Body, code)
		}
	}
}

func TestBootOverrideETag(t *testing.T) {
	h := newTestService(&fakeFleet{state: power.Off}, false)
	etag := call(t, h, "GET", "/v1/Systems/m", "").Header().Get("ETag")
	if etag == "" {
		t.Fatal("GET has no ETag")
	}
	pxe := `{"Boot":{"BootSourceOverrideEnabled":"Once","BootSourceOverrideTarget":"Pxe"}}`
	if w := call(t, h, "PATCH", "/v1/Systems/m", pxe, "If-Match", etag); w.Code != 204 || w.Header().Get("ETag") == etag {
		t.Fatalf("PATCH with the ETag: %d, ETag %q (was %q)", w.Code, w.Header().Get("ETag"), etag)
	}
	if w := call(t, h, "PATCH", "/v1/Systems/m", `{"Boot":{"BootSourceOverrideTarget":"Hdd"}}`, "If-Match", etag); w.Code != 412 {
		t.Errorf("PATCH with a stale ETag: %d %s", w.Code, w.Body)
	}
	if w := call(t, h, "PATCH", "/v1/Systems/m", `{"PowerState":"Off"}`); w.Code != 400 {
		t.Errorf("PATCH of PowerState: %d", w.Code)
	}
	if w := call(t, h, "PATCH", "/v1/Systems/m", pxe, "If-Match", "*"); w.Code != 204 {
		t.Errorf("PATCH with If-Match *: %d", w.Code)
	}
}

// GET Systems/{id} against a bare handler that writes the same size of JSON,
// as the status route's benchmark does (BENCHMARKS.md).
func BenchmarkSystemGET(b *testing.B) {
	h := newTestService(&fakeFleet{state: power.On}, false)
	body := call(b, h, "GET", "/v1/Systems/m", "").Body.Bytes()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"impl=redfish", h}, {"impl=bare", bare}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if w := call(b, bc.h, "GET", "/v1/Systems/m", ""); w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
