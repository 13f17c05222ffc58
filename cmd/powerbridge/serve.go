package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/server"
)

// demoConfig is what `serve --simulate` runs: simulated PDUs on loopback, a
// few machines, and a fixed token, so that the curl lines in the README work
// as printed. It listens on loopback only.
//
//go:embed demo.yaml
var demoConfig []byte

const demoToken = "demo-token"

// cacheTTL is how long a PDU reading answers status queries. MAAS queries
// right after every action and polls every few minutes; two seconds keeps a
// burst of queries to one request without hiding a change for long.
const cacheTTL = 2 * time.Second

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "--config FILE | --simulate", stderr)
	cfgPath := fs.String("config", "", "the config `file` (see deploy/powerbridge.example.yaml)")
	simulate := fs.Bool("simulate", false, "run on built-in simulated APC PDUs with a demo fleet on 127.0.0.1; no hardware needed")
	listen := fs.String("listen", "", "listen on this `host:port` instead of the config's listen")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 || (*cfgPath == "") == !*simulate {
		fmt.Fprintln(stderr, "powerbridge serve: give either --config FILE or --simulate")
		fs.Usage()
		return exitUsage
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge serve: %v\n", err)
		return exitUsage
	}

	var cfg *config.File
	if *simulate {
		cfg, err = config.Parse(demoConfig, "built-in demo config")
	} else {
		cfg, err = loadConfig(*cfgPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}

	svc := &service{
		path:    *cfgPath,
		listen:  *listen,
		log:     log,
		metrics: server.NewMetrics(buildVersion()),
		audit:   &auditFile{log: log},
		runCtx:  ctx,
	}
	if err := svc.start(cfg); err != nil {
		fmt.Fprintf(stderr, "powerbridge serve: %v\n", err)
		return exitFail
	}
	defer svc.close()
	if err := svc.metrics.CollectFleet(svc); err != nil {
		fmt.Fprintf(stderr, "powerbridge serve: metrics: %v\n", err)
		return exitFail
	}

	handler := server.New(svc, server.Config{
		Auth:          svc,
		Reload:        svc.reload,
		StatusTimeout: cfg.Timeouts.Status.Std(),
		ActionTimeout: cfg.Timeouts.Action.Std(),
		Logger:        log,
		Metrics:       svc.metrics.Handler(),
		MetricsToken:  cfg.Auth.MetricsToken.Reveal(),
		Instrument:    svc.metrics.Instrument,
		AuthFailures:  svc.metrics.AuthFailure,
		Faces:         []server.Face{redfishFace(svc, cfg)},
	})
	stopPDUDaemon, err := servePDUDaemon(ctx, cfg, svc, log)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge serve: pdudaemon: %v\n", err)
		return exitFail
	}
	defer stopPDUDaemon()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge serve: %v\n", err)
		return exitFail
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// An action may take the whole action timeout before it answers.
		WriteTimeout: cfg.Timeouts.Action.Std() + 10*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS != nil {
			errc <- srv.ServeTLS(ln, cfg.TLS.CertFile, cfg.TLS.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("serving", "addr", ln.Addr().String(), "tls", cfg.TLS != nil, "pdus", len(cfg.PDUs), "machines", len(cfg.Machines), "version", buildVersion())
	if *simulate {
		printDemo(stdout, ln.Addr().String(), cfg)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for running := true; running; {
		select {
		case err := <-errc:
			fmt.Fprintf(stderr, "powerbridge serve: %v\n", err)
			return exitFail
		case <-hup:
			svc.reload(ctx) // it logs and counts its outcome
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
	return exitOK
}

func loadConfig(path string) (*config.File, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			return nil, fmt.Errorf("%s has %d problem(s):\n%s", path, len(ps), indent(ps.Error(), "  "))
		}
		return nil, err
	}
	return cfg, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func printDemo(w io.Writer, addr string, cfg *config.File) {
	base := "http://" + addr
	auth := "-H 'Authorization: Bearer " + demoToken + "'"
	var names []string
	for _, m := range cfg.Machines {
		names = append(names, m.Name)
	}
	first := cfg.Machines[0].Name
	fmt.Fprintf(w, `
powerbridge is serving a demo fleet on simulated APC PDUs (no hardware is touched).
Machines: %s. Try:

  curl -s %s %s/v1/machines
  curl -s %s %s/v1/machines/%s/status
  curl -s -X POST %s %s/v1/machines/%s/off
  curl -s %s %s/v1/machines/%s/status
  curl -s -X POST %s %s/v1/machines/%s/on
  curl -s %s %s/v1/pdus/rack1/outlets
  curl -s %s/metrics | grep '^powerbridge_outlet_on'

Stop with Ctrl-C.
`, strings.Join(names, ", "),
		auth, base, auth, base, first, auth, base, first, auth, base, first, auth, base, first, auth, base, base)
}
