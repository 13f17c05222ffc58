package daemon

import (
	"fmt"
	"log/slog"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power/plugsim"
)

// startPlug serves a simulated smart plug on loopback for a PDU whose
// config says `simulate: shelly-gen1|shelly-gen2|tasmota`, with the PDU's
// own http credentials, and points the PDU's address at it.
func startPlug(p *config.PDU, log *slog.Logger) (*simulator, error) {
	sim, err := plugsim.Start(p.Simulate, plugsim.Options{User: p.HTTP.User, Password: p.HTTP.Password.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("PDU %s: starting the simulated plug: %w", p.Name, err)
	}
	s := &simulator{spec: *p, plug: sim}
	p.Address = sim.URL()
	log.Info("simulated plug", "pdu", p.Name, "model", p.Simulate, "outlets", sim.Relays(), "http", sim.URL(), "auth", p.HTTP.Password != "")
	return s, nil
}

// addr is where the simulator listens, as the PDU's address.
func (s *simulator) addr() string {
	if s.plug != nil {
		return s.plug.URL()
	}
	return s.agent.Addr()
}

func (s *simulator) close() error {
	if s.plug != nil {
		return s.plug.Close()
	}
	return s.agent.Close()
}
