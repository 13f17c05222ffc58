package mibs

import (
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// raritanPDU2 is PDU2-MIB (.13742.6) of Raritan's PX2, PX3 and PX4, indexed
// by pdu (1 for a lone unit) and outlet.
//
// Quirks: the state is in outletSwitchingState where firmware has it, and
// otherwise only in the outlet's onOff sensor (sensor type 14 of
// measurementsOutletSensorState: 7 on, 8 off), which is all the PX3 and
// PX4 captures carry; whichever answers is read. MAAS reads the state back
// from the control column, switchingOperation, which is wrong on firmware
// that answers otherwise: the control column is only written here.
// outletSwitchable false means the outlet cannot be switched, and a switch
// is refused before anything is sent. Meters come with a number of
// decimal digits of their own (outletSensorDecimalDigits).
var raritanPDU2 = &mib{
	vendor: "Raritan", vendorKey: "raritan", dialect: "pdu2",
	enterprise: 13742, objectIDs: []string{".1.3.6.1.4.1.13742.6"},
	rows: ".1.3.6.1.4.1.13742.6.3.5.3.1.2", // outletLabel
	states: []stateSource{
		{name: "outletSwitchingState", col: ".1.3.6.1.4.1.13742.6.4.1.2.1.3", decode: func(v int64) outletState {
			// The MIB's enumeration is -1 unavailable, 0 off, 1 on; some
			// documentation gives it as the sensor's 7 and 8. Both are
			// read, as they do not overlap.
			switch v {
			case 1, 7:
				return outletState{state: power.On}
			case 0, 8:
				return outletState{state: power.Off}
			}
			return outletState{}
		}},
		{name: "measurementsOutletSensorState (onOff)", col: ".1.3.6.1.4.1.13742.6.5.4.3.1.3", suffix: ".14", decode: func(v int64) outletState {
			switch v {
			case 7:
				return outletState{state: power.On}
			case 8:
				return outletState{state: power.Off}
			}
			return outletState{}
		}},
	},
	name:         ".1.3.6.1.4.1.13742.6.3.5.3.1.3",     // outletName
	nameMax:      255,                                  // outletName: read-write, DisplayString (no SIZE of its own: SNMPv2-TC's 0..255)
	switchable:   ".1.3.6.1.4.1.13742.6.3.5.3.1.28",    // outletSwitchable
	isSwitchable: func(v int64) bool { return v != 2 }, // TruthValue: 1 true, 2 false
	outletMeters: []outletMeter{
		{field: fieldPower, col: raritanOutletSensorValue, suffix: ".5", decimals: raritanOutletSensorDecimals},   // activePower, W
		{field: fieldCurrent, col: raritanOutletSensorValue, suffix: ".1", decimals: raritanOutletSensorDecimals}, // rmsCurrent, A
	},
	pduMeters: []pduMeter{
		{quantity: phaseCurrent, col: raritanInletSensorValue, suffix: ".1", scale: 1, decimals: raritanInletSensorDecimals},
		{quantity: totalPower, col: raritanInletSensorValue, suffix: ".5", scale: 1, decimals: raritanInletSensorDecimals},
		{quantity: totalEnergy, col: raritanInletSensorValue, suffix: ".8", scale: 3600, decimals: raritanInletSensorDecimals}, // Wh
	},
	identify: func(descr string, _ map[string]snmp.Varbind) (string, string) {
		// "Raritan PDU, MD:PX3-5493U-K2 HW:0x10 FW:4.2.0.5-50274"
		return word(descr, "MD:"), word(descr, "FW:")
	},
	control: func(index string, to power.State) (string, string, int) {
		v := 0 // switchingOperation off(0), on(1), cycle(2)
		if to == power.On {
			v = 1
		}
		return "switchingOperation", ".1.3.6.1.4.1.13742.6.4.1.2.1.2." + index, v
	},
}

const (
	raritanOutletSensorValue    = ".1.3.6.1.4.1.13742.6.5.4.3.1.4" // measurementsOutletSensorValue
	raritanOutletSensorDecimals = ".1.3.6.1.4.1.13742.6.3.5.4.1.7" // outletSensorDecimalDigits
	raritanInletSensorValue     = ".1.3.6.1.4.1.13742.6.5.2.3.1.4" // measurementsInletSensorValue
	raritanInletSensorDecimals  = ".1.3.6.1.4.1.13742.6.3.3.4.1.7" // inletSensorDecimalDigits
)

// word returns the word after key in s ("MD:PX3 HW:…" → "PX3"), tolerating
// a space after the colon.
func word(s, key string) string {
	_, rest, ok := strings.Cut(s, key)
	if !ok {
		return ""
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return ""
	}
	return strings.Trim(f[0], "(),")
}
