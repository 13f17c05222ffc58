package pdusim

import (
	"fmt"
	"slices"
	"strings"
)

// model is a built-in device: the objects a real unit of that model serves,
// as far as powerbridge and its peers look, modelled on the recordings in
// shared/reference/recordings.
type model struct {
	objects func() []*object
	meter   *meter
}

var models = map[string]model{
	// AP7900 on AOS 3.7.4 (rpdu app): sPDU and rPDU trees, no rPDU2.
	"ap7900": {objects: ap7900, meter: &meter{milliampsPerOutlet: 350, volts: 120}},
	// AP8941, a metered "RPDU 2G" on AOS 6.x: all three trees.
	"ap8941": {objects: ap8941, meter: &meter{milliampsPerOutlet: 350, volts: 230}},
	// AP8961, the AP8941's three-phase sibling: its 24 outlets on three
	// phases of 8 (1-8, 9-16, 17-24), each phase's current metered.
	"ap8961": {objects: ap8961, meter: &meter{milliampsPerOutlet: 350, volts: 230, phases: 3}},
}

func modelNames() string {
	var names []string
	for name := range models {
		names = append(names, name)
	}
	for name := range vendorModels {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// mib collects a model's objects.
type mib []*object

func (m *mib) add(o oid, v value) { *m = append(*m, newObject(o, v)) }

// unit is what the ident objects of every tree say about a model.
type unit struct {
	model, hardware, firmware, made, serial string
	sysDescr, sysObjectID                   string
	outlets                                 int
	phases                                  int // 0: one
}

// phaseOf is the phase outlet n is on: the outlets split into equal runs.
func (u unit) phaseOf(n int) int {
	if u.phases <= 1 {
		return 1
	}
	return (n-1)/(u.outlets/u.phases) + 1
}

func (u unit) phaseCount() int { return max(u.phases, 1) }

func ap7900() []*object {
	u := unit{
		model: "AP7900", hardware: "B2", firmware: "v3.7.4", made: "08/18/2007", serial: "ZA0733005455",
		sysDescr: "APC Web/SNMP Management Card (MB:v3.9.2 PF:v3.7.4 PN:apc_hw02_aos_374.bin AF1:v3.7.4 " +
			"AN1:apc_hw02_rpdu_374.bin MN:AP7900 HR:B2 SN: ZA0733005455 MD:08/18/2007) ",
		sysObjectID: ".1.3.6.1.4.1.318.1.3.4.5", // masterSwitchrPDU
		outlets:     8,
	}
	var m mib
	u.system(&m)
	u.sPDU(&m)
	u.rPDU(&m, false)
	return m
}

func ap8941() []*object {
	u := unit{
		model: "AP8941", hardware: "02", firmware: "v6.8.0", made: "03/14/2019", serial: "5A1911E01234",
		sysDescr: "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin AF1:v6.8.0 " +
			"AN1:apc_hw05_rpdu2g_680.bin MN:AP8941 HR:02 SN: 5A1911E01234 MD:03/14/2019) ",
		sysObjectID: ".1.3.6.1.4.1.318.1.3.4.6", // masterSwitchrPDU2
		outlets:     24,
	}
	var m mib
	u.system(&m)
	u.sPDU(&m)
	u.rPDU(&m, true)
	u.rPDU2(&m)
	return m
}

func ap8961() []*object {
	u := unit{
		model: "AP8961", hardware: "02", firmware: "v6.8.0", made: "05/02/2019", serial: "5A1918E05678",
		sysDescr: "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin AF1:v6.8.0 " +
			"AN1:apc_hw05_rpdu2g_680.bin MN:AP8961 HR:02 SN: 5A1918E05678 MD:05/02/2019) ",
		sysObjectID: ".1.3.6.1.4.1.318.1.3.4.6", // masterSwitchrPDU2
		outlets:     24,
		phases:      3,
	}
	var m mib
	u.system(&m)
	u.sPDU(&m)
	u.rPDU(&m, true)
	u.rPDU2(&m)
	return m
}

func (u unit) system(m *mib) {
	sys := mustOID(".1.3.6.1.2.1.1")
	m.add(sysDescr, octets(u.sysDescr))
	m.add(sysObjectID, objectID(u.sysObjectID))
	m.add(sysUpTime, timeTicks(0))
	m.add(sys.child(4, 0), octets("Unknown"))
	m.add(sys.child(5, 0), octets("RackPDU"))
	m.add(sys.child(6, 0), octets("Unknown"))
	m.add(sys.child(7, 0), integer(72))
}

// sPDU adds the MasterSwitch tree every APC switched PDU serves. The live
// columns get placeholder values here; the outlet layer serves them.
func (u unit) sPDU(m *mib) {
	m.add(sPDU.child(1, 1, 0), octets(u.hardware))
	m.add(sPDU.child(1, 2, 0), octets(u.firmware))
	m.add(sPDU.child(1, 3, 0), octets(u.made))
	m.add(sPDUIdentModelNumber, octets(u.model))
	m.add(sPDU.child(1, 5, 0), octets(u.serial))
	m.add(sPDUMasterControlSwitch, integer(6))
	m.add(sPDUMasterState, octets(""))
	m.add(sPDUMasterPending, octets(""))
	m.add(sPDU.child(3, 3, 0), octets("RackPDU")) // sPDUMasterConfigPDUName
	m.add(sPDUOutletControlTableSize, integer(u.outlets))
	m.add(sPDU.child(5, 1, 0), integer(u.outlets)) // sPDUOutletConfigTableSize
	for n := 1; n <= u.outlets; n++ {
		i := uint32(n)
		m.add(sPDU.child(4, 2, 1, 1, i), integer(n)) // sPDUOutletControlIndex
		m.add(sPDUOutletPending.child(i), integer(2))
		m.add(sPDUOutletCtl.child(i), integer(1))
		m.add(sPDUOutletCtlName.child(i), outletName(n))
		m.add(sPDU.child(5, 2, 1, 1, i), integer(n)) // sPDUOutletConfigIndex
		m.add(sPDU.child(5, 2, 1, 2, i), integer(0)) // sPDUOutletPowerOnTime
		m.add(sPDUOutletName.child(i), outletName(n))
		m.add(sPDU.child(5, 2, 1, 4, i), integer(0)) // sPDUOutletPowerOffTime
		m.add(sPDU.child(5, 2, 1, 5, i), integer(5)) // sPDUOutletRebootDuration
	}
}

// rPDU adds the rPDU tree; watts says whether the unit reports its power.
func (u unit) rPDU(m *mib, watts bool) {
	m.add(rPDU.child(1, 1, 0), octets("RackPDU"))
	m.add(rPDU.child(1, 2, 0), octets(u.hardware))
	m.add(rPDU.child(1, 3, 0), octets(u.firmware))
	m.add(rPDU.child(1, 4, 0), octets(u.made))
	m.add(rPDUIdentModelNumber, octets(u.model))
	m.add(rPDU.child(1, 6, 0), octets(u.serial))
	m.add(rPDU.child(1, 7, 0), integer(12))             // rPDUIdentDeviceRating, amps
	m.add(rPDU.child(1, 8, 0), integer(u.outlets))      // rPDUIdentDeviceNumOutlets
	m.add(rPDU.child(1, 9, 0), integer(u.phaseCount())) // rPDUIdentDeviceNumPhases
	if watts {
		m.add(rPDUIdentDevicePowerWatts, integer(0))
	}
	m.add(rPDU.child(2, 1, 1, 0), integer(12))             // rPDULoadDevMaxPhaseLoad
	m.add(rPDU.child(2, 1, 2, 0), integer(u.phaseCount())) // rPDULoadDevNumPhases
	for ph := 1; ph <= u.phaseCount(); ph++ {
		i := uint32(ph)
		m.add(rPDU.child(2, 3, 1, 1, 1, i), integer(ph))
		m.add(rPDULoadStatusLoad.child(i), gauge32(0))
		m.add(rPDU.child(2, 3, 1, 1, 3, i), integer(1))  // rPDULoadStatusLoadState: phaseLoadNormal
		m.add(rPDU.child(2, 3, 1, 1, 4, i), integer(ph)) // rPDULoadStatusPhaseNumber
		m.add(rPDU.child(2, 3, 1, 1, 5, i), integer(0))  // rPDULoadStatusBankNumber
	}
	m.add(rPDUOutletDevNumCntrlOutlets, integer(u.outlets))
	m.add(rPDU.child(3, 1, 4, 0), integer(u.outlets)) // rPDUOutletDevNumTotalOutlets
	for n := 1; n <= u.outlets; n++ {
		i := uint32(n)
		m.add(rPDU.child(3, 3, 1, 1, 1, i), integer(n))
		m.add(rPDUOutletControlOutletName.child(i), outletName(n))
		m.add(rPDU.child(3, 3, 1, 1, 3, i), integer(u.phaseOf(n))) // phase
		m.add(rPDUOutletControlOutletCommand.child(i), integer(1))
		m.add(rPDU.child(3, 3, 1, 1, 5, i), integer(0)) // bank
		m.add(rPDU.child(3, 4, 1, 1, 1, i), integer(n))
		m.add(rPDUOutletConfigOutletName.child(i), outletName(n))
		m.add(rPDU.child(3, 4, 1, 1, 3, i), integer(u.phaseOf(n))) // phase
		m.add(rPDU.child(3, 4, 1, 1, 4, i), integer(0))            // power-on time
		m.add(rPDU.child(3, 4, 1, 1, 5, i), integer(0))            // power-off time
		m.add(rPDU.child(3, 4, 1, 1, 6, i), integer(5))            // reboot duration
		m.add(rPDU.child(3, 4, 1, 1, 7, i), integer(0))            // bank
		m.add(rPDU.child(3, 5, 1, 1, 1, i), integer(n))
		m.add(rPDUOutletStatusOutletName.child(i), outletName(n))
		m.add(rPDU.child(3, 5, 1, 1, 3, i), integer(u.phaseOf(n))) // phase
		m.add(rPDUOutletStatusOutletState.child(i), integer(1))
		m.add(rPDUOutletStatusCommandPending.child(i), integer(2))
		m.add(rPDU.child(3, 5, 1, 1, 6, i), integer(0)) // bank
	}
}

// outletName is APC's default outlet name.
func outletName(n int) value { return octets(fmt.Sprintf("Outlet %d", n)) }

// rPDU2Row is the row index X of outlet n in the built-in rPDU2 tables.
// The rows are deliberately rotated against the outlet numbers (outlet 1 is
// row 6, outlet 20 is row 1), so that a client computing X = N instead of
// walking the Number column switches the wrong outlet and is caught.
func rPDU2Row(n, outlets int) uint32 { return uint32((n+4)%outlets + 1) }

// rPDU2 adds the RPDU 2G tree of a metered unit.
func (u unit) rPDU2(m *mib) {
	m.add(rPDU2.child(1, 0), integer(1)) // rPDU2IdentTableSize
	ident := rPDU2.child(2, 1)
	for col, v := range []value{integer(1), integer(1), octets("RackPDU"), octets("Unknown"), octets(u.hardware),
		octets(u.firmware), octets(u.made), octets(u.model), octets(u.serial)} {
		m.add(ident.child(uint32(col+1), 1), v)
	}
	status := rPDU2.child(4, 3, 1)
	m.add(status.child(1, 1), integer(1))
	m.add(status.child(2, 1), integer(1))
	m.add(status.child(3, 1), octets("RackPDU"))
	m.add(status.child(4, 1), integer(2)) // rPDU2DeviceStatusLoadState: normal
	m.add(rPDU2DeviceStatusPower.child(1), integer(0))
	m.add(rPDU2DeviceStatusEnergy.child(1), integer(48213)) // 4821.3 kWh
	phase := rPDU2.child(6, 3, 1)
	for ph := 1; ph <= u.phaseCount(); ph++ {
		i := uint32(ph)
		m.add(phase.child(1, i), integer(ph)) // Index
		m.add(phase.child(2, i), integer(1))  // Module
		m.add(phase.child(3, i), integer(ph)) // Number
		m.add(phase.child(4, i), integer(2))  // normal
		m.add(rPDU2PhaseStatusCurrent.child(i), integer(0))
		m.add(rPDU2PhaseStatusVoltage.child(i), integer(230))
	}
	m.add(rPDU2OutletSwitchedTableSize, integer(u.outlets))
	config := rPDU2.child(9, 2, 1, 1)
	statusRow := rPDU2.child(9, 2, 3, 1)
	control := rPDU2.child(9, 2, 4, 1)
	for n := 1; n <= u.outlets; n++ {
		x := rPDU2Row(n, u.outlets)
		name := outletName(n)
		for _, t := range []oid{config, statusRow, control} {
			m.add(t.child(1, x), integer(int(x))) // Index
			m.add(t.child(2, x), integer(1))      // Module
			m.add(t.child(3, x), name)
			m.add(t.child(4, x), integer(n)) // Number
		}
		m.add(config.child(5, x), integer(0)) // power-on time
		m.add(config.child(6, x), integer(0)) // power-off time
		m.add(config.child(7, x), integer(5)) // reboot duration
		m.add(rPDU2OutletSwitchedStatusState.child(x), integer(2))
		m.add(rPDU2OutletSwitchedStatusCommandPending.child(x), integer(2))
		m.add(rPDU2OutletSwitchedControlCommand.child(x), integer(1))
	}
}
