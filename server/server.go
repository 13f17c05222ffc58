// Package server is powerbridge's HTTP face: the routes MAAS's webhook power
// driver calls, a JSON API for people and scripts, health checks and metrics.
//
// It knows the rules MAAS's driver imposes on answers (see the routes in
// maas.go) and nothing of SNMP or of how power is switched: it calls the power
// domain through the Fleet interface.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/powerbridge/powerbridge/power"
)

// Fleet is what the server needs of the power domain; *power.Fleet is one.
type Fleet interface {
	Machines() []power.Machine
	PDUs() []*power.PDU
	Status(ctx context.Context, machine string) (power.MachineStatus, error)
	On(ctx context.Context, machine string) (power.Result, error)
	Off(ctx context.Context, machine string) (power.Result, error)
	Cycle(ctx context.Context, machine string) (power.Result, error)
	ReadPDU(ctx context.Context, pdu string) (power.Reading, error)
	SwitchOutlet(ctx context.Context, pdu string, n int, action power.Action) (power.SwitchOutcome, error)
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
	// AuthFailureBurst failed authentications from one client address are
	// answered 401; then one more every AuthFailureEvery, and 429 with
	// Retry-After to the rest. Defaults: DefaultAuthFailureBurst,
	// DefaultAuthFailureEvery. A request that authenticates is never held
	// back.
	AuthFailureBurst int
	AuthFailureEvery time.Duration
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
	s := &Server{fleet: fleet, cfg: cfg, log: cfg.Logger, limiter: newAuthLimiter(cfg.AuthFailureBurst, cfg.AuthFailureEvery)}

	r := chi.NewRouter()
	if cfg.Instrument != nil {
		r.Use(cfg.Instrument)
	}
	// MAAS fails a POST that is redirected, and chi would redirect
	// ".../on/" to ".../on": route the slash away instead.
	r.Use(middleware.StripSlashes)
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
		writeJSON(w, http.StatusOK, map[string]string{"health": "ok"})
	})
	r.Get("/readyz", s.ready)
	if cfg.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.metricsAuth(cfg.Metrics))
	}

	r.Group(func(r chi.Router) {
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
		if cfg.Reload != nil {
			r.Post("/-/reload", s.reload)
		}
	})
	for _, f := range cfg.Faces {
		r.Mount(f.Prefix, f.New(s))
	}
	return r
}

// ready answers 200 when every PDU can be read.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	problems := map[string]string{}
	for _, p := range s.fleet.PDUs() {
		if _, err := p.Read(ctx); err != nil {
			problems[p.Name()] = err.Error()
		}
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "pdus": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

type machineJSON struct {
	Name    string   `json:"name"`
	Outlets []string `json:"outlets"`
	// Graceful is true when "off" shuts the OS down first.
	Graceful bool `json:"graceful_shutdown"`
}

func (s *Server) listMachines(w http.ResponseWriter, r *http.Request) {
	ms := s.fleet.Machines()
	out := make([]machineJSON, len(ms))
	for i, m := range ms {
		out[i] = machineJSON{Name: m.Name, Graceful: m.Graceful != nil}
		for _, o := range m.Outlets {
			out[i].Outlets = append(out[i].Outlets, o.String())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"machines": out})
}

func (s *Server) getMachine(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	st, err := s.fleet.Status(ctx, chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// forgetHostKey drops a machine's pinned ssh host key, for when it was
// redeployed by other means than a power-on through powerbridge.
func (s *Server) forgetHostKey(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := s.fleet.ForgetHostKey(name); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, power.ErrUnknownMachine) {
			code = http.StatusBadRequest
		}
		writeError(w, code, err.Error())
		return
	}
	s.log.Info("forgot host key", "principal", power.Principal(r.Context()), "machine", name)
	writeJSON(w, http.StatusOK, map[string]any{"machine": name, "forgot_host_key": true})
}

// reload re-reads the config file. A bad file is refused with its problems
// and the config in force stays.
func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Reload(r.Context()); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reloaded": true})
}

type pduJSON struct {
	Name    string       `json:"name"`
	Info    power.Info   `json:"info"`
	Outlets int          `json:"outlets"`
	Meter   *power.Meter `json:"meter,omitempty"`
	Error   string       `json:"error,omitempty"`
}

func (s *Server) listPDUs(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	var out []pduJSON
	for _, p := range s.fleet.PDUs() {
		pj := pduJSON{Name: p.Name()}
		if rd, err := p.Read(ctx); err != nil {
			pj.Error = err.Error()
		} else {
			pj.Info, pj.Outlets, pj.Meter = rd.Info, len(rd.Outlets), &rd.Meter
		}
		out = append(out, pj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"pdus": out})
}

type outletJSON struct {
	power.Outlet
	Machine string `json:"machine,omitempty"`
}

func (s *Server) outlets(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	name := chi.URLParam(r, "pdu")
	rd, err := s.fleet.ReadPDU(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]outletJSON, len(rd.Outlets))
	for i, o := range rd.Outlets {
		out[i].Outlet = o
		out[i].Machine, _ = s.fleet.MachineOf(power.OutletRef{PDU: name, Outlet: o.Number})
	}
	writeJSON(w, http.StatusOK, map[string]any{"pdu": name, "outlets": out})
}

func (s *Server) switchOutlet(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(chi.URLParam(r, "n"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, "outlet numbers start at 1; got "+strconv.Quote(chi.URLParam(r, "n")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ActionTimeout)
	defer cancel()
	ctx = power.WithPrincipal(ctx, power.Principal(r.Context()))
	pdu, action := chi.URLParam(r, "pdu"), power.Action(chi.URLParam(r, "action"))
	start := time.Now()
	out, err := s.fleet.SwitchOutlet(ctx, pdu, n, action)
	attrs := []any{"principal", power.Principal(r.Context()), "outlet", power.OutletRef{PDU: pdu, Outlet: n}.String(),
		"action", action, "changed", out.Changed, "duration", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		s.log.Error("outlet action failed", append(attrs, "error", err.Error())...)
		s.fail(w, r, err)
		return
	}
	s.log.Info("outlet action", attrs...)
	writeJSON(w, http.StatusOK, map[string]any{"pdu": pdu, "outlet": n, "action": action, "changed": out.Changed, "note": out.Note})
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
	writeJSON(w, code, map[string]string{"error": msg})
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
