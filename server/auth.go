package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/powerbridge/powerbridge/power"
)

// Credential is one way in: a bearer token or a Basic-auth user and password.
// Name is the principal written to the log.
type Credential struct {
	Name     string
	Token    string // bearer token; empty for a Basic-auth user
	User     string
	Password string
	// ReadOnly is true for a viewer: it may read everything and switch
	// nothing.
	ReadOnly bool
}

// Authenticator checks the Authorization header MAAS sends: `Bearer <token>`
// when power_token is set, else Basic when power_user and power_pass are.
type Authenticator struct {
	creds    []hashedCredential
	names    map[string]bool // the principals
	readOnly map[string]bool // by principal
	// Open lets every request in as "anonymous". Only for a config that asks
	// for it explicitly.
	Open bool
}

// Secrets are compared as SHA-256 digests so that the comparison takes the
// same time whatever their length and content.
type hashedCredential struct {
	name   string
	bearer bool
	user   [32]byte
	secret [32]byte
}

// NewAuthenticator builds an Authenticator from the configured credentials.
func NewAuthenticator(creds []Credential) Authenticator {
	var a Authenticator
	for _, c := range creds {
		h := hashedCredential{name: c.Name, bearer: c.Token != ""}
		if h.bearer {
			h.secret = sha256.Sum256([]byte(c.Token))
		} else {
			h.user = sha256.Sum256([]byte(c.User))
			h.secret = sha256.Sum256([]byte(c.Password))
		}
		a.creds = append(a.creds, h)
		if a.names == nil {
			a.names = map[string]bool{}
		}
		a.names[c.Name] = true
		if c.ReadOnly {
			if a.readOnly == nil {
				a.readOnly = map[string]bool{}
			}
			a.readOnly[c.Name] = true
		}
	}
	return a
}

// ReadOnly tells whether principal is a viewer, which may switch nothing.
func (a Authenticator) ReadOnly(principal string) bool { return a.readOnly[principal] }

// Has tells whether principal is one of the credentials (anyone, when Open):
// a session begun by a principal a reload removed is no longer honoured.
func (a Authenticator) Has(principal string) bool { return a.Open || a.names[principal] }

// Check returns the principal the request authenticates as.
func (a Authenticator) Check(r *http.Request) (string, bool) {
	if a.Open {
		return "anonymous", true
	}
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	var bearer bool
	var user, secret [32]byte
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		bearer = true
		secret = sha256.Sum256([]byte(strings.TrimSpace(rest)))
	case strings.EqualFold(scheme, "Basic"):
		u, p, ok := r.BasicAuth()
		if !ok {
			return "", false
		}
		user, secret = sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
	default:
		return "", false
	}
	// Compare against every credential, never stopping early.
	found := ""
	for _, c := range a.creds {
		match := subtle.ConstantTimeCompare(c.secret[:], secret[:])
		if !bearer {
			match &= subtle.ConstantTimeCompare(c.user[:], user[:])
		}
		if match == 1 && c.bearer == bearer && found == "" {
			found = c.name
		}
	}
	return found, found != ""
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := s.guard(w, r, s.cfg.Auth.Check, `Bearer realm="powerbridge", Basic realm="powerbridge"`,
			"authentication required: send Authorization: Bearer <token> (MAAS power_token) or Basic credentials")
		if !ok {
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && s.cfg.ReadOnly != nil && s.cfg.ReadOnly(r, who) {
			s.log.Warn("refused: a viewer may not switch", "principal", who, "method", r.Method, "path", r.URL.Path)
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s has the viewer role: it may read, not switch power or change anything", who))
			return
		}
		next.ServeHTTP(w, r.WithContext(power.WithPrincipal(r.Context(), who)))
	})
}

// authScheme names the scheme a request tried, never its credentials.
func authScheme(r *http.Request) string {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "":
		return "none"
	case "bearer", "basic":
		return strings.ToLower(scheme)
	}
	return "other"
}
