package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// logBuffer is a log the test can read while the server writes it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), substr)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// checked is the key of limitedServer's counts under which the requests
// whose credentials were compared are counted.
const checked = "checked"

// limitedServer is a test server with a failure limit of burst and no
// refill within a test, the addresses exempt from it, its log and its
// auth-failure and check counts.
func limitedServer(t *testing.T, burst int, exempt ...netip.Prefix) (http.Handler, *logBuffer, map[string]int) {
	t.Helper()
	logs := &logBuffer{}
	var mu sync.Mutex
	counts := map[string]int{}
	h := New(&fakeFleet{states: map[string]power.State{"node1": power.On}}, Config{
		Auth:             NewAuthenticator([]Credential{{Name: "maas", Token: token}, {Name: "admin", User: "admin", Password: "pw"}}),
		StatusTimeout:    time.Second,
		ActionTimeout:    time.Second,
		Logger:           slog.New(slog.NewTextHandler(logs, nil)),
		Metrics:          http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics\n")) }),
		MetricsToken:     "metrics-t0ken",
		AuthFailureBurst: burst,
		AuthFailureEvery: time.Hour,
		AuthFailures: func(reason string) {
			mu.Lock()
			counts[reason]++
			mu.Unlock()
		},
		AuthChecks: func() {
			mu.Lock()
			counts[checked]++
			mu.Unlock()
		},
		AuthLimitExempt: exempt,
	})
	return h, logs, counts
}

func from(r *http.Request, addr string) *http.Request {
	r.RemoteAddr = addr
	return r
}

func withAuth(r *http.Request, value string) *http.Request {
	if value == "" {
		r.Header.Del("Authorization")
	} else {
		r.Header.Set("Authorization", value)
	}
	return r
}

// A client that keeps failing is answered 401 burst times, then 429 with
// Retry-After and a JSON error, without its credentials being compared: the
// right token and password from that address are refused the same way
// until it may try again; other addresses are not affected.
func TestFailedAuthIsRateLimited(t *testing.T) {
	const burst = 3
	h, logs, counts := limitedServer(t, burst)
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	attacker := "192.0.2.7:40000"
	for i := range burst {
		w := serve(from(withAuth(maasRequest("POST", "/v1/machines/node1/on"), "Bearer wrong-"+strconv.Itoa(i)), attacker))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s, want 401", i+1, w.Code, w.Body)
		}
	}
	for i := range 5 {
		w := serve(from(withAuth(maasRequest("GET", "/v1/machines/node1/status"), "Bearer wrong-again"), attacker))
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("refusal %d: %d %s, want 429", i+1, w.Code, w.Body)
		}
		secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
		if err != nil || secs < 1 || secs > 3600 {
			t.Errorf("Retry-After %q, want whole seconds up to the hour the next failure takes", w.Header().Get("Retry-After"))
		}
		var body struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "too many failed authentication attempts") {
			t.Errorf("429 body %q is not the JSON error", w.Body)
		}
		if w.Header().Get("Content-Length") == "" {
			t.Error("429 without Content-Length, which MAAS's client fails on")
		}
		if onRE.MatchString(w.Body.String()) || offRE.MatchString(w.Body.String()) {
			t.Errorf("429 body %q matches a power regex", w.Body)
		}

		// A right guess over the limit tells the guesser nothing.
		if w := serve(from(maasRequest("GET", "/v1/machines/node1/status"), attacker)); w.Code != http.StatusTooManyRequests {
			t.Fatalf("the right token from a limited address: %d %s, want 429", w.Code, w.Body)
		}
		if w := serve(from(basicRequest("admin", "pw"), "192.0.2.7:40001")); w.Code != http.StatusTooManyRequests {
			t.Fatalf("the right password from a limited address: %d %s, want 429", w.Code, w.Body)
		}
	}
	// /metrics's own token shares the limit.
	if w := serve(from(withAuth(httptest.NewRequest("GET", "/metrics", nil), "Bearer nope"), attacker)); w.Code != http.StatusTooManyRequests {
		t.Errorf("/metrics from a limited address: %d, want 429", w.Code)
	}
	if w := serve(from(withAuth(httptest.NewRequest("GET", "/metrics", nil), "Bearer metrics-t0ken"), attacker)); w.Code != http.StatusTooManyRequests {
		t.Errorf("/metrics with its token from a limited address: %d, want 429", w.Code)
	}
	// Another address has its own allowance.
	if w := serve(from(withAuth(maasRequest("GET", "/v1/machines"), ""), "198.51.100.9:5000")); w.Code != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", w.Code)
	}

	if n := logs.count(`msg="authentication failed"`); n != burst+1 {
		t.Errorf("%d 'authentication failed' lines, want %d (one per 401):\n%s", n, burst+1, logs)
	}
	if n := logs.count(`msg="authentication refused: too many failed attempts from this address"`); n != 1 {
		t.Errorf("%d refusal lines for 17 refusals in a minute, want 1:\n%s", n, logs)
	}
	// Compared: the burst of wrong tokens and the other address's request.
	want := map[string]int{AuthInvalid: burst, AuthMissing: 1, AuthRateLimited: 5*3 + 2, checked: burst + 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("auth failures counted %v, want %v", counts, want)
	}
	for _, secret := range []string{"wrong-0", "wrong-again", "nope", token, "metrics-t0ken"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
}

// However many requests one address sends at once, no more credentials are
// compared than the limit allows, and a request that authenticates gives
// back what it took.
func TestRateLimitedRequestsAreNotCompared(t *testing.T) {
	const burst = 3
	h, _, counts := limitedServer(t, burst)
	serve := func(r *http.Request) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	attacker := "192.0.2.7:40000"
	if code := serve(from(withAuth(maasRequest("GET", "/v1/machines/node1/status"), "Bearer wrong"), attacker)); code != http.StatusUnauthorized {
		t.Fatalf("first failure: %d, want 401", code)
	}
	for i := range 20 {
		if code := serve(from(maasRequest("GET", "/v1/machines/node1/status"), attacker)); code != http.StatusOK {
			t.Fatalf("right token %d after one failure: %d, want 200", i+1, code)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := serve(from(withAuth(maasRequest("GET", "/v1/machines/node1/status"), "Bearer wrong"), attacker))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// The successes gave back what they took: the burst less the first
	// failure is left for the 200 concurrent guesses.
	if want := map[int]int{401: burst - 1, 429: 200 - (burst - 1)}; fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("200 concurrent wrong tokens answered %v, want %v", codes, want)
	}
	if want := 1 + 20 + burst - 1; counts[checked] != want {
		t.Errorf("%d requests compared, want %d: the failures the limit allows and the right tokens", counts[checked], want)
	}
}

// An exempt address (MAAS's rack controller) is never held back, even when
// another client counted as the same address (its IPv6 /64) has used the
// limit up; that other client still is.
func TestAuthLimitExempt(t *testing.T) {
	const burst = 2
	h, _, counts := limitedServer(t, burst, netip.MustParsePrefix("2001:db8:1:2::10/128"), netip.MustParsePrefix("198.51.100.0/24"))
	serve := func(r *http.Request) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	rack, neighbour := "[2001:db8:1:2::10]:5000", "[2001:db8:1:2::99]:5000"
	for i := range burst + 3 {
		want := http.StatusUnauthorized
		if i >= burst {
			want = http.StatusTooManyRequests
		}
		if code := serve(from(withAuth(maasRequest("GET", "/v1/machines/node1/status"), "Bearer wrong"), neighbour)); code != want {
			t.Fatalf("neighbour's failure %d: %d, want %d", i+1, code, want)
		}
	}
	if code := serve(from(maasRequest("GET", "/v1/machines/node1/status"), neighbour)); code != http.StatusTooManyRequests {
		t.Errorf("the right token from the limited neighbour: %d, want 429", code)
	}
	if code := serve(from(maasRequest("GET", "/v1/machines/node1/status"), rack)); code != http.StatusOK {
		t.Errorf("the right token from the exempt address in the same /64: %d, want 200", code)
	}
	for i := range 20 {
		if code := serve(from(withAuth(maasRequest("GET", "/v1/machines/node1/status"), "Bearer wrong"), "198.51.100.7:1")); code != http.StatusUnauthorized {
			t.Fatalf("failure %d from an exempt prefix: %d, want 401", i+1, code)
		}
	}
	if code := serve(from(maasRequest("GET", "/v1/machines/node1/status"), "198.51.100.7:2")); code != http.StatusOK {
		t.Errorf("the right token from the exempt prefix after 20 failures: %d, want 200", code)
	}
	if want := burst + 1 + 20 + 1; counts[checked] != want {
		t.Errorf("%d requests compared, want %d", counts[checked], want)
	}
}

func basicRequest(user, pass string) *http.Request {
	r := maasRequest("GET", "/v1/machines/node1/status")
	r.SetBasicAuth(user, pass)
	return r
}

// The bucket refills at its rate, refusals are logged once a minute, and
// IPv6 clients are counted by their /64.
func TestAuthLimiterBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newAuthLimiter(2, 10*time.Second, nil)
	l.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.1")
	step := func(want string) {
		t.Helper()
		got := "401"
		if r := l.take(a); r != nil {
			got = fmt.Sprintf("429 after %s log %v", r.retryAfter, r.log)
		}
		if got != want {
			t.Errorf("at %s: %s, want %s", now.Format(time.TimeOnly), got, want)
		}
	}
	step("401")
	step("401")
	step("429 after 10s log true")
	now = now.Add(4 * time.Second)
	step("429 after 6s log false")
	now = now.Add(6 * time.Second)
	step("401")
	step("429 after 10s log false")
	now = now.Add(time.Minute)
	step("401")
	step("401")
	step("429 after 10s log true")

	req := func(remote string) *http.Request { return from(httptest.NewRequest("GET", "/", nil), remote) }
	for _, tc := range []struct{ a, b string }{
		{"[2001:db8:1:2::1]:80", "[2001:db8:1:2:ffff::9]:443"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1:81"},
	} {
		if x, y := clientAddr(req(tc.a)), clientAddr(req(tc.b)); x != y {
			t.Errorf("%s and %s count as %s and %s, want one address", tc.a, tc.b, x, y)
		}
	}
	if x, y := clientAddr(req("[2001:db8:1:2::1]:80")), clientAddr(req("[2001:db8:1:3::1]:80")); x == y {
		t.Errorf("two /64s count as one address %s", x)
	}
}

// However many addresses fail, the limiter remembers a bounded number, and
// forgets first the ones that hold nothing against anyone.
func TestAuthLimiterMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newAuthLimiter(1, time.Second, nil)
	l.now = func() time.Time { return now }
	l.max = 100
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range 99 {
		l.take(addr(i))
	}
	now = now.Add(time.Minute) // they have all refilled
	limited := addr(5000)
	l.take(limited)
	if l.take(limited) == nil {
		t.Fatal("the second failure with a burst of 1 was not refused")
	}
	for i := range 50 {
		l.take(addr(10_000 + i))
	}
	if n := l.size(); n != 51 {
		t.Errorf("%d addresses remembered, want 51: the 99 refilled ones forgotten, the limited one and 50 new ones kept", n)
	}
	if l.take(limited) == nil {
		t.Error("the limited address was forgotten while others had nothing against them")
	}
	// A flood from more addresses than it holds, none of them refilled.
	for i := range 10_000 {
		l.take(addr(20_000 + i))
		if n := l.size(); n > l.max {
			t.Fatalf("%d addresses remembered, more than %d", n, l.max)
		}
	}
}
