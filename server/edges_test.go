package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// HEAD on a GET route answers as that GET would, headers and code, and
// nothing else: not 405, never 404.
func TestHeadAnswersAsGet(t *testing.T) {
	f := &fakeFleet{states: map[string]power.State{"node1": power.On}}
	srv := httptest.NewServer(newTestServer(f))
	defer srv.Close()
	for _, path := range []string{"/v1/machines/node1/status", "/v1/machines/node1/status/", "/v1/machines", "/healthz", "/readyz", "/v1/machines/ghost/status"} {
		t.Run(path, func(t *testing.T) {
			do := func(method string) (*http.Response, string) {
				req, _ := http.NewRequest(method, srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp, string(body)
			}
			get, getBody := do(http.MethodGet)
			head, headBody := do(http.MethodHead)
			if head.StatusCode != get.StatusCode {
				t.Errorf("HEAD %d, GET %d", head.StatusCode, get.StatusCode)
			}
			if headBody != "" {
				t.Errorf("HEAD has a body %q", headBody)
			}
			if h, g := head.Header.Get("Content-Length"), get.Header.Get("Content-Length"); h != g || g == "" {
				t.Errorf("HEAD Content-Length %q, GET %q (body %q)", h, g, getBody)
			}
			if h, g := head.Header.Get("Content-Type"), get.Header.Get("Content-Type"); h != g {
				t.Errorf("HEAD Content-Type %q, GET %q", h, g)
			}
		})
	}
	// A POST route is still not a GET one.
	w := httptest.NewRecorder()
	newTestServer(f).ServeHTTP(w, maasRequest(http.MethodHead, "/v1/machines/node1/on"))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("HEAD on a POST route: %d, want 405", w.Code)
	}
}

// namedFleet records the machine names that reach it.
type namedFleet struct {
	fakeFleet
	names []string
}

func (f *namedFleet) Status(ctx context.Context, m string) (power.MachineStatus, error) {
	f.names = append(f.names, m)
	return f.fakeFleet.Status(ctx, m)
}

// Every percent-escape in a path is decoded once, before routing, whether
// or not net/http kept the raw path (it does for node%31, not for
// n%C3%B6de): a name reaches the fleet decoded either way.
func TestPathIsDecodedBeforeRouting(t *testing.T) {
	f := &namedFleet{fakeFleet: fakeFleet{states: map[string]power.State{"node1": power.On}}}
	h := New(f, Config{Auth: NewAuthenticator([]Credential{{Name: "maas", Token: token}}), StatusTimeout: 100 * time.Millisecond, ActionTimeout: time.Second})
	for _, tc := range []struct {
		path, name string
		code       int
	}{
		{"/v1/machines/node1/status", "node1", 200},
		{"/v1/machines/node%31/status", "node1", 200},
		{"/v1/machines/node%31/status/", "node1", 200},
		{"/v1/machines/%6Eode1/status", "node1", 200},
		{"/v1/machines/n%C3%B6de/status", "nöde", 400},
		{"/v1/machines/n%c3%b6de/status", "nöde", 400},
		{"/v1/machines/nöde/status", "nöde", 400},
		{"/v1/machines/node%2F1/status", "", 400}, // /v1/machines/node/1/status: no route
		{"/v1/machines/node1/st%61tus", "node1", 200},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f.names = nil
			w := httptest.NewRecorder()
			h.ServeHTTP(w, maasRequest(http.MethodGet, tc.path))
			if w.Code != tc.code {
				t.Errorf("%d %s, want %d", w.Code, w.Body, tc.code)
			}
			got := strings.Join(f.names, ",")
			if got != tc.name {
				t.Errorf("the fleet was asked for %q, want %q", got, tc.name)
			}
		})
	}
}

// okDriver reads one outlet, off; failDriver fails every read with an error
// that names the PDU's address, as a real one does.
type okDriver struct{}

func (okDriver) Read(context.Context) (power.Reading, error) {
	return power.Reading{Outlets: []power.Outlet{{Number: 1, State: power.Off}}}, nil
}
func (okDriver) Switch(context.Context, int, power.State) error { return errors.New("not here") }
func (okDriver) Close() error                                   { return nil }

type failDriver struct{ okDriver }

func (failDriver) Read(context.Context) (power.Reading, error) {
	return power.Reading{}, errors.New("no answer from 192.0.2.77:161 within 500ms")
}

type pduFleet struct {
	fakeFleet
	pdus []*power.PDU
}

func (f *pduFleet) PDUNames() []string {
	var names []string
	for _, p := range f.pdus {
		names = append(names, p.Name())
	}
	return names
}

func (f *pduFleet) ReadPDU(ctx context.Context, name string) (power.Reading, error) {
	for _, p := range f.pdus {
		if p.Name() == name {
			return p.Read(ctx)
		}
	}
	return power.Reading{}, fmt.Errorf("%w %q", power.ErrUnknownPDU, name)
}

// /readyz is open and says whether every PDU can be read and how many
// cannot; which ones and why (addresses, SNMP errors) only to a request
// with the API's credentials. Wrong credentials are refused and limited
// as on /v1.
func TestReadyzShowsDetailsOnlyBehindAuth(t *testing.T) {
	good := power.NewPDU(power.PDUConfig{Name: "rack1", Driver: okDriver{}})
	bad := power.NewPDU(power.PDUConfig{Name: "rack2", Driver: failDriver{}})
	defer good.Close()
	defer bad.Close()
	auth := NewAuthenticator([]Credential{{Name: "maas", Token: token}})
	serve := func(f Fleet, authz string) (int, Ready, string) {
		t.Helper()
		h := New(f, Config{Auth: auth, StatusTimeout: time.Second, ActionTimeout: time.Second, AuthFailureBurst: 1})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, withAuth(httptest.NewRequest(http.MethodGet, "/readyz", nil), authz))
		var out Ready
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer %q is not JSON: %v", w.Body, err)
		}
		if w.Header().Get("Content-Length") == "" {
			t.Error("no Content-Length")
		}
		return w.Code, out, w.Body.String()
	}

	healthy := &pduFleet{pdus: []*power.PDU{good}}
	if code, out, body := serve(healthy, ""); code != 200 || !out.Ready || out.PDUs != 1 || out.UnreadablePDUs != 0 {
		t.Errorf("healthy, no credentials: %d %s", code, body)
	}

	broken := &pduFleet{pdus: []*power.PDU{good, bad}}
	code, out, body := serve(broken, "")
	if code != http.StatusServiceUnavailable || out.Ready || out.PDUs != 2 || out.UnreadablePDUs != 1 || out.Error == "" {
		t.Errorf("one PDU unreadable, no credentials: %d %s", code, body)
	}
	for _, detail := range []string{"192.0.2.77", "no answer", "rack2"} {
		if strings.Contains(body, detail) {
			t.Errorf("the open answer shows %q: %s", detail, body)
		}
	}

	code, out, body = serve(broken, "Bearer "+token)
	if code != http.StatusServiceUnavailable || out.UnreadablePDUs != 1 || !strings.Contains(out.Errors["rack2"], "192.0.2.77") {
		t.Errorf("one PDU unreadable, with credentials: %d %s", code, body)
	}
	if _, ok := out.Errors["rack1"]; ok {
		t.Errorf("the readable PDU is listed as a problem: %s", body)
	}

	if code, _, body := serve(broken, "Bearer wrong"); code != http.StatusUnauthorized || strings.Contains(body, "192.0.2.77") {
		t.Errorf("wrong credentials: %d %s, want 401 without details", code, body)
	}
}
