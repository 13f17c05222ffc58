package apc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power/pdusim"
)

// NameOutlet writes the writable name object of the tree the PDU speaks,
// over v1 and v3, and the next read shows the name; the other outlets keep
// theirs. A name longer than the cards take is refused before anything is
// sent.
func TestNameOutletOnTheSimulatedPDU(t *testing.T) {
	for _, tc := range []struct{ model, dialect, creds string }{
		{"ap7900", "spdu", "v1"},
		{"ap7900", "rpdu", "v2c"},
		{"ap8941", "rpdu2", "v3 SHA/AES"},
		{"ap8941", "auto", "v1"},
	} {
		t.Run(fmt.Sprintf("%s %s %s", tc.model, tc.dialect, tc.creds), func(t *testing.T) {
			dev := simDevice(t, tc.model, pdusim.Options{})
			d, _ := simulate(t, dev, tc.creds, tc.dialect)
			before := dev.OutletName(2)
			if err := d.NameOutlet(t.Context(), 3, "node3.maas"); err != nil {
				t.Fatal(err)
			}
			if got := dev.OutletName(3); got != "node3.maas" {
				t.Errorf("the PDU names outlet 3 %q, want node3.maas", got)
			}
			if got := dev.OutletName(2); got != before {
				t.Errorf("outlet 2 was renamed %q (was %q)", got, before)
			}
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := r.Outlet(3); o.Name != "node3.maas" {
				t.Errorf("a read names outlet 3 %q, want node3.maas", o.Name)
			}
			long := strings.Repeat("x", MaxOutletName+1)
			if err := d.NameOutlet(t.Context(), 4, long); err == nil || dev.OutletName(4) == long {
				t.Errorf("a %d-character name: err = %v, name now %q", len(long), err, dev.OutletName(4))
			}
		})
	}
}
