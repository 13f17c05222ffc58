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
// A request takes a token before its credentials are looked at and gives
// it back when they are right; while its address's bucket is empty, it is
// answered 429 without being compared at all. So however fast a client
// sends, and whether or not it heeds 429, the guesses compared per address
// are at most burst plus one per interval, and a right guess made over the
// limit is refused like a wrong one: it tells the guesser nothing.
//
// The price is that MAAS's right token is refused too while its address is
// over the limit: an attacker sharing the address of a rack controller (the
// same host, a NAT, an IPv6 /64) could hold MAAS back. Addresses in
// Config.AuthLimitExempt (MAAS's rack controllers) are never limited.
type authLimiter struct {
	burst  float64
	every  time.Duration
	max    int
	now    func() time.Time
	exempt []netip.Prefix

	mu      sync.Mutex
	clients map[netip.Addr]*bucket
}

type bucket struct {
	tokens  float64   // failures the address may still make
	at      time.Time // when tokens was last brought up to date
	logged  time.Time // when its refusals were last logged
	refused int       // refusals since then
}

func newAuthLimiter(burst int, every time.Duration, exempt []netip.Prefix) *authLimiter {
	if burst <= 0 {
		burst = DefaultAuthFailureBurst
	}
	if every <= 0 {
		every = DefaultAuthFailureEvery
	}
	return &authLimiter{burst: float64(burst), every: every, max: authLimitAddresses, now: time.Now,
		exempt: exempt, clients: map[netip.Addr]*bucket{}}
}

// refill brings b's tokens up to now.
func (l *authLimiter) refill(b *bucket, now time.Time) {
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
}

// refusal is the outcome of an attempt the limiter refused.
type refusal struct {
	retryAfter time.Duration
	log        bool // the first refusal of this address in refusalLogEvery
	refused    int  // refusals of this address the log line covers
}

// isExempt tells whether remote (the request's own address, not the one it
// is counted as) is never limited.
func (l *authLimiter) isExempt(remote netip.Addr) bool {
	for _, p := range l.exempt {
		if p.Contains(remote) {
			return true
		}
	}
	return false
}

// take spends one of addr's failures on an attempt about to be checked. It
// returns nil when the address had one (check the credentials, and give it
// back with give when they are right), or the refusal (answer 429, compare
// nothing) when it had none.
func (l *authLimiter) take(addr netip.Addr) *refusal {
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

// give returns the failure take spent, for an attempt that authenticated.
func (l *authLimiter) give(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.clients[addr]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// makeRoom keeps the map under its bound: first it forgets the addresses
// whose buckets are full again (they hold nothing against anyone), then, if
// that was not enough, the one touched longest ago. l.mu is held.
func (l *authLimiter) makeRoom(now time.Time) {
	if len(l.clients) < l.max {
		return
	}
	var oldest netip.Addr
	var oldestAt time.Time
	for a, b := range l.clients {
		full := b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst
		if full && now.Sub(b.logged) >= refusalLogEvery {
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

// remoteAddr is the IP a request came from, or the zero Addr when
// RemoteAddr holds none.
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// clientAddr is the address a request came from, as the limiter counts it:
// RemoteAddr's IP, with an IPv6 address taken as its /64, which one client
// usually has whole.
func clientAddr(r *http.Request) netip.Addr {
	a := remoteAddr(r)
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return a // the zero Addr: one bucket for whatever RemoteAddr holds
}

// guard checks a request's credentials with check, after the limit: a
// request from an address that has failed too often is answered 429 before
// its credentials are looked at. It answers a refused request itself and
// returns ok false; challenge and msg are the 401's.
func (s *Server) guard(w http.ResponseWriter, r *http.Request, check func(*http.Request) (string, bool), challenge, msg string) (string, bool) {
	if s.limiter.isExempt(remoteAddr(r)) {
		who, ok := s.check(r, check)
		if !ok {
			s.unauthorized(w, r, challenge, msg)
		}
		return who, ok
	}
	addr := clientAddr(r)
	if ref := s.limiter.take(addr); ref != nil {
		s.tooMany(w, r, addr, ref)
		return "", false
	}
	who, ok := s.check(r, check)
	if !ok {
		s.unauthorized(w, r, challenge, msg)
		return "", false
	}
	s.limiter.give(addr)
	return who, true
}

// check runs check and counts it: the count is of requests whose
// credentials were compared, which the limit bounds.
func (s *Server) check(r *http.Request, check func(*http.Request) (string, bool)) (string, bool) {
	if s.cfg.AuthChecks != nil {
		s.cfg.AuthChecks()
	}
	return check(r)
}

// tooMany answers a request from an address over its limit: 429 with
// Retry-After, logged once per address per minute.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, addr netip.Addr, ref *refusal) {
	s.countAuthFailure(AuthRateLimited)
	secs := int(math.Ceil(ref.retryAfter.Seconds()))
	secs = max(secs, 1)
	if ref.log {
		s.log.Warn("authentication refused: too many failed attempts from this address", "remote", r.RemoteAddr,
			"refused", ref.refused, "retry_after", strconv.Itoa(secs)+"s", "next_line_in", refusalLogEvery)
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed authentication attempts from %s; try again in %ds", addr, secs))
}

// unauthorized answers a request whose credentials failed: 401 with a
// challenge, logged. Neither the log nor the answer holds what the request
// sent as credentials.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, challenge, msg string) {
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
