package plug

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// challenge is one Digest challenge of a WWW-Authenticate header (RFC 7616
// section 3.3).
type challenge struct {
	realm, nonce, opaque, algorithm string
	qopAuth                         bool // the server offers qop "auth"
	qopOffered                      bool // the server named a qop at all
	userhash                        bool
	stale                           bool
}

// digestAlgorithms are the algorithms the client answers, strongest first:
// a server offering several (one challenge each) gets SHA-256.
var digestAlgorithms = []string{"SHA-512-256", "SHA-512-256-SESS", "SHA-256", "SHA-256-SESS", "MD5", "MD5-SESS"}

// pickChallenge parses the WWW-Authenticate values of a 401 and returns the
// Digest challenge with the strongest algorithm the client knows.
func pickChallenge(headers []string) (challenge, error) {
	var best challenge
	rank := len(digestAlgorithms)
	seen := false
	for _, h := range headers {
		for _, c := range splitChallenges(h) {
			seen = true
			r := indexFold(digestAlgorithms, c.algorithm)
			if r >= 0 && r < rank {
				best, rank = c, r
			}
		}
	}
	switch {
	case rank < len(digestAlgorithms):
		return best, nil
	case seen:
		return challenge{}, fmt.Errorf("the plug asks for a digest algorithm this client does not speak (%s)", strings.Join(headers, "; "))
	}
	return challenge{}, fmt.Errorf("the plug asks for authentication but offers no Digest challenge (%q)", strings.Join(headers, "; "))
}

func indexFold(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// splitChallenges reads the Digest challenges of one header value. A value
// may hold several challenges of several schemes, comma-separated like their
// parameters; a token followed by a space and no '=' starts a new one.
func splitChallenges(h string) []challenge {
	var out []challenge
	var cur *challenge
	for _, part := range splitParams(h) {
		part = strings.TrimSpace(part)
		if scheme, rest, ok := strings.Cut(part, " "); ok && !strings.Contains(scheme, "=") {
			if cur != nil {
				out = append(out, *cur)
			}
			cur = nil
			if strings.EqualFold(scheme, "Digest") {
				cur = &challenge{algorithm: "MD5"} // RFC 7616 3.3: absent means MD5
			}
			part = strings.TrimSpace(rest)
		}
		if cur == nil || part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		v = unquote(strings.TrimSpace(v))
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "realm":
			cur.realm = v
		case "nonce":
			cur.nonce = v
		case "opaque":
			cur.opaque = v
		case "algorithm":
			cur.algorithm = v
		case "qop":
			cur.qopOffered = true
			for _, q := range strings.Split(v, ",") {
				cur.qopAuth = cur.qopAuth || strings.EqualFold(strings.TrimSpace(q), "auth")
			}
		case "userhash":
			cur.userhash = strings.EqualFold(v, "true")
		case "stale":
			cur.stale = strings.EqualFold(v, "true")
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// unquote reads a token or quoted-string.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	escaped := false
	for _, r := range v[1 : len(v)-1] {
		if r == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return b.String()
}

// splitParams splits on commas outside quoted strings.
func splitParams(h string) []string {
	var parts []string
	quoted, escaped, start := false, false, 0
	for i, r := range h {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quoted:
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			parts = append(parts, h[start:i])
			start = i + 1
		}
	}
	return append(parts, h[start:])
}

// digestResponse is what the client computes for one request.
type digestResponse struct {
	username, realm, uri, algorithm, nonce, nc, cnonce, qop, response, opaque string
	userhash                                                                  bool
}

// answer computes the Authorization for method and uri (the request-target
// as sent) under challenge c, with nonce count nc and client nonce cnonce
// (RFC 7616 section 3.4).
func (c challenge) answer(user, password, method, uri string, nc uint32, cnonce string) (digestResponse, error) {
	alg := strings.ToUpper(c.algorithm)
	var h func() hash.Hash
	switch strings.TrimSuffix(alg, "-SESS") {
	case "SHA-256":
		h = sha256.New
	case "SHA-512-256":
		h = sha512.New512_256
	case "MD5":
		h = md5.New
	default:
		return digestResponse{}, fmt.Errorf("digest algorithm %q is not supported", c.algorithm)
	}
	if c.qopOffered && !c.qopAuth {
		return digestResponse{}, fmt.Errorf("the plug offers no digest qop this client speaks (only auth)")
	}
	hh := func(parts ...string) string { return hashHex(h, strings.Join(parts, ":")) }
	ha1 := hh(user, c.realm, password)
	if strings.HasSuffix(alg, "-SESS") {
		ha1 = hh(ha1, c.nonce, cnonce)
	}
	ha2 := hh(method, uri)
	r := digestResponse{
		username: user, realm: c.realm, uri: uri, algorithm: c.algorithm,
		nonce: c.nonce, opaque: c.opaque, userhash: c.userhash,
	}
	if c.userhash {
		r.username = hh(user, c.realm)
	}
	if c.qopAuth {
		r.qop, r.cnonce, r.nc = "auth", cnonce, fmt.Sprintf("%08x", nc)
		r.response = hh(ha1, c.nonce, r.nc, cnonce, r.qop, ha2)
	} else {
		// RFC 2069 compatibility: no qop, no client nonce.
		r.response = hh(ha1, c.nonce, ha2)
	}
	return r, nil
}

func hashHex(h func() hash.Hash, s string) string {
	d := h()
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}

// header is the Authorization header's value.
func (r digestResponse) header() string {
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%s, realm=%s, uri=%s, algorithm=%s, nonce=%s`,
		quote(r.username), quote(r.realm), quote(r.uri), r.algorithm, quote(r.nonce))
	if r.qop != "" {
		fmt.Fprintf(&b, `, nc=%s, cnonce=%s, qop=%s`, r.nc, quote(r.cnonce), r.qop)
	}
	fmt.Fprintf(&b, `, response=%s`, quote(r.response))
	if r.opaque != "" {
		fmt.Fprintf(&b, `, opaque=%s`, quote(r.opaque))
	}
	if r.userhash {
		b.WriteString(", userhash=true")
	}
	return b.String()
}

// quote makes s an HTTP quoted-string (RFC 9110 5.6.4).
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// newCnonce is a fresh client nonce.
func newCnonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
