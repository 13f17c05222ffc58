package pdusim

import "fmt"

// vendorModels are built-in devices of the other vendors, each laid out as
// its MIB has it and as far as powerbridge and its peers look: the system
// group, the identity objects, the outlet table with names, and its
// control columns. Their outlets start on, but where a model says
// otherwise. The metered ones' meters are in vendormeters.go.
var vendorModels = map[string]func() []*object{
	"eaton-g3":           eatonG3Model,
	"raritan-px3":        raritanPX3Model,
	"servertech-sentry3": sentry3Model,
	"servertech-sentry4": sentry4Model,
	"cyberpower-epdu2":   cyberPowerModel,
	"tripplite-pdu":      trippLiteModel,
	"geist-v5":           geistModel,
}

// system adds the system group.
func system(m *mib, descr, objectID string) {
	unit{sysDescr: descr, sysObjectID: objectID}.system(m)
}

// eatonG3Model: an ePDU G3 with a second unit daisy-chained: unit 0 has 8
// outlets, unit 1 has 4 (outlets 9 to 12 of the PDU); outlets and inlets
// metered.
func eatonG3Model() []*object {
	var m mib
	system(&m, "ePDU G3 EMAB03-10 IN: IEC309 16A 1P OUT: 8xC13", ".1.3.6.1.4.1.534.6.6.7")
	m.add(eaton.child(1, 2, 1, 5, 0), octets("04.02.0003")) // firmware of unit 0
	for _, u := range []struct{ unit, outlets uint32 }{{0, 8}, {1, 4}} {
		m.add(eaton.child(3, 3, 1, 2, u.unit, 1, 1), integer(1)) // inputCurrentMeasType: singlePhase
		for o := uint32(1); o <= u.outlets; o++ {
			m.add(eatonName.child(u.unit, o), octets(fmt.Sprintf("Outlet %c%d", 'A'+rune(u.unit), o)))
			m.add(eatonStatus.child(u.unit, o), integer(1))
			for _, c := range []oid{eatonOffCmd, eatonOnCmd, eatonRebootCmd} {
				m.add(c.child(u.unit, o), integer(-1))
			}
		}
	}
	return m
}

// raritanPX3Model: a PX3 with 8 metered outlets that serves both the
// switching state and the onOff sensor; outlet 8 cannot be switched.
func raritanPX3Model() []*object {
	var m mib
	system(&m, "Raritan PDU, MD:PX3-5190R HW:0x10 FW:3.6.10.5-46612", ".1.3.6.1.4.1.13742.6")
	for o := uint32(1); o <= 8; o++ {
		m.add(raritanLabel.child(1, o), octets(fmt.Sprint(o)))
		m.add(raritanName.child(1, o), octets(""))
		switchable := 1
		if o == 8 {
			switchable = 2
		}
		m.add(raritanSwitchable.child(1, o), integer(switchable))
		m.add(raritanOperation.child(1, o), integer(1))
		m.add(raritanSwitching.child(1, o), integer(1))
		m.add(raritanSensor.child(1, o, raritanOnOff), integer(7))
		m.add(raritanOutletDecimals.child(1, o, raritanRMSCurrent), gauge32(3))
		m.add(raritanOutletDecimals.child(1, o, raritanActivePower), gauge32(0))
	}
	m.add(raritanInletDecimals.child(1, 1, raritanRMSCurrent), gauge32(3))
	m.add(raritanInletDecimals.child(1, 1, raritanActivePower), gauge32(0))
	m.add(raritanInletDecimals.child(1, 1, raritanActiveEnergy), gauge32(0))
	return m
}

// sentry3Model: one tower with two infeeds of 4 outlets each.
func sentry3Model() []*object {
	var m mib
	system(&m, "Sentry Switched CDU", ".1.3.6.1.4.1.1718.3")
	m.add(mustOID(".1.3.6.1.4.1.1718.3.1.1.0"), octets("Sentry Switched CDU Version 7.1c"))
	for infeed := uint32(1); infeed <= 2; infeed++ {
		for o := uint32(1); o <= 4; o++ {
			m.add(sentry3Name.child(1, infeed, o), octets(fmt.Sprintf("TowerA_Infeed%c_Outlet%d", 'A'+rune(infeed-1), o)))
			m.add(sentry3Status.child(1, infeed, o), integer(1))
			m.add(sentry3ControlState.child(1, infeed, o), integer(5))
			m.add(sentry3ControlAction.child(1, infeed, o), integer(0))
		}
	}
	return m
}

// sentry4Model: a PRO2 unit with one input cord and 8 metered outlets;
// outlet 8 is locked on by an administrator.
func sentry4Model() []*object {
	var m mib
	system(&m, "Sentry Switched PDU", ".1.3.6.1.4.1.1718.4")
	m.add(mustOID(".1.3.6.1.4.1.1718.4.1.1.1.1.0"), octets("Sentry Switched PDU"))
	m.add(mustOID(".1.3.6.1.4.1.1718.4.1.1.1.3.0"), octets("8.0m"))
	for o := uint32(1); o <= 8; o++ {
		m.add(sentry4Name.child(1, 1, o), octets(fmt.Sprintf("Master_Outlet_%d", o)))
		m.add(sentry4State.child(1, 1, o), integer(1))
		state := 11
		if o == 8 {
			state = 15
		}
		m.add(sentry4ControlState.child(1, 1, o), integer(state))
		m.add(sentry4ControlAction.child(1, 1, o), integer(0))
	}
	return m
}

// cyberPowerModel: a PDU81005-like unit serving both the ePDU2 and the
// ePDU outlet trees, metered by outlet and by bank, and its identity in
// ePDU.
func cyberPowerModel() []*object {
	var m mib
	system(&m, "CPS Power Distributed Unit", ".1.3.6.1.4.1.3808.1.1.6")
	m.add(mustOID(".1.3.6.1.4.1.3808.1.1.3.1.3.0"), octets("1.3.4"))
	m.add(mustOID(".1.3.6.1.4.1.3808.1.1.3.1.5.0"), octets("PDU81005"))
	for o := uint32(1); o <= 8; o++ {
		name := octets(fmt.Sprintf("Outlet%d", o))
		m.add(cyberPowerEPDU2Name.child(o), name)
		m.add(cyberPowerEPDU2State.child(o), integer(1))
		m.add(cyberPowerEPDU2Command.child(o), integer(1))
		m.add(cyberPowerEPDUName.child(o), name)
		m.add(cyberPowerEPDUState.child(o), integer(1))
		m.add(cyberPowerEPDUCommand.child(o), integer(1))
	}
	return m
}

// trippLiteModel: a switched PDU, device 1 with 8 outlets.
func trippLiteModel() []*object {
	var m mib
	system(&m, "Linux software: PowerAlert 15.5.4 (Build 66)", ".1.3.6.1.4.1.850.1.1.1")
	m.add(mustOID(".1.3.6.1.4.1.850.1.1.1.2.1.5.1"), octets("PDUMH15NET"))
	for o := uint32(1); o <= 8; o++ {
		m.add(trippLiteName.child(1, o), octets(fmt.Sprintf("Load %d", o)))
		m.add(trippLiteState.child(1, o), integer(2))
		m.add(trippLiteCommand.child(1, o), integer(0))
	}
	return m
}

// geistModel: a Geist rPDU with 8 switched and metered outlets; outlet 3
// has a label set, the others only their factory names.
func geistModel() []*object {
	var m mib
	system(&m, "Geist rPDU firmware 5.4.3", ".1.3.6.1.4.1.21239.5")
	m.add(mustOID(".1.3.6.1.4.1.21239.5.2.1.2.0"), octets("5.4.3"))      // productVersion
	m.add(mustOID(".1.3.6.1.4.1.21239.5.2.1.8.0"), octets("rPDU-8xC13")) // productModelNumber
	for o := uint32(1); o <= 8; o++ {
		m.add(geistName.child(o), octets(fmt.Sprintf("Outlet %d", o)))
		label := ""
		if o == 3 {
			label = "web-1"
		}
		m.add(geistLabel.child(o), octets(label))
		m.add(geistStatus.child(o), integer(1))
		m.add(geistCommand.child(o), integer(8))
	}
	return m
}
