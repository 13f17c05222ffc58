package pdusim

import (
	"testing"

	"github.com/powerbridge/powerbridge/power"
)

// TestToolsVendorMeters holds each metered vendor model's meters to
// net-snmp's snmpget, over v1, v2c and v3: an outlet's current and power
// and the PDU's inlet or phase current and total power read the MIB's
// types and units with every outlet on (0.35 A, 80 W each; at 120 V the
// Tripp Lite's 42 W, the CyberPower's 0.5 A and 60 W), and once the
// outlet is switched off with snmpset, it reads 0 and the totals drop by
// what it drew.
func TestToolsVendorMeters(t *testing.T) {
	type reading struct{ amps, watts, total, power string }
	for _, tc := range []struct {
		model          string
		outlet         int
		amps, watts    string // the outlet's current and power objects
		total, power   string // its inlet's (phase's) current, the PDU's power
		control, value string // the SET that switches it off
		on, off        reading
	}{
		// Eaton: outlet 10 is unit 1's outlet 2; mA and W, unit 1's inlet.
		{"eaton-g3", 10, ".1.3.6.1.4.1.534.6.6.7.6.4.1.3.1.2", ".1.3.6.1.4.1.534.6.6.7.6.5.1.3.1.2",
			".1.3.6.1.4.1.534.6.6.7.3.3.1.4.1.1.1", ".1.3.6.1.4.1.534.6.6.7.3.5.1.4.1.1",
			".1.3.6.1.4.1.534.6.6.7.6.6.1.3.1.2", "0",
			reading{"INTEGER: 350", "INTEGER: 80", "INTEGER: 1400", "INTEGER: 320"},
			reading{"INTEGER: 0", "INTEGER: 0", "INTEGER: 1050", "INTEGER: 240"}},
		// Raritan: the sensors' values (rmsCurrent 1 with 3 decimal digits,
		// activePower 5 with none), the inlet's.
		{"raritan-px3", 3, ".1.3.6.1.4.1.13742.6.5.4.3.1.4.1.3.1", ".1.3.6.1.4.1.13742.6.5.4.3.1.4.1.3.5",
			".1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.1", ".1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.5",
			".1.3.6.1.4.1.13742.6.4.1.2.1.2.1.3", "0",
			reading{"Gauge32: 350", "Gauge32: 80", "Gauge32: 2800", "Gauge32: 640"},
			reading{"Gauge32: 0", "Gauge32: 0", "Gauge32: 2450", "Gauge32: 560"}},
		// CyberPower, 120 V: ePDU2's outlet load (0.1 A) and power, bank
		// 2's load; no PDU power in its MIB, so the fourth object is the
		// ePDU tree's load of the same outlet.
		{"cyberpower-epdu2", 5, ".1.3.6.1.4.1.3808.1.1.6.6.2.4.1.6.5", ".1.3.6.1.4.1.3808.1.1.6.6.2.4.1.7.5",
			".1.3.6.1.4.1.3808.1.1.3.2.3.1.1.2.2", ".1.3.6.1.4.1.3808.1.1.3.3.5.1.1.7.5",
			".1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5.5", "2",
			reading{"Gauge32: 5", "Gauge32: 60", "Gauge32: 20", "Gauge32: 5"},
			reading{"Gauge32: 0", "Gauge32: 0", "Gauge32: 15", "Gauge32: 0"}},
		// Sentry3: outlet 6 is infeed B's outlet 2; hundredths of amps, W.
		{"servertech-sentry3", 6, ".1.3.6.1.4.1.1718.3.2.3.1.7.1.2.2", ".1.3.6.1.4.1.1718.3.2.3.1.14.1.2.2",
			".1.3.6.1.4.1.1718.3.2.2.1.7.1.2", ".1.3.6.1.4.1.1718.3.1.6.0",
			".1.3.6.1.4.1.1718.3.2.3.1.11.1.2.2", "2",
			reading{"INTEGER: 35", "INTEGER: 80", "INTEGER: 140", "INTEGER: 640"},
			reading{"INTEGER: 0", "INTEGER: 0", "INTEGER: 105", "INTEGER: 560"}},
		// Sentry4: unit 1, cord 1; hundredths of amps, W, phase 1.
		{"servertech-sentry4", 2, ".1.3.6.1.4.1.1718.4.1.8.3.1.3.1.1.2", ".1.3.6.1.4.1.1718.4.1.8.3.1.7.1.1.2",
			".1.3.6.1.4.1.1718.4.1.5.3.1.6.1.1.1", ".1.3.6.1.4.1.1718.4.1.3.3.1.3.1.1",
			".1.3.6.1.4.1.1718.4.1.8.5.1.2.1.1.2", "2",
			reading{"INTEGER: 35", "INTEGER: 80", "INTEGER: 280", "INTEGER: 640"},
			reading{"INTEGER: 0", "INTEGER: 0", "INTEGER: 245", "INTEGER: 560"}},
		// Tripp Lite: Unsigned32 (Gauge32) in 0.01 A and W, device 1's
		// output phase 1.
		{"tripplite-pdu", 8, ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.8.1.8", ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.9.1.8",
			".1.3.6.1.4.1.850.1.1.3.2.3.2.1.1.5.1.1", ".1.3.6.1.4.1.850.1.1.3.2.3.2.1.1.8.1.1",
			".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6.1.8", "1",
			reading{"Gauge32: 35", "Gauge32: 42", "Gauge32: 280", "Gauge32: 336"},
			reading{"Gauge32: 0", "Gauge32: 0", "Gauge32: 245", "Gauge32: 294"}},
		// Geist: Gauge32 centiamps and W, phase 1, PDU 1.
		{"geist-v5", 1, ".1.3.6.1.4.1.21239.5.2.3.6.1.8.1", ".1.3.6.1.4.1.21239.5.2.3.6.1.12.1",
			".1.3.6.1.4.1.21239.5.2.3.2.1.8.1", ".1.3.6.1.4.1.21239.5.2.3.1.1.9.1",
			".1.3.6.1.4.1.21239.5.2.3.5.1.6.1", "4",
			reading{"Gauge32: 35", "Gauge32: 80", "Gauge32: 280", "Gauge32: 640"},
			reading{"Gauge32: 0", "Gauge32: 0", "Gauge32: 245", "Gauge32: 560"}},
	} {
		for _, c := range []cred{v1Write, v2cWrite, v3SHAAES} {
			t.Run(tc.model+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				d := newDevice(t, tc.model, Options{SwitchDelay: -1})
				a := listen(t, d, testAccess)
				want := func(r reading) string {
					return lines(tc.amps+" = "+r.amps, tc.watts+" = "+r.watts, tc.total+" = "+r.total, tc.power+" = "+r.power)
				}
				get := func() output { return snmp(t, "snmpget", c, a.Addr(), tc.amps, tc.watts, tc.total, tc.power) }
				if got := get(); got.code != 0 || !same(got.stdout, want(tc.on)) {
					t.Fatalf("every outlet on:\n%s\nwant stdout\n%s", got, want(tc.on))
				}
				if set := snmp(t, "snmpset", c, a.Addr(), tc.control, "i", tc.value); set.code != 0 {
					t.Fatalf("set:\n%s", set)
				}
				if d.OutletState(tc.outlet) != power.Off {
					t.Fatalf("outlet %d is %v after the SET, want off", tc.outlet, d.OutletState(tc.outlet))
				}
				if got := get(); got.code != 0 || !same(got.stdout, want(tc.off)) {
					t.Errorf("outlet %d off:\n%s\nwant stdout\n%s", tc.outlet, got, want(tc.off))
				}
			})
		}
	}
}
