package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/gateway"
)

// gatewayUsage is the help text of "powerbridge gateway"; the flags' own
// lines follow it.
var gatewayUsage = fmt.Sprintf(`Usage: powerbridge gateway <command> --config FILE [flags]

Makes this MAAS host the gateway of the cluster network, from the gateway:
section of the config file (see deploy/gateway.example.yaml).

Commands:
  plan      show every file diff, live change and MAAS API change; change nothing
  apply     validate and write the files, load them, configure MAAS; keeps a
            backup of everything it replaces. Running it again changes nothing.
  check     list what is wrong (files, ip forwarding, NAT, a FORWARD policy of
            DROP, the resolver, MAAS's gateway, ranges and DHCP) and how to fix it
  rollback  restore the files saved by the last apply (MAAS changes are listed,
            not undone)

Files it owns:
  %-57s the corp and cluster NICs (mode 0600)
  %-57s net.ipv4.ip_forward = 1
  %-57s NAT: table inet %s (firewall: nftables)
  %-57s NAT: chains %s, %s (firewall: iptables)
  %-57s loads the NAT rules at boot
  %-57s when cloud-init wrote the old netplan file
Other netplan files that define our NICs are moved to the backup.

Exit status: 0 done (check: no problems), 1 problems found or failed, 2 usage.

Flags:
`, gateway.NetplanFile, gateway.SysctlFile, gateway.NFTFile, gateway.NFTTable, gateway.IPTablesFile,
	gateway.IPTForward, gateway.IPTPostrouting, gateway.UnitFile, gateway.CloudInitDisable)

// gatewayOptions are the flags of "powerbridge gateway".
type gatewayOptions struct {
	config    string
	root      string
	skipMAAS  bool
	overrides gateway.Overrides
	backup    string
}

func (o *gatewayOptions) flags(fs *flag.FlagSet, cfgPath string) {
	fs.StringVar(&o.config, "config", cfgPath, "the config `file` holding the gateway: section (see deploy/gateway.example.yaml)")
	fs.StringVar(&o.root, "root", "/", "write the files under `DIR` instead of /, and change nothing live (for review and tests)")
	fs.BoolVar(&o.skipMAAS, "skip-maas", false, "leave MAAS alone: files and live system only")
	fs.StringVar(&o.overrides.Firewall, "firewall", "", "override gateway.firewall: `nftables` or iptables")
	fs.StringVar(&o.overrides.MAASURL, "maas-url", "", "override gateway.maas.url, e.g. http://192.168.1.195:5240/MAAS/")
	fs.StringVar(&o.overrides.APIKeyFile, "api-key-file", "", "override gateway.maas.api_key_file")
	fs.StringVar(&o.overrides.CorpNIC, "corp-nic", "", "override the corp NIC: a `name or MAC`")
	fs.StringVar(&o.overrides.ClusterNIC, "cluster-nic", "", "override the cluster NIC: a `name or MAC`")
	fs.StringVar(&o.backup, "backup", "", "rollback: the backup `NAME` to restore (default: the newest)")
}

// gatewayCmd hands over to the gateway helper, which reads only the
// config's gateway: section (a gateway-only file needs no auth or PDUs).
func gatewayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return gatewayMain(ctx, args, nil, "", stdout, stderr)
}

// gatewayMain runs "powerbridge gateway ARGS" and returns the exit status:
// 0 done (check: no problems), 1 problems found or a failure, 2 a usage
// error.
//
// The config file is cfgPath unless --config names another. cfg is that
// file loaded, when the caller has it; when it is nil, only the file's
// gateway: section is read (see gateway.LoadSpec).
func gatewayMain(ctx context.Context, args []string, cfg *config.File, cfgPath string, stdout, stderr io.Writer) int {
	o, cmd, code := parseGatewayArgs(args, cfgPath, stdout, stderr)
	if cmd == "" {
		return code
	}
	e, code := gatewayEnv(o, cmd, cfg, stdout, stderr)
	if e == nil {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "powerbridge gateway %s: %v\n", cmd, err)
		return 1
	}

	if cmd == "rollback" {
		// Rollback needs no config: the backup says what to restore.
		if err := gateway.Rollback(ctx, e, o.backup); err != nil {
			return fail(err)
		}
		return 0
	}

	if o.config != cfgPath {
		cfg = nil // --config named another file than the one loaded
	}
	s, err := gateway.LoadSpec(cfg, o.config, o.overrides, !o.skipMAAS)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge gateway %s: %s\n", cmd, gateway.ProblemText(err))
		return 1
	}
	if !o.skipMAAS {
		if err := e.ConnectMAAS(s); err != nil {
			return fail(err)
		}
	}
	problems, err := runGateway(ctx, cmd, e, s)
	if err != nil {
		return fail(err)
	}
	if problems > 0 {
		return 1
	}
	return 0
}

// gatewayEnv is where the command works: the live system, as root, or the
// copy under --root. nil with the exit status when it cannot.
func gatewayEnv(o gatewayOptions, cmd string, cfg *config.File, stdout, stderr io.Writer) (*gateway.Env, int) {
	root, err := filepath.Abs(o.root)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge gateway: --root: %v\n", err)
		return nil, 2
	}
	if root == "/" && os.Geteuid() != 0 {
		// netplan files are root's (0600), and reading nft or iptables
		// rules needs CAP_NET_ADMIN: as anyone else the answers would be wrong.
		fmt.Fprintf(stderr, "powerbridge gateway %s: reads and changes the live system: run it as root (or with --root DIR to work on a copy)\n", cmd)
		return nil, 1
	}
	stateDir := config.DefaultStateDir
	if cfg != nil && cfg.StateDir != "" {
		stateDir = cfg.StateDir
	}
	return gateway.NewEnv(root, stateDir, stdout), 0
}

// runGateway runs plan, apply or check; check's problems are counted.
func runGateway(ctx context.Context, cmd string, e *gateway.Env, s *gateway.Spec) (problems int, err error) {
	switch cmd {
	case "plan":
		return 0, gateway.Plan(ctx, e, s)
	case "apply":
		return 0, gateway.Apply(ctx, e, s)
	case "check":
		return gateway.Check(ctx, e, s)
	}
	return 0, fmt.Errorf("no command %q", cmd) // parseGatewayArgs lets none through
}

// parseGatewayArgs parses the flags, which may come before or after the
// command, and returns the command; "" with the exit status when there is
// nothing to run (help, or a usage error already reported).
func parseGatewayArgs(args []string, cfgPath string, stdout, stderr io.Writer) (o gatewayOptions, cmd string, code int) {
	fs := flag.NewFlagSet("powerbridge gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.flags(fs, cfgPath)
	// The flag package calls Usage on every parse error; the full text is
	// printed by gatewayHelpOrUsage, to stdout when it was asked for.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		return o, "", gatewayHelpOrUsage(err, fs, stdout)
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "powerbridge gateway: which command? plan, apply, check or rollback (--help explains them)")
		return o, "", 2
	}
	cmd = fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return o, "", gatewayHelpOrUsage(err, fs, stdout)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "powerbridge gateway %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return o, "", 2
	}
	switch cmd {
	case "plan", "apply", "check", "rollback":
		return o, cmd, 0
	case "help":
		printGatewayUsage(fs, stdout)
		return o, "", 0
	}
	fmt.Fprintf(stderr, "powerbridge gateway: unknown command %q (plan, apply, check or rollback)\n", cmd)
	return o, "", 2
}

func gatewayHelpOrUsage(err error, fs *flag.FlagSet, stdout io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		printGatewayUsage(fs, stdout)
		return 0
	}
	// The flag package has printed the error.
	fmt.Fprintln(fs.Output(), "powerbridge gateway --help lists the commands and flags")
	return 2
}

func printGatewayUsage(fs *flag.FlagSet, w io.Writer) {
	out := fs.Output()
	fmt.Fprint(w, gatewayUsage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}
