package main

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// The server's answers the end-to-end tests cannot easily provoke (a clean
// shutdown, a cut, notes, an unknown state, refusals), answered by a stand-in
// server, and how `powerbridge power` reports each. test/cli_test.go runs it
// against the real server.
func TestPowerCLIAnswers(t *testing.T) {
	answers := map[string]struct {
		code int
		body string
	}{
		"POST /v1/machines/graceful/off": {200, `{"machine":"graceful","action":"off","state":"off","changed":true,"shutdown":"graceful","seconds":21.34}`},
		"POST /v1/machines/cut/off":      {200, `{"machine":"cut","action":"off","state":"off","changed":true,"shutdown":"cut","reason":"ssh: connection refused","seconds":120}`},
		"POST /v1/machines/noted/on":     {200, `{"machine":"noted","action":"on","state":"on","changed":true,"notes":["outlets were on but the host had halted: cycled"],"seconds":7}`},
		"GET /v1/machines/limbo":         {200, `{"machine":"limbo","state":"unknown","outlets":[{"pdu":"rack1","outlet":2,"state":"unknown"}]}`},
		"GET /v1/machines/stopping":      {200, `{"machine":"stopping","state":"on","outlets":[{"pdu":"rack1","outlet":1,"state":"on"}],"shutting_down":true}`},
		"POST /v1/machines/refused/off":  {502, `{"error":"graceful shutdown failed and the machine's policy leaves power on: ssh: handshake failed"}`},
		"POST /v1/machines/forbidden/on": {403, `{"error":"forbidden"}`},
		"POST /v1/machines/moved/on":     {308, ``},
		"GET /v1/machines/badpath":       {400, `{"error":"no route"}`},
		"GET /v1/machines/unlisted":      {400, `{"error":"no such machine \"unlisted\""}`},
	}
	var listDown atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("%s %s: Authorization %q, want the token from POWERBRIDGE_TOKEN", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		if r.Method == http.MethodGet && r.URL.Path == "/v1/machines" {
			if listDown.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, `{"machines":[{"name":"badpath"}]}`)
			return
		}
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			a.code = 500
		}
		if a.code == 308 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(a.code)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	t.Setenv("POWERBRIDGE_URL", srv.URL+"/")
	t.Setenv("POWERBRIDGE_TOKEN", "tok")

	for _, tc := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"off", "graceful"}, exitOK, "graceful: off (shut down cleanly, then switched off, in 21.3s)\n", ""},
		{[]string{"off", "cut"}, exitOK, "cut: off (switched off without a clean shutdown (ssh: connection refused), in 120.0s)\n", ""},
		{[]string{"on", "noted"}, exitOK, "noted: on (switched on in 7.0s)\n  note: outlets were on but the host had halted: cycled\n", ""},
		{[]string{"status", "limbo"}, exitFail, "limbo: unknown (rack1/2 unknown)\n", "the power state of limbo cannot be told"},
		{[]string{"status", "stopping"}, exitOK, "stopping: on (rack1/1 on), shutting down\n", ""},
		{[]string{"off", "refused"}, exitFail, "", "refused: graceful shutdown failed and the machine's policy leaves power on: ssh: handshake failed (502)"},
		{[]string{"on", "forbidden"}, exitAuthRefused, "", "refused the token (403)"},
		{[]string{"on", "moved"}, exitFail, "", "moved: Permanent Redirect (308)"},
		// A 400 for a machine the server has is a failure, not "no such machine".
		{[]string{"status", "badpath"}, exitFail, "", "badpath: no route (400)"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb strings.Builder
			code := run(append([]string{"power"}, tc.args...), &out, &errb)
			if code != tc.code || out.String() != tc.out || !strings.Contains(errb.String(), tc.errs) {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout %q, stderr with %q", code, out.String(), errb.String(), tc.code, tc.out, tc.errs)
			}
		})
	}

	// Without the machine list, a 400 cannot be told to mean "no such
	// machine": it stays a failure.
	var out, errb strings.Builder
	if code := run([]string{"power", "status", "unlisted"}, &out, &errb); code != exitUnknownTarget {
		t.Errorf("an unlisted machine: exit %d, want %d; stderr %q", code, exitUnknownTarget, errb.String())
	}
	listDown.Store(true)
	if code := run([]string{"power", "status", "unlisted"}, &out, &errb); code != exitFail {
		t.Errorf("with the machine list down: exit %d, want %d", code, exitFail)
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		json bool
		url  string
	}{
		{[]string{"on", "node1"}, []string{"on", "node1"}, false, ""},
		{[]string{"--json", "on", "node1"}, []string{"on", "node1"}, true, ""},
		{[]string{"on", "--json", "node1", "--url", "http://x"}, []string{"on", "node1"}, true, "http://x"},
		{[]string{"on", "node1", "--json"}, []string{"on", "node1"}, true, ""},
		{[]string{"on", "--", "--json"}, []string{"on", "--json"}, false, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		js := fs.Bool("json", false, "")
		u := fs.String("url", "", "")
		pos, _, done := parseInterspersed(fs, tc.args)
		if done || !slices.Equal(pos, tc.pos) || *js != tc.json || *u != tc.url {
			t.Errorf("%q: positional %q json %v url %q done %v; want %q %v %q", tc.args, pos, *js, *u, done, tc.pos, tc.json, tc.url)
		}
	}
}
