package mibs

import (
	"regexp"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/power/snmp/snmptest"
)

// TestDetectsADaisyChain: the ePDU MA capture with a second unit chained
// to it (every outlet row of unit 0 copied to unit 1) is detected with
// both units' outlets, numbered on from the first unit's and switched by
// their own index, in the same few requests under v1 and v2c: the system
// group, then 6 GETNEXTs (the first rows; 8, 16 and 25 rows; 48 names in
// two).
func TestDetectsADaisyChain(t *testing.T) {
	outletRow := regexp.MustCompile(`^(\.1\.3\.6\.1\.4\.1\.534\.6\.6\.7\.6\.\d+\.1\.\d+)\.0\.(\d+)$`)
	for _, version := range []string{"1", "2c"} {
		objects := snmptest.LoadSnmprec(t, recordings+"eaton-epdu-ma-36u-librenms.snmprec")
		for oid, v := range objects {
			if m := outletRow.FindStringSubmatch(oid); m != nil {
				v.OID = m[1] + ".1." + m[2]
				objects[v.OID] = v
			}
		}
		f := newFake(version, objects)
		d := fakeDriver(t, f)
		r, err := d.Read(t.Context())
		if err != nil {
			t.Fatalf("v%s: %v", version, err)
		}
		if len(r.Outlets) != 48 || r.Outlets[24].Name != r.Outlets[0].Name || r.Outlets[24].Number != 25 {
			t.Fatalf("v%s: read %d outlets, outlet 25 %+v, want 48 and outlet 25 named as outlet 1", version, len(r.Outlets), r.Outlets[min(24, len(r.Outlets)-1)])
		}
		n := f.count("getnext") + f.count("getbulk")
		if n > 6 {
			t.Errorf("v%s: detection of two 24-outlet units took %d probes, want at most 6", version, n)
		}
		if err := d.Switch(t.Context(), 25, power.Off); err != nil {
			t.Fatal(err)
		}
		if want := ".1.3.6.1.4.1.534.6.6.7.6.6.1.3.1.1=0"; f.sets[0] != want {
			t.Errorf("v%s: switching outlet 25 off wrote %s, want %s", version, f.sets[0], want)
		}
	}
}

// TestDetectsAtTheEndOfTheMIB: a Tripp Lite capture cut after its last
// outlet state, so that probes of its outlet meters run past the end of the
// agent's MIB, which SNMPv1 answers by failing the whole request, is
// detected as under v2c: 24 outlets, named, without outlet meters, in the
// same 4 probes and, under v1, the one request that ran into the end.
func TestDetectsAtTheEndOfTheMIB(t *testing.T) {
	const lastState = trippLiteOutletState + ".1.24"
	var got [2][]string
	for i, version := range []string{"1", "2c"} {
		objects := snmptest.LoadSnmprec(t, recordings+"tripplite-pdu-poweralert20-librenms.snmprec")
		if _, ok := objects[lastState]; !ok {
			t.Fatalf("the capture has no %s", lastState)
		}
		for oid := range objects {
			if snmp.CompareOIDs(oid, lastState) > 0 {
				delete(objects, oid)
			}
		}
		f := newFake(version, objects)
		r, err := fakeDriver(t, f).Read(t.Context())
		if err != nil {
			t.Fatalf("v%s: %v", version, err)
		}
		if len(r.Outlets) != 24 || r.Outlets[23].Name == "Outlet 24" || r.Outlets[0].PowerWatts != nil {
			t.Fatalf("v%s: read %d outlets, outlet 1 %+v, outlet 24 named %q", version, len(r.Outlets), r.Outlets[0], r.Outlets[len(r.Outlets)-1].Name)
		}
		for _, o := range r.Outlets {
			got[i] = append(got[i], o.Name)
		}
		if n, want := f.count("getnext"), map[string]int{"1": 5, "2c": 4}[version]; n > want {
			t.Errorf("v%s: detection took %d probes, want at most %d", version, n, want)
		}
	}
	if strings.Join(got[0], ",") != strings.Join(got[1], ",") {
		t.Errorf("v1 read the names %q, v2c %q", got[0], got[1])
	}
}
