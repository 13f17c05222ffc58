// Command powerbridge lets MAAS power machines that have no BMC: MAAS's
// webhook or redfish power type calls it over HTTP, and it switches the
// machines' PDU outlets over SNMP, a smart plug's relay over HTTP, or wakes
// them by LAN.
//
// main is wiring: it parses the command line, loads the config, and hands
// the parts their options. `serve` runs cmd/powerbridge/internal/daemon, the
// running service; the other commands are small clients and tools. main
// must not hold running state: config generations, PDU workers, pollers and
// the like belong to the daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// Exit codes a script can branch on.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed, or found problems
	exitUsage = 2 // the command line was wrong
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"serve":           {"run the service", serve},
		"check-config":    {"check a config file and print every problem", checkConfig},
		"version":         {"print the version", printVersion},
		"forget-host-key": {"forget a machine's pinned ssh host key (after a redeploy)", forgetHostKey},
		"healthcheck":     {"exit 0 when a running powerbridge answers /healthz", healthcheck},
		"power":           {"on, off, cycle or status of a machine, through a running powerbridge", powerCmd},
		"maas":            {"maas sync: point MAAS's machines at powerbridge", maasCmd},
		"gateway":         {"plan, apply, check or roll back this MAAS host as the cluster's gateway", gatewayCmd},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "powerbridge: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "powerbridge: power machines with no BMC through their PDU outlets, smart plugs or Wake-on-LAN, for MAAS, Redfish and pdudaemon clients, with a clean OS shutdown first.")
	fmt.Fprintln(w, "\nUsage: powerbridge COMMAND [flags]   (powerbridge COMMAND --help for its flags)\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-16s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\nTry it without hardware: powerbridge serve --simulate")
}

// newFlags returns a flag set that prints its usage to stderr and reports
// errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: powerbridge %s %s\n\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and says which exit code to use when parsing ended
// the command (help asked for, or a usage error).
func parseFlags(fs *flag.FlagSet, args []string) (exit int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, true
	case err != nil:
		return exitUsage, true
	}
	return 0, false
}

func printVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", stderr)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	fmt.Fprintf(stdout, "powerbridge %s\n", buildVersion())
	return exitOK
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func checkConfig(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", "FILE", stderr)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	cfg, err := loadConfig(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s: OK (%d PDUs, %d machines)\n", fs.Arg(0), len(cfg.PDUs), len(cfg.Machines))
	return exitOK
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
