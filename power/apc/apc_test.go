package apc

import (
	"context"
	"errors"
	"fmt"
	"github.com/powerbridge/powerbridge/power/snmp"
	"slices"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp/snmptest"
)

// testDriver returns a driver over fake f, as New would build it.
func testDriver(t *testing.T, f *fakeAgent, dialect string) *Driver {
	t.Helper()
	cfg := Config{Config: snmp.Config{Address: "192.0.2.7", Version: f.version, Community: "private"}, Dialect: dialect}
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newDriver(cfg, f)
}

func recording(t *testing.T, version, file string) *fakeAgent {
	return newFake(version, snmptest.LoadSnmprec(t, recordings+file))
}

// outletLine renders an outlet for comparison.
func outletLine(o power.Outlet) string {
	s := fmt.Sprintf("%d %q %v", o.Number, o.Name, o.State)
	if o.Pending {
		s += " pending"
	}
	if o.CurrentAmperes != nil {
		s += fmt.Sprintf(" %gA", *o.CurrentAmperes)
	}
	if o.PowerWatts != nil {
		s += fmt.Sprintf(" %gW", *o.PowerWatts)
	}
	return s
}

func meterLine(m power.Meter) string {
	s := fmt.Sprintf("current %v", m.CurrentAmperes)
	if m.PowerWatts != nil {
		s += fmt.Sprintf(" power %gW", *m.PowerWatts)
	}
	if m.EnergyJoules != nil {
		s += fmt.Sprintf(" energy %gJ", *m.EnergyJoules)
	}
	return s
}

func outletLines(r power.Reading) []string {
	var lines []string
	for _, o := range r.Outlets {
		lines = append(lines, outletLine(o))
	}
	return lines
}

func TestReadRecordings(t *testing.T) {
	for _, tc := range []struct {
		file    string
		dialect string // forced, or auto
		want    power.Info
		outlets []string
		meter   string
	}{
		{
			// AOS 3.7.4 serves sPDU and rPDU side by side: rPDU is newer.
			file: "apc-ap7900-aos374.snmprec", dialect: "auto",
			want: power.Info{Vendor: "APC", Model: "AP7900", Firmware: "apc_hw02_rpdu_374.bin", Dialect: "rpdu"},
			outlets: []string{
				`1 "Outlet 1" on`, `2 "Outlet 2" on`, `3 "Outlet 3" on`, `4 "Outlet 4" on`,
				`5 "Outlet 5" on`, `6 "Outlet 6" on`, `7 "Outlet 7" on`, `8 "Outlet 8" on`,
			},
			meter: "current [0] power 0W",
		},
		{
			file: "apc-ap7900-aos374.snmprec", dialect: "spdu",
			want: power.Info{Vendor: "APC", Model: "AP7900", Firmware: "apc_hw02_rpdu_374.bin", Dialect: "spdu"},
			outlets: []string{
				`1 "Outlet 1" on`, `2 "Outlet 2" on`, `3 "Outlet 3" on`, `4 "Outlet 4" on`,
				`5 "Outlet 5" on`, `6 "Outlet 6" on`, `7 "Outlet 7" on`, `8 "Outlet 8" on`,
			},
			meter: "current []", // a forced dialect reads its own tree only
		},
		{
			// The capture holds no rPDU2 outlet table, only sPDU's; its
			// load is in rPDU2's phase table, its power in rPDU's.
			file: "apc-ap7900b-aos682.snmprec", dialect: "auto",
			want: power.Info{Vendor: "APC", Model: "AP7900B", Firmware: "apc_hw05_rpdu2g_680.bin", Dialect: "spdu"},
			outlets: []string{
				`1 "NAS PSU" on`, `2 "opnSense PSU" on`, `3 "Switch PSU (L)" on`, `4 "Switch 2 PSU 1" on`,
				`5 "Firewall 2 PSU 1" on`, `6 "Outlet 6" on`, `7 "Outlet 7" on`, `8 "Outlet 8" on`,
			},
			meter: "current [2.7] power 312W",
		},
	} {
		for _, version := range []string{"1", "2c"} {
			t.Run(tc.file+"/"+tc.dialect+"/v"+version, func(t *testing.T) {
				d := testDriver(t, recording(t, version, tc.file), tc.dialect)
				r, err := d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if r.Info != tc.want {
					t.Errorf("info = %+v, want %+v", r.Info, tc.want)
				}
				if got := outletLines(r); !slices.Equal(got, tc.outlets) {
					t.Errorf("outlets:\n got %q\nwant %q", got, tc.outlets)
				}
				if got := meterLine(r.Meter); got != tc.meter {
					t.Errorf("meter = %s, want %s", got, tc.meter)
				}
			})
		}
	}
}

func TestForcedDialectThatDoesNotAnswer(t *testing.T) {
	f := recording(t, "2c", "apc-ap7900-aos374.snmprec")
	d := testDriver(t, f, "rpdu2")
	_, err := d.Read(t.Context())
	want := "reading 192.0.2.7:161: detecting the PDU: no outlet table answers (tried rpdu2)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if f.touched(".1.3.6.1.4.1.318.1.1.12.3") || f.touched(".1.3.6.1.4.1.318.1.1.4.4") {
		t.Error("a forced dialect probed other outlet tables")
	}
}

// rpdu2Agent is an AP8941-like agent whose rows are nothing like the outlet
// numbers: a second unit in the daisy chain interleaves its rows with the
// host's, and the control and metered tables number their rows their own
// way.
func rpdu2Agent(version string) *fakeAgent {
	f := newFake(version, nil)
	f.putStr(sysDescr, "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.5.6 PN:apc_hw05_aos_656.bin AF1:v6.5.6 AN1:apc_hw05_rpdu2g_656.bin MN:AP8941 HR:02 SN: 5A1234E01234 MD:05/05/2016) ")
	f.put(sysObjectID, snmp.Varbind{Kind: snmp.KindOID, Str: ".1.3.6.1.4.1.318.1.3.4.6"})
	type row struct {
		module, number int
		name           string
		state, pending int64
	}
	status := map[int]row{
		7:  {1, 1, "web", 2, 2},      // on
		5:  {1, 2, "db", 1, 2},       // off
		12: {1, 3, "", 2, 1},         // on, a command pending
		3:  {1, 4, "Outlet 4", 3, 3}, // neither: unknown
		4:  {2, 1, "u2 one", 2, 2},
		9:  {2, 2, "u2 two", 1, 2},
	}
	for r, s := range status {
		f.putInt(snmp.At(rPDU2OutletSwitchedStatusModule.OID, r), int64(s.module))
		f.putStr(snmp.At(rPDU2OutletSwitchedStatusName.OID, r), s.name)
		f.putInt(snmp.At(rPDU2OutletSwitchedStatusNumber.OID, r), int64(s.number))
		f.putInt(snmp.At(rPDU2OutletSwitchedStatusState.OID, r), s.state)
		f.putInt(snmp.At(rPDU2OutletSwitchedStatusCommandPending.OID, r), s.pending)
	}
	for r, mn := range map[int][2]int{21: {1, 1}, 22: {1, 2}, 23: {1, 3}, 24: {1, 4}, 25: {2, 1}, 26: {2, 2}} {
		f.putInt(snmp.At(rPDU2OutletSwitchedControlModule.OID, r), int64(mn[0]))
		f.putInt(snmp.At(rPDU2OutletSwitchedControlNumber.OID, r), int64(mn[1]))
		f.putInt(snmp.At(rPDU2OutletSwitchedControlCommand.OID, r), 1)
	}
	for r, m := range map[int][4]int64{34: {1, 1, 12, 140}, 33: {1, 2, 0, 0}, 32: {1, 3, -1, -1}, 31: {1, 4, 5, 60}, 35: {2, 1, 7, 7}} {
		f.putInt(snmp.At(rPDU2OutletMeteredStatusModule.OID, r), m[0])
		f.putInt(snmp.At(rPDU2OutletMeteredStatusNumber.OID, r), m[1])
		f.putInt(snmp.At(rPDU2OutletMeteredStatusCurrent.OID, r), m[2])
		f.putInt(snmp.At(rPDU2OutletMeteredStatusPower.OID, r), m[3])
	}
	// Device and phase rows: the host unit's, then the second unit's.
	f.putInt(snmp.At(rPDU2DeviceStatusModule, 1), 1)
	f.putInt(snmp.At(rPDU2DeviceStatusModule, 2), 2)
	f.putInt(snmp.At(rPDU2DeviceStatusPower.OID, 1), 15)    // 0.15 kW
	f.putInt(snmp.At(rPDU2DeviceStatusPower.OID, 2), 99)    // not ours
	f.putInt(snmp.At(rPDU2DeviceStatusEnergy.OID, 1), 1234) // 123.4 kWh
	f.putInt(snmp.At(rPDU2DeviceStatusEnergy.OID, 2), 4321) // not ours
	f.putInt(snmp.At(rPDU2PhaseStatusModule, 1), 1)
	f.putInt(snmp.At(rPDU2PhaseStatusModule, 2), 2)
	f.putInt(snmp.At(rPDU2PhaseStatusCurrent.OID, 1), 33) // 3.3 A
	f.putInt(snmp.At(rPDU2PhaseStatusCurrent.OID, 2), 50)
	return f
}

func TestRPDU2RowsAndInvertedState(t *testing.T) {
	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version, func(t *testing.T) {
			f := rpdu2Agent(version)
			d := testDriver(t, f, "auto")
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			wantInfo := power.Info{Vendor: "APC", Model: "AP8941", Firmware: "apc_hw05_rpdu2g_656.bin", Dialect: "rpdu2"}
			if r.Info != wantInfo {
				t.Errorf("info = %+v, want %+v", r.Info, wantInfo)
			}
			want := []string{
				`1 "web" on 1.2A 140W`,
				`2 "db" off 0A 0W`,
				`3 "Outlet 3" on pending`,
				`4 "Outlet 4" unknown 0.5A 60W`,
			}
			if got := outletLines(r); !slices.Equal(got, want) {
				t.Errorf("outlets:\n got %q\nwant %q", got, want)
			}
			if got, want := meterLine(r.Meter), "current [3.3] power 150W energy 4.4424e+08J"; got != want {
				t.Errorf("meter = %s, want %s", got, want)
			}
			// sysObjectID names an rPDU2 device and its table answers:
			// nothing older is probed.
			if f.touched(".1.3.6.1.4.1.318.1.1.12") || f.touched(".1.3.6.1.4.1.318.1.1.4") {
				t.Error("detection probed the rPDU or sPDU tree of an rPDU2 device")
			}

			f.requests = nil
			if err := d.Switch(t.Context(), 3, power.Off); err != nil {
				t.Fatal(err)
			}
			wantSet := []fakeRequest{{op: "set", oids: []string{rPDU2OutletSwitchedControlCommand.OID + ".23"}, value: 2}}
			if !slices.EqualFunc(f.requests, wantSet, equalRequest) {
				t.Errorf("requests = %+v, want %+v", f.requests, wantSet)
			}
		})
	}
}

func equalRequest(a, b fakeRequest) bool {
	return a.op == b.op && slices.Equal(a.oids, b.oids) && a.value == b.value && a.nonRep == b.nonRep && a.reps == b.reps
}

func TestSwitchWritesTheControlObject(t *testing.T) {
	for _, tc := range []struct {
		file, dialect string
		outlet        int
		to            power.State
		OID           string
		value         int
	}{
		{"apc-ap7900-aos374.snmprec", "auto", 3, power.Off, rPDUOutletControlOutletCommand.OID + ".3", 2},
		{"apc-ap7900-aos374.snmprec", "auto", 8, power.On, rPDUOutletControlOutletCommand.OID + ".8", 1},
		{"apc-ap7900-aos374.snmprec", "spdu", 3, power.Off, sPDUOutletCtl.OID + ".3", 2},
		{"apc-ap7900b-aos682.snmprec", "auto", 5, power.On, sPDUOutletCtl.OID + ".5", 1},
		{"apc-ap7900b-aos682.snmprec", "auto", 1, power.Off, sPDUOutletCtl.OID + ".1", 2},
	} {
		name := fmt.Sprintf("%s/%s/%d-%v", tc.file, tc.dialect, tc.outlet, tc.to)
		t.Run(name, func(t *testing.T) {
			f := recording(t, "1", tc.file)
			d := testDriver(t, f, tc.dialect)
			if err := d.Switch(t.Context(), tc.outlet, tc.to); err != nil {
				t.Fatal(err)
			}
			sets := slices.DeleteFunc(slices.Clone(f.requests), func(r fakeRequest) bool { return r.op != "set" })
			want := []fakeRequest{{op: "set", oids: []string{tc.OID}, value: tc.value}}
			if !slices.EqualFunc(sets, want, equalRequest) {
				t.Errorf("SETs = %+v, want %+v", sets, want)
			}
		})
	}
}

// spduAgent is an sPDU-only agent with n outlets: odd ones on, even ones
// off, outlet 2 with a command pending and outlet 3 in APC's unknown state.
func spduAgent(version string, n int) *fakeAgent {
	f := newFake(version, nil)
	f.putStr(sysDescr, "APC Web/SNMP Management Card (AN1:apc_hw02_aos_280.bin MN:AP7901)")
	f.put(sysObjectID, snmp.Varbind{Kind: snmp.KindOID, Str: ".1.3.6.1.4.1.318.1.3.4.2"})
	for i := 1; i <= n; i++ {
		state, pending := int64(2-i%2), int64(2)
		if i == 2 {
			pending = 1
		}
		if i == 3 {
			state = 4
		}
		f.putInt(snmp.At(sPDUOutletPending.OID, i), pending)
		f.putInt(snmp.At(sPDUOutletCtl.OID, i), state)
		f.putStr(snmp.At(sPDUOutletCtlName.OID, i), fmt.Sprintf("Outlet %d", i))
	}
	return f
}

func TestReadCostsOneRequest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		agent    *fakeAgent
		op       string
		requests int
	}{
		{"ap7900 v1", recording(t, "1", "apc-ap7900-aos374.snmprec"), "get", 1},
		{"ap7900 v2c", recording(t, "2c", "apc-ap7900-aos374.snmprec"), "getbulk", 1},
		{"ap7900b v1", recording(t, "1", "apc-ap7900b-aos682.snmprec"), "get", 1},
		{"ap7900b v2c", recording(t, "2c", "apc-ap7900b-aos682.snmprec"), "getbulk", 1},
		{"rpdu2 metered v1", rpdu2Agent("1"), "get", 1},
		{"rpdu2 metered v2c", rpdu2Agent("2c"), "getbulk", 1},
		{"24 outlets v1", spduAgent("1", 24), "get", 1},
		{"24 outlets v2c", spduAgent("2c", 24), "getbulk", 1},
		{"27 outlets v2c", spduAgent("2c", 27), "getbulk", 1},
		// Past the size of one sane SNMP message, a Read is split.
		{"42 outlets v1", spduAgent("1", 42), "get", 2},
		{"42 outlets v2c", spduAgent("2c", 42), "getbulk", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDriver(t, tc.agent, "auto")
			first, err := d.Read(t.Context()) // detects
			if err != nil {
				t.Fatal(err)
			}
			tc.agent.requests = nil
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.agent.count(""); got != tc.requests || tc.agent.count(tc.op) != tc.requests {
				t.Errorf("a Read sent %d requests (%+v), want %d %s", got, tc.agent.requests, tc.requests, tc.op)
			}
			if !slices.Equal(outletLines(r), outletLines(first)) || len(r.Outlets) == 0 {
				t.Errorf("second read %q differs from first %q", outletLines(r), outletLines(first))
			}
		})
	}
}

func TestReadStatesAndPending(t *testing.T) {
	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version, func(t *testing.T) {
			d := testDriver(t, spduAgent(version, 4), "auto")
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := []string{`1 "Outlet 1" on`, `2 "Outlet 2" off pending`, `3 "Outlet 3" unknown`, `4 "Outlet 4" off`}
			if got := outletLines(r); !slices.Equal(got, want) {
				t.Errorf("outlets:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestStateDecoding(t *testing.T) {
	for _, tc := range []struct {
		dialect string
		raw     int64
		want    power.State
	}{
		{"spdu", 1, power.On}, {"spdu", 2, power.Off}, {"spdu", 4, power.Unknown}, {"spdu", 3, power.Unknown},
		{"rpdu", 1, power.On}, {"rpdu", 2, power.Off}, {"rpdu", 0, power.Unknown},
		// rPDU2 is inverted.
		{"rpdu2", 1, power.Off}, {"rpdu2", 2, power.On}, {"rpdu2", 4, power.Unknown},
	} {
		if got := dialects[tc.dialect].state(tc.raw); got != tc.want {
			t.Errorf("%s state(%d) = %v, want %v", tc.dialect, tc.raw, got, tc.want)
		}
	}
}

func TestShortBulkAnswerIsCompleted(t *testing.T) {
	f := spduAgent("2c", 8)
	d := testDriver(t, f, "auto")
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.requests = nil
	f.maxReps = 3 // the agent stops early, as RFC 3416 lets it
	r, err := d.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outlets) != 8 || r.Outlets[7].State != power.Off {
		t.Errorf("outlets = %q", outletLines(r))
	}
	if got := []int{f.count("getbulk"), f.count("get")}; !slices.Equal(got, []int{1, 1}) {
		t.Errorf("GETBULKs, GETs = %v, want one of each", got)
	}
}

func TestRedetectWhenTableGoes(t *testing.T) {
	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version, func(t *testing.T) {
			f := recording(t, version, "apc-ap7900-aos374.snmprec")
			d := testDriver(t, f, "auto")
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.Dialect != "rpdu" {
				t.Fatalf("dialect = %s, want rpdu", r.Info.Dialect)
			}
			// As if new firmware dropped the rPDU outlet tables.
			f.remove(".1.3.6.1.4.1.318.1.1.12.3")
			f.putInt(snmp.At(sPDUOutletCtl.OID, 4), 2)
			r, err = d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.Dialect != "spdu" {
				t.Errorf("dialect after re-detection = %s, want spdu", r.Info.Dialect)
			}
			if o, _ := r.Outlet(4); o.State != power.Off {
				t.Errorf("outlet 4 = %v, want off", o.State)
			}
		})
	}
}

func TestSwitchErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  snmp.Status
		err     error
		refused bool
		text    string // the error must contain it
	}{
		{name: "noAccess", status: snmp.NoAccess, refused: true, text: "switching outlet 3 off (sPDUOutletCtl.3): refused by the PDU: agent answered noAccess for .1.3.6.1.4.1.318.1.1.4.4.2.1.3.3; is it the write community"},
		{name: "notWritable", status: snmp.NotWritable, refused: true},
		{name: "readOnly", status: snmp.ReadOnly, refused: true},
		{name: "noSuchName", status: snmp.NoSuchName, refused: true},
		{name: "badValue", status: snmp.BadValue, refused: true},
		{name: "wrongValue", status: snmp.WrongValue, refused: true},
		{name: "wrongType", status: snmp.WrongType, refused: true},
		{name: "wrongLength", status: snmp.WrongLength, refused: true},
		{name: "noCreation", status: snmp.NoCreation, refused: true},
		{name: "inconsistentValue", status: snmp.InconsistentValue, refused: true},
		{name: "authorizationError", status: snmp.AuthorizationError, refused: true},
		{name: "genErr", status: snmp.GenErr, refused: false, text: "switching outlet 3 off (sPDUOutletCtl.3): agent answered genErr"},
		{name: "commitFailed", status: snmp.CommitFailed, refused: false},
		{name: "undoFailed", status: snmp.UndoFailed, refused: false},
		{name: "timeout", err: fmt.Errorf("%w from 192.0.2.7:161 within 2s (check the address and the community)", snmp.ErrTimeout), refused: false, text: "the outlet may have switched all the same"},
		{name: "v3 rejected", err: fmt.Errorf("%w: unknown username", snmp.ErrAuth), refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := spduAgent("2c", 4)
			d := testDriver(t, f, "auto")
			f.setStatus, f.setErr = tc.status, tc.err
			err := d.Switch(t.Context(), 3, power.Off)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, power.ErrRefused); got != tc.refused {
				t.Errorf("errors.Is(%q, ErrRefused) = %v, want %v", err, got, tc.refused)
			}
			if !strings.HasPrefix(err.Error(), "switching outlet 3 off (sPDUOutletCtl.3): ") || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
			if n := f.count("set"); n != 1 {
				t.Errorf("%d SETs sent, want exactly 1", n)
			}
		})
	}
}

func TestSwitchRefusedBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		outlet int
		to     power.State
		want   string
	}{
		{9, power.On, "switching outlet 9 on: the PDU has no such outlet (it has outlets 1 to 8): refused by the PDU"},
		{0, power.Off, "switching outlet 0 off: the PDU has no such outlet (it has outlets 1 to 8): refused by the PDU"},
		{2, power.Unknown, "switching outlet 2 unknown: only on and off can be asked for: refused by the PDU"},
	} {
		f := spduAgent("1", 8)
		d := testDriver(t, f, "auto")
		err := d.Switch(t.Context(), tc.outlet, tc.to)
		if err == nil || err.Error() != tc.want || !errors.Is(err, power.ErrRefused) {
			t.Errorf("Switch(%d, %v) = %v, want %s", tc.outlet, tc.to, err, tc.want)
		}
		if f.count("set") != 0 {
			t.Errorf("Switch(%d, %v) sent a SET", tc.outlet, tc.to)
		}
	}
}

func TestDetectionWaitsForThePDU(t *testing.T) {
	f := spduAgent("2c", 2)
	f.fail = fmt.Errorf("%w from 192.0.2.7:161 within 2s", snmp.ErrTimeout)
	d := testDriver(t, f, "auto")
	if _, err := d.Read(t.Context()); !errors.Is(err, snmp.ErrTimeout) {
		t.Fatalf("Read of a silent PDU: %v, want a timeout", err)
	}
	if err := d.Switch(t.Context(), 1, power.On); !errors.Is(err, snmp.ErrTimeout) || errors.Is(err, power.ErrRefused) {
		t.Fatalf("Switch on a silent PDU: %v, want a timeout", err)
	}
	f.fail = nil // the PDU is back
	if r, err := d.Read(t.Context()); err != nil || len(r.Outlets) != 2 {
		t.Fatalf("Read once the PDU answers: %v, %v", outletLines(r), err)
	}
}

func TestContextIsHonoured(t *testing.T) {
	f := spduAgent("2c", 2)
	d := testDriver(t, f, "auto")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context: %v", err)
	}
}

func TestParseSysDescr(t *testing.T) {
	for _, tc := range []struct{ in, model, firmware string }{
		{"APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin AF1:v6.8.0 AN1:apc_hw05_rpdu2g_680.bin MN:AP7900B HR:B2 SN: ZA1732000177 MD:08/07/2017) ", "AP7900B", "apc_hw05_rpdu2g_680.bin"},
		{"APC Web/SNMP Management Card (MN:AP7900)", "AP7900", ""},
		{"Linux pdu 5.10", "", ""},
	} {
		m, fw := parseSysDescr(tc.in)
		if m != tc.model || fw != tc.firmware {
			t.Errorf("parseSysDescr(%q) = %q, %q; want %q, %q", tc.in, m, fw, tc.model, tc.firmware)
		}
	}
}

func TestWalkV1PastTheEndOfTheMIB(t *testing.T) {
	// The rPDU2 tree is the last thing this agent has: the GETNEXT that
	// walks off its end fails with snmp.NoSuchName under SNMPv1.
	f := rpdu2Agent("1")
	got, err := snmp.WalkColumns(t.Context(), f, false, rPDU2PhaseStatusCurrent.OID, rPDU2OutletMeteredStatusPower.OID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != 2 || len(got[1]) != 5 {
		t.Errorf("walked %d and %d rows, want 2 and 5", len(got[0]), len(got[1]))
	}
}

func TestDialects(t *testing.T) {
	if got, want := Dialects(), []string{"rpdu2", "rpdu", "spdu"}; !slices.Equal(got, want) {
		t.Errorf("Dialects() = %q, want %q", got, want)
	}
}

func TestBefore(t *testing.T) {
	for in, want := range map[string]string{
		".1.3.6.1.4.1.318.1.1.12.1.16.0":    ".1.3.6.1.4.1.318.1.1.12.1.16",
		".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1":  ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.0",
		".1.3.6.1.4.1.318.1.1.4.4.2.1.3.12": ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.11",
	} {
		if got := snmp.Before(in); got != want {
			t.Errorf("snmp.Before(%s) = %s, want %s", in, got, want)
		}
	}
}
