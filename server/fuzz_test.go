package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// countingFleet is fakeFleet that counts the calls which need credentials:
// everything but the list of PDUs /readyz reads.
type countingFleet struct {
	fakeFleet
	mu      sync.Mutex
	guarded int
}

func (f *countingFleet) count() {
	f.mu.Lock()
	f.guarded++
	f.mu.Unlock()
}

func (f *countingFleet) Machines() []power.Machine { f.count(); return f.fakeFleet.Machines() }
func (f *countingFleet) Status(ctx context.Context, m string) (power.MachineStatus, error) {
	f.count()
	return f.fakeFleet.Status(ctx, m)
}
func (f *countingFleet) On(ctx context.Context, m string) (power.Result, error) {
	f.count()
	return f.fakeFleet.On(ctx, m)
}
func (f *countingFleet) Off(ctx context.Context, m string) (power.Result, error) {
	f.count()
	return f.fakeFleet.Off(ctx, m)
}
func (f *countingFleet) Cycle(ctx context.Context, m string) (power.Result, error) {
	f.count()
	return f.fakeFleet.Cycle(ctx, m)
}
func (f *countingFleet) ReadPDU(ctx context.Context, p string) (power.Reading, error) {
	f.count()
	return f.fakeFleet.ReadPDU(ctx, p)
}
func (f *countingFleet) SwitchOutlet(ctx context.Context, p string, n int, a power.Action) (power.OutletResult, error) {
	f.count()
	return f.fakeFleet.SwitchOutlet(ctx, p, n, a)
}
func (f *countingFleet) MachineOf(ref power.OutletRef) (string, bool) {
	f.count()
	return f.fakeFleet.MachineOf(ref)
}
func (f *countingFleet) ForgetHostKey(m string) error { f.count(); return f.fakeFleet.ForgetHostKey(m) }

// The credentials of the fuzzed server.
const (
	fuzzToken        = "fuzz-token-5ecret"
	fuzzPassword     = "fuzz-pass-5ecret"
	fuzzMetricsToken = "fuzz-metrics-5ecret"
)

// authentic tells, without the server's code, whether r carries the
// server's credentials.
func authentic(r *http.Request) bool {
	scheme, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(rest) == fuzzToken
	}
	u, p, ok := r.BasicAuth()
	return ok && strings.EqualFold(scheme, "Basic") && u == "admin" && p == fuzzPassword
}

// FuzzRoutes sends the server any request a client could: any method, path
// and query, headers (Authorization and System_Id included) and body. The
// server must never panic, never answer 404 or a redirect (MAAS takes a 404
// as success and fails a redirected POST), never let a request without the
// right credentials reach the fleet, answer every error as JSON with a
// Content-Length, answer a status query with exactly one state word, and
// never show a secret the request did not bring.
func FuzzRoutes(f *testing.F) {
	auth := "Bearer " + fuzzToken
	basic := "Basic " + "YWRtaW46ZnV6ei1wYXNzLTVlY3JldA==" // admin:fuzz-pass-5ecret
	for _, seed := range []struct{ method, target, authz, headers, body string }{
		{"GET", "/v1/machines/node1/status", auth, "System_Id: abc123\r\n", ""},
		{"POST", "/v1/machines/node1/on", auth, "", ""},
		{"POST", "/v1/machines/node1/off/", basic, "", ""},
		{"POST", "/v1/machines/node1/cycle", auth, "Content-Type: application/json\r\n", `{"force":true}`},
		{"GET", "/v1/machines", auth, "", ""},
		{"GET", "/v1/machines/ghost", auth, "", ""},
		{"GET", "/v1/pdus/rack1/outlets", auth, "", ""},
		{"POST", "/v1/pdus/rack1/outlets/0/on", auth, "", ""},
		{"POST", "/v1/pdus/rack1/outlets/99999999999999999999/reboot", auth, "", ""},
		{"POST", "/v1/machines/node1/forget-host-key", auth, "", ""},
		{"GET", "/v1/machines/node1/status", "Bearer wrong", "", ""},
		{"GET", "/v1/machines/node1/status", "Basic !!!", "", ""},
		{"GET", "/v1/machines/node1/status", "", "", ""},
		{"POST", "/-/reload", auth, "", ""},
		{"GET", "/metrics", "Bearer " + fuzzMetricsToken, "", ""},
		{"GET", "/metrics", "", "", ""},
		{"GET", "/healthz", "", "", ""},
		{"GET", "/readyz", "", "", ""},
		{"HEAD", "/v1/machines/node1/status", auth, "", ""},
		{"OPTIONS", "*", "", "", ""},
		{"GET", "/v1/machines/node%2F1/status?x=%00", auth, "", ""},
		{"GET", "/v1/machines/node%31/status", auth, "", ""},
		{"HEAD", "/v1/machines/n%C3%B6de/status/", auth, "", ""},
		{"GET", "/readyz", auth, "", ""},
		{"GET", "/readyz", "Bearer wrong", "", ""},
		{"GET", "/../../etc/passwd", auth, "", ""},
		{"POST", "/v1/machines/node1/on", auth, "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"},
	} {
		f.Add(seed.method, seed.target, seed.authz, seed.headers, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, method, target, authz, headers string, body []byte) {
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: powerbridge\r\nAuthorization: %s\r\n%sContent-Length: %d\r\n\r\n%s",
			method, target, authz, headers, len(body), body)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http answers what it cannot parse before any handler sees it
		}
		req.RemoteAddr = "192.0.2.1:1234"
		fleet := &countingFleet{fakeFleet: fakeFleet{states: map[string]power.State{"node1": power.On, "node2": power.Off}}}
		h := New(fleet, Config{
			Auth: NewAuthenticator([]Credential{
				{Name: "maas", Token: fuzzToken},
				{Name: "admin", User: "admin", Password: fuzzPassword},
			}),
			StatusTimeout: time.Second,
			ActionTimeout: time.Second,
			Reload:        func(context.Context) error { return nil },
			Metrics:       http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("# metrics\n")) }),
			MetricsToken:  fuzzMetricsToken,
		})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)

		code, answer := w.Code, w.Body.String()
		what := fmt.Sprintf("%q %q with %q", req.Method, req.URL.String(), authz)
		switch {
		case code == http.StatusInternalServerError:
			t.Fatalf("%s: 500 (a panic?): %s", what, answer)
		case code == http.StatusNotFound:
			t.Fatalf("%s: 404, which MAAS takes as success", what)
		case code >= 300 && code < 400:
			t.Fatalf("%s: redirected (%d), which fails MAAS's POST", what, code)
		}
		if !authentic(req) && fleet.guarded > 0 {
			t.Fatalf("%s: answered %d after reaching the fleet without the right credentials", what, code)
		}
		if code != http.StatusOK && req.Method != http.MethodHead {
			var e struct{ Error string }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Errorf("%s: %d with a body that is not a JSON error: %q", what, code, answer)
			}
			if w.Header().Get("Content-Length") == "" {
				t.Errorf("%s: %d without Content-Length", what, code)
			}
		}
		if code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", what)
		}
		if code == http.StatusOK && strings.HasSuffix(strings.TrimSuffix(req.URL.Path, "/"), "/status") && req.Method == http.MethodGet {
			if answer != string(bodyRunning) && answer != string(bodyStopped) {
				t.Errorf("%s: status body %q", what, answer)
			}
		}
		for _, secret := range []string{fuzzToken, fuzzPassword, fuzzMetricsToken} {
			if strings.Contains(answer+fmt.Sprint(w.Header()), secret) && !strings.Contains(raw, secret) {
				t.Errorf("%s: the answer shows the secret %q", what, secret)
			}
		}
	})
}
