package mibs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/power/snmp/snmptest"
)

// TestEveryRecording serves every capture of a real PDU in the recordings
// (a capture added without an expectation here fails) through the
// simulator, reads it with vendor auto, and holds the reading to the
// capture: the vendor and dialect, the model and firmware (each found in
// the capture's sysDescr where it has them), and the outlets' states and
// names as the capture records them.
func TestEveryRecording(t *testing.T) {
	want := map[string]struct {
		info        power.Info
		inSysDescr  string // which of model (m) and firmware (f) sysDescr carries
		outlets     int
		off         []int
		first, last string // names of outlet 1 and of the last
		// The PDU's meters, as meterLine renders them, each the capture's
		// value at its MIB's scale (rPDULoadStatusLoad and rPDU2's phase
		// current in tenths of amps, rPDU2's power in hundredths of kW and
		// energy in tenths of kWh; Eaton's mA, W and Wh; CyberPower's
		// ePDULoadStatusLoad per bank, tenths of amps; Tripp Lite's
		// tlpPduOutputTable, 0.01 A and W). The AP7900B has no rPDU2 power
		// (-1): powerbridge reads rPDUIdentDevicePowerWatts.
		meter string
	}{
		"apc-ap7900-aos374.snmprec": {power.Info{Vendor: "APC", Model: "AP7900", Firmware: "apc_hw02_rpdu_374.bin", Dialect: "rpdu"}, "mf",
			8, nil, "Outlet 1", "Outlet 8", "0A 0W"},
		// Only the sPDU outlet table was recorded.
		"apc-ap7900b-aos682.snmprec": {power.Info{Vendor: "APC", Model: "AP7900B", Firmware: "apc_hw05_rpdu2g_680.bin", Dialect: "spdu"}, "mf",
			8, nil, "NAS PSU", "Outlet 8", "2.7A 312W"},
		// snmpsim's variation lines: names are writecache values, the
		// rPDU2 states numeric ones (initial = 3 - the sPDU state). The
		// simulator keeps one name per outlet, the sPDU tree's.
		"apc-ap8641-snmpsimdata.snmprec": {power.Info{Vendor: "APC", Model: "AP8641", Firmware: "apc_hw05_rpdu2g_672.bin", Dialect: "rpdu2"}, "mf",
			24, []int{8, 10, 11, 12, 13, 14, 15, 16, 24}, "ESX Server 1 PS 2", "ESX Server 24 PS 2", "6.5A 1210W 7.0257600000e+09J"},
		"eaton-epdu-ma-36u-librenms.snmprec": {power.Info{Vendor: "Eaton", Model: "ePDU MA 36U-C", Firmware: "05.01.0002", Dialect: "g3"}, "m",
			24, nil, "Power strip + s-rw-lab-rack", "Outlet A24", "14.108A 1584W 2.9467774800e+10J"},
		"raritan-px3-5493u-librenms.snmprec": {power.Info{Vendor: "Raritan", Model: "PX3-5493U-K2", Firmware: "4.2.0.5-50274", Dialect: "pdu2"}, "mf",
			24, nil, "Outlet 1", "DEVICE 1:PS1:Installed", "7.467A 1665W 2.6660763360e+11J"},
		// Its sysDescr is "CPS Power Distributed Unit": model and firmware
		// are ePDUIdent's.
		"cyberpower-pdu81005-librenms.snmprec": {power.Info{Vendor: "CyberPower", Model: "PDU81005", Firmware: "1.3.4", Dialect: "epdu2"}, "",
			8, nil, "Outlet 1", "Outlet 8", "1.1A 1.1A"},
		"tripplite-pdu-poweralert20-librenms.snmprec": {power.Info{Vendor: "Tripp Lite", Model: "PDUMV30HVNETLX", Firmware: "PowerAlert 20.2.1", Dialect: "tlppdu"}, "f",
			24, nil, "Load 1", "Load 24", "1A 207W"},
	}
	files, err := filepath.Glob(recordings + "*.snmprec")
	if err != nil || len(files) < len(want) {
		t.Fatalf("%d recordings found (%v), want %d", len(files), err, len(want))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for the recording %s: add one", name)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			descr := snmptest.LoadSnmprec(t, file)[sysDescr].Str
			dev, err := pdusim.Load(file, pdusim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := simulate(t, dev, "v2c")
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if r.Info != w.info {
				t.Errorf("found %+v, want %+v", r.Info, w.info)
			}
			for _, f := range []struct {
				key, value string
			}{{"m", r.Info.Model}, {"f", r.Info.Firmware}} {
				if strings.Contains(w.inSysDescr, f.key) && !strings.Contains(descr, f.value) {
					t.Errorf("%q is not in the capture's sysDescr %q", f.value, descr)
				}
				if !strings.Contains(string(raw), f.value) && !strings.Contains(descr, f.value) {
					t.Errorf("%q is nowhere in the capture", f.value)
				}
			}
			if len(r.Outlets) != w.outlets {
				t.Fatalf("%d outlets, want %d", len(r.Outlets), w.outlets)
			}
			for _, o := range r.Outlets {
				st := power.On
				if slices.Contains(w.off, o.Number) {
					st = power.Off
				}
				if o.State != st {
					t.Errorf("outlet %d reads %v, the capture has it %v", o.Number, o.State, st)
				}
			}
			if got := meterLine(r.Meter); got != w.meter {
				t.Errorf("PDU meters %q, the capture has %q", got, w.meter)
			}
			if r.Outlets[0].Name != w.first || r.Outlets[len(r.Outlets)-1].Name != w.last {
				t.Errorf("outlets named %q … %q, the capture has %q … %q", r.Outlets[0].Name, r.Outlets[len(r.Outlets)-1].Name, w.first, w.last)
			}
		})
	}
}
