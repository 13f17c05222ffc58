package mibs

import (
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// trippLitePDU is the tlpPdu branch of TRIPPLITE-PRODUCTS (.850), indexed
// by device and outlet.
//
// Quirks: sysObjectID .850.1.1.1 is shared with Tripp Lite's UPSes, so only
// the answering tlpPduOutlet table says it is a PDU. The state reads 0
// unknown, 1 off, 2 on; the command column takes 1 off, 2 on (3 cycle) and
// reads 0 while idle: the opposite order of most other vendors.
var trippLitePDU = &mib{
	vendor: "Tripp Lite", vendorKey: "tripplite", dialect: "tlppdu",
	enterprise: 850,
	rows:       trippLiteOutletState,
	states: []stateSource{{name: "tlpPduOutletState", col: trippLiteOutletState, decode: func(v int64) outletState {
		switch v {
		case 1:
			return outletState{state: power.Off}
		case 2:
			return outletState{state: power.On}
		}
		return outletState{}
	}}},
	name: ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.2", // tlpPduOutletName
	// Per-outlet meters answer noSuchName where the model does not meter
	// its outlets (tlpPduSupportsCurrentPower).
	outletMeters: []outletMeter{
		{field: fieldPower, col: ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.9", scale: 1},      // tlpPduOutletPower, W
		{field: fieldCurrent, col: ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.8", scale: 0.01}, // tlpPduOutletCurrent, 0.01 A
	},
	// tlpPduOutputTable, a row per device and phase. Its energy column is
	// a 24-hour figure, not a meter that counts up: not read.
	pduMeters: []pduMeter{
		{quantity: phaseCurrent, col: ".1.3.6.1.4.1.850.1.1.3.2.3.2.1.1.5", scale: 0.01}, // tlpPduOutputCurrent, 0.01 A
		{quantity: totalPower, col: ".1.3.6.1.4.1.850.1.1.3.2.3.2.1.1.8", scale: 1},      // tlpPduOutputActivePower, W
	},
	identObjects: []string{trippLiteDeviceModel},
	identify: func(descr string, got map[string]snmp.Varbind) (string, string) {
		// "… software: PowerAlert 20.2.1 (Build 942)"
		model, _ := got[trippLiteDeviceModel].Text()
		_, fw, _ := strings.Cut(descr, "software: ")
		fw, _, _ = strings.Cut(fw, " (")
		return strings.TrimSpace(model), strings.TrimSpace(fw)
	},
	control: func(index string, to power.State) (string, string, int) {
		v := 1
		if to == power.On {
			v = 2
		}
		return "tlpPduOutletCommand", ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6." + index, v
	},
}

const (
	trippLiteOutletState = ".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.4"
	trippLiteDeviceModel = ".1.3.6.1.4.1.850.1.1.1.2.1.5.1" // tlpDeviceModel of device 1
)
