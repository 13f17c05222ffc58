package maastest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SetKey changes the API key the fake accepts.
func (s *Server) SetKey(key string) {
	p := strings.Split(key, ":")
	if len(p) != 3 {
		s.tb.Fatalf("maastest: bad key %q", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consumer, s.token, s.secret = p[0], p[1], p[2]
}

// authorized checks the OAuth header the way MAAS (piston3's OAuth) does.
// Wrong credentials are a 401; a malformed header is also a client bug.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "OAuth ") {
		s.violation("%s %s: no OAuth Authorization header", r.Method, r.URL.Path)
		writeStatus(w, http.StatusUnauthorized, "Authorization Required")
		return false
	}
	params := s.oauthParams(strings.TrimPrefix(h, "OAuth "))
	for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature", "oauth_nonce", "oauth_timestamp"} {
		if params[k] == "" {
			s.violation("OAuth header lacks %s", k)
			writeStatus(w, http.StatusUnauthorized, "Missing OAuth parameter: "+k)
			return false
		}
	}
	if v, ok := params["oauth_version"]; ok && v != "1.0" {
		s.violation("oauth_version is %q, not 1.0", v)
	}
	if params["oauth_signature_method"] != "PLAINTEXT" {
		s.violation("oauth_signature_method is %q; the client signs PLAINTEXT", params["oauth_signature_method"])
		writeStatus(w, http.StatusUnauthorized, "Invalid signature method")
		return false
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	if err != nil {
		s.violation("oauth_timestamp %q is not an integer number of seconds", params["oauth_timestamp"])
		writeStatus(w, http.StatusBadRequest, "Invalid timestamp")
		return false
	}
	if d := s.Now().Unix() - ts; d > 300 || d < -300 {
		writeStatus(w, http.StatusBadRequest, fmt.Sprintf("Expired timestamp: given %d and now %d has a greater difference than threshold 300", ts, s.Now().Unix()))
		return false
	}
	if params["oauth_consumer_key"] != s.consumer {
		writeStatus(w, http.StatusUnauthorized, "Invalid consumer.")
		return false
	}
	if params["oauth_token"] != s.token {
		writeStatus(w, http.StatusUnauthorized, "Invalid access token: "+params["oauth_token"])
		return false
	}
	// MAAS records the nonce before it checks the signature: a retry with
	// the same nonce fails even when the first attempt's signature was wrong.
	nonceKey := params["oauth_consumer_key"] + "\x00" + params["oauth_token"] + "\x00" + params["oauth_nonce"]
	if s.nonces[nonceKey] {
		s.violation("nonce %q used twice; MAAS refuses every reuse", params["oauth_nonce"])
		writeStatus(w, http.StatusUnauthorized, "Nonce already used: "+params["oauth_nonce"])
		return false
	}
	s.nonces[nonceKey] = true
	if params["oauth_signature"] != "&"+s.secret {
		// MAAS's real answer, secret and all: the trap a client must not print.
		writeStatus(w, http.StatusUnauthorized, "Invalid signature. Expected signature base string: &"+s.secret)
		return false
	}
	return true
}

// oauthParams reads the OAuth header's key="value" pairs; what a real MAAS
// would misread is a violation.
func (s *Server) oauthParams(h string) map[string]string {
	params := map[string]string{}
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			s.violation("OAuth header part %q is not key=\"value\"", part)
			continue
		}
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			s.violation("OAuth header value of %s is not quoted", k)
		}
		uv, err := url.PathUnescape(strings.Trim(v, `"`))
		if err != nil {
			s.violation("OAuth header value of %s is not percent-encoded properly", k)
		}
		if _, dup := params[k]; dup {
			s.violation("OAuth header repeats %s", k)
		}
		params[k] = uv
	}
	return params
}
