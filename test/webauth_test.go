package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// webSession signs in through the page's form endpoint and returns the
// session cookie and its CSRF token.
func webSession(t *testing.T, base, user, pass string) (cookie, csrf string) {
	t.Helper()
	code, body, resp := webPost(t, base+"/ui/login", "", "", url.Values{"user": {user}, "password": {pass}}.Encode(), nil)
	if code != 200 {
		t.Fatalf("signing in as %s: %d %s", user, code, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "powerbridge_session" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("signing in as %s set no session cookie", user)
	}
	code, body = webGet(t, base+"/ui/api/state", cookie)
	var st struct{ CSRF string }
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.CSRF == "" {
		t.Fatalf("the state after signing in: %d %s (%v)", code, body, err)
	}
	return cookie, st.CSRF
}

// webPost is a POST as the page sends it: the session cookie and the CSRF
// header when given, a form body, and the extra headers.
func webPost(t *testing.T, u, cookie, csrf, form string, extra map[string]string) (int, string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "powerbridge_session", Value: cookie})
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := maasClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp
}

// Who may switch what, counted at the PDU: a viewer sees the page without a
// switch and is refused on every face; a POST without the session, without
// its CSRF token, with another session's token or from another origin is
// refused; wrong passwords at the form count against the address's limit
// on every face.
func TestWebPageRefusesWhatItMust(t *testing.T) {
	f := startWebFleet(t)
	base := f.b.URL
	commands := func() int { return len(f.rack1.Commands(1)) + len(f.rack1.Commands(3)) + len(f.rack1.Commands(4)) }

	t.Run("a viewer sees everything and switches nothing", func(t *testing.T) {
		br := newBrowser(t)
		br.run("opening the page", 30*time.Second, chromedp.Navigate(base+"/"))
		signIn(br, "watcher", viewerPass)
		br.waitFor("node1 shows on", 45*time.Second, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent === "on"`, machineState("node1")))
		if n, err := eval[int](br, `document.querySelectorAll("button[data-action]").length`); err != nil || n != 0 {
			t.Errorf("a viewer's page has %d switch buttons (%v); want none", n, err)
		}
		if who := br.text("#who"); !strings.Contains(who, "read-only") {
			t.Errorf("the page says %q; want it to say the viewer is read-only", who)
		}
		// The viewer's own page, forging the POST its buttons would send.
		code, err := eval[int](br, `fetch("/ui/api/machines/bigboy/off", {method: "POST", headers: {"X-CSRF-Token": state.csrf}}).then(r => r.status)`)
		if err != nil || code != http.StatusForbidden {
			t.Errorf("a viewer's POST with its CSRF token: %d (%v); want 403", code, err)
		}
		if p := br.problemsSoFar(); len(p) > 1 { // the 403 above is one
			t.Errorf("the page reported errors:\n  %s", strings.Join(p, "\n  "))
		}
	})

	t.Run("a viewer on the JSON API and on Redfish", func(t *testing.T) {
		if code, body := f.b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/bigboy", auth: basic("watcher", viewerPass)}); code != 200 {
			t.Errorf("a viewer reading bigboy: %d %s; want 200", code, body)
		}
		if code, body := f.b.maas(t, maasCall{method: http.MethodPost, path: "/v1/machines/bigboy/off", auth: basic("watcher", viewerPass)}); code != http.StatusForbidden || !strings.Contains(body, "viewer") {
			t.Errorf("a viewer switching bigboy off on the API: %d %s; want 403 saying why", code, body)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/redfish/v1/Systems/bigboy/Actions/ComputerSystem.Reset", strings.NewReader(`{"ResetType":"ForceOff"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("watcher", viewerPass)
		resp, err := maasClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer's Redfish reset: %d %s; want 403", resp.StatusCode, body)
		}
	})

	t.Run("POSTs without the session or its CSRF token", func(t *testing.T) {
		cookie, csrf := webSession(t, base, "admin", adminPass)
		other, otherCSRF := webSession(t, base, "admin", adminPass)
		off := base + "/ui/api/machines/bigboy/off"
		for _, tc := range []struct {
			what         string
			cookie, csrf string
			extra        map[string]string
			want         int
		}{
			{"no session", "", csrf, nil, http.StatusUnauthorized},
			{"a made-up session", "not-a-session", csrf, nil, http.StatusUnauthorized},
			{"no CSRF token", cookie, "", nil, http.StatusForbidden},
			{"a wrong CSRF token", cookie, "x" + csrf, nil, http.StatusForbidden},
			{"another session's CSRF token", cookie, otherCSRF, nil, http.StatusForbidden},
			{"from another origin", cookie, csrf, map[string]string{"Origin": "http://127.0.0.2:8080"}, http.StatusForbidden},
			{"sign-out without the token", other, "", nil, http.StatusForbidden},
		} {
			path := off
			if strings.HasPrefix(tc.what, "sign-out") {
				path = base + "/ui/logout"
			}
			if code, body, _ := webPost(t, path, tc.cookie, tc.csrf, "", tc.extra); code != tc.want {
				t.Errorf("%s: %d %s; want %d", tc.what, code, body, tc.want)
			}
		}
		if n := commands(); n != 0 {
			t.Errorf("the refused POSTs gave rack1's outlets %d commands; want none", n)
		}
		// The same session with its token does switch: the refusals above
		// were for what they lacked.
		if code, body, _ := webPost(t, off, cookie, csrf, "", map[string]string{"Origin": base}); code != 200 || !strings.Contains(body, "bigboy is off") {
			t.Errorf("the POST with the session and its token: %d %s; want 200 saying bigboy is off", code, body)
		}
		if got := len(f.rack1.Commands(3)) + len(f.rack1.Commands(4)); got != 2 {
			t.Errorf("bigboy off gave its two outlets %d commands; want one each", got)
		}
	})

	t.Run("wrong passwords count against the address on every face", func(t *testing.T) {
		var last int
		for i := 0; i < 11; i++ {
			last, _, _ = webPost(t, base+"/ui/login", "", "", url.Values{"user": {"admin"}, "password": {"wrong"}}.Encode(), nil)
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("the 11th wrong password at the form: %d; want 429", last)
		}
		if code, body := f.b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines", auth: basic("admin", adminPass)}); code != http.StatusTooManyRequests {
			t.Errorf("the API from the same address after the form's failures: %d %s; want 429", code, body)
		}
	})
}

// A reload that removes a user ends its sessions on the page, and one that
// makes an operator a viewer takes its switches away from the next request.
func TestWebSessionsFollowAReload(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	users := func(list string) string {
		return "auth:\n  users:\n" + list + "timeouts: {status: 2s, action: 30s}\npdus:" + pdu + "machines:\n  - {name: node1, outlets: [\"rack1/1\"]}\n"
	}
	b := startBridge(t, users("    - {name: admin, password: "+adminPass+"}\n    - {name: watcher, password: "+viewerPass+"}\n"))
	admin, adminCSRF := webSession(t, b.URL, "admin", adminPass)
	watcher, _ := webSession(t, b.URL, "watcher", viewerPass)

	// The same file, its state_dir and listen kept, with watcher gone and
	// admin a viewer.
	old, err := os.ReadFile(b.Config)
	if err != nil {
		t.Fatal(err)
	}
	now := strings.Replace(string(old), "    - {name: admin, password: "+adminPass+"}\n    - {name: watcher, password: "+viewerPass+"}\n",
		"    - {name: admin, password: "+adminPass+", role: viewer}\n", 1)
	if now == string(old) {
		t.Fatal("the users to rewrite are not in the config file")
	}
	if err := os.WriteFile(b.Config, []byte(now), 0o600); err != nil {
		t.Fatal(err)
	}
	b.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, 30*time.Second, "the reload ends watcher's session", func() bool {
		code, _ := webGet(t, b.URL+"/ui/api/state", watcher)
		return code == http.StatusUnauthorized
	})
	code, body := webGet(t, b.URL+"/ui/api/state", admin)
	if code != 200 || !strings.Contains(body, `"read_only":true`) {
		t.Errorf("admin's session after the reload made it a viewer: %d %s; want it kept, read-only", code, body)
	}
	if code, body, _ := webPost(t, b.URL+"/ui/api/machines/node1/on", admin, adminCSRF, "", nil); code != http.StatusForbidden {
		t.Errorf("admin, now a viewer, switching node1 on: %d %s; want 403", code, body)
	}
}
