package mibs

import (
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// eatonG3 is the ePDU G3 ("Marlin") tree of EATON-EPDU-MIB
// (.534.6.6.7). Its outlet tables are indexed by unit and outlet: the
// unit is 0 for the first (or only) unit of a daisy chain.
//
// Quirks: switching is not one command column but a column per action
// (outletControlOffCmd, …OnCmd, …RebootCmd), each reading -1 while idle;
// writing 0 acts at once, N after N seconds, and -1 cancels. (OpenStack
// Ironic's driver wrote the Off column to switch on and left the unit
// out: not so here.) outletControlStatus reads pendingOff (2) and
// pendingOn (3) while a delayed command waits: the outlet is still in the
// state it is leaving.
var eatonG3 = &mib{
	vendor: "Eaton", vendorKey: "eaton", dialect: "g3",
	enterprise: 534, objectIDs: []string{".1.3.6.1.4.1.534.6.6.7"},
	rows: eatonOutletControlStatus,
	states: []stateSource{{name: "outletControlStatus", col: eatonOutletControlStatus, decode: func(v int64) outletState {
		switch v {
		case 0:
			return outletState{state: power.Off}
		case 1:
			return outletState{state: power.On}
		case 2: // pendingOff: still on
			return outletState{state: power.On, pending: true}
		case 3: // pendingOn: still off
			return outletState{state: power.Off, pending: true}
		}
		return outletState{}
	}}},
	name:    ".1.3.6.1.4.1.534.6.6.7.6.1.1.3", // outletName
	nameMax: 31,                               // outletName: read-write, OCTET STRING (SIZE(1..31))
	outletMeters: []outletMeter{
		{field: fieldPower, col: ".1.3.6.1.4.1.534.6.6.7.6.5.1.3", scale: 1},       // outletWatts, W
		{field: fieldCurrent, col: ".1.3.6.1.4.1.534.6.6.7.6.4.1.3", scale: 0.001}, // outletCurrent, mA
	},
	pduMeters: []pduMeter{
		// inputCurrent, mA, per unit.input.wire: inputCurrentMeasType says
		// which wire, and the neutral (2) is not a phase.
		{quantity: phaseCurrent, col: ".1.3.6.1.4.1.534.6.6.7.3.3.1.4", scale: 0.001,
			kind: ".1.3.6.1.4.1.534.6.6.7.3.3.1.2", keep: func(v int64) bool { return v != 2 }},
		{quantity: totalPower, col: ".1.3.6.1.4.1.534.6.6.7.3.5.1.4", scale: 1},     // inputTotalWatts, W
		{quantity: totalEnergy, col: ".1.3.6.1.4.1.534.6.6.7.3.5.1.5", scale: 3600}, // inputTotalWh, Wh
	},
	identObjects: []string{eatonUnitFirmwareVersion},
	identify: func(descr string, got map[string]snmp.Varbind) (string, string) {
		// "ePDU MA 36U-C IN: L5-20P 16A 1P OUT: 24x5-20R": the model,
		// then the inlet and the outlets.
		model, _, _ := strings.Cut(descr, " IN:")
		fw, _ := got[eatonUnitFirmwareVersion].Text()
		return strings.TrimSpace(model), strings.TrimSpace(fw)
	},
	control: func(index string, to power.State) (string, string, int) {
		if to == power.On {
			return "outletControlOnCmd", ".1.3.6.1.4.1.534.6.6.7.6.6.1.4." + index, 0
		}
		return "outletControlOffCmd", ".1.3.6.1.4.1.534.6.6.7.6.6.1.3." + index, 0
	},
}

const (
	eatonOutletControlStatus = ".1.3.6.1.4.1.534.6.6.7.6.6.1.2"
	eatonUnitFirmwareVersion = ".1.3.6.1.4.1.534.6.6.7.1.2.1.5.0" // of unit 0
)
