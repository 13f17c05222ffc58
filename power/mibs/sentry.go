package mibs

import (
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// ServerTech's Sentry3-MIB (.1718.3) indexes outlets by tower, infeed and
// outlet; Sentry4-MIB (.1718.4) by unit, input cord and outlet. Both
// switch with a control action column: 1 on, 2 off (3 reboot).
//
// Sentry3 quirk: outletControlState (column 10) is not the status, a
// common mistake; outletStatus (column 5) is, with its transitional
// offWait (2, still on) and onWait (3, still off), and its error and fuse
// states, which say what the outlet is.
var sentry3 = &mib{
	vendor: "ServerTech", vendorKey: "servertech", dialect: "sentry3",
	enterprise: 1718, objectIDs: []string{".1.3.6.1.4.1.1718.3"},
	rows: sentry3OutletStatus,
	states: []stateSource{{name: "outletStatus", col: sentry3OutletStatus, decode: func(v int64) outletState {
		switch v {
		case 0, 4, 8: // off, offError, offFuse
			return outletState{state: power.Off}
		case 1, 5, 9: // on, onError, onFuse
			return outletState{state: power.On}
		case 2: // offWait: turning off, still on
			return outletState{state: power.On, pending: true}
		case 3: // onWait: turning on, still off
			return outletState{state: power.Off, pending: true}
		}
		return outletState{} // noComm, reading
	}}},
	name:    ".1.3.6.1.4.1.1718.3.2.3.1.3", // outletName
	nameMax: 24,                            // outletName: read-write, DisplayString (SIZE(0..24))
	// Every meter reads negative when not measured (outletPower needs
	// per-outlet power sensing, towerEnergy per-inlet sensing).
	outletMeters: []outletMeter{
		{field: fieldPower, col: ".1.3.6.1.4.1.1718.3.2.3.1.14", scale: 1},     // outletPower, W
		{field: fieldCurrent, col: ".1.3.6.1.4.1.1718.3.2.3.1.7", scale: 0.01}, // outletLoadValue, 0.01 A
	},
	pduMeters: []pduMeter{
		{quantity: phaseCurrent, col: ".1.3.6.1.4.1.1718.3.2.2.1.7", scale: 0.01},  // infeedLoadValue, 0.01 A, per tower.infeed
		{quantity: totalPower, col: ".1.3.6.1.4.1.1718.3.1.6", scale: 1},           // systemTotalPower.0, W
		{quantity: totalEnergy, col: ".1.3.6.1.4.1.1718.3.2.1.1.14", scale: 3.6e6}, // towerEnergy, kWh, per tower
	},
	identObjects: []string{sentry3SystemVersion},
	identify: func(descr string, got map[string]snmp.Varbind) (string, string) {
		fw, _ := got[sentry3SystemVersion].Text()
		return strings.TrimSpace(descr), strings.TrimSpace(fw)
	},
	control: func(index string, to power.State) (string, string, int) {
		return "outletControlAction", ".1.3.6.1.4.1.1718.3.2.3.1.11." + index, sentryAction(to)
	},
}

// sentry4 reads st4OutletControlState, whose enumeration says more than
// st4OutletState's unknown/on/off: the pending and preparing states read
// as the state being left (pendOn and reboot are still off, pendOff and
// shutdown still on), and fixedOn, lockedOff and lockedOn are outlets the
// unit will not switch, which a switch is refused for with the reason.
var sentry4 = &mib{
	vendor: "ServerTech", vendorKey: "servertech", dialect: "sentry4",
	enterprise: 1718, objectIDs: []string{".1.3.6.1.4.1.1718.4"},
	rows: sentry4OutletControlState,
	states: []stateSource{{name: "st4OutletControlState", col: sentry4OutletControlState, decode: func(v int64) outletState {
		switch v {
		case 1:
			return outletState{state: power.On, locked: "fixedOn (not switchable)"}
		case 14:
			return outletState{state: power.Off, locked: "lockedOff (locked by an administrator)"}
		case 15:
			return outletState{state: power.On, locked: "lockedOn (locked by an administrator)"}
		case 2, 4, 6, 10, 16: // idleOff, wakeOff, ocpOff, off, eventOff
			return outletState{state: power.Off}
		case 3, 5, 7, 11, 17: // idleOn, wakeOn, ocpOn, on, eventOn
			return outletState{state: power.On}
		case 8, 12, 18: // pendOn, reboot, eventReboot: off, turning on
			return outletState{state: power.Off, pending: true}
		case 9, 13, 19: // pendOff, shutdown, eventShutdown: on, turning off
			return outletState{state: power.On, pending: true}
		}
		return outletState{} // notSet
	}}},
	name:    ".1.3.6.1.4.1.1718.4.1.8.2.1.3", // st4OutletName
	nameMax: 32,                              // st4OutletName: read-write, DisplayString (SIZE(0..32))
	outletMeters: []outletMeter{
		{field: fieldPower, col: ".1.3.6.1.4.1.1718.4.1.8.3.1.7", scale: 1},      // st4OutletActivePower, W
		{field: fieldCurrent, col: ".1.3.6.1.4.1.1718.4.1.8.3.1.3", scale: 0.01}, // st4OutletCurrent, 0.01 A
	},
	// Negative where not measured, as in Sentry3.
	pduMeters: []pduMeter{
		{quantity: phaseCurrent, col: ".1.3.6.1.4.1.1718.4.1.5.3.1.6", scale: 0.01},  // st4PhaseCurrent, 0.01 A, per unit.cord.phase
		{quantity: totalPower, col: ".1.3.6.1.4.1.1718.4.1.3.3.1.3", scale: 1},       // st4InputCordActivePower, W, per unit.cord
		{quantity: totalEnergy, col: ".1.3.6.1.4.1.1718.4.1.3.3.1.10", scale: 3.6e5}, // st4InputCordEnergy, 0.1 kWh
	},
	identObjects: []string{sentry4ProductName, sentry4FirmwareVersion},
	identify: func(descr string, got map[string]snmp.Varbind) (string, string) {
		model, _ := got[sentry4ProductName].Text()
		fw, _ := got[sentry4FirmwareVersion].Text()
		if model == "" {
			model = descr
		}
		return strings.TrimSpace(model), strings.TrimSpace(fw)
	},
	control: func(index string, to power.State) (string, string, int) {
		return "st4OutletControlAction", ".1.3.6.1.4.1.1718.4.1.8.5.1.2." + index, sentryAction(to)
	},
}

const (
	sentry3OutletStatus       = ".1.3.6.1.4.1.1718.3.2.3.1.5"
	sentry3SystemVersion      = ".1.3.6.1.4.1.1718.3.1.1.0" // systemVersion, the firmware
	sentry4OutletControlState = ".1.3.6.1.4.1.1718.4.1.8.5.1.1"
	sentry4ProductName        = ".1.3.6.1.4.1.1718.4.1.1.1.1.0" // st4SystemProductName
	sentry4FirmwareVersion    = ".1.3.6.1.4.1.1718.4.1.1.1.3.0" // st4SystemFirmwareVersion
)

func sentryAction(to power.State) int {
	if to == power.On {
		return 1
	}
	return 2
}
