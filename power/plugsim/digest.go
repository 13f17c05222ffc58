package plugsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxNonces bounds the nonces a plug remembers; the oldest are forgotten.
const maxNonces = 64

// digest guards a Gen2 route with HTTP digest auth as Shelly does it
// (RFC 7616, SHA-256, qop auth, realm the device id), when a password is
// set. A nonce may be used again with a higher nonce count.
func (p *Plug) digest(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p.opts.Password == "" || p.digestOK(r) {
			h(w, r)
			return
		}
		p.mu.Lock()
		if r.Header.Get("Authorization") != "" {
			p.authFail++ // a first request without credentials is only challenged
		}
		p.nonceSeq++
		nonce := strconv.Itoa(1700000000 + p.nonceSeq)
		if len(p.nonces) >= maxNonces {
			clear(p.nonces)
		}
		p.nonces[nonce] = 0
		p.mu.Unlock()
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Digest qop="auth", realm="%s", nonce="%s", algorithm=SHA-256`, p.id, nonce))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"code":401,"message":"Unauthorized"}`)
	}
}

// ForgetNonces drops every digest nonce given out, as a Shelly does when
// it reboots or its nonces expire: a client's next request on an old
// nonce is challenged again.
func (p *Plug) ForgetNonces() {
	p.mu.Lock()
	clear(p.nonces)
	p.mu.Unlock()
}

// digestOK checks the request's Authorization against the password.
func (p *Plug) digestOK(r *http.Request) bool {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Digest ")
	if !ok {
		return false
	}
	f := authParams(auth)
	if f["username"] != p.opts.User || f["realm"] != p.id || f["uri"] != r.URL.RequestURI() ||
		!strings.EqualFold(f["algorithm"], "SHA-256") || f["qop"] != "auth" || f["cnonce"] == "" {
		return false
	}
	nc, err := strconv.ParseUint(f["nc"], 16, 32)
	if err != nil {
		return false
	}
	h := func(parts ...string) string {
		s := sha256.Sum256([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(s[:])
	}
	want := h(h(p.opts.User, p.id, p.opts.Password), f["nonce"], f["nc"], f["cnonce"], "auth", h(r.Method, f["uri"]))
	if subtle.ConstantTimeCompare([]byte(want), []byte(f["response"])) != 1 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	last, known := p.nonces[f["nonce"]]
	if !known || uint32(nc) <= last {
		return false // a nonce this plug never gave, or a replay
	}
	p.nonces[f["nonce"]] = uint32(nc)
	return true
}

// authParams reads an Authorization header's key=value parameters.
func authParams(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(rest[1:min(end, len(rest))])
			rest = rest[min(end+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		s = rest
	}
	return out
}
