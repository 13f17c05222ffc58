package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/power/plugsim"
)

// simulator is one simulated PDU served on loopback: an APC agent, or a
// smart plug.
type simulator struct {
	spec  config.PDU // the PDU config it was started for, address aside
	agent *pdusim.Agent
	plug  *plugsim.Plug
}

// simulators are the simulated PDUs of the configs in force, by PDU name.
type simulators map[string]*simulator

// start serves a simulated APC PDU on loopback for every PDU whose config
// says `simulate:`, with the PDU's own SNMP credentials, and points the PDU's
// address at it; powerbridge then talks real SNMP to it, as to hardware. A
// simulator already running for the same PDU config is kept (a reload does
// not reset its outlets). It returns the simulators cfg uses.
func (sims simulators) start(cfg *config.File, log *slog.Logger) (simulators, error) {
	used := simulators{}
	for i := range cfg.PDUs {
		p := &cfg.PDUs[i]
		if p.Simulate == "" {
			continue
		}
		if s := sims[p.Name]; s != nil && reflect.DeepEqual(s.spec, *p) {
			p.Address = s.addr()
			used[p.Name] = s
			continue
		}
		if p.IsPlug() {
			s, err := startPlug(p, log)
			if err != nil {
				used.closeUnless(sims)
				return nil, err
			}
			used[p.Name] = s
			continue
		}
		dev, err := newSimulatedDevice(p.Simulate)
		if err != nil {
			used.closeUnless(sims)
			return nil, fmt.Errorf("PDU %s: %w", p.Name, err)
		}
		agent, err := dev.Listen("127.0.0.1:0", simAccess(p.SNMP))
		if err != nil {
			used.closeUnless(sims)
			return nil, fmt.Errorf("PDU %s: starting the simulator: %w", p.Name, err)
		}
		used[p.Name] = &simulator{spec: *p, agent: agent}
		p.Address = agent.Addr()
		log.Info("simulated PDU", "pdu", p.Name, "model", p.Simulate, "outlets", dev.Outlets(), "snmp", agent.Addr(), "version", p.SNMP.Version)
	}
	return used, nil
}

// closeUnless stops the simulators of sims that keep does not hold.
func (sims simulators) closeUnless(keep simulators) error {
	var errs []error
	for name, s := range sims {
		if keep[name] != s {
			errs = append(errs, s.close())
		}
	}
	return errors.Join(errs...)
}

// newSimulatedDevice builds a built-in model by name, or loads a recording.
func newSimulatedDevice(what string) (*pdusim.Device, error) {
	if strings.HasSuffix(what, ".snmprec") {
		return pdusim.Load(what, pdusim.Options{})
	}
	return pdusim.New(what, pdusim.Options{})
}

func simAccess(s config.SNMP) pdusim.Access {
	if s.Version == "3" {
		return pdusim.Access{Users: []pdusim.User{{
			Name:           s.User,
			AuthProtocol:   s.AuthProtocol,
			AuthPassphrase: s.AuthPassphrase.Reveal(),
			PrivProtocol:   s.PrivProtocol,
			PrivPassphrase: s.PrivPassphrase.Reveal(),
		}}}
	}
	return pdusim.Access{Community: s.ReadCommunity.Reveal(), WriteCommunity: s.Community.Reveal()}
}
