package mibs

import (
	"errors"
	"testing"

	"github.com/powerbridge/powerbridge/power"
)

// An APC found by vendor auto has its outlet names written through
// power/apc; any other vendor's write is ErrCannotName, and its outlet's
// name on the device is left as it was.
func TestNameOutletOnAutoDetectedPDUs(t *testing.T) {
	apcDev := simDevice(t, "ap7900")
	d := simulate(t, apcDev, "v2c")
	if err := d.NameOutlet(t.Context(), 3, "node3"); err != nil {
		t.Fatalf("naming an APC's outlet: %v", err)
	}
	if got := apcDev.OutletName(3); got != "node3" {
		t.Errorf("the APC's outlet 3 is named %q, want node3", got)
	}

	eaton := simDevice(t, "eaton-g3")
	before := eaton.OutletName(1)
	d = simulate(t, eaton, "v2c")
	err := d.NameOutlet(t.Context(), 1, "node1")
	if !errors.Is(err, power.ErrCannotName) {
		t.Fatalf("naming an Eaton's outlet: %v, want ErrCannotName", err)
	}
	if got := eaton.OutletName(1); got != before {
		t.Errorf("the Eaton's outlet 1 is named %q, was %q", got, before)
	}
}
