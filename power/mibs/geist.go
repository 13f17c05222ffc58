package mibs

import (
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// geistV5 is the outlet tables of Vertiv Geist's GEIST-V5-MIB (.21239.5;
// VERTIV-V5-MIB in its newer revisions, the same tree), indexed by outlet: pduOutletSwitchTable (.21239.5.2.3.5), which
// vendors.md and older drivers call ctrlOutlet, and pduOutletMeterTable
// (.21239.5.2.3.6) beside it. Older Geist firmware uses another tree,
// which this does not speak.
//
// Quirks: the state column has transitional states, on2off (3, still on)
// and off2on (4, still off), and two reboot states (5 rebootOn, 6
// rebootOff) read as pending; 7 is unavailable. The control column takes
// 2 for on and 4 for off and reads none (8). Each outlet has a factory
// name (column 2) and a user-set label (column 3): the label, where set,
// is the name. Meters are in centiamps, watts and watt-hours.
var geistV5 = &mib{
	vendor: "Vertiv Geist", vendorKey: "geist", dialect: "v5",
	enterprise: 21239, objectIDs: []string{".1.3.6.1.4.1.21239.5"},
	rows: geistOutletSwitchState,
	states: []stateSource{{name: "pduOutletSwitchState", col: geistOutletSwitchState, decode: func(v int64) outletState {
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
	userName: ".1.3.6.1.4.1.21239.5.2.3.5.1.3", // pduOutletSwitchLabel, user-set
	name:     ".1.3.6.1.4.1.21239.5.2.3.5.1.2", // pduOutletSwitchName, factory-set
	outletMeters: []outletMeter{
		{field: fieldPower, col: ".1.3.6.1.4.1.21239.5.2.3.6.1.12", scale: 1},     // pduOutletMeterRealPower, W
		{field: fieldCurrent, col: ".1.3.6.1.4.1.21239.5.2.3.6.1.8", scale: 0.01}, // pduOutletMeterCurrent, centiamps
	},
	pduMeters: []pduMeter{
		{quantity: phaseCurrent, col: ".1.3.6.1.4.1.21239.5.2.3.2.1.8", scale: 0.01}, // pduPhaseCurrent, centiamps
		{quantity: totalPower, col: ".1.3.6.1.4.1.21239.5.2.3.1.1.9", scale: 1},      // pduTotalRealPower, W
		{quantity: totalEnergy, col: ".1.3.6.1.4.1.21239.5.2.3.1.1.12", scale: 3600}, // pduTotalEnergy, Wh
	},
	identObjects: []string{geistProductModel, geistProductVersion},
	identify: func(descr string, got map[string]snmp.Varbind) (string, string) {
		model, _ := got[geistProductModel].Text()
		fw, _ := got[geistProductVersion].Text()
		if strings.TrimSpace(model) == "" {
			model = descr
		}
		return strings.TrimSpace(model), strings.TrimSpace(fw)
	},
	control: func(index string, to power.State) (string, string, int) {
		v := 4
		if to == power.On {
			v = 2
		}
		return "pduOutletSwitchControl", ".1.3.6.1.4.1.21239.5.2.3.5.1.6." + index, v
	},
}

const (
	geistOutletSwitchState = ".1.3.6.1.4.1.21239.5.2.3.5.1.4"
	geistProductVersion    = ".1.3.6.1.4.1.21239.5.2.1.2.0" // productVersion, the firmware
	geistProductModel      = ".1.3.6.1.4.1.21239.5.2.1.8.0" // productModelNumber
)
