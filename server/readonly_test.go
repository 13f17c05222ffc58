package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// A viewer reads and is refused every POST with 403, before the fleet is
// asked; the root face answers GET / and only that.
func TestViewerIsRefusedPOSTs(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"node1": power.On}}
	auth := NewAuthenticator([]Credential{
		{Name: "admin", User: "admin", Password: "pw"},
		{Name: "noc", User: "noc", Password: "pw", ReadOnly: true},
	})
	h := New(f, Config{
		Auth: auth, StatusTimeout: 100 * time.Millisecond, ActionTimeout: time.Second,
		ReadOnly: func(_ *http.Request, who string) bool { return auth.ReadOnly(who) },
		Faces: []Face{{Prefix: "/ui", Root: true, New: func(Gate) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
		}}},
	})
	call := func(method, path, user string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if user != "" {
			r.SetBasicAuth(user, "pw")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := call("GET", "/v1/machines/node1", "noc"); w.Code != 200 {
		t.Errorf("a viewer's GET: %d %s", w.Code, w.Body)
	}
	for _, p := range []string{"/v1/machines/node1/off", "/v1/machines/node1/cycle", "/v1/machines/node1/forget-host-key"} {
		if w := call("POST", p, "noc"); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "viewer") {
			t.Errorf("a viewer's POST %s: %d %s; want 403 saying why", p, w.Code, w.Body)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("the fleet was asked %v for a viewer", f.calls)
	}
	if w := call("POST", "/v1/machines/node1/off", "admin"); w.Code != 200 || len(f.calls) != 1 {
		t.Errorf("an operator's POST: %d %s, calls %v", w.Code, w.Body, f.calls)
	}
	if w := call("GET", "/", ""); w.Code != 200 || w.Body.String() != "page" {
		t.Errorf("GET / with a root face: %d %q", w.Code, w.Body)
	}
	if w := call("GET", "/nothing", ""); w.Code != http.StatusBadRequest {
		t.Errorf("GET /nothing with a root face: %d; want the API's 400, never 404", w.Code)
	}
}
