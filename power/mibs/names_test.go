package mibs

import (
	"errors"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
)

// An APC found by vendor auto has its outlet names written through
// power/apc, and every vendor whose MIB has the outlet name read-write has
// it written in its name column: the device then serves it, and reads
// show it. A name longer than the column takes is refused before anything
// is sent. A vendor whose names are not written is ErrCannotName, and its
// outlet's name on the device is left as it was.
func TestNameOutletOnEachVendor(t *testing.T) {
	for _, tc := range []struct {
		model string
		max   int
	}{
		{"ap7900", 20}, {"eaton-g3", 31}, {"raritan-px3", 255}, {"servertech-sentry3", 24}, {"servertech-sentry4", 32},
	} {
		t.Run(tc.model, func(t *testing.T) {
			dev := simDevice(t, tc.model)
			d := simulate(t, dev, "v2c")
			if err := d.NameOutlet(t.Context(), 3, "node3"); err != nil {
				t.Fatalf("naming outlet 3: %v", err)
			}
			if got := dev.OutletName(3); got != "node3" {
				t.Errorf("the device's outlet 3 is named %q, want node3", got)
			}
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := r.Outlet(3); o.Name != "node3" {
				t.Errorf("a read after the write names outlet 3 %q, want node3", o.Name)
			}
			if got := d.MaxNameLength(); got != tc.max {
				t.Errorf("MaxNameLength = %d, want %d", got, tc.max)
			}
			before := dev.OutletName(2)
			if err := d.NameOutlet(t.Context(), 2, strings.Repeat("x", tc.max+1)); err == nil {
				t.Errorf("a name of %d characters was taken, longer than the %d the MIB allows", tc.max+1, tc.max)
			}
			if got := dev.OutletName(2); got != before {
				t.Errorf("outlet 2 is named %q after a refused write, was %q", got, before)
			}
		})
	}
	for _, model := range []string{"geist-v5", "tripplite-pdu", "cyberpower-epdu2"} {
		t.Run(model, func(t *testing.T) {
			dev := simDevice(t, model)
			before := dev.OutletName(1)
			d := simulate(t, dev, "v2c")
			err := d.NameOutlet(t.Context(), 1, "node1")
			if !errors.Is(err, power.ErrCannotName) {
				t.Fatalf("naming outlet 1: %v, want ErrCannotName", err)
			}
			if got := dev.OutletName(1); got != before {
				t.Errorf("outlet 1 is named %q, was %q", got, before)
			}
		})
	}
}
