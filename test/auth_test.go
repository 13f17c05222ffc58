package test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
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
// times, then 429 with Retry-After, logged once; MAAS's token from that
// same address is never held back, and another address is not affected.
// powerbridge_auth_failures_total counts each by reason.
func TestFailedAuthenticationIsRateLimited(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	attacker, other := fromAddress("127.0.0.7"), fromAddress("127.0.0.8")
	call := func(c *http.Client, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, b.URL+"/v1/machines/node1/status", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if took := time.Since(start); took > 2*time.Second+boundSlack {
			t.Errorf("answered after %s", took)
		}
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
		if i%3 == 0 {
			if resp := call(attacker, maasToken); resp.StatusCode != 200 {
				t.Fatalf("MAAS's token from the limited address: %d", resp.StatusCode)
			}
		}
	}
	if got, want := strings.Join(codes, " "), strings.TrimSpace(strings.Repeat("401 ", 10)+strings.Repeat("429 ", 4)); got != want {
		t.Errorf("answers to 14 wrong tokens: %s\nwant %s", got, want)
	}
	if resp := call(other, "guess"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", resp.StatusCode)
	}
	// The log comes through a pipe and may trail the answers.
	waitUntil(t, 5*time.Second, "the refusal and the 11 failures are logged", func() bool {
		return len(b.logs.lines(`msg="authentication refused`)) > 0 && len(b.logs.lines(`msg="authentication failed"`)) >= 11
	})
	if n := len(b.logs.lines(`msg="authentication refused`)); n != 1 {
		t.Errorf("%d refusal lines for 4 refusals, want 1", n)
	}
	if n := len(b.logs.lines(`msg="authentication failed"`)); n != 11 {
		t.Errorf("%d 'authentication failed' lines, want 11 (one per 401)", n)
	}
	_, scrape := get(t, b.URL+"/metrics", "")
	for series, want := range map[string]float64{
		`powerbridge_auth_failures_total{reason="invalid"}`:      11,
		`powerbridge_auth_failures_total{reason="rate-limited"}`: 4,
		`powerbridge_auth_failures_total{reason="missing"}`:      0,
	} {
		if v, ok := sample(scrape, series); !ok || v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
}
