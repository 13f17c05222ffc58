package redfish

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// maxSessions bounds the sessions kept; a login beyond it is refused until
// one ends or expires.
const maxSessions = 256

// sessions are Redfish login sessions (X-Auth-Token). A session is only a
// shorter way to send an auth.users account's credentials: the token is
// kept as its digest, and lasts until it is deleted or goes unused for the
// timeout. Sessions live in memory: a restart ends them, and clients such as
// sushy log in again.
type sessions struct {
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex
	byTok map[[32]byte]*session
}

type session struct {
	id      string
	user    string
	digest  [32]byte
	expires time.Time
}

func newSessions(timeout time.Duration) *sessions {
	return &sessions{timeout: timeout, now: time.Now, byTok: map[[32]byte]*session{}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// create starts a session for user and returns it with its token.
func (ss *sessions) create(user string) (*session, string, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expire()
	if len(ss.byTok) >= maxSessions {
		return nil, "", fmt.Errorf("%d sessions are open; delete one or wait for one to expire", maxSessions)
	}
	tok := randomHex(32)
	s := &session{id: randomHex(8), user: user, digest: sha256.Sum256([]byte(tok)), expires: ss.now().Add(ss.timeout)}
	ss.byTok[s.digest] = s
	return s, tok, nil
}

// lookup returns the user of the session tok opens, and keeps it alive.
func (ss *sessions) lookup(tok string) (string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byTok[sha256.Sum256([]byte(tok))]
	if s == nil || ss.now().After(s.expires) {
		return "", false
	}
	s.expires = ss.now().Add(ss.timeout)
	return s.user, true
}

func (ss *sessions) expire() {
	now := ss.now()
	for k, s := range ss.byTok {
		if now.After(s.expires) {
			delete(ss.byTok, k)
		}
	}
}

func (ss *sessions) list() []*session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expire()
	out := make([]*session, 0, len(ss.byTok))
	for _, s := range ss.byTok {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (ss *sessions) byID(id string) *session {
	for _, s := range ss.list() {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (ss *sessions) remove(id string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, s := range ss.byTok {
		if s.id == id {
			delete(ss.byTok, k)
			return true
		}
	}
	return false
}

// check is how a Redfish request authenticates: an X-Auth-Token of a
// session, else Basic credentials of auth.users. A bearer token (the
// webhook's credential) is not one.
func (s *service) check(r *http.Request) (string, bool) {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		return s.sessions.lookup(tok)
	}
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return s.cfg.Auth.Check(r)
}

func (s *service) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok, wait := s.gate.Admit(r, s.check)
		if !ok {
			s.refuse(w, wait, "authentication required: Basic credentials of an auth.users account, or the X-Auth-Token of a session from /redfish/v1/SessionService/Sessions")
			return
		}
		next.ServeHTTP(w, r.WithContext(power.WithPrincipal(r.Context(), who)))
	})
}

// switching refuses a request that changes a system to a viewer.
func (s *service) switching(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := power.Principal(r.Context())
		if s.cfg.ReadOnly != nil && s.cfg.ReadOnly(r, who) {
			s.log.Warn("redfish: refused: a viewer may not switch", "principal", who, "method", r.Method, "path", r.URL.Path)
			writeError(w, http.StatusForbidden, "InsufficientPrivilege", who+" has the viewer role: it may read, not reset a system or change its boot")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *service) refuse(w http.ResponseWriter, wait time.Duration, msg string) {
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "GeneralError", fmt.Sprintf("too many failed authentication attempts from this address; try again in %ds", secs))
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="powerbridge"`)
	writeError(w, http.StatusUnauthorized, "NoValidSession", msg)
}

// login creates a session from {"UserName", "Password"}: an auth.users
// account, checked and limited as Basic credentials are.
func (s *service) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserName *string
		Password *string
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", "the session request body is not JSON: "+err.Error())
		return
	}
	if body.UserName == nil || body.Password == nil {
		writeError(w, http.StatusBadRequest, "PropertyMissing", "a session needs UserName and Password")
		return
	}
	as := r.Clone(r.Context())
	as.Header = r.Header.Clone()
	as.Header.Del("X-Auth-Token")
	as.SetBasicAuth(*body.UserName, *body.Password)
	who, ok, wait := s.gate.Admit(as, s.cfg.Auth.Check)
	if !ok {
		s.refuse(w, wait, "the UserName and Password are not those of an auth.users account")
		return
	}
	sess, tok, err := s.sessions.create(who)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "SessionLimitExceeded", err.Error())
		return
	}
	s.log.Info("redfish session created", "principal", who, "session", sess.id, "remote", r.RemoteAddr)
	w.Header().Set("X-Auth-Token", tok)
	w.Header().Set("Location", sessionPath(sess.id))
	writeJSON(w, http.StatusCreated, sessionJSON(sess))
}

func sessionPath(id string) string { return "/redfish/v1/SessionService/Sessions/" + id }

func sessionJSON(s *session) map[string]any {
	return map[string]any{
		"@odata.id": sessionPath(s.id), "@odata.type": "#Session.v1_3_0.Session",
		"Id": s.id, "Name": "Session " + s.id, "UserName": s.user,
	}
}

func (s *service) sessionService(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": "/redfish/v1/SessionService", "@odata.type": "#SessionService.v1_1_8.SessionService",
		"Id": "SessionService", "Name": "Session Service", "ServiceEnabled": true,
		"SessionTimeout": int(s.cfg.SessionTimeout.Seconds()),
		"Sessions":       odataID("/redfish/v1/SessionService/Sessions"),
	})
}

func (s *service) listSessions(w http.ResponseWriter, r *http.Request) {
	members := []any{}
	for _, sess := range s.sessions.list() {
		members = append(members, odataID(sessionPath(sess.id)))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": "/redfish/v1/SessionService/Sessions", "@odata.type": "#SessionCollection.SessionCollection",
		"Name": "Sessions", "Members": members, "Members@odata.count": len(members),
	})
}

func (s *service) getSession(w http.ResponseWriter, r *http.Request) {
	sess := s.sessions.byID(chi.URLParam(r, "id"))
	if sess == nil {
		writeError(w, http.StatusNotFound, "ResourceNotFound", "no session "+chi.URLParam(r, "id"))
		return
	}
	writeJSON(w, http.StatusOK, sessionJSON(sess))
}

func (s *service) deleteSession(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !s.sessions.remove(id) {
		writeError(w, http.StatusNotFound, "ResourceNotFound", "no session "+id)
		return
	}
	s.log.Info("redfish session deleted", "principal", power.Principal(r.Context()), "session", id)
	noContent(w)
}
