package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power/apcsim"
)

// startSimulators serves a simulated APC PDU on loopback for every PDU whose
// config says `simulate:`, with the PDU's own SNMP credentials, and points the
// PDU's address at it. powerbridge then talks real SNMP to it, as to hardware.
func startSimulators(cfg *config.File, log *slog.Logger) (simulators, error) {
	var sims simulators
	for i := range cfg.PDUs {
		p := &cfg.PDUs[i]
		if p.Simulate == "" {
			continue
		}
		dev, err := newSimulatedDevice(p.Simulate)
		if err != nil {
			sims.Close()
			return nil, fmt.Errorf("PDU %s: %w", p.Name, err)
		}
		agent, err := dev.Listen("127.0.0.1:0", simAccess(p.SNMP))
		if err != nil {
			sims.Close()
			return nil, fmt.Errorf("PDU %s: starting the simulator: %w", p.Name, err)
		}
		sims = append(sims, agent)
		p.Address = agent.Addr()
		log.Info("simulated PDU", "pdu", p.Name, "model", p.Simulate, "outlets", dev.Outlets(), "snmp", agent.Addr(), "version", p.SNMP.Version)
	}
	return sims, nil
}

// newSimulatedDevice builds a built-in model by name, or loads a recording.
func newSimulatedDevice(what string) (*apcsim.Device, error) {
	if strings.HasSuffix(what, ".snmprec") {
		return apcsim.Load(what, apcsim.Options{})
	}
	return apcsim.New(what, apcsim.Options{})
}

func simAccess(s config.SNMP) apcsim.Access {
	if s.Version == "3" {
		return apcsim.Access{Users: []apcsim.User{{
			Name:           s.User,
			AuthProtocol:   s.AuthProtocol,
			AuthPassphrase: s.AuthPassphrase.Reveal(),
			PrivProtocol:   s.PrivProtocol,
			PrivPassphrase: s.PrivPassphrase.Reveal(),
		}}}
	}
	return apcsim.Access{Community: s.ReadCommunity.Reveal(), WriteCommunity: s.Community.Reveal()}
}
