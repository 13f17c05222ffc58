// Package gateway is "powerbridge gateway": it makes the MAAS host the
// gateway of the cluster network, in one repeatable, reviewable step.
//
// From the gateway: section of the config it renders a netplan file for the
// two NICs, a sysctl drop-in for ip forwarding, NAT rules (an nftables table
// or iptables chains of its own) with a systemd unit that loads them, and
// the MAAS side through the REST API: the cluster subnet's gateway and DNS,
// reserved and dynamic ranges, DHCP on the cluster VLAN, upstream DNS.
// Every file is checked by the real tool (netplan generate, nft -c,
// iptables-restore --test, systemd-analyze verify) before anything is
// written; plan shows every change and makes none; apply is idempotent and
// keeps backups that rollback restores; check says what is wrong and how to
// fix it.
//
// It knows nothing of PDUs, SNMP or the HTTP service; MAAS is reached only
// through package maas.
package gateway

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
)

// usage is the help text; the flags' own lines follow it.
var usage = fmt.Sprintf(`Usage: powerbridge gateway <command> --config FILE [flags]

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
`, NetplanFile, SysctlFile, NFTFile, NFTTable, IPTablesFile, IPTForward, IPTPostrouting, UnitFile, CloudInitDisable)

// options are the command-line flags.
type options struct {
	config     string
	root       string
	skipMAAS   bool
	firewall   string
	maasURL    string
	apiKeyFile string
	corpNIC    string
	clusterNIC string
	backup     string
}

func (o *options) flags(fs *flag.FlagSet, cfgPath string) {
	fs.StringVar(&o.config, "config", cfgPath, "the config `file` holding the gateway: section (see deploy/gateway.example.yaml)")
	fs.StringVar(&o.root, "root", "/", "write the files under `DIR` instead of /, and change nothing live (for review and tests)")
	fs.BoolVar(&o.skipMAAS, "skip-maas", false, "leave MAAS alone: files and live system only")
	fs.StringVar(&o.firewall, "firewall", "", "override gateway.firewall: `nftables` or iptables")
	fs.StringVar(&o.maasURL, "maas-url", "", "override gateway.maas.url, e.g. http://192.168.1.195:5240/MAAS/")
	fs.StringVar(&o.apiKeyFile, "api-key-file", "", "override gateway.maas.api_key_file")
	fs.StringVar(&o.corpNIC, "corp-nic", "", "override the corp NIC: a `name or MAC`")
	fs.StringVar(&o.clusterNIC, "cluster-nic", "", "override the cluster NIC: a `name or MAC`")
	fs.StringVar(&o.backup, "backup", "", "rollback: the backup `NAME` to restore (default: the newest)")
}

// Main runs "powerbridge gateway ARGS" and returns the exit status: 0 done
// (check: no problems), 1 problems found or a failure, 2 a usage error.
//
// The config file is cfgPath unless --config names another. cfg is that file
// loaded, when the caller has it; when it is nil, Main reads only the
// gateway: section of the file, so that the helper also works from a file
// with nothing else in it (deploy/gateway.example.yaml), before the
// service's keys are set up.
func Main(ctx context.Context, args []string, cfg *config.File, cfgPath string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("powerbridge gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.flags(fs, cfgPath)
	// The flag package calls Usage on every parse error; the full text is
	// printed by helpOrUsage, to stdout when it was asked for.
	fs.Usage = func() {}
	// Flags may come before or after the command.
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err, fs, stdout)
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "powerbridge gateway: which command? plan, apply, check or rollback (--help explains them)")
		return 2
	}
	cmd := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return helpOrUsage(err, fs, stdout)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "powerbridge gateway %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	switch cmd {
	case "plan", "apply", "check", "rollback":
	case "help":
		printUsage(fs, stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "powerbridge gateway: unknown command %q (plan, apply, check or rollback)\n", cmd)
		return 2
	}

	root, err := filepath.Abs(o.root)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge gateway: --root: %v\n", err)
		return 2
	}
	live := root == "/"
	if live && os.Geteuid() != 0 {
		// netplan files are root's (0600), and reading nft or iptables
		// rules needs CAP_NET_ADMIN: as anyone else the answers would be wrong.
		fmt.Fprintf(stderr, "powerbridge gateway %s: reads and changes the live system: run it as root (or with --root DIR to work on a copy)\n", cmd)
		return 1
	}

	e := &env{root: root, stateDir: config.DefaultStateDir, out: stdout, now: time.Now}
	if cfg != nil && cfg.StateDir != "" {
		e.stateDir = cfg.StateDir
	}
	if live {
		e.host = liveHost{}
	}

	if cmd == "rollback" {
		// Rollback needs no config: the backup says what to restore.
		if err := rollback(ctx, e, o.backup); err != nil {
			fmt.Fprintf(stderr, "powerbridge gateway rollback: %v\n", err)
			return 1
		}
		return 0
	}

	if o.config != cfgPath {
		cfg = nil // --config named another file than the one loaded
	}
	s, err := loadSpec(cfg, o.config, &o)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge gateway %s: %s\n", cmd, problemText(err))
		return 1
	}
	if !o.skipMAAS {
		key, err := s.MAAS.ReadAPIKey()
		if err != nil {
			fmt.Fprintf(stderr, "powerbridge gateway %s: %v (or run with --skip-maas)\n", cmd, err)
			return 1
		}
		if e.maas, err = maas.New(s.MAAS.URL, key, nil); err != nil {
			fmt.Fprintf(stderr, "powerbridge gateway %s: %v\n", cmd, err)
			return 1
		}
	}

	switch cmd {
	case "plan":
		p, err := makePlan(ctx, e, s)
		if err != nil {
			fmt.Fprintf(stderr, "powerbridge gateway plan: %v\n", err)
			return 1
		}
		p.print(stdout, e)
		if p.maasErr != nil {
			// What MAAS needs is unknown: neither "no changes" nor a count
			// that apply would make.
			fmt.Fprintf(stdout, "\nIncomplete: MAAS could not be read; %d change(s) to files and the live system.\n", p.count())
			fmt.Fprintf(stderr, "powerbridge gateway plan: reading MAAS at %s: %v%s\n", e.maas.URL(), p.maasErr, maasReadHint(p.maasErr))
			return 1
		}
		if p.empty() {
			fmt.Fprintln(stdout, "\nNo changes: the gateway is set up as configured.")
		} else {
			fmt.Fprintf(stdout, "\n%d change(s). powerbridge gateway apply makes them.\n", p.count())
		}
	case "apply":
		if err := apply(ctx, e, s); err != nil {
			fmt.Fprintf(stderr, "powerbridge gateway apply: %v\n", err)
			return 1
		}
	case "check":
		findings, notes, err := check(ctx, e, s)
		if err != nil {
			fmt.Fprintf(stderr, "powerbridge gateway check: %v\n", err)
			return 1
		}
		printFindings(stdout, findings, notes)
		if len(findings) > 0 {
			return 1
		}
	}
	return 0
}

func helpOrUsage(err error, fs *flag.FlagSet, stdout io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		printUsage(fs, stdout)
		return 0
	}
	// The flag package has printed the error.
	fmt.Fprintln(fs.Output(), "powerbridge gateway --help lists the commands and flags")
	return 2
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	out := fs.Output()
	fmt.Fprint(w, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// loadSpec decodes and validates the gateway: section, flags applied.
func loadSpec(cfg *config.File, cfgPath string, o *options) (*Spec, error) {
	var node *yaml.Node
	name := cfgPath
	switch {
	case cfg != nil:
		node = &cfg.Gateway
	case cfgPath == "":
		return nil, errors.New("no config file: give one with --config FILE (deploy/gateway.example.yaml shows the gateway: section)")
	default:
		data, err := os.ReadFile(cfgPath)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		if node, err = sectionOf(data, cfgPath); err != nil {
			return nil, err
		}
	}
	if name == "" {
		name = "config"
	}
	if node == nil || node.Kind == 0 {
		return nil, fmt.Errorf("%s has no gateway: section; deploy/gateway.example.yaml shows one", name)
	}
	var c Config
	if err := config.Decode(name, node, "gateway", &c); err != nil {
		return nil, err
	}
	flags := overrides{}
	set := func(key, flag, v string, to *string) {
		if v != "" {
			*to, flags[key] = v, "--"+flag
		}
	}
	set("firewall", "firewall", o.firewall, &c.Firewall)
	set("maas.url", "maas-url", o.maasURL, &c.MAAS.URL)
	set("maas.api_key_file", "api-key-file", o.apiKeyFile, &c.MAAS.APIKeyFile)
	nicFlag := func(key, flag, v string, name, mac *string) {
		if v == "" {
			return
		}
		if _, err := net.ParseMAC(v); err == nil {
			set(key+".mac", flag, v, mac)
		} else {
			set(key+".name", flag, v, name)
		}
	}
	nicFlag("corp", "corp-nic", o.corpNIC, &c.Corp.Name, &c.Corp.MAC)
	nicFlag("cluster", "cluster-nic", o.clusterNIC, &c.Cluster.Name, &c.Cluster.MAC)
	return c.validate(name, node, flags, !o.skipMAAS)
}

// problemText puts each config problem on a line of its own.
func problemText(err error) string {
	var ps config.Problems
	if errors.As(err, &ps) && len(ps) > 1 {
		return "the config has problems:\n" + indent(ps.Error())
	}
	return err.Error()
}
