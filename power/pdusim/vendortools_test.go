package pdusim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// TestToolsVendorModels holds each vendor's built-in model to net-snmp's
// tools, over v1, v2c and v3: snmpget reads the MIB's values for an
// outlet and its name, snmpset on the MIB's control column switches it,
// the state reads the MIB's transitional value while the command is
// pending and the new state after, and snmpwalk walks the state column.
func TestToolsVendorModels(t *testing.T) {
	const delay = time.Second // long enough that a read right after the SET lands while pending
	for _, tc := range []struct {
		model   string
		outlet  int
		state   string // the state object of the outlet
		on      string // what it reads on
		leaving string // … while switching off
		off     string // … once off
		control string // the object written to switch it off
		value   string
		name    string // a name object of the outlet, and its value
		named   string
		rows    int // rows the state column walks
		arcs    int // arcs of the state object's index
	}{
		// Eaton: outlet 10 is unit 1's outlet 2; outletControlOffCmd 0
		// acts now; pendingOff (2) meanwhile.
		{"eaton-g3", 10, ".1.3.6.1.4.1.534.6.6.7.6.6.1.2.1.2", "1", "2", "0",
			".1.3.6.1.4.1.534.6.6.7.6.6.1.3.1.2", "0", ".1.3.6.1.4.1.534.6.6.7.6.1.1.3.1.2", `"Outlet B2"`, 12, 2},
		// Raritan: the onOff sensor reads 7 on, 8 off.
		{"raritan-px3", 3, ".1.3.6.1.4.1.13742.6.5.4.3.1.3.1.3.14", "7", "7", "8",
			".1.3.6.1.4.1.13742.6.4.1.2.1.2.1.3", "0", ".1.3.6.1.4.1.13742.6.3.5.3.1.2.1.3", `"3"`, 8, 3},
		// Sentry3: outlet 6 is infeed B's outlet 2; offWait (2) meanwhile.
		{"servertech-sentry3", 6, ".1.3.6.1.4.1.1718.3.2.3.1.5.1.2.2", "1", "2", "0",
			".1.3.6.1.4.1.1718.3.2.3.1.11.1.2.2", "2", ".1.3.6.1.4.1.1718.3.2.3.1.3.1.2.2", `"TowerA_InfeedB_Outlet2"`, 8, 3},
		// Sentry4: st4OutletControlState on (11), pendOff (9), off (10).
		{"servertech-sentry4", 2, ".1.3.6.1.4.1.1718.4.1.8.5.1.1.1.1.2", "11", "9", "10",
			".1.3.6.1.4.1.1718.4.1.8.5.1.2.1.1.2", "2", ".1.3.6.1.4.1.1718.4.1.8.2.1.3.1.1.2", `"Master_Outlet_2"`, 8, 3},
		{"cyberpower-epdu2", 5, ".1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5.5", "1", "1", "2",
			".1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5.5", "2", ".1.3.6.1.4.1.3808.1.1.6.6.1.4.1.4.5", `"Outlet5"`, 8, 1},
		// Tripp Lite: 2 on, 1 off; the command 1 is off.
		{"tripplite-pdu", 8, ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.4.1.8", "2", "2", "1",
			".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6.1.8", "1", ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.2.1.8", `"Load 8"`, 8, 2},
		// Geist: on2off (3) meanwhile; the command 4 is off.
		{"geist-v5", 1, ".1.3.6.1.4.1.21239.5.2.3.5.1.4.1", "1", "3", "2",
			".1.3.6.1.4.1.21239.5.2.3.5.1.6.1", "4", ".1.3.6.1.4.1.21239.5.2.3.5.1.2.1", `"Outlet 1"`, 8, 1},
	} {
		for i, c := range []cred{v1Write, v2cWrite, v3SHAAES} {
			t.Run(tc.model+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				d := newDevice(t, tc.model, Options{SwitchDelay: delay})
				a := listen(t, d, testAccess)
				get := snmp(t, "snmpget", c, a.Addr(), tc.state, tc.name)
				if want := lines(tc.state+" = INTEGER: "+tc.on, tc.name+" = STRING: "+tc.named); get.code != 0 || !same(get.stdout, want) {
					t.Fatalf("get:\n%s\nwant stdout\n%s", get, want)
				}
				set := snmp(t, "snmpset", c, a.Addr(), tc.control, "i", tc.value)
				if want := lines(tc.control + " = INTEGER: " + tc.value); set.code != 0 || !same(set.stdout, want) {
					t.Fatalf("set:\n%s\nwant stdout\n%s", set, want)
				}
				if got, want := snmp(t, "snmpget", c, a.Addr(), tc.state).stdout, lines(tc.state+" = INTEGER: "+tc.leaving); !same(got, want) {
					t.Errorf("right after the SET:\n%s\nwant\n%s", got, want)
				}
				want := lines(tc.state + " = INTEGER: " + tc.off)
				eventually(t, 10*delay, func() (bool, string) {
					got := snmp(t, "snmpget", c, a.Addr(), tc.state).stdout
					return same(got, want), fmt.Sprintf("reads\n%s\nwant\n%s", got, want)
				})
				if cmds := d.Commands(tc.outlet); len(cmds) != 1 || cmds[0].Word != "off" || d.OutletState(tc.outlet) != power.Off {
					t.Errorf("outlet %d: %v after %v, want off after one off", tc.outlet, d.OutletState(tc.outlet), cmds)
				}
				if i == 1 { // v2c: GETBULK
					arcs := strings.Split(tc.state, ".")
					col := strings.Join(arcs[:len(arcs)-tc.arcs], ".")
					walk := snmp(t, "snmpbulkwalk", c, a.Addr(), col)
					rows := 0
					for _, name := range parseWalk(walk.stdout).order {
						// Raritan's sensor column holds every sensor type.
						if strings.HasPrefix(name, col+".") && (tc.model != "raritan-px3" || strings.HasSuffix(name, ".14")) {
							rows++
						}
					}
					if walk.code != 0 || rows != tc.rows {
						t.Errorf("bulkwalk of %s: %d rows, want %d:\n%s", col, rows, tc.rows, walk)
					}
				}
			})
		}
	}
}

// TestToolsVendorErrors: each vendor model's error answers, with the
// tools' words: a value the control column does not take, a write to the
// read-only state, and a switch of an outlet the unit will not switch,
// which changes nothing.
func TestToolsVendorErrors(t *testing.T) {
	const (
		wrongValue   = "Reason: wrongValue (The set value is illegal or unsupported in some way)"
		notWritable  = "Reason: notWritable (That object does not support modification)"
		inconsistent = "Reason: inconsistentValue (The set value is illegal or unsupported in some way)"
		badValue     = "Reason: (badValue) The value given has the wrong type or length."
		noSuchName   = "Reason: (noSuchName) There is no such variable name in this MIB."
	)
	failed := func(reason, oid string) string { return lines("Error in packet.", reason, "Failed object: "+oid) }
	for _, tc := range []struct {
		model  string
		c      cred
		oid    string
		value  string
		stderr string
		outlet int
	}{
		{"eaton-g3", v2cWrite, ".1.3.6.1.4.1.534.6.6.7.6.6.1.4.0.1", "-5", "", 1},
		{"eaton-g3", v2cWrite, ".1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.1", "0", notWritable, 1},
		{"raritan-px3", v2cWrite, ".1.3.6.1.4.1.13742.6.4.1.2.1.2.1.8", "0", inconsistent, 8},
		{"raritan-px3", v1Write, ".1.3.6.1.4.1.13742.6.4.1.2.1.2.1.8", "0", badValue, 8},
		{"raritan-px3", v3SHAAES, ".1.3.6.1.4.1.13742.6.4.1.2.1.2.1.1", "9", wrongValue, 1},
		{"servertech-sentry3", v2cWrite, ".1.3.6.1.4.1.1718.3.2.3.1.11.1.1.1", "9", wrongValue, 1},
		{"servertech-sentry4", v2cWrite, ".1.3.6.1.4.1.1718.4.1.8.5.1.2.1.1.8", "2", inconsistent, 8},
		{"servertech-sentry4", v1Write, ".1.3.6.1.4.1.1718.4.1.8.5.1.1.1.1.1", "10", noSuchName, 1},
		{"cyberpower-epdu2", v2cWrite, ".1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5.1", "9", wrongValue, 1},
		{"tripplite-pdu", v3SHAAES, ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6.1.1", "9", wrongValue, 1},
		{"geist-v5", v2cWrite, ".1.3.6.1.4.1.21239.5.2.3.5.1.6.1", "9", wrongValue, 1},
	} {
		t.Run(tc.model+"/"+tc.c.name+"/"+tc.oid, func(t *testing.T) {
			t.Parallel()
			d := newDevice(t, tc.model, Options{SwitchDelay: -1})
			a := listen(t, d, testAccess)
			stderr := tc.stderr
			if stderr == "" {
				stderr = wrongValue
			}
			got := snmp(t, "snmpset", tc.c, a.Addr(), tc.oid, "i", tc.value)
			if want := failed(stderr, tc.oid); got.code != 2 || !same(got.stderr, want) {
				t.Errorf("got\n%s\nwant exit 2, stderr\n%s", got, want)
			}
			if cmds := d.Commands(tc.outlet); len(cmds) != 0 || d.OutletState(tc.outlet) != power.On {
				t.Errorf("a refused SET did something to outlet %d: %v, %v", tc.outlet, d.OutletState(tc.outlet), cmds)
			}
		})
	}
}
