package test

import (
	"strings"
	"testing"
	"time"
)

// nameColumns are the read-write outlet name columns of the vendors whose
// names sync_outlet_names writes besides APC's, by simulated model.
var nameColumns = map[string]string{
	"eaton-g3":           ".1.3.6.1.4.1.534.6.6.7.6.1.1.3", // EATON-EPDU-MIB outletName
	"raritan-px3":        ".1.3.6.1.4.1.13742.6.3.5.3.1.3", // PDU2-MIB outletName
	"servertech-sentry3": ".1.3.6.1.4.1.1718.3.2.3.1.3",    // Sentry3-MIB outletName
	"servertech-sentry4": ".1.3.6.1.4.1.1718.4.1.8.2.1.3",  // Sentry4-MIB st4OutletName
}

// namesAt walks a name column with net-snmp's snmpwalk: each row's OID and
// name, in the agent's order, which is the outlets' order.
func namesAt(t *testing.T, addr, column string) (oids, names []string) {
	t.Helper()
	for line := range strings.Lines(netSNMP(t, "snmpwalk", "public", addr, column)) {
		oid, value, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if !ok {
			continue
		}
		value = strings.TrimPrefix(value, "STRING: ")
		oids, names = append(oids, oid), append(names, strings.Trim(value, `"`))
	}
	return oids, names
}

// With sync_outlet_names on each vendor whose MIB has a writable outlet
// name, found by vendor auto: the machines' names are in their outlets'
// names as snmpget reads them (node1 on outlet 1, bigboy on 3 and 4), and
// outlet 2, which feeds no machine, keeps the name given it on the PDU.
func TestSyncOutletNamesOnEachVendor(t *testing.T) {
	for model, column := range nameColumns {
		t.Run(model, func(t *testing.T) {
			_, agent, pdu := simPDU(t, model)
			oids, _ := namesAt(t, agent.Addr(), column)
			if len(oids) < 4 {
				t.Fatalf("%s has %d outlet names, want at least 4", model, len(oids))
			}
			netSNMP(t, "snmpset", "private", agent.Addr(), oids[1], "s", "lab-switch")
			b := startBridge(t, maasConfig(pdu+"    sync_outlet_names: true\n"))
			waitUntil(t, 60*time.Second, "the names are synced", func() bool { return len(b.logs.lines("outlet names synced")) > 0 })
			for i, want := range []string{"node1", "lab-switch", "bigboy", "bigboy"} {
				got := strings.Trim(strings.TrimSpace(netSNMP(t, "snmpget", "public", agent.Addr(), "-Oqv", oids[i])), `"`)
				if got != want {
					t.Errorf("snmpget reads outlet %d's name (%s) %q, want %q", i+1, oids[i], got, want)
				}
			}
			if synced := b.logs.lines("outlet names synced"); !strings.Contains(synced[0], "written=3") {
				t.Errorf("the sync: %s, want written=3", synced[0])
			}
		})
	}
}
