// Package web is powerbridge's page for people: the whole fleet at a glance
// (machines, PDUs and outlets, with charts of the last hours) and on / off /
// cycle behind a confirmation that says what will happen. Its HTML, CSS and
// script are embedded in the binary and ask nothing of any other host.
//
// It is one more face over the power domain, like the JSON API. It reads
// only what the pollers last read (LastPoll, LastStatus), so that a page
// left open costs the PDUs nothing, and it switches through the fleet's own
// safe paths (per-machine lock, joined requests, journal, verify). It knows
// nothing of SNMP, ssh or the config file.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// Polled is what the page shows: the fleet as its pollers last read it.
// Nothing here asks a device.
type Polled interface {
	Machines() []power.Machine
	PDUNames() []string
	LastPoll(pdu string) (power.Poll, error)
	LastStatus(machine string) (power.MachineStatus, bool)
	MachineOf(ref power.OutletRef) (string, bool)
	Underway(machine string) (power.Action, bool)
}

// Fleet is what the page needs of the power domain; *power.Fleet is one.
type Fleet interface {
	Polled
	On(ctx context.Context, machine string) (power.Result, error)
	Off(ctx context.Context, machine string) (power.Result, error)
	Cycle(ctx context.Context, machine string) (power.Result, error)
	SwitchOutlet(ctx context.Context, pdu string, n int, action power.Action) (power.OutletResult, error)
}

// Gate is the server's failed-authentication limit (server.Gate): a wrong
// password at the sign-in form counts as one on any other face.
type Gate interface {
	Admit(r *http.Request, check func(*http.Request) (string, bool)) (principal string, ok bool, retryAfter time.Duration)
}

// Config is how the page behaves.
type Config struct {
	// Fleet is the domain a request is served from (one config generation).
	Fleet func(r *http.Request) Fleet
	// Auth checks the credentials the sign-in form is turned into: Basic
	// for a user and password, Bearer for a token.
	Auth interface {
		Check(r *http.Request) (principal string, ok bool)
	}
	// ReadOnly, when set, tells whether a principal is a viewer: it sees
	// everything and switches nothing.
	ReadOnly func(r *http.Request, principal string) bool
	// Known, when set, tells whether a principal is still among the
	// credentials: a session of one that a reload removed ends.
	Known func(r *http.Request, principal string) bool
	// History keeps the readings and states the charts are drawn from;
	// nil draws none.
	History *History
	// ActionTimeout bounds an on / off / cycle, clean shutdown included.
	ActionTimeout time.Duration
	// TLS is true when the listener speaks HTTPS: the session cookie is then
	// Secure. (A listener that wraps its connections hides r.TLS.)
	TLS bool
	// SessionIdle ends a session unused this long (default 30m);
	// SessionMax ends any session this long after sign-in (default 12h).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// Refresh is how often the page asks for the fleet's state (default 2s).
	Refresh time.Duration
	Logger  *slog.Logger
}

type face struct {
	cfg      Config
	gate     Gate
	log      *slog.Logger
	sessions *sessions
}

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy lets the page load its own script, style and images
// and nothing else, from nowhere else; no inline script runs.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New returns the page's handler, to be mounted at /ui and given GET / as
// "/" (server.Face with Root).
func New(cfg Config, gate Gate) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 150 * time.Second
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 2 * time.Second
	}
	f := &face{cfg: cfg, gate: gate, log: cfg.Logger, sessions: newSessions(cfg.SessionIdle, cfg.SessionMax)}

	r := chi.NewRouter()
	r.Use(headers)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no page at "+r.URL.Path+"; the page is at /", http.StatusNotFound)
	})
	r.Get("/", asset("assets/index.html", "text/html; charset=utf-8"))
	r.Get("/app.js", asset("assets/app.js", "text/javascript; charset=utf-8"))
	r.Get("/app.css", asset("assets/app.css", "text/css; charset=utf-8"))
	r.Get("/icon.svg", asset("assets/icon.svg", "image/svg+xml"))
	r.Post("/login", f.login)
	r.Group(func(r chi.Router) {
		r.Use(f.session)
		r.Get("/api/state", f.state)
		r.Group(func(r chi.Router) {
			r.Use(f.changing)
			r.Post("/logout", f.logout)
			r.Post("/api/machines/{name}/{action:on|off|cycle}", f.machineAction)
			r.Post("/api/pdus/{pdu}/outlets/{n}/{action:on|off|cycle}", f.outletAction)
		})
	})
	return r
}

// headers gives every answer the page's security headers.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// asset serves one embedded file, with an ETag of its content so that a
// browser that has it already is answered 304 with no body.
func asset(name, contentType string) http.HandlerFunc {
	body, err := assets.ReadFile(name)
	if err != nil {
		panic("web: " + name + " is not embedded: " + err.Error())
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
}
