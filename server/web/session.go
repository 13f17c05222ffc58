package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// CookieName is the session cookie's name.
const CookieName = "powerbridge_session"

// CSRFHeader carries a session's CSRF token on every request that changes
// something; the page reads the token from its state.
const CSRFHeader = "X-CSRF-Token"

// maxSessions bounds the sessions kept at once: a sign-in beyond it ends
// the session used least recently.
const maxSessions = 1000

// session is one signed-in browser. Only the SHA-256 of its cookie is kept,
// so that the table holds nothing a browser could present.
type session struct {
	principal string
	csrf      string
	created   time.Time
	used      time.Time
}

type sessions struct {
	idle, max time.Duration
	mu        sync.Mutex
	byHash    map[[32]byte]*session
}

func newSessions(idle, max time.Duration) *sessions {
	return &sessions{idle: idle, max: max, byHash: map[[32]byte]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for principal and returns its cookie value.
func (s *sessions) create(principal string, now time.Time) string {
	tok := randomToken()
	sess := &session{principal: principal, csrf: randomToken(), created: now, used: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if len(s.byHash) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		for h, x := range s.byHash {
			if at.IsZero() || x.used.Before(at) {
				oldest, at = h, x.used
			}
		}
		delete(s.byHash, oldest)
	}
	s.byHash[sha256.Sum256([]byte(tok))] = sess
	return tok
}

// expire drops the sessions past their time. Called with s.mu held.
func (s *sessions) expire(now time.Time) {
	for h, x := range s.byHash {
		if !s.live(x, now) {
			delete(s.byHash, h)
		}
	}
}

func (s *sessions) live(x *session, now time.Time) bool {
	return now.Sub(x.used) < s.idle && now.Sub(x.created) < s.max
}

// lookup returns the live session of a cookie value, marked used.
func (s *sessions) lookup(tok string, now time.Time) (session, bool) {
	h := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.byHash[h]
	if !ok {
		return session{}, false
	}
	if !s.live(x, now) {
		delete(s.byHash, h)
		return session{}, false
	}
	x.used = now
	return *x, true
}

func (s *sessions) end(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byHash, sha256.Sum256([]byte(tok)))
}

type sessionKey struct{}

// current is the session of a request that came through f.session.
func current(r *http.Request) session { return r.Context().Value(sessionKey{}).(session) }

// session lets in only a request with a live session cookie.
func (f *face) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil {
			writeJSON(w, http.StatusUnauthorized, answer{Error: "not signed in: sign in with a user of auth.users, or a token"})
			return
		}
		sess, ok := f.sessions.lookup(c.Value, time.Now())
		if ok && f.cfg.Known != nil && !f.cfg.Known(r, sess.principal) {
			f.sessions.end(c.Value)
			f.log.Warn("web: ended the session of a principal no longer configured", "principal", sess.principal, "remote", r.RemoteAddr)
			ok = false
		}
		if !ok {
			writeJSON(w, http.StatusUnauthorized, answer{Error: "the session has ended (signed out, expired, or the service restarted): sign in again"})
			return
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, sess)
		next.ServeHTTP(w, r.WithContext(power.WithPrincipal(ctx, sess.principal)))
	})
}

// changing lets through a request that changes something only with the
// session's CSRF token, and only from the page's own origin when the
// browser names one. The cookie is SameSite=Strict already; the token also
// stops a request forged from a page of the same site.
func (f *face) changing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f.sameOrigin(r); err != nil {
			writeJSON(w, http.StatusForbidden, answer{Error: err.Error()})
			return
		}
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(current(r).csrf)) != 1 {
			f.log.Warn("web: refused a request without the session's CSRF token", "remote", r.RemoteAddr, "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, answer{Error: "refused: the request does not carry this session's " + CSRFHeader + "; reload the page"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses a request whose Origin header names another origin.
func (f *face) sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	want := "http://" + r.Host
	if f.cfg.TLS || r.TLS != nil {
		want = "https://" + r.Host
	}
	if origin != want {
		return fmt.Errorf("refused: a request from %s, not from this page (%s)", origin, want)
	}
	return nil
}

// login turns the sign-in form (user and password, or a token alone) into
// a session. The credentials are checked as the API checks them, under the
// same per-address limit of failed attempts.
func (f *face) login(w http.ResponseWriter, r *http.Request) {
	if err := f.sameOrigin(r); err != nil {
		writeJSON(w, http.StatusForbidden, answer{Error: err.Error()})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, answer{Error: "the sign-in form could not be read: " + err.Error()})
		return
	}
	user, password := r.PostForm.Get("user"), r.PostForm.Get("password")
	if password == "" {
		writeJSON(w, http.StatusBadRequest, answer{Error: "enter a password (or a token, with the user left empty)"})
		return
	}
	as := r.Clone(r.Context())
	as.Header = r.Header.Clone()
	if user == "" {
		as.Header.Set("Authorization", "Bearer "+password)
	} else {
		as.SetBasicAuth(user, password)
	}
	who, ok, wait := f.gate.Admit(as, f.cfg.Auth.Check)
	if !ok {
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			writeJSON(w, http.StatusTooManyRequests, answer{Error: fmt.Sprintf("too many failed sign-ins from this address: try again in %d s", secs)})
			return
		}
		writeJSON(w, http.StatusUnauthorized, answer{Error: "wrong user or password (or token)"})
		return
	}
	tok := f.sessions.create(who, time.Now())
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: tok, Path: "/", MaxAge: int(f.cfg.SessionMax.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: f.cfg.TLS || r.TLS != nil,
	})
	f.log.Info("web: signed in", "principal", who, "remote", r.RemoteAddr, "viewer", f.readOnly(r, who))
	writeJSON(w, http.StatusOK, answer{OK: true, Message: "signed in as " + who})
}

// logout ends the session and clears its cookie.
func (f *face) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		f.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: f.cfg.TLS || r.TLS != nil})
	f.log.Info("web: signed out", "principal", current(r).principal, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, answer{OK: true, Message: "signed out"})
}

func (f *face) readOnly(r *http.Request, principal string) bool {
	return f.cfg.ReadOnly != nil && f.cfg.ReadOnly(r, principal)
}
