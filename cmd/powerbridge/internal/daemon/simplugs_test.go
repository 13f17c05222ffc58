package daemon

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
)

const simulatedPlugs = `auth: {tokens: [{name: maas, token: maas-token-0123456789}]}
pdus:
  - {name: desk, simulate: shelly-gen2, http: {password: plug-pass-1}}
  - {name: old, simulate: shelly-gen1}
  - {name: taz, simulate: tasmota, http: {password: plug-pass-2}}
machines:
  - {name: m1, outlets: ["desk/1"]}
`

// Simulated plugs start beside the SNMP ones, with the PDU's password, are
// driven by the plug driver of their vendor, and a reload keeps those whose
// config did not change.
func TestSimulatedPlugs(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Parse([]byte(simulatedPlugs), "test config")
	if err != nil {
		t.Fatal(err)
	}
	sims, err := simulators(nil).start(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sims.closeUnless(nil) })
	for i, want := range []struct{ name, vendor, dialect string }{
		{"desk", "shelly", "shelly-gen2"}, {"old", "shelly", "shelly-gen1"}, {"taz", "tasmota", "tasmota"},
	} {
		p := cfg.PDUs[i]
		if p.Vendor != want.vendor || !strings.HasPrefix(p.Address, "http://127.0.0.1:") || sims[p.Name].plug == nil {
			t.Fatalf("%s: vendor %s, address %s", p.Name, p.Vendor, p.Address)
		}
		drv, err := vendorDrivers[p.Vendor](p, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if err := drv.Switch(ctx, 1, power.On); err != nil {
			t.Errorf("%s: switch: %v", p.Name, err)
		}
		r, err := drv.Read(ctx)
		cancel()
		drv.Close()
		if err != nil || r.Info.Dialect != want.dialect || sims[p.Name].plug.State(1) != power.On {
			t.Errorf("%s: reading %+v, %v; plug %s", p.Name, r, err, sims[p.Name].plug.State(1))
		}
		if sims[p.Name].plug.AuthFailures() != 0 {
			t.Errorf("%s: the simulator refused the PDU's own credentials", p.Name)
		}
	}

	next, err := config.Parse([]byte(strings.Replace(simulatedPlugs, "plug-pass-2", "plug-pass-3", 1)), "test config")
	if err != nil {
		t.Fatal(err)
	}
	second, err := sims.start(next, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.closeUnless(sims) })
	if second["desk"] != sims["desk"] || second["taz"] == sims["taz"] || next.PDUs[0].Address != sims["desk"].addr() {
		t.Errorf("desk kept: %v (want true), taz kept: %v (want false)", second["desk"] == sims["desk"], second["taz"] == sims["taz"])
	}
}
