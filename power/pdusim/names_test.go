package pdusim

import (
	"strings"
	"testing"
)

// A vendor's name column that its MIB has read-write takes a name up to
// the column's SIZE, and the outlet is named so; a longer one is
// wrongLength. A name column not served as writable (Geist's) refuses
// the write (notWritable), and the name stays.
func TestVendorNameColumns(t *testing.T) {
	eaton := newDevice(t, "eaton-g3", Options{})
	a := listen(t, eaton, Access{Community: readCommunity, WriteCommunity: writeCommunity})
	name1 := eatonName.child(0, 1).String()
	if out := snmp(t, "snmpset", v2cWrite, a.Addr(), name1, "s", "node1"); out.code != 0 {
		t.Fatalf("snmpset Eaton outletName.0.1: %s", out)
	}
	if got := eaton.OutletName(1); got != "node1" {
		t.Errorf("Eaton outlet 1 is named %q, want node1", got)
	}
	out := snmp(t, "snmpset", v2cWrite, a.Addr(), name1, "s", strings.Repeat("x", 32))
	if out.code == 0 || !strings.Contains(out.stderr, "wrongLength") {
		t.Errorf("snmpset of 32 characters into Eaton's outletName (SIZE(1..31)): %s, want wrongLength", out)
	}

	geist := newDevice(t, "geist-v5", Options{})
	before := geist.OutletName(1)
	g := listen(t, geist, Access{Community: readCommunity, WriteCommunity: writeCommunity})
	out = snmp(t, "snmpset", v2cWrite, g.Addr(), geistName.child(1).String(), "s", "node1")
	if out.code == 0 || !strings.Contains(out.stderr, "notWritable") {
		t.Errorf("snmpset Geist ctrlOutletName.1: %s, want notWritable", out)
	}
	if got := geist.OutletName(1); got != before {
		t.Errorf("Geist outlet 1 is named %q after a refused write, was %q", got, before)
	}
}
