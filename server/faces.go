package server

import (
	"math"
	"net/http"
	"time"
)

// Face is another HTTP face of the same domain (Redfish) served on this
// listener under Prefix. New is given the server's Gate, so that a failed
// login on any face counts against the same per-address limit.
type Face struct {
	Prefix string
	New    func(Gate) http.Handler
	// Root, when true, also gives the face GET / (the web page), seen by
	// its handler as the path "/".
	Root bool
}

// Gate is the server's failed-authentication limit, for a face that shapes
// its own answers (Redfish's error format is not the API's).
type Gate interface {
	// Admit runs check on r under the limit. ok is true when r
	// authenticated; otherwise retryAfter is zero when r is to be answered
	// 401, or how long its address must wait when it is over its limit
	// (429). Refusals are logged and counted as on the API's routes, never
	// with what r sent as credentials.
	Admit(r *http.Request, check func(*http.Request) (string, bool)) (principal string, ok bool, retryAfter time.Duration)
}

// Admit implements Gate with the limit of the API's own routes, in their
// order: a try is taken from r's address before its credentials are
// compared, and given back when they are right, so that an address with
// none left is refused before check runs (issue 12 item 4). Addresses in
// AuthLimitExempt are never held back.
func (s *Server) Admit(r *http.Request, check func(*http.Request) (string, bool)) (string, bool, time.Duration) {
	exempt := s.limiter.isExempt(remoteAddr(r))
	addr := clientAddr(r)
	if !exempt {
		if ref := s.limiter.take(addr); ref != nil {
			s.countAuthFailure(AuthRateLimited)
			wait := max(time.Duration(math.Ceil(ref.retryAfter.Seconds()))*time.Second, time.Second)
			if ref.log {
				s.log.Warn("authentication refused: too many failed attempts from this address", "remote", r.RemoteAddr,
					"refused", ref.refused, "retry_after", wait.String(), "next_line_in", refusalLogEvery)
			}
			return "", false, wait
		}
	}
	if who, ok := s.check(r, check); ok {
		if !exempt {
			s.limiter.give(addr)
		}
		return who, true, 0
	}
	reason := AuthInvalid
	if r.Header.Get("X-Auth-Token") == "" {
		if scheme := authScheme(r); scheme == "none" || scheme == "other" {
			reason = AuthMissing
		}
	}
	s.countAuthFailure(reason)
	s.log.Warn("authentication failed", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path,
		"scheme", authScheme(r), "reason", reason)
	return "", false, 0
}
