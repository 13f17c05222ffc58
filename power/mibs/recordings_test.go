package mibs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/power/snmp/snmptest"
)

// fakeDriver is a driver for vendor "auto" over f.
func fakeDriver(t *testing.T, f *fakeAgent) *Driver {
	t.Helper()
	cfg := Config{Config: snmp.Config{Address: "192.0.2.7", Version: f.version, Community: "private", Timeout: time.Second}, Vendor: "auto", Dialect: "auto"}
	return newDriver(cfg, f)
}

// TestRecordingsDetected reads each capture of a non-APC PDU as vendor
// auto, over SNMPv1 and v2c: the vendor and dialect found, the model and
// firmware (each a part of the capture's sysDescr or ident objects), and
// the outlets' states and names as the capture holds them.
func TestRecordingsDetected(t *testing.T) {
	for _, tc := range []struct {
		file    string
		info    power.Info
		outlets int
		// outlets 1 and the last, as outletLine renders them: with as many
		// per-outlet meters as fit beside the states in one request
		first, last   string
		meter         string
		inSysDescr    []string
		requestsAfter int // requests per read once detected
	}{
		{"eaton-epdu-ma-36u-librenms.snmprec", power.Info{Vendor: "Eaton", Model: "ePDU MA 36U-C", Firmware: "05.01.0002", Dialect: "g3"},
			24, `1 "Power strip + s-rw-lab-rack" on 80W`, `24 "Outlet A24" on 0W`, "14.108A 1584W 2.9467774800e+10J", []string{"ePDU MA 36U-C"}, 1},
		{"raritan-px3-5493u-librenms.snmprec", power.Info{Vendor: "Raritan", Model: "PX3-5493U-K2", Firmware: "4.2.0.5-50274", Dialect: "pdu2"},
			24, `1 "Outlet 1" on 143W`, `24 "DEVICE 1:PS1:Installed" on 550W`, "7.467A 1665W 2.6660763360e+11J", []string{"PX3-5493U-K2", "4.2.0.5-50274"}, 1},
		{"cyberpower-pdu81005-librenms.snmprec", power.Info{Vendor: "CyberPower", Model: "PDU81005", Firmware: "1.3.4", Dialect: "epdu2"},
			8, `1 "Outlet 1" on 0W 0A`, `8 "Outlet 8" on 28W 0.3A`, "1.1A 1.1A", nil, 1},
		{"tripplite-pdu-poweralert20-librenms.snmprec", power.Info{Vendor: "Tripp Lite", Model: "PDUMV30HVNETLX", Firmware: "PowerAlert 20.2.1", Dialect: "tlppdu"},
			// tlpPduOutputCurrent.1.1 is 100 (0.01 A), tlpPduOutputActivePower.1.1
			// 207 (W); the capture has no per-outlet meters.
			24, `1 "Load 1" on`, `24 "Load 24" on`, "1A 207W", []string{"PowerAlert 20.2.1"}, 1},
	} {
		for _, version := range []string{"1", "2c"} {
			t.Run(tc.file+"/v"+version, func(t *testing.T) {
				objects := snmptest.LoadSnmprec(t, recordings+tc.file)
				f := newFake(version, objects)
				d := fakeDriver(t, f)
				r, err := d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if r.Info != tc.info {
					t.Errorf("info %+v, want %+v", r.Info, tc.info)
				}
				descr := objects[sysDescr].Str
				for _, s := range tc.inSysDescr {
					if !strings.Contains(descr, s) {
						t.Errorf("%q is not in the capture's sysDescr %q", s, descr)
					}
				}
				if len(r.Outlets) != tc.outlets {
					t.Fatalf("%d outlets, want %d", len(r.Outlets), tc.outlets)
				}
				if got := outletLine(r.Outlets[0]); got != tc.first {
					t.Errorf("first outlet %s, want %s", got, tc.first)
				}
				if got := outletLine(r.Outlets[len(r.Outlets)-1]); got != tc.last {
					t.Errorf("last outlet %s, want %s", got, tc.last)
				}
				if got := meterLine(r.Meter); got != tc.meter {
					t.Errorf("meter %q, want %q", got, tc.meter)
				}
				before := len(f.requests)
				if _, err := d.Read(t.Context()); err != nil {
					t.Fatal(err)
				}
				if n := len(f.requests) - before; n != tc.requestsAfter {
					t.Errorf("a read took %d requests (%v), want %d", n, f.requests[before:], tc.requestsAfter)
				}
			})
		}
	}
}

func outletLine(o power.Outlet) string {
	s := fmt.Sprintf("%d %q %v", o.Number, o.Name, o.State)
	if o.Pending {
		s += " pending"
	}
	if o.PowerWatts != nil {
		s += fmt.Sprintf(" %gW", *o.PowerWatts)
	}
	if o.CurrentAmperes != nil {
		s += fmt.Sprintf(" %.5gA", *o.CurrentAmperes)
	}
	return s
}

func meterLine(m power.Meter) string {
	var parts []string
	for _, a := range m.CurrentAmperes {
		parts = append(parts, fmt.Sprintf("%.5gA", a))
	}
	if m.PowerWatts != nil {
		parts = append(parts, fmt.Sprintf("%gW", *m.PowerWatts))
	}
	if m.EnergyJoules != nil {
		parts = append(parts, fmt.Sprintf("%.10eJ", *m.EnergyJoules))
	}
	return strings.Join(parts, " ")
}
