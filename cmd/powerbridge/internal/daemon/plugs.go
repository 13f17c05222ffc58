package daemon

import (
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/plug"
)

// plugDriver drives a smart plug over HTTP with power/plug: a Shelly of
// the generation GET /shelly names (or the one http.generation forces), a
// Tasmota, or, for vendor auto at an http:// or https:// address, whichever
// the plug turns out to be (plug.Detect's probes, on the first read).
// Plugs send no SNMP events.
func plugDriver(p config.PDU, _ func(apc.Event)) (power.Driver, error) {
	return plug.New(plug.Config{
		Address:  p.Address,
		Kind:     p.PlugKind(),
		User:     p.HTTP.User,
		Password: p.HTTP.Password.Reveal(),
		Timeout:  p.HTTP.Timeout.Std(),
	})
}
