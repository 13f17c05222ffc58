// Package gateway makes the MAAS host the gateway of the cluster network, in
// one repeatable, reviewable step: the library behind "powerbridge gateway"
// (whose flags and help live in cmd/powerbridge).
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
// It knows nothing of PDUs, SNMP, the HTTP service or command-line parsing;
// MAAS is reached only through package maas.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
)

// Env is where a run happens and what it may touch.
type Env struct {
	root     string       // "/" for the live system, else a copy (--root)
	stateDir string       // on the target system, e.g. /var/lib/powerbridge
	host     Host         // nil under a copy: nothing live is read or changed
	maas     *maas.Client // nil: MAAS is left alone
	out      io.Writer
	now      func() time.Time
}

// NewEnv is a run on the system under root, an absolute path: "/" is the
// live system, which the run reads and changes (as root); any other
// directory is a copy whose files alone are read and written, for review
// and tests. Backups go to stateDir on the target system; what the run does
// is written to out. MAAS is left alone unless ConnectMAAS is called.
func NewEnv(root, stateDir string, out io.Writer) *Env {
	e := &Env{root: root, stateDir: stateDir, out: out, now: time.Now}
	if root == "/" {
		e.host = liveHost{}
	}
	return e
}

// ConnectMAAS has the run read and change MAAS as s says: at its URL, with
// the API key in its key file.
func (e *Env) ConnectMAAS(s *Spec) error {
	key, err := s.MAAS.ReadAPIKey()
	if err != nil {
		return fmt.Errorf("%w (or run with --skip-maas)", err)
	}
	if e.maas, err = maas.New(s.MAAS.URL, key, nil); err != nil {
		return err
	}
	return nil
}

// Plan works out every file diff, live change and MAAS API change for s and
// writes them to the run's output; it changes nothing. A failed read of
// MAAS is an error, returned after the rest of the plan is written: what
// MAAS needs is then unknown, so the plan never says "no changes".
func Plan(ctx context.Context, e *Env, s *Spec) error {
	p, err := makePlan(ctx, e, s)
	if err != nil {
		return err
	}
	w := e.out
	p.print(w, e)
	if p.maasErr != nil {
		fmt.Fprintf(w, "\nIncomplete: MAAS could not be read; %d change(s) to files and the live system.\n", p.count())
		return fmt.Errorf("reading MAAS at %s: %w%s", e.maas.URL(), p.maasErr, maasReadHint(p.maasErr))
	}
	if p.empty() {
		fmt.Fprintln(w, "\nNo changes: the gateway is set up as configured.")
	} else {
		fmt.Fprintf(w, "\n%d change(s). powerbridge gateway apply makes them.\n", p.count())
	}
	return nil
}

// Check writes what keeps this host from being the cluster's gateway as
// configured, each problem with its fix, and returns how many it found.
func Check(ctx context.Context, e *Env, s *Spec) (problems int, err error) {
	findings, notes, err := check(ctx, e, s)
	if err != nil {
		return 0, err
	}
	printFindings(e.out, findings, notes)
	return len(findings), nil
}

// Overrides are command-line flags that replace keys of the gateway:
// section; a problem with such a key names the flag (--firewall,
// --maas-url, --api-key-file, --corp-nic, --cluster-nic) rather than a line.
// A NIC is a name or a MAC.
type Overrides struct {
	Firewall, MAASURL, APIKeyFile, CorpNIC, ClusterNIC string
}

// LoadSpec decodes and validates the gateway: section, overrides applied.
// cfg is the config file loaded, when the caller has it; when it is nil,
// only the gateway: section of the file at cfgPath is read, so that the
// helper also works from a file with nothing else in it
// (deploy/gateway.example.yaml), before the service's keys are set up.
// needMAAS is false when MAAS is to be left alone and its keys may be absent.
func LoadSpec(cfg *config.File, cfgPath string, o Overrides, needMAAS bool) (*Spec, error) {
	node, err := gatewaySection(cfg, cfgPath)
	if err != nil {
		return nil, err
	}
	name := cfgPath
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
	return c.validate(name, node, o.apply(&c), needMAAS)
}

// gatewaySection is the gateway: section of cfg, or of the file at cfgPath.
func gatewaySection(cfg *config.File, cfgPath string) (*yaml.Node, error) {
	switch {
	case cfg != nil:
		return &cfg.Gateway, nil
	case cfgPath == "":
		return nil, errors.New("no config file: give one with --config FILE (deploy/gateway.example.yaml shows the gateway: section)")
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return sectionOf(data, cfgPath)
}

// apply sets the keys of c that o overrides and says which flag set each.
func (o Overrides) apply(c *Config) overrides {
	flags := overrides{}
	set := func(key, flag, v string, to *string) {
		if v != "" {
			*to, flags[key] = v, "--"+flag
		}
	}
	set("firewall", "firewall", o.Firewall, &c.Firewall)
	set("maas.url", "maas-url", o.MAASURL, &c.MAAS.URL)
	set("maas.api_key_file", "api-key-file", o.APIKeyFile, &c.MAAS.APIKeyFile)
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
	nicFlag("corp", "corp-nic", o.CorpNIC, &c.Corp.Name, &c.Corp.MAC)
	nicFlag("cluster", "cluster-nic", o.ClusterNIC, &c.Cluster.Name, &c.Cluster.MAC)
	return flags
}

// ProblemText puts each config problem on a line of its own.
func ProblemText(err error) string {
	var ps config.Problems
	if errors.As(err, &ps) && len(ps) > 1 {
		return "the config has problems:\n" + indent(ps.Error())
	}
	return err.Error()
}
