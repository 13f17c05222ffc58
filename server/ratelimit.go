package server

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Defaults of the failed-authentication limit (Config.AuthFailureBurst and
// AuthFailureEvery): ten failures at once, then one more every six seconds.
const (
	DefaultAuthFailureBurst = 10
	DefaultAuthFailureEvery = 6 * time.Second
	// authLimitAddresses bounds the addresses remembered; beyond it, the
	// ones that have nothing left to hold against them go first.
	authLimitAddresses = 4096
	// refusalLogEvery spaces the log lines about one address's refusals.
	refusalLogEvery = time.Minute
)

// authLimiter limits failed authentication per client address with a token
// bucket: an address may fail burst times, then once more every interval.
// While its bucket is empty, a request from it that fails authentication
// is answered 429 rather than 401.
//
// Credentials are checked before the limiter is asked, so a request that
// authenticates is never refused or slowed, whatever its address has done:
// MAAS sends every machine's power requests from its rack controllers, and
// one machine with a stale token must not lock the others out. The limit
// bounds what a failing client costs (log lines, hashing, answers) and
// tells it to back off; it is not what keeps a guesser out, which is the
// length of the tokens.
type authLimiter struct {
	burst float64
	every time.Duration
	max   int
	now   func() time.Time

	mu      sync.Mutex
	clients map[netip.Addr]*bucket
}

type bucket struct {
	tokens  float64   // failures the address may still make
	at      time.Time // when tokens was last brought up to date
	logged  time.Time // when its refusals were last logged
	refused int       // refusals since then
}

func newAuthLimiter(burst int, every time.Duration) *authLimiter {
	if burst <= 0 {
		burst = DefaultAuthFailureBurst
	}
	if every <= 0 {
		every = DefaultAuthFailureEvery
	}
	return &authLimiter{burst: float64(burst), every: every, max: authLimitAddresses, now: time.Now, clients: map[netip.Addr]*bucket{}}
}

// refill brings b's tokens up to now.
func (l *authLimiter) refill(b *bucket, now time.Time) {
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
}

// refusal is the outcome of a failed attempt the limiter refused.
type refusal struct {
	retryAfter time.Duration
	log        bool // the first refusal of this address in refusalLogEvery
	refused    int  // refusals of this address the log line covers
}

// fail records a failed authentication from addr. It returns nil when the
// address still had a failure to spend (answer 401), or the refusal (answer
// 429) when it had none.
func (l *authLimiter) fail(addr netip.Addr) *refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.clients[addr]
	if b == nil {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, at: now}
		l.clients[addr] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	b.refused++
	r := &refusal{retryAfter: time.Duration((1 - b.tokens) * float64(l.every))}
	if now.Sub(b.logged) >= refusalLogEvery {
		r.log, r.refused = true, b.refused
		b.logged, b.refused = now, 0
	}
	return r
}

// makeRoom keeps the map under its bound: first it forgets the addresses
// whose buckets have filled up again (they hold nothing against anyone),
// then, if that was not enough, the one touched longest ago. l.mu is held.
func (l *authLimiter) makeRoom(now time.Time) {
	if len(l.clients) < l.max {
		return
	}
	var oldest netip.Addr
	var oldestAt time.Time
	for a, b := range l.clients {
		if now.Sub(b.at) >= time.Duration(l.burst*float64(l.every)) && now.Sub(b.logged) >= refusalLogEvery {
			delete(l.clients, a)
			continue
		}
		if oldestAt.IsZero() || b.at.Before(oldestAt) {
			oldest, oldestAt = a, b.at
		}
	}
	if len(l.clients) >= l.max {
		delete(l.clients, oldest)
	}
}

// size is how many addresses the limiter remembers.
func (l *authLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// clientAddr is the address a request came from, as the limiter counts it:
// RemoteAddr's IP, with an IPv6 address taken as its /64, which one client
// usually has whole.
func clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{} // one bucket for whatever this is
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return a
}

// refuse answers a request whose credentials failed: 401 with a challenge
// while its address may still fail, 429 with Retry-After once it may not.
// Each 401 is logged; 429s once per address per minute. Neither the log
// nor the answer holds what the request sent as credentials.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, challenge, msg string) {
	addr := clientAddr(r)
	if ref := s.limiter.fail(addr); ref != nil {
		s.countAuthFailure(AuthRateLimited)
		secs := int(math.Ceil(ref.retryAfter.Seconds()))
		secs = max(secs, 1)
		if ref.log {
			s.log.Warn("authentication refused: too many failed attempts from this address", "remote", r.RemoteAddr,
				"refused", ref.refused, "retry_after", strconv.Itoa(secs)+"s", "next_line_in", refusalLogEvery)
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed authentication attempts from %s; try again in %ds", addr, secs))
		return
	}
	reason := AuthInvalid
	if scheme := authScheme(r); scheme == "none" || scheme == "other" {
		reason = AuthMissing
	}
	s.countAuthFailure(reason)
	s.log.Warn("authentication failed", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path,
		"scheme", authScheme(r), "reason", reason)
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, msg)
}

func (s *Server) countAuthFailure(reason string) {
	if s.cfg.AuthFailures != nil {
		s.cfg.AuthFailures(reason)
	}
}
