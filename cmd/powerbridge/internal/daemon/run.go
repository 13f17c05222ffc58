// Package daemon is powerbridge's running service, what `powerbridge serve`
// runs: the config in force and the fleet built from it, swapped whole on a
// reload (generations, each held by the requests that started on it and
// closed once they have drained); the PDU workers carried over a reload;
// the glue from the config to the drivers, the graceful shutdowns and the
// liveness probes; the pollers; the audit file; the simulated PDUs of
// `simulate:`; and the HTTP listener with its signals.
//
// It must not know how the command line is parsed or how a config file is
// read and reported (main hands it a loaded config and a loader), how
// power is switched (power), how SNMP is spoken (power/apc), how HTTP
// answers are shaped (server), or what the metrics are (telemetry).
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power/telemetry"
	"github.com/powerbridge/powerbridge/server"
)

// cacheTTL is how long a PDU reading answers status queries. MAAS queries
// right after every action and polls every few minutes; two seconds keeps a
// burst of queries to one request without hiding a change for long.
const cacheTTL = 2 * time.Second

// Options is what Run needs from main.
type Options struct {
	// Config is the config to start with, loaded and valid.
	Config *config.File
	// ConfigPath is the file Config came from, read again by Load on a
	// reload; "" for a built-in config, which cannot be reloaded.
	ConfigPath string
	Load       func(path string) (*config.File, error)
	// Listen, when set, overrides the config's listen.
	Listen  string
	Logger  *slog.Logger
	Version string
	// OpenState opens the state directory: the journal of actions under
	// way, with what a previous process left unfinished, and the outlets'
	// off times; nil runs without one.
	OpenState func(dir string) (StateDir, error)
	// Reload is sent to (SIGHUP) to read the config file again.
	Reload <-chan os.Signal
	// Serving, when set, is called once the listener is open.
	Serving func(addr string, cfg *config.File)

	// newDriver replaces power/apc as the PDUs' driver, for tests.
	newDriver driverFunc
}

// Run serves until ctx ends, then finishes the requests under way (within
// the action timeout) and closes everything. It returns an error when the
// service cannot start or its listener fails.
func Run(ctx context.Context, o Options) error {
	s, err := newService(ctx, o)
	if err != nil {
		return err
	}
	defer s.close()
	return s.serve(ctx, o)
}

// newService starts the service on o.Config: its first generation, the
// metrics and the routes.
func newService(ctx context.Context, o Options) (*service, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := o.Config
	s := &service{
		path:      o.ConfigPath,
		listen:    o.Listen,
		log:       log,
		metrics:   telemetry.New(o.Version),
		audit:     &auditFile{log: log},
		runCtx:    ctx,
		load:      o.Load,
		openState: o.OpenState,
		newDriver: o.newDriver,
	}
	if err := s.start(cfg); err != nil {
		return nil, err
	}
	if err := s.metrics.CollectCurrentFleet(s.currentFleet); err != nil {
		s.close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	httpMetrics := server.NewHTTPMetrics(s.metrics.Registry())
	// Every request reaches the routes through s.ServeHTTP, which hands it
	// the fleet of its generation: the server has no fleet of its own.
	s.handler = server.New(nil, server.Config{
		Auth:          s,
		Reload:        s.reload,
		StatusTimeout: cfg.Timeouts.Status.Std(),
		ActionTimeout: cfg.Timeouts.Action.Std(),
		Logger:        log,
		Metrics:       server.MetricsHandler(s.metrics.Registry()),
		MetricsToken:  cfg.Auth.MetricsToken.Reveal(),
		Instrument:    httpMetrics.Instrument,
		AuthFailures:  httpMetrics.AuthFailure,
		AuthChecks:    httpMetrics.AuthCheck,
		// Restart-only, like listen: the limiter lives as long as the server.
		AuthLimitExempt: cfg.Auth.RateLimitExemptPrefixes(),
		Faces:           []server.Face{s.redfishFace(cfg)},
	})
	return s, nil
}

// maxHeaderBytes bounds a request's headers (net/http's default); a
// request with more is answered 431.
const maxHeaderBytes = http.DefaultMaxHeaderBytes

// httpServer is the server of serve's listeners.
func (s *service) httpServer(cfg *config.File) *http.Server {
	return &http.Server{
		Handler:           s,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second,
		// An action may take the whole action timeout before it answers.
		WriteTimeout: cfg.Timeouts.Action.Std() + 10*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// serve listens on the config's address and serves until ctx ends or the
// listener fails; a signal on o.Reload reloads the config.
func (s *service) serve(ctx context.Context, o Options) error {
	cfg, log := o.Config, s.log
	var cert *tls.Certificate
	if cfg.TLS != nil {
		c, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		cert = &c
	}
	ln, err := listen(cfg.Listen, cert)
	if err != nil {
		return err
	}
	stopPDUDaemon, err := s.servePDUDaemon(ctx, cfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("pdudaemon: %w", err)
	}
	defer stopPDUDaemon()
	stopTLS, err := s.serveTLSListen(ctx, cfg, func() *http.Server { return s.httpServer(cfg) })
	if err != nil {
		ln.Close()
		return err
	}
	defer stopTLS()
	srv := s.httpServer(cfg)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "tls", cfg.TLS != nil, "pdus", len(cfg.PDUs), "machines", len(cfg.Machines), "version", o.Version)
	if o.Serving != nil {
		o.Serving(ln.Addr().String(), cfg)
	}

	for running := true; running; {
		select {
		case err := <-errc:
			return err
		case <-o.Reload:
			s.reload(ctx) // it logs and counts its outcome
		case <-ctx.Done():
			running = false
		}
	}
	log.Info("shutting down: finishing requests under way")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Action.Std())
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown", "error", err.Error())
	}
	return nil
}
