package pdusim

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/powerbridge/powerbridge/power"
)

// minimal is the least a recording needs to be a PDU: one sPDU outlet row.
const minimal = "1.3.6.1.4.1.318.1.1.4.4.2.1.3.1|2|1\n"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"two fields", "1.3.6.1.2.1.1.5.0|4\n", `pdusim: bad.snmprec:1: want OID|TYPE|VALUE, got "1.3.6.1.2.1.1.5.0|4"`},
		{"bad OID", minimal + "\n1.3.6.x.1|2|1\n", `pdusim: bad.snmprec:3: OID "1.3.6.x.1": arc "x" is not a number`},
		{"one-arc OID", "1|2|1\n", `pdusim: bad.snmprec:1: OID "1" has fewer than two arcs`},
		{"unknown type", minimal + "1.3.6.1.2.1.1.5.0|99|x\n", `pdusim: bad.snmprec:2: .1.3.6.1.2.1.1.5.0: unknown type "99" (want 2, 4, 4x, 5, 6, 64, 64x, 65, 66, 67, 68x or 70)`},
		{"integer", "# comment\n1.3.6.1.2.1.1.7.0|2|seventy\n", `pdusim: bad.snmprec:2: .1.3.6.1.2.1.1.7.0: type 2: "seventy" is not a 32-bit integer`},
		{"integer too big", "1.3.6.1.2.1.1.7.0|2|2147483648\n", `pdusim: bad.snmprec:1: .1.3.6.1.2.1.1.7.0: type 2: "2147483648" is not a 32-bit integer`},
		{"hex", "1.3.6.1.2.1.1.5.0|4x|4f7\n", `pdusim: bad.snmprec:1: .1.3.6.1.2.1.1.5.0: type 4x: value "4f7" is not hex`},
		{"hex integer", "1.3.6.1.2.1.1.7.0|2x|01\n", `pdusim: bad.snmprec:1: .1.3.6.1.2.1.1.7.0: type 2x: only OCTET STRING (4), IpAddress (64) and Opaque (68) may be hex-encoded`},
		{"gauge", "1.3.6.1.2.1.2.2.1.5.1|66|-1\n", `pdusim: bad.snmprec:1: .1.3.6.1.2.1.2.2.1.5.1: type 66: "-1" is not an unsigned 32-bit number`},
		{"IP address", "1.3.6.1.2.1.4.20.1.1.1|64|10.0.0\n", `pdusim: bad.snmprec:1: .1.3.6.1.2.1.4.20.1.1.1: type 64: "10.0.0" is not an IPv4 address`},
		{"IP address hex", "1.3.6.1.2.1.4.20.1.1.1|64x|0a00\n", `pdusim: bad.snmprec:1: .1.3.6.1.2.1.4.20.1.1.1: type 64x: want 4 bytes, got 2`},
		{"OID value", "1.3.6.1.2.1.1.2.0|6|enterprises.318\n", `pdusim: bad.snmprec:1: .1.3.6.1.2.1.1.2.0: type 6: OID "enterprises.318": arc "enterprises" is not a number`},
		{"duplicate", minimal + "1.3.6.1.2.1.1.5.0|4|a\n.1.3.6.1.2.1.1.5.0|4|b\n", `pdusim: bad.snmprec:3: OID .1.3.6.1.2.1.1.5.0 already given on line 2`},
		{"empty", "\n# nothing\n", `pdusim: bad.snmprec: no objects`},
		{"no outlet table", "1.3.6.1.2.1.1.5.0|4|a\n", `pdusim: bad.snmprec: no outlet table: want sPDUOutletCtl (.1.3.6.1.4.1.318.1.1.4.4.2.1.3), rPDUOutletStatusOutletState (.1.3.6.1.4.1.318.1.1.12.3.5.1.1.4) or rPDU2OutletSwitchedStatusState (.1.3.6.1.4.1.318.1.1.26.9.2.3.1.5) rows, or one of EATON-EPDU-MIB outletControlStatus, PDU2-MIB outletLabel, Sentry4-MIB st4OutletControlState, Sentry3-MIB outletStatus, CPS-MIB ePDU2OutletSwitchedStatusState, CPS-MIB ePDUOutletStatusOutletState, TRIPPLITE-PRODUCTS tlpPduOutletState, GEIST-V5-MIB pduOutletSwitchState`},
		{"outlet state", "1.3.6.1.4.1.318.1.1.4.4.2.1.3.1|2|4\n", `pdusim: bad.snmprec: .1.3.6.1.4.1.318.1.1.4.4.2.1.3.1: outlet state 4 is neither on (1) nor off (2)`},
		{"outlet number", "1.3.6.1.4.1.318.1.1.4.4.2.1.3.9999|2|1\n", `pdusim: bad.snmprec: outlet number 9999 out of range 1-256`},
		{"variation module", minimal + "1.3.6.1.2.1.1.5.0|4:delay|value=a,wait=500\n", `pdusim: bad.snmprec:2: .1.3.6.1.2.1.1.5.0: type "4:delay": snmpsim variation module "delay" is not understood (only writecache and numeric are); replace the line with a plain OID|TYPE|VALUE`},
		{"numeric without initial", minimal + "1.3.6.1.2.1.1.7.0|2:numeric|max=2,wrap=1\n", `pdusim: bad.snmprec:2: .1.3.6.1.2.1.1.7.0: type "2:numeric": snmpsim's numeric without initial= or min=: no value to serve`},
		{"writecache without value", minimal + "1.3.6.1.2.1.1.5.0|4:writecache|\n", `pdusim: bad.snmprec:2: .1.3.6.1.2.1.1.5.0: type "4:writecache": snmpsim's writecache without value=: the recorded value is missing`},
		{"variation value", minimal + "1.3.6.1.2.1.1.7.0|2:numeric|initial=x\n", `pdusim: bad.snmprec:2: .1.3.6.1.2.1.1.7.0: type 2: "x" is not a 32-bit integer`},
		{"daisy chain", "1.3.6.1.4.1.318.1.1.26.9.2.3.1.2.1|2|2\n1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1|2|2\n", `pdusim: bad.snmprec: rPDU2 outlet row 1 is on module 2: daisy-chained units are not simulated`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.text), "bad.snmprec", Options{})
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.snmprec")
	_, err := Load(path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestParseValues(t *testing.T) {
	text := strings.Join([]string{
		"1.3.6.1.4.1.318.1.1.4.4.2.1.3.2|2|2",
		"1.3.6.1.2.1.1.1.0|4|APC | with a bar and a trailing space ",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.4.5",
		"1.3.6.1.2.1.1.3.0|67|57320",
		"1.3.6.1.2.1.2.2.1.6.2|4x|00C0b72a8288",
		"1.3.6.1.2.1.2.2.1.6.1|4|",
		"1.3.6.1.2.1.2.2.1.5.2|66|4294967295",
		"1.3.6.1.2.1.2.2.1.10.2|65|103718",
		"1.3.6.1.2.1.31.1.1.1.6.2|70|18446744073709551615",
		"1.3.6.1.2.1.4.20.1.1.10.42.1.1|64|10.42.1.1",
		"1.3.6.1.2.1.3.1.1.3.2.1.10.42.1.78|64x|0a2a014e",
		"1.3.6.1.2.1.1.7.0|2|-72\r",
	}, "\n")
	d, err := Parse(strings.NewReader(text), "values.snmprec", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]value{
		".1.3.6.1.2.1.1.1.0":                  {gosnmp.OctetString, []byte("APC | with a bar and a trailing space ")},
		".1.3.6.1.2.1.1.2.0":                  {gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.318.1.3.4.5"},
		".1.3.6.1.2.1.2.2.1.6.2":              {gosnmp.OctetString, []byte{0x00, 0xc0, 0xb7, 0x2a, 0x82, 0x88}},
		".1.3.6.1.2.1.2.2.1.6.1":              {gosnmp.OctetString, []byte{}},
		".1.3.6.1.2.1.2.2.1.5.2":              {gosnmp.Gauge32, uint32(4294967295)},
		".1.3.6.1.2.1.2.2.1.10.2":             {gosnmp.Counter32, uint32(103718)},
		".1.3.6.1.2.1.31.1.1.1.6.2":           {gosnmp.Counter64, uint64(18446744073709551615)},
		".1.3.6.1.2.1.4.20.1.1.10.42.1.1":     {gosnmp.IPAddress, []byte{10, 42, 1, 1}},
		".1.3.6.1.2.1.3.1.1.3.2.1.10.42.1.78": {gosnmp.IPAddress, []byte{10, 42, 1, 78}},
		".1.3.6.1.2.1.1.7.0":                  {gosnmp.Integer, -72},
		".1.3.6.1.4.1.318.1.1.4.4.2.1.3.2":    {gosnmp.Integer, 2},
	}
	for name, w := range want {
		x := d.store.byName[name]
		if x == nil {
			t.Errorf("%s: missing", name)
			continue
		}
		got := x.read(d.now())
		if gb, ok := got.v.([]byte); ok {
			if wb, _ := w.v.([]byte); got.typ != w.typ || !bytes.Equal(gb, wb) {
				t.Errorf("%s = %v %q, want %v %q", name, got.typ, gb, w.typ, wb)
			}
		} else if !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", name, got, w)
		}
	}
	if x := d.store.byName[sysUpTime.String()]; x.live == nil {
		t.Error("sysUpTime is not live")
	}
	// One sPDU row, outlet 2: outlet 1 exists, off, because the table skips it.
	if d.Outlets() != 2 || d.OutletState(2) != power.Off || d.OutletName(2) != "Outlet 2" {
		t.Errorf("outlets: %d, outlet 2 %v %q", d.Outlets(), d.OutletState(2), d.OutletName(2))
	}
}

// TestWalkOrder checks that the store is in SNMP order, arc by arc, not in
// string order.
func TestWalkOrder(t *testing.T) {
	var objects []*object
	for _, s := range []string{".1.3.6.1.2.1.2.2.1.10.1", ".1.3.6.1.2.1.2.2.1.9.2", ".1.3.6.1.2.1.2.2.1.9.10", ".1.3.6.1.2.1.2.2.1.1.1", ".1.3.6.1.2.1.2.2.1.9", ".1.3.6.1.2.1.2.2.1.9.2.1"} {
		objects = append(objects, newObject(mustOID(s), integer(0)))
	}
	s, err := newStore(objects)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for x := s.next(nil, nil); x != nil; x = s.next(x.oid, nil) {
		got = append(got, x.name)
	}
	want := []string{".1.3.6.1.2.1.2.2.1.1.1", ".1.3.6.1.2.1.2.2.1.9", ".1.3.6.1.2.1.2.2.1.9.2", ".1.3.6.1.2.1.2.2.1.9.2.1", ".1.3.6.1.2.1.2.2.1.9.10", ".1.3.6.1.2.1.2.2.1.10.1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("walk order\n got %v\nwant %v", got, want)
	}
	if x := s.next(mustOID(".1.3.6.1.2.1.2.2.1.9.3"), nil); x == nil || x.name != ".1.3.6.1.2.1.2.2.1.9.10" {
		t.Errorf("next after .9.3 = %v, want .9.10", x)
	}
}

// TestRecordingsLoad loads both real recordings and checks what they make
// live.
func TestRecordingsLoad(t *testing.T) {
	for _, tc := range []struct {
		file        string
		outlets     int
		names       map[int]string
		live, fixed []oid
	}{
		{
			file: "apc-ap7900-aos374.snmprec", outlets: 8,
			names: map[int]string{1: "Outlet 1", 8: "Outlet 8"},
			live:  []oid{sPDUOutletCtl.child(3), sPDUOutletPending.child(3), rPDUOutletControlOutletCommand.child(3), rPDUOutletStatusOutletState.child(3), sPDUMasterState, sysUpTime},
			// A recording's meters stay as recorded.
			fixed: []oid{rPDULoadStatusLoad.child(1), rPDUIdentDevicePowerWatts},
		},
		{
			file: "apc-ap7900b-aos682.snmprec", outlets: 8,
			names: map[int]string{1: "NAS PSU", 2: "opnSense PSU", 3: "Switch PSU (L)", 6: "Outlet 6"},
			live:  []oid{sPDUOutletCtl.child(3), sPDUOutletPending.child(3), sPDUOutletCtlName.child(3)},
			fixed: []oid{rPDULoadStatusLoad.child(1), rPDU2PhaseStatusCurrent.child(1)},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d, err := Load(recording(t, tc.file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Outlets() != tc.outlets {
				t.Errorf("%d outlets, want %d", d.Outlets(), tc.outlets)
			}
			for n, name := range tc.names {
				if got := d.OutletName(n); got != name {
					t.Errorf("outlet %d is named %q, want %q", n, got, name)
				}
				if d.OutletState(n) != power.On {
					t.Errorf("outlet %d is %v, want on as recorded", n, d.OutletState(n))
				}
			}
			for _, o := range tc.live {
				if x := d.store.lookup(o); x == nil || x.live == nil {
					t.Errorf("%s is not live", o)
				}
			}
			for _, o := range tc.fixed {
				if x := d.store.lookup(o); x == nil || x.live != nil {
					t.Errorf("%s is missing or live", o)
				}
			}
		})
	}
}

// recording returns the path of a recording of a real PDU; the tests need
// it, so its absence fails them.
func recording(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join("testdata", "recordings", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the recordings of real PDUs: %v", err)
	}
	return path
}

// FuzzParse holds Parse to never panicking, and a device it returns to
// answering any walk of its whole MIB.
func FuzzParse(f *testing.F) {
	f.Add(minimal)
	f.Add("1.3.6.1.4.1.318.1.1.26.9.2.3.1.4.3|2|1\n1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.3|2|1\n1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.3|2|2\n")
	f.Add("1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.2|2|2\n1.3.6.1.4.1.318.1.1.12.3.5.1.1.2.2|4x|4e4153\n1.3.6.1.2.1.1.3.0|67|5\n")
	f.Add("1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.4.8\n1.3.6.1.4.1.318.1.1.4.4.2.1.3.1|2|2\n1.3.6.1.2.1.3.1.1.3.2.1.10.42.1.1|64x|0a2a0101\n")
	f.Fuzz(func(t *testing.T, text string) {
		d, err := Parse(strings.NewReader(text), "fuzz.snmprec", Options{SwitchDelay: -1})
		if err != nil {
			return
		}
		if d.Outlets() < 1 {
			t.Fatalf("a device without outlets: %q", text)
		}
		for _, v1 := range []bool{true, false} {
			version := gosnmp.Version2c
			if v1 {
				version = gosnmp.Version1
			}
			name := ".0.0"
			for range len(d.store.objects) + 1 {
				res := d.answer(&gosnmp.SnmpPacket{Version: version, PDUType: gosnmp.GetNextRequest,
					Variables: []gosnmp.SnmpPDU{{Name: name, Type: gosnmp.Null}}}, readOnly)
				if res.status != gosnmp.NoError || res.vars[0].Type == gosnmp.EndOfMibView {
					break
				}
				name = res.vars[0].Name
			}
		}
		for n := 1; n <= d.Outlets(); n++ {
			// Refused where the recording has no sPDU row; never a panic.
			d.answer(&gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.SetRequest,
				Variables: []gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(uint32(n)).String(), Type: gosnmp.Integer, Value: 3}}}, readWrite)
		}
	})
}
