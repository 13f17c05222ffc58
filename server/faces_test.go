package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// gateServer is a server with a failure limit of burst (no refill within a
// test) and one face whose handler is the server's Gate, which it hands to
// gate.
func gateServer(t *testing.T, burst int, exempt ...netip.Prefix) (Gate, http.Handler) {
	t.Helper()
	var gate Gate
	h := New(&fakeFleet{states: map[string]power.State{"node1": power.On}}, Config{
		Auth:             NewAuthenticator([]Credential{{Name: "maas", Token: token}}),
		StatusTimeout:    time.Second,
		ActionTimeout:    time.Second,
		AuthFailureBurst: burst,
		AuthFailureEvery: time.Hour,
		AuthLimitExempt:  exempt,
		Faces: []Face{{Prefix: "/face", New: func(g Gate) http.Handler {
			gate = g
			return http.NotFoundHandler()
		}}},
	})
	if gate == nil {
		t.Fatal("New did not hand the face its Gate")
	}
	return gate, h
}

// A face's logins take a try from the address's limit before the
// credentials are compared, as the API's routes do (issue 12 item 4): once
// an address has spent its failures, even the right credentials from it are
// refused with a wait and never compared; right ones before that give their
// try back; an exempt address is never held back.
func TestAdmitTakesATryBeforeComparing(t *testing.T) {
	const burst = 2
	gate, _ := gateServer(t, burst, netip.MustParsePrefix("192.0.2.99/32"))
	compared := 0
	check := func(right bool) func(*http.Request) (string, bool) {
		return func(*http.Request) (string, bool) {
			compared++
			return "admin", right
		}
	}
	req := func(addr string) *http.Request { return from(httptest.NewRequest("GET", "/face", nil), addr) }

	// Right credentials give their try back: any number of them pass.
	for i := range burst + 2 {
		if who, ok, wait := gate.Admit(req("192.0.2.1:1000"), check(true)); !ok || who != "admin" || wait != 0 {
			t.Fatalf("right login %d: got %q %v %v, want admin true 0", i, who, ok, wait)
		}
	}
	for i := range burst {
		if _, ok, wait := gate.Admit(req("192.0.2.1:1000"), check(false)); ok || wait != 0 {
			t.Fatalf("failed login %d of %d: got ok=%v wait=%v, want a 401 (false, 0)", i+1, burst, ok, wait)
		}
	}
	before := compared
	_, ok, wait := gate.Admit(req("192.0.2.1:1000"), check(true))
	if ok || wait < time.Second {
		t.Fatalf("right login after %d failures: got ok=%v wait=%v, want refused with a wait of at least 1s", burst, ok, wait)
	}
	if compared != before {
		t.Errorf("the credentials of an address over its limit were compared (%d times)", compared-before)
	}
	// Another address is not affected.
	if _, ok, _ := gate.Admit(req("192.0.2.2:1000"), check(true)); !ok {
		t.Error("another address was refused")
	}
	// An exempt address fails as often as it likes and still gets in.
	for i := range burst + 2 {
		if _, ok, wait := gate.Admit(req("192.0.2.99:1000"), check(false)); ok || wait != 0 {
			t.Fatalf("exempt failed login %d: got ok=%v wait=%v, want a 401", i, ok, wait)
		}
	}
	if _, ok, _ := gate.Admit(req("192.0.2.99:1000"), check(true)); !ok {
		t.Error("an exempt address was refused after its failures")
	}
}
