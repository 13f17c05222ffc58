package mibs

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/power/snmp/snmptest"
)

// TestSwitchWrites checks the one SET each vendor's switch sends: the
// control object of the MIB, at the outlet's own index (unit and all), with
// the MIB's value for the action.
func TestSwitchWrites(t *testing.T) {
	for _, tc := range []struct {
		file   string
		outlet int
		to     power.State
		set    string
	}{
		// Eaton: a column per action, 0 acts at once; unit 0 in the index.
		{"eaton-epdu-ma-36u-librenms.snmprec", 3, power.On, ".1.3.6.1.4.1.534.6.6.7.6.6.1.4.0.3=0"},
		{"eaton-epdu-ma-36u-librenms.snmprec", 3, power.Off, ".1.3.6.1.4.1.534.6.6.7.6.6.1.3.0.3=0"},
		// Raritan: switchingOperation 1 on, 0 off, at pdu.outlet.
		{"raritan-px3-5493u-librenms.snmprec", 5, power.On, ".1.3.6.1.4.1.13742.6.4.1.2.1.2.1.5=1"},
		{"raritan-px3-5493u-librenms.snmprec", 5, power.Off, ".1.3.6.1.4.1.13742.6.4.1.2.1.2.1.5=0"},
		// CyberPower ePDU2: 1 immediateOn, 2 immediateOff.
		{"cyberpower-pdu81005-librenms.snmprec", 8, power.Off, ".1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5.8=2"},
		// Tripp Lite: 1 off, 2 on, at device.outlet.
		{"tripplite-pdu-poweralert20-librenms.snmprec", 2, power.On, ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6.1.2=2"},
		{"tripplite-pdu-poweralert20-librenms.snmprec", 2, power.Off, ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6.1.2=1"},
	} {
		t.Run(tc.file+"/"+tc.to.String(), func(t *testing.T) {
			f := newFake("2c", snmptest.LoadSnmprec(t, recordings+tc.file))
			d := fakeDriver(t, f)
			if err := d.Switch(t.Context(), tc.outlet, tc.to); err != nil {
				t.Fatal(err)
			}
			if len(f.sets) != 1 || f.sets[0] != tc.set {
				t.Errorf("SETs %v, want exactly [%s]", f.sets, tc.set)
			}
		})
	}
}

// TestSwitchRefused: an outlet the PDU says cannot be switched, and one
// it has not, are refused before anything is sent, in words that say why.
func TestSwitchRefused(t *testing.T) {
	objects := snmptest.LoadSnmprec(t, recordings+"raritan-px3-5493u-librenms.snmprec")
	objects[".1.3.6.1.4.1.13742.6.3.5.3.1.28.1.4"] = withInt(objects[".1.3.6.1.4.1.13742.6.3.5.3.1.28.1.4"], 2) // outletSwitchable false
	f := newFake("2c", objects)
	d := fakeDriver(t, f)
	for _, tc := range []struct {
		outlet int
		want   string
	}{
		{4, "switching outlet 4 off: the PDU says outlet 4 (Outlet 4) cannot be switched: refused by the PDU"},
		{25, "switching outlet 25 off: the PDU has no such outlet (it has outlets 1 to 24): refused by the PDU"},
	} {
		err := d.Switch(t.Context(), tc.outlet, power.Off)
		if err == nil || err.Error() != tc.want || !errors.Is(err, power.ErrRefused) {
			t.Errorf("Switch(%d): %v, want %s", tc.outlet, err, tc.want)
		}
	}
	if len(f.sets) != 0 {
		t.Errorf("SETs sent: %v", f.sets)
	}
}

// TestTransitionalStates: every vendor's pending or waiting state reads as
// the state the outlet is leaving, marked pending.
func TestTransitionalStates(t *testing.T) {
	for _, tc := range []struct {
		mib   *mib
		value int64
		want  string
	}{
		{eatonG3, 2, "on pending"},  // pendingOff
		{eatonG3, 3, "off pending"}, // pendingOn
		{sentry3, 2, "on pending"},  // offWait
		{sentry3, 3, "off pending"}, // onWait
		{sentry4, 8, "off pending"}, // pendOn
		{sentry4, 9, "on pending"},  // pendOff
		{sentry4, 13, "on pending"}, // shutdown
		{sentry4, 15, "on locked"},  // lockedOn
		{geistV5, 3, "on pending"},  // on2off
		{geistV5, 4, "off pending"}, // off2on
	} {
		st := tc.mib.states[0].decode(tc.value)
		got := st.state.String()
		if st.pending {
			got += " pending"
		}
		if st.locked != "" {
			got += " locked"
		}
		if got != tc.want {
			t.Errorf("%s %s = %d reads %q, want %q", tc.mib.label(), tc.mib.states[0].name, tc.value, got, tc.want)
		}
	}
}

func TestVendorsAndDialects(t *testing.T) {
	if got := strings.Join(Vendors(), " "); got != "apc eaton raritan servertech cyberpower tripplite geist" {
		t.Errorf("Vendors() = %s", got)
	}
	if got := strings.Join(Dialects("servertech"), " "); got != "sentry4 sentry3" {
		t.Errorf("Dialects(servertech) = %s", got)
	}
}

// A smart plug's http:// address is not an SNMP PDU's: refused with why.
func TestNewRefusesSchemes(t *testing.T) {
	_, err := New(Config{Config: snmp.Config{Address: "http://plug.lan", Community: "private"}})
	want := `mibs: Address "http://plug.lan" has a scheme: SNMP PDUs are found at host or host:port`
	if err == nil || err.Error() != want {
		t.Errorf("New: %v, want %s", err, want)
	}
}

// TestRedetectsWhenTheTableChanges: an outlet that stops answering (a unit
// swapped for a smaller one) makes the next read detect the PDU again,
// once, and read what is there, under SNMPv1 (noSuchName fails the GET) and
// v2c (noSuchInstance).
func TestRedetectsWhenTheTableChanges(t *testing.T) {
	for _, version := range []string{"1", "2c"} {
		f := newFake(version, snmptest.LoadSnmprec(t, recordings+"tripplite-pdu-poweralert20-librenms.snmprec"))
		d := fakeDriver(t, f)
		if r, err := d.Read(t.Context()); err != nil || len(r.Outlets) != 24 {
			t.Fatalf("v%s: first read: %d outlets, %v", version, len(r.Outlets), err)
		}
		for _, col := range []string{"2", "3", "4", "5", "6", "10", "11", "12", "13", "14", "16", "17", "18"} {
			oid := ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1." + col + ".1.24"
			delete(f.vals, oid)
			f.oids = slices.DeleteFunc(f.oids, func(o string) bool { return o == oid })
		}
		before := f.count("get")
		r, err := d.Read(t.Context())
		if err != nil || len(r.Outlets) != 23 {
			t.Fatalf("v%s: read after outlet 24 went: %d outlets, %v", version, len(r.Outlets), err)
		}
		if f.count("get") <= before+1 {
			t.Errorf("v%s: the read did not detect again", version)
		}
	}
}
