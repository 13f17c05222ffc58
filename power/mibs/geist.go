package mibs

import (
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// geistV5 is the controlled-outlet table of Vertiv Geist's GEIST-V5-MIB
// (.21239.5), indexed by outlet. Older Geist firmware uses another tree,
// which this does not speak.
//
// Quirks: the status column has transitional states, on2off (3, still on)
// and off2on (4, still off), and two reboot states (5 rebootOn, 6
// rebootOff) read as pending; 7 is unavailable. The command column takes
// 2 for on and 4 for off.
var geistV5 = &mib{
	vendor: "Vertiv Geist", vendorKey: "geist", dialect: "v5",
	enterprise: 21239, objectIDs: []string{".1.3.6.1.4.1.21239.5"},
	rows: geistCtrlOutletStatus,
	states: []stateSource{{name: "ctrlOutletStatus", col: geistCtrlOutletStatus, decode: func(v int64) outletState {
		switch v {
		case 1:
			return outletState{state: power.On}
		case 2:
			return outletState{state: power.Off}
		case 3, 5:
			return outletState{state: power.On, pending: true}
		case 4, 6:
			return outletState{state: power.Off, pending: true}
		}
		return outletState{}
	}}},
	name: ".1.3.6.1.4.1.21239.5.2.3.5.1.2", // ctrlOutletName
	identify: func(descr string, _ map[string]snmp.Varbind) (string, string) {
		return strings.TrimSpace(descr), ""
	},
	control: func(index string, to power.State) (string, string, int) {
		v := 4
		if to == power.On {
			v = 2
		}
		return "ctrlOutletCommand", ".1.3.6.1.4.1.21239.5.2.3.5.1.6." + index, v
	},
}

const geistCtrlOutletStatus = ".1.3.6.1.4.1.21239.5.2.3.5.1.4"
