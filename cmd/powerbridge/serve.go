package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/daemon"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/statedir"
)

// demoConfig is what `serve --simulate` runs: simulated PDUs on loopback, a
// few machines, and a fixed token, so that the curl lines in the README work
// as printed. It listens on loopback only.
//
//go:embed demo.yaml
var demoConfig []byte

const demoToken = "demo-token-loopback-only"

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "--config FILE | --simulate", stderr)
	cfgPath := fs.String("config", "", "the config `file` (see deploy/powerbridge.example.yaml)")
	simulate := fs.Bool("simulate", false, "run on built-in simulated PDUs (APC, Eaton) with a demo fleet on 127.0.0.1; no hardware needed")
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
	setMemoryLimit(len(cfg.PDUs))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	opts := daemon.Options{
		Config:     cfg,
		ConfigPath: *cfgPath,
		Load:       loadConfig,
		Listen:     *listen,
		Logger:     log,
		Version:    buildVersion(),
		OpenState:  openStateDir,
		Reload:     hup,
	}
	if *simulate {
		opts.Serving = func(addr string, cfg *config.File) { printDemo(stdout, addr, cfg) }
	}
	if err := daemon.Run(ctx, opts); err != nil {
		fmt.Fprintf(stderr, "powerbridge serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

// openStateDir opens serve's state directory (internal/statedir).
func openStateDir(dir string) (daemon.StateDir, error) {
	d, err := statedir.Open(dir)
	if err != nil {
		return daemon.StateDir{}, err
	}
	return daemon.StateDir{Journal: d.Journal, OffTimes: d.OffTimes, Interrupted: d.Interrupted,
		Detections: d.Detections, DetectionsIgnored: d.Detections.Corrupt}, nil
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
powerbridge is serving a demo fleet on simulated PDUs (APC, Eaton) and a smart plug (no hardware is touched).
Machines: %s. Try:

  curl -s %s %s/v1/machines
  curl -s %s %s/v1/machines/%s/status
  curl -s -X POST %s %s/v1/machines/%s/off
  curl -s %s %s/v1/machines/%s/status
  curl -s -X POST %s %s/v1/machines/%s/on
  curl -s %s %s/v1/pdus/rack1/outlets
  curl -s %s/metrics | grep '^powerbridge_outlet_on'

Or open %s/ in a browser: leave the user empty and sign in with the token %s.

Stop with Ctrl-C.
`, strings.Join(names, ", "),
		auth, base, auth, base, first, auth, base, first, auth, base, first, auth, base, first, auth, base, base, base, demoToken)
}
