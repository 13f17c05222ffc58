package mibs

import (
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// CyberPower's CPS-MIB has two PDU trees, ePDU (.3808.1.1.3) and the newer
// ePDU2 (.3808.1.1.6); one unit may serve both, and the PDU81005 capture
// names itself ePDU2 but keeps its identity and bank load in ePDU.
//
// Quirks: the state reads 1 on and 2 off; the command column takes 1
// immediateOn, 2 immediateOff (3 reboot, 4–6 the delayed ones, 7 cancel),
// and ePDU2 indexes its outlets by a row number of its own.
var (
	cyberPowerEPDU2 = &mib{
		vendor: "CyberPower", vendorKey: "cyberpower", dialect: "epdu2",
		enterprise: 3808, objectIDs: []string{".1.3.6.1.4.1.3808.1.1.6"},
		rows:   cyberPowerEPDU2State,
		states: []stateSource{{name: "ePDU2OutletSwitchedStatusState", col: cyberPowerEPDU2State, decode: cyberPowerState}},
		name:   ".1.3.6.1.4.1.3808.1.1.6.6.1.4.1.4", // ePDU2OutletSwitchedStatusName
		outletMeters: []outletMeter{
			{field: fieldPower, col: ".1.3.6.1.4.1.3808.1.1.6.6.2.4.1.7", scale: 1},     // ePDU2OutletMeteredStatusActivePower, W
			{field: fieldCurrent, col: ".1.3.6.1.4.1.3808.1.1.6.6.2.4.1.6", scale: 0.1}, // ePDU2OutletMeteredStatusLoad, 0.1 A
		},
		pduMeters:    []pduMeter{cyberPowerBankLoad},
		identObjects: cyberPowerIdent,
		identify:     cyberPowerIdentify,
		control: func(index string, to power.State) (string, string, int) {
			return "ePDU2OutletSwitchedControlCommand", ".1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5." + index, cyberPowerCommand(to)
		},
	}
	cyberPowerEPDU = &mib{
		vendor: "CyberPower", vendorKey: "cyberpower", dialect: "epdu",
		enterprise: 3808, objectIDs: []string{".1.3.6.1.4.1.3808.1.1.3"},
		rows:   cyberPowerEPDUState,
		states: []stateSource{{name: "ePDUOutletStatusOutletState", col: cyberPowerEPDUState, decode: cyberPowerState}},
		name:   ".1.3.6.1.4.1.3808.1.1.3.3.5.1.1.2", // ePDUOutletStatusOutletName
		outletMeters: []outletMeter{
			{field: fieldCurrent, col: ".1.3.6.1.4.1.3808.1.1.3.3.5.1.1.7", scale: 0.1}, // ePDUOutletStatusLoad, 0.1 A
		},
		pduMeters:    []pduMeter{cyberPowerBankLoad},
		identObjects: cyberPowerIdent,
		identify:     cyberPowerIdentify,
		control: func(index string, to power.State) (string, string, int) {
			return "ePDUOutletControlOutletCommand", ".1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4." + index, cyberPowerCommand(to)
		},
	}
)

const (
	cyberPowerEPDUState  = ".1.3.6.1.4.1.3808.1.1.3.3.5.1.1.4"
	cyberPowerEPDU2State = ".1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5"
	cyberPowerFirmware   = ".1.3.6.1.4.1.3808.1.1.3.1.3.0" // ePDUIdentFirmwareRev
	cyberPowerModel      = ".1.3.6.1.4.1.3808.1.1.3.1.5.0" // ePDUIdentModelNumber
)

var (
	cyberPowerIdent = []string{cyberPowerModel, cyberPowerFirmware}
	// ePDULoadStatusLoad, tenths of amperes per bank.
	cyberPowerBankLoad = pduMeter{quantity: phaseCurrent, col: ".1.3.6.1.4.1.3808.1.1.3.2.3.1.1.2", scale: 0.1}
)

// cyberPowerState decodes both trees' outlet state: 1 on, 2 off.
func cyberPowerState(v int64) outletState {
	switch v {
	case 1:
		return outletState{state: power.On}
	case 2:
		return outletState{state: power.Off}
	}
	return outletState{}
}

// cyberPowerCommand is both trees' immediateOn (1) or immediateOff (2).
func cyberPowerCommand(to power.State) int {
	if to == power.On {
		return 1
	}
	return 2
}

// cyberPowerIdentify: the sysDescr is "CPS Power Distributed Unit"; the
// model and firmware are in ePDUIdent.
func cyberPowerIdentify(descr string, got map[string]snmp.Varbind) (string, string) {
	model, _ := got[cyberPowerModel].Text()
	fw, _ := got[cyberPowerFirmware].Text()
	if model == "" {
		model = descr
	}
	return model, fw
}
