package test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fromAddress is maasClient dialling from a loopback address of its own, a
// client host of its own as far as the bridge can tell.
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		DisableKeepAlives: true,
	}}
}

// A client address that keeps failing authentication is answered 401 ten
// times, then 429 with Retry-After, logged once; from then on MAAS's right
// token from that same address is refused too (429, not compared), while
// another address is not affected, and an address in
// auth.rate_limit_exempt (a rack controller's) is never held back.
// powerbridge_auth_failures_total counts each by reason.
func TestFailedAuthenticationIsRateLimited(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, strings.Replace(maasConfig(pdu), "\nauth:\n", "\nauth:\n  rate_limit_exempt: [127.0.0.9]\n", 1))
	attacker, other, rack := fromAddress("127.0.0.7"), fromAddress("127.0.0.8"), fromAddress("127.0.0.9")
	call := func(c *http.Client, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, b.URL+"/v1/machines/node1/status", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var codes []string
	for i := range 14 {
		resp := call(attacker, "guess-"+strconv.Itoa(i))
		codes = append(codes, strconv.Itoa(resp.StatusCode))
		if resp.StatusCode == http.StatusTooManyRequests {
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
			}
		}
		// Under the limit, MAAS's token goes through and costs nothing.
		if i%3 == 0 && i < 9 {
			if resp := call(attacker, maasToken); resp.StatusCode != 200 {
				t.Fatalf("MAAS's token from an address under its limit: %d", resp.StatusCode)
			}
		}
	}
	if got, want := strings.Join(codes, " "), strings.TrimSpace(strings.Repeat("401 ", 10)+strings.Repeat("429 ", 4)); got != want {
		t.Errorf("answers to 14 wrong tokens: %s\nwant %s", got, want)
	}
	if resp := call(attacker, maasToken); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("MAAS's token from the limited address: %d, want 429", resp.StatusCode)
	}
	if resp := call(other, "guess"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", resp.StatusCode)
	}
	for i := range 14 {
		if resp := call(rack, "guess-"+strconv.Itoa(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d from the exempt address: %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := call(rack, maasToken); resp.StatusCode != http.StatusOK {
		t.Errorf("MAAS's token from the exempt address after 14 failures: %d, want 200", resp.StatusCode)
	}
	// The log comes through a pipe and may trail the answers.
	waitUntil(t, 5*time.Second, "the refusal and the 25 failures are logged", func() bool {
		return len(b.logs.lines(`msg="authentication refused`)) > 0 && len(b.logs.lines(`msg="authentication failed"`)) >= 25
	})
	if n := len(b.logs.lines(`msg="authentication refused`)); n != 1 {
		t.Errorf("%d refusal lines for 5 refusals, want 1", n)
	}
	if n := len(b.logs.lines(`msg="authentication failed"`)); n != 25 {
		t.Errorf("%d 'authentication failed' lines, want 25 (one per 401)", n)
	}
	_, scrape := get(t, b.URL+"/metrics", "")
	for series, want := range map[string]float64{
		`powerbridge_auth_failures_total{reason="invalid"}`:      25,
		`powerbridge_auth_failures_total{reason="rate-limited"}`: 5,
		`powerbridge_auth_failures_total{reason="missing"}`:      0,
		// 25 wrong tokens and 4 right ones; the 5 refused were not compared.
		`powerbridge_auth_checks_total`: 29,
	} {
		if v, ok := sample(scrape, series); !ok || v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
}

// Issue 12 item 4: a client that ignores 429 and sends as fast as it can
// over one keep-alive connection gets no more guesses compared than the
// limit's burst and refills allow over the time it spent, and the right
// token, sent while over the limit, is answered 429 like any other guess.
func TestFailedLoginLimitSlowsGuessing(t *testing.T) {
	const (
		burst = 10              // server.DefaultAuthFailureBurst
		every = 6 * time.Second // server.DefaultAuthFailureEvery
		sends = 3000
	)
	_, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}}
	var dials atomic.Int32
	guesser := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, n, a)
		},
		MaxConnsPerHost: 1,
	}}
	send := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, b.URL+"/v1/machines/node1/status", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := guesser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	start := time.Now()
	codes := map[int]int{}
	for i := range sends {
		codes[send(fmt.Sprintf("guess-%06d", i))]++
	}
	right := send(maasToken)
	_, scrape := get(t, b.URL+"/metrics", "")
	elapsed := time.Since(start)

	if right != http.StatusTooManyRequests {
		t.Errorf("the right token sent over the limit: %d, want 429 (a right guess must not stand out)", right)
	}
	t.Logf("%d guesses and the right token sent over %d connection(s) in %s (%.0f/s), answered %v and %d",
		sends, dials.Load(), elapsed.Round(time.Millisecond), float64(sends+1)/elapsed.Seconds(), codes, right)
	compared, ok := sample(scrape, "powerbridge_auth_checks_total")
	if !ok {
		t.Fatal("no powerbridge_auth_checks_total in the scrape")
	}
	bound := burst + int(elapsed/every) + 1
	t.Logf("%.0f compared (%.1f/s), bound %d", compared, compared/elapsed.Seconds(), bound)
	if compared < burst || compared > float64(bound) {
		t.Errorf("%.0f requests compared, want from the burst of %d up to %d (the burst and a refill every %s over %s)",
			compared, burst, bound, every, elapsed.Round(time.Millisecond))
	}
	if codes[http.StatusUnauthorized] > bound || codes[http.StatusUnauthorized] < burst {
		t.Errorf("%d guesses answered 401, want from %d to %d", codes[http.StatusUnauthorized], burst, bound)
	}
	if codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != sends {
		t.Errorf("guesses answered %v, want only 401 and 429", codes)
	}
}
