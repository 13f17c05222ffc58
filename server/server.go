// Package server is powerbridge's HTTP face: the routes MAAS's webhook power
// driver calls, a JSON API for people and scripts (its answers, the wire
// format, are the types in api.go), health checks, and /metrics with the
// HTTP requests' own metrics.
//
// It knows the rules MAAS's driver imposes on answers (see the routes in
// maas.go) and nothing of SNMP, ssh or how power is switched: it calls the
// power domain through the Fleet interface, which hands out names and
// readings, never a device. What is done to power is counted by telemetry.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/powerbridge/powerbridge/power"
)

// Fleet is what the server needs of the power domain; *power.Fleet is one.
// It hands out names and readings, never a PDU itself: the server answers
// from what the domain read and cannot reach a device around it.
type Fleet interface {
	Machines() []power.Machine
	PDUNames() []string
	Status(ctx context.Context, machine string) (power.MachineStatus, error)
	On(ctx context.Context, machine string) (power.Result, error)
	Off(ctx context.Context, machine string) (power.Result, error)
	Cycle(ctx context.Context, machine string) (power.Result, error)
	ReadPDU(ctx context.Context, pdu string) (power.Reading, error)
	SwitchOutlet(ctx context.Context, pdu string, n int, action power.Action) (power.OutletResult, error)
	MachineOf(ref power.OutletRef) (string, bool)
	ForgetHostKey(machine string) error
}

// Config is how the server behaves.
type Config struct {
	// Auth decides who a request is; an Authenticator, or one that can be
	// swapped on a config reload.
	Auth interface {
		Check(r *http.Request) (principal string, ok bool)
	}
	// Reload, when set, re-reads the config; POST /-/reload calls it.
	Reload func(ctx context.Context) error
	// StatusTimeout bounds a state query; ActionTimeout an on / off / cycle.
	StatusTimeout time.Duration
	ActionTimeout time.Duration
	Logger        *slog.Logger
	// Metrics, when set, is served at /metrics.
	Metrics http.Handler
	// MetricsToken, when set, is the bearer token /metrics requires;
	// without it /metrics is open, as Prometheus scrapes usually are.
	MetricsToken string
	// Instrument, when set, wraps every request, outside the router, so
	// that it sees the matched route pattern (see Metrics.Instrument).
	Instrument func(http.Handler) http.Handler
	// AuthFailures, when set, counts requests refused for their
	// credentials, by reason (see Metrics.AuthFailure).
	AuthFailures func(reason string)
	// AuthChecks, when set, counts requests whose credentials were
	// compared (see Metrics.AuthCheck).
	AuthChecks func()
	// AuthFailureBurst failed authentications from one client address are
	// answered 401; then one more every AuthFailureEvery. An address with
	// none left is answered 429 with Retry-After before its credentials
	// are compared, right ones included. Defaults: DefaultAuthFailureBurst,
	// DefaultAuthFailureEvery.
	AuthFailureBurst int
	AuthFailureEvery time.Duration
	// AuthLimitExempt are client addresses the limit never holds back:
	// MAAS's rack controllers, so that nobody sharing their address can
	// lock MAAS out. Guesses from them are not limited.
	AuthLimitExempt []netip.Prefix
	// ReadOnly, when set, tells whether an authenticated principal is a
	// viewer: its requests other than GET and HEAD are refused 403.
	ReadOnly func(r *http.Request, principal string) bool
	// Faces are served under their prefixes, beside the API (faces.go).
	Faces []Face
}

// Server routes HTTP requests to the fleet.
type Server struct {
	fleet   Fleet
	cfg     Config
	log     *slog.Logger
	limiter *authLimiter
}

// New returns the server's handler.
func New(fleet Fleet, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{fleet: fleet, cfg: cfg, log: cfg.Logger, limiter: newAuthLimiter(cfg.AuthFailureBurst, cfg.AuthFailureEvery, cfg.AuthLimitExempt)}

	r := chi.NewRouter()
	if cfg.Instrument != nil {
		r.Use(cfg.Instrument)
	}
	r.Use(routeDecodedPath)
	// MAAS fails a POST that is redirected, and chi would redirect
	// ".../on/" to ".../on": route the slash away instead.
	r.Use(middleware.StripSlashes)
	// HEAD on a GET route is that GET without its body (net/http drops
	// the body of a HEAD answer and keeps its headers).
	r.Use(middleware.GetHead)
	r.Use(middleware.Recoverer)
	// A 404 is success to MAAS's webhook driver: a mistyped power URI must
	// fail loudly, so nothing here ever answers 404.
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, "no route "+r.Method+" "+r.URL.Path+"; the power routes are /v1/machines/{name}/on, /off and /status")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
	})

	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Health{Health: "ok"})
	})
	r.Get("/readyz", s.ready)
	if cfg.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.metricsAuth(cfg.Metrics))
	}

	r.Group(s.apiRoutes)
	for _, f := range cfg.Faces {
		h := f.New(s)
		r.Mount(f.Prefix, h)
		if f.Root {
			r.Method(http.MethodGet, "/", h)
		}
	}
	return r
}

// apiRoutes are the JSON API's routes, every one behind authentication.
func (s *Server) apiRoutes(r chi.Router) {
	r.Use(s.authenticate)
	r.Get("/v1/machines", s.listMachines)
	r.Get("/v1/machines/{name}", s.getMachine)
	r.Get("/v1/machines/{name}/status", s.status)
	r.Post("/v1/machines/{name}/on", s.action(power.ActionOn))
	r.Post("/v1/machines/{name}/off", s.action(power.ActionOff))
	r.Post("/v1/machines/{name}/cycle", s.action(power.ActionCycle))
	r.Post("/v1/machines/{name}/forget-host-key", s.forgetHostKey)
	r.Get("/v1/pdus", s.listPDUs)
	r.Get("/v1/pdus/{pdu}/outlets", s.outlets)
	r.Post("/v1/pdus/{pdu}/outlets/{n}/{action:on|off|cycle}", s.switchOutlet)
	r.Get("/v1/groups/{name}", s.groupStatus)
	r.Post("/v1/groups/{name}/{action:on|off|cycle}", s.groupAction)
	if s.cfg.Reload != nil {
		r.Post("/-/reload", s.reload)
	}
}

// routeDecodedPath routes every request on its percent-decoded path. chi
// routes on URL.RawPath when net/http keeps one, which it does only when the
// path was escaped in a way other than the standard one: so node%31 reached
// the handlers as "node%31" while n%C3%B6de reached them as "nöde". Here
// every escape is decoded once, before routing, whatever its spelling; %2F
// is then a slash and separates segments like any other.
func routeDecodedPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath == "" {
			rctx.RoutePath = r.URL.Path
		}
		next.ServeHTTP(w, r)
	})
}

// ready answers 200 when every PDU can be read, 503 when one cannot. It is
// open, for probes: without credentials it says only how many PDUs cannot
// be read; with credentials (checked, and limited, as on /v1) it says which
// and why.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	details := false
	if r.Header.Get("Authorization") != "" {
		if _, ok := s.guard(w, r, s.cfg.Auth.Check, `Bearer realm="powerbridge", Basic realm="powerbridge"`,
			"authentication failed: /readyz answers without credentials, and with the PDUs' errors to the right ones"); !ok {
			return
		}
		details = true
	} else if _, open := s.cfg.Auth.Check(r); open {
		details = true // insecure_no_auth: the errors are on /v1/pdus for anyone anyway
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	problems := map[string]string{}
	fleet := s.fleetOf(r)
	pdus := fleet.PDUNames()
	for _, name := range pdus {
		if _, err := fleet.ReadPDU(ctx, name); err != nil {
			problems[name] = err.Error()
		}
	}
	out := Ready{Ready: len(problems) == 0, PDUs: len(pdus), UnreadablePDUs: len(problems)}
	code := http.StatusOK
	if !out.Ready {
		code = http.StatusServiceUnavailable
		out.Error = fmt.Sprintf("%d of %d PDUs cannot be read", len(problems), len(pdus))
		if details {
			out.Errors = problems
		} else {
			out.Error += "; send the API's credentials to see which and why"
		}
	}
	writeJSON(w, code, out)
}

func (s *Server) listMachines(w http.ResponseWriter, r *http.Request) {
	ms := s.fleetOf(r).Machines()
	out := MachineList{Machines: make([]Machine, len(ms))}
	for i, m := range ms {
		out.Machines[i] = machineAnswer(m)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getMachine(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	st, err := s.fleetOf(r).Status(ctx, chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statusAnswer(st))
}

// forgetHostKey drops a machine's pinned ssh host key, for when it was
// redeployed by other means than a power-on through powerbridge.
func (s *Server) forgetHostKey(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := s.fleetOf(r).ForgetHostKey(name); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, power.ErrUnknownMachine) {
			code = http.StatusBadRequest
		}
		writeError(w, code, err.Error())
		return
	}
	s.log.Info("forgot host key", "principal", power.Principal(r.Context()), "machine", name)
	writeJSON(w, http.StatusOK, ForgotHostKey{Machine: name, ForgotHostKey: true})
}

// reload re-reads the config file. A bad file is refused with its problems
// and the config in force stays.
func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Reload(r.Context()); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, Reloaded{Reloaded: true})
}

func (s *Server) listPDUs(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	var out PDUList
	fleet := s.fleetOf(r)
	for _, name := range fleet.PDUNames() {
		rd, err := fleet.ReadPDU(ctx, name)
		if err != nil {
			out.PDUs = append(out.PDUs, PDU{Name: name, Error: err.Error()})
			continue
		}
		pa := pduAnswer(name, rd)
		pa.Budget, pa.UnexpectedChanges = budgetOf(fleet, name), unexpectedOf(fleet, name)
		out.PDUs = append(out.PDUs, pa)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) outlets(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	name := chi.URLParam(r, "pdu")
	rd, err := s.fleetOf(r).ReadPDU(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := OutletList{PDU: name, Outlets: make([]Outlet, len(rd.Outlets))}
	for i, o := range rd.Outlets {
		machine, _ := s.fleetOf(r).MachineOf(power.OutletRef{PDU: name, Outlet: o.Number})
		out.Outlets[i] = outletAnswer(o, machine)
	}
	writeJSON(w, http.StatusOK, out)
}

// switchOutlet switches one outlet. The fleet runs the action apart from
// the request, joins identical ones and logs it; the request only waits for
// it, within the action timeout.
func (s *Server) switchOutlet(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(chi.URLParam(r, "n"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, "outlet numbers start at 1; got "+strconv.Quote(chi.URLParam(r, "n")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ActionTimeout)
	defer cancel()
	res, err := s.fleetOf(r).SwitchOutlet(ctx, chi.URLParam(r, "pdu"), n, power.Action(chi.URLParam(r, "action")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, outletSwitchAnswer(res))
}

// fail answers err with the status code that fits it. The body never holds
// a power-state word that MAAS's regexes could match as a state.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway // the PDU failed us
	switch {
	case errors.Is(err, power.ErrUnknownMachine), errors.Is(err, power.ErrUnknownPDU), errors.Is(err, power.ErrUnknownOutlet):
		// Never 404: MAAS's webhook driver takes a 404 as success.
		code = http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		code = http.StatusServiceUnavailable
	}
	writeError(w, code, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}

// writeJSON writes v with an explicit Content-Length: MAAS's HTTP client
// fails a non-200 answer that has neither a length nor chunking.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}
