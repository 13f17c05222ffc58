// Package bench is powerbridge's performance harness: simulated APC PDUs
// with injected latency, the powerbridge config that drives them, a bare
// net/http server to compare the status route against, the MAAS-apc way of
// querying outlets (one snmpget process per outlet), and measurements of a
// running process's CPU and memory. The pbbench command (cmd/pbbench) puts
// these pieces at bench.sh's disposal; the go test benchmarks beside them
// measure the hot paths in process. BENCHMARKS.md at the repository root
// says how each is run and what it showed.
//
// It drives powerbridge from outside, the way MAAS does: over HTTP, against
// PDUs that answer real SNMP, counting the requests at the PDU.
package bench

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power/pdusim"
)

// Communities of the simulated PDUs. MAAS's apc driver reads and writes
// with "private" over SNMP v1, so powerbridge's config uses it too.
const (
	ReadCommunity  = "public"
	WriteCommunity = "private"
)

// Sim is one simulated PDU served over SNMP on loopback.
type Sim struct {
	Name   string
	Model  string
	Device *pdusim.Device
	Agent  *pdusim.Agent
}

// SimConfig says which simulated PDUs to start.
type SimConfig struct {
	Count int
	Model string // "ap7900" (8 outlets) or "ap8941" (24 outlets)
	// Latency is how long each PDU waits before answering a request, as
	// slow APC cards do.
	Latency time.Duration
	// PerVarbind is how long more each PDU waits for every varbind the
	// request had it handle: a card whose time grows with the request.
	PerVarbind time.Duration
	// OneAtATime makes each PDU serve one request at a time, as an APC
	// card does (pdusim.Agent.SetOneAtATime).
	OneAtATime bool
	// SwitchDelay is how long a switch stays pending (pdusim.Options);
	// negative is instant.
	SwitchDelay time.Duration
}

// StartSims serves cfg.Count simulated PDUs on 127.0.0.1, named pdu1,
// pdu2, … Close them with CloseSims.
func StartSims(cfg SimConfig) ([]*Sim, error) {
	if cfg.Model == "" {
		cfg.Model = "ap7900"
	}
	var sims []*Sim
	for i := range cfg.Count {
		dev, err := pdusim.New(cfg.Model, pdusim.Options{SwitchDelay: cfg.SwitchDelay})
		if err != nil {
			CloseSims(sims)
			return nil, err
		}
		agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: ReadCommunity, WriteCommunity: WriteCommunity})
		if err != nil {
			CloseSims(sims)
			return nil, err
		}
		agent.SetLatencyModel(pdusim.LatencyModel{PerRequest: cfg.Latency, PerVarbind: cfg.PerVarbind, OneAtATime: cfg.OneAtATime})
		sims = append(sims, &Sim{Name: fmt.Sprintf("pdu%d", i+1), Model: cfg.Model, Device: dev, Agent: agent})
	}
	return sims, nil
}

// CloseSims stops the agents.
func CloseSims(sims []*Sim) error {
	var errs []error
	for _, s := range sims {
		errs = append(errs, s.Agent.Close())
	}
	return errors.Join(errs...)
}

// Requests is the number of SNMP requests the PDUs have received in all.
func Requests(sims []*Sim) int64 {
	var n int64
	for _, s := range sims {
		n += s.Agent.Stats().Requests
	}
	return n
}

// Varbinds is the number of varbinds the PDUs have handled in all
// (pdusim.Stats.Varbinds).
func Varbinds(sims []*Sim) int64 {
	var n int64
	for _, s := range sims {
		n += s.Agent.Stats().Varbinds
	}
	return n
}

// LatencyModel is a latency model by name, as pbbench takes it: "request"
// (a relay serving one request at a time, d each) or "varbind" (one at a
// time too, d for each varbind).
func LatencyModel(name string, d time.Duration) (perRequest, perVarbind time.Duration, err error) {
	switch name {
	case "request":
		return d, 0, nil
	case "varbind":
		return 0, d, nil
	}
	return 0, 0, fmt.Errorf("latency model %q is not one of request, varbind", name)
}

// MachineName is the name the generated config gives the machine on outlet
// n of PDU pdu.
func MachineName(pdu string, n int) string { return fmt.Sprintf("%s-n%d", pdu, n) }

// ConfigOptions shape the generated powerbridge config.
type ConfigOptions struct {
	Listen       string
	Token        string
	PollInterval time.Duration // 0: the config's default (15 s)
	// Version is the SNMP version powerbridge speaks: "1" (the default,
	// as MAAS's apc driver), or "2c".
	Version string
	// PowerOnDelay is every PDU's power_on_delay; 0 keeps it 0s.
	PowerOnDelay time.Duration
	// NoMachines leaves machines out: PDUs alone, polled.
	NoMachines bool
	// StateDir is powerbridge's state_dir; "" leaves the default
	// (/var/lib/powerbridge), which a benchmark should not write to.
	StateDir string
}

// Config renders a powerbridge config for sims: every PDU, and one machine
// per outlet, named by MachineName, unless o.NoMachines.
func Config(sims []*Sim, o ConfigOptions) string {
	if o.Version == "" {
		o.Version = "1"
	}
	var b strings.Builder
	if o.Listen != "" {
		fmt.Fprintf(&b, "listen: %q\n", o.Listen)
	}
	if o.StateDir != "" {
		fmt.Fprintf(&b, "state_dir: %q\n", o.StateDir)
	}
	fmt.Fprintf(&b, "auth:\n  tokens: [{name: bench, token: %q}]\npdus:\n", o.Token)
	for _, s := range sims {
		fmt.Fprintf(&b, "  - name: %s\n    address: %q\n    snmp: {version: %q, community: %s, read_community: %s}\n    power_on_delay: %s\n",
			s.Name, s.Agent.Addr(), o.Version, WriteCommunity, WriteCommunity, o.PowerOnDelay)
		if o.PollInterval > 0 {
			fmt.Fprintf(&b, "    poll_interval: %s\n", o.PollInterval)
		}
	}
	if o.NoMachines {
		b.WriteString("machines: []\n")
		return b.String()
	}
	b.WriteString("machines:\n")
	for _, s := range sims {
		for n := 1; n <= s.Device.Outlets(); n++ {
			fmt.Fprintf(&b, "  - {name: %s, outlets: [\"%s/%d\"]}\n", MachineName(s.Name, n), s.Name, n)
		}
	}
	return b.String()
}
