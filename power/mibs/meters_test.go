package mibs

import (
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/power/snmp/snmptest"
)

// TestSimulatedMeters reads each metered vendor model of power/pdusim
// (all but APC's, which power/apc's tests hold) with every outlet on, then
// with one switched off (read back), over each SNMP version: the outlet's
// meters and the PDU's, at the MIB's scale, in base units, and a
// switched-off outlet reads nothing drawn. Every outlet that is on draws
// 0.35 A and 80 W (at 120 V: the Tripp Lite's 42 W, the CyberPower's 0.5
// A and 60 W).
func TestSimulatedMeters(t *testing.T) {
	for _, tc := range []struct {
		model       string
		outlet      int
		on, off     string // outletLine of the outlet, on and then off
		meterOn     string // meterLine with every outlet on
		meterOneOff string // … and with the outlet off
	}{
		// Two units, each an inlet: 8 and 4 outlets; milliamps, watts and
		// watt-hours (81854 and 82854 Wh).
		{"eaton-g3", 10, `10 "Outlet B2" on 80W 0.35A`, `10 "Outlet B2" off 0W 0A`,
			"2.8A 1.4A 960W 5.9294880000e+08J", "2.8A 1.05A 880W 5.9294880000e+08J"},
		// Sensors with decimal digits: milliamps, W, the inlet's 98765 Wh.
		{"raritan-px3", 3, `3 "Outlet 3" on 80W 0.35A`, `3 "Outlet 3" off 0W 0A`,
			"2.8A 640W 3.5555400000e+08J", "2.45A 560W 3.5555400000e+08J"},
		// 120 V, two banks of 4 in tenths of amps: 0.5 A, 60 W an outlet.
		{"cyberpower-epdu2", 5, `5 "Outlet5" on 60W 0.5A`, `5 "Outlet5" off 0W 0A`, "2A 2A", "2A 1.5A"},
		// Two infeeds of 4, hundredths of amps; the tower's 1234 kWh.
		{"servertech-sentry3", 6, `6 "TowerA_InfeedB_Outlet2" on 80W 0.35A`, `6 "TowerA_InfeedB_Outlet2" off 0W 0A`,
			"1.4A 1.4A 640W 4.4424000000e+09J", "1.4A 1.05A 560W 4.4424000000e+09J"},
		// One cord, one phase; hundredths of amps, the cord's 1234.5 kWh.
		{"servertech-sentry4", 2, `2 "Master_Outlet_2" on 80W 0.35A`, `2 "Master_Outlet_2" off 0W 0A`,
			"2.8A 640W 4.4442000000e+09J", "2.45A 560W 4.4442000000e+09J"},
		// One output phase; no energy meter that counts up.
		{"tripplite-pdu", 8, `8 "Load 8" on 42W 0.35A`, `8 "Load 8" off 0W 0A`, "2.8A 336W", "2.45A 294W"},
		// Centiamps, watts, 56789 Wh.
		{"geist-v5", 1, `1 "Outlet 1" on 80W 0.35A`, `1 "Outlet 1" off 0W 0A`,
			"2.8A 640W 2.0444040000e+08J", "2.45A 560W 2.0444040000e+08J"},
	} {
		for _, creds := range []string{"v1", "v2c", "v3 SHA/AES"} {
			t.Run(tc.model+"/"+creds, func(t *testing.T) {
				dev := simDevice(t, tc.model)
				d := simulate(t, dev, creds)
				r, err := d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				o, _ := r.Outlet(tc.outlet)
				if got := outletLine(o); got != tc.on {
					t.Errorf("outlet %d reads %s, want %s", tc.outlet, got, tc.on)
				}
				if got := meterLine(r.Meter); got != tc.meterOn {
					t.Errorf("PDU meters %q, want %q", got, tc.meterOn)
				}
				if err := d.Switch(t.Context(), tc.outlet, power.Off); err != nil {
					t.Fatal(err)
				}
				readBack(t, d, tc.outlet, power.Off)
				r, err = d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				o, _ = r.Outlet(tc.outlet)
				if got := outletLine(o); got != tc.off {
					t.Errorf("switched off, outlet %d reads %s, want %s", tc.outlet, got, tc.off)
				}
				if got := meterLine(r.Meter); got != tc.meterOneOff {
					t.Errorf("switched off, PDU meters %q, want %q", got, tc.meterOneOff)
				}
			})
		}
	}
}

// TestGeistLabels: a Geist outlet's user-set label (pduOutletSwitchLabel)
// is its name where set, its factory name (pduOutletSwitchName) where not.
func TestGeistLabels(t *testing.T) {
	d := simulate(t, simDevice(t, "geist-v5"), "v2c")
	r, err := d.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{1: "Outlet 1", 3: "web-1", 8: "Outlet 8"} {
		if o, _ := r.Outlet(n); o.Name != want {
			t.Errorf("outlet %d is named %q, want %q", n, o.Name, want)
		}
	}
	if r.Info.Model != "rPDU-8xC13" || r.Info.Firmware != "5.4.3" {
		t.Errorf("model %q firmware %q, want productModelNumber rPDU-8xC13, productVersion 5.4.3", r.Info.Model, r.Info.Firmware)
	}
}

// TestEatonNeutralIsNoPhase: an Eaton inlet's inputCurrent rows are its
// wires, and the one inputCurrentMeasType calls neutral (2) is not read as
// a phase (it would count twice in the load): the ePDU MA capture with a
// neutral row of 5 A added reads its one phase alone.
func TestEatonNeutralIsNoPhase(t *testing.T) {
	for _, version := range []string{"1", "2c"} {
		objects := snmptest.LoadSnmprec(t, recordings+"eaton-epdu-ma-36u-librenms.snmprec")
		for oid, v := range map[string]int64{".1.3.6.1.4.1.534.6.6.7.3.3.1.2.0.1.2": 2, ".1.3.6.1.4.1.534.6.6.7.3.3.1.4.0.1.2": 5000} {
			objects[oid] = snmp.Varbind{OID: oid, Kind: snmp.KindInt, Num: v}
		}
		r, err := fakeDriver(t, newFake(version, objects)).Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := meterLine(r.Meter), "14.108A 1584W 2.9467774800e+10J"; got != want {
			t.Errorf("v%s: PDU meters %q, want %q", version, got, want)
		}
	}
}
