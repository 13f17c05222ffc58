package pdusim

import (
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/powerbridge/powerbridge/power"
)

// vendorFamilies are the other vendors' outlet tables, by vendor: a device
// serves the tables of one vendor (CyberPower units may serve both their
// trees). Each is written from the vendor's MIB, as LibreNMS ships it.
var vendorFamilies = [][]vendorTable{
	{eatonG3Table},
	{raritanPDU2Table},
	{sentry4Table},
	{sentry3Table},
	{cyberPowerEPDU2Table, cyberPowerEPDUTable},
	{trippLiteTable},
	{geistV5Table},
}

var (
	eaton          = mustOID(".1.3.6.1.4.1.534.6.6.7")
	eatonOutlet    = eaton.child(6)
	eatonName      = eatonOutlet.child(1, 1, 3) // outletName.unit.outlet
	eatonCurrent   = eatonOutlet.child(4, 1, 3) // outletCurrent, mA
	eatonWatts     = eatonOutlet.child(5, 1, 3) // outletWatts
	eatonStatus    = eatonOutlet.child(6, 1, 2) // outletControlStatus
	eatonOffCmd    = eatonOutlet.child(6, 1, 3)
	eatonOnCmd     = eatonOutlet.child(6, 1, 4)
	eatonRebootCmd = eatonOutlet.child(6, 1, 5)
)

// eatonCommand is an EATON-EPDU-MIB command column: it reads -1 while
// idle, and 0 while its own command is pending; writing 0 acts at once, N
// after N seconds (served with the simulator's switch delay), -1 cancels.
func eatonCommand(c command) vendorColumn {
	col := map[command]oid{cmdOff: eatonOffCmd, cmdOn: eatonOnCmd, cmdReboot: eatonRebootCmd}[c]
	return vendorColumn{col: col,
		read: func(o *outlet, now time.Time) value {
			if o.pending(now) && (c == cmdReboot || (o.steps[0].to == power.On) == (c == cmdOn)) {
				return integer(0)
			}
			return integer(-1)
		},
		write: func(v int) (command, gosnmp.SNMPError) {
			switch {
			case v == -1:
				return cmdCancel, gosnmp.NoError
			case v >= 0 && v <= 99999:
				return c, gosnmp.NoError
			}
			return 0, gosnmp.WrongValue
		}}
}

// eatonG3Table: outletControlStatus reads 0 off, 1 on, 2 pendingOff, 3
// pendingOn, at unit.outlet (unit 0 the first of a chain).
var eatonG3Table = vendorTable{
	name: "EATON-EPDU-MIB outletControlStatus", rows: eatonStatus,
	seed:  recorded(eatonStatus, nil, map[int]power.State{0: power.Off, 1: power.On, 2: power.On, 3: power.Off}),
	names: []oid{eatonName},
	columns: []vendorColumn{
		{col: eatonStatus, read: stateReader(1, 0, 2, 3)},
		{col: eatonName, name: true, nameMax: 31},
		eatonCommand(cmdOff), eatonCommand(cmdOn), eatonCommand(cmdReboot),
	},
}

var (
	raritan           = mustOID(".1.3.6.1.4.1.13742.6")
	raritanLabel      = raritan.child(3, 5, 3, 1, 2)  // outletLabel.pdu.outlet
	raritanName       = raritan.child(3, 5, 3, 1, 3)  // outletName
	raritanSwitchable = raritan.child(3, 5, 3, 1, 28) // outletSwitchable: 1 true, 2 false
	raritanOperation  = raritan.child(4, 1, 2, 1, 2)  // switchingOperation: 0 off, 1 on, 2 cycle
	raritanSwitching  = raritan.child(4, 1, 2, 1, 3)  // outletSwitchingState: -1 unavailable, 0 off, 1 on
	raritanSensor     = raritan.child(5, 4, 3, 1, 3)  // measurementsOutletSensorState.pdu.outlet.type
)

const raritanOnOff = 14 // the onOff sensor type: state 7 on, 8 off

// raritanPDU2Table: outlets are the outletLabel rows; the state is in
// outletSwitchingState and in the onOff sensor, whichever the device has
// (the PX3 capture has only the sensor).
var raritanPDU2Table = vendorTable{
	name: "PDU2-MIB outletLabel", rows: raritanLabel,
	seed: func(d *Device, idx []uint32) (power.State, string, error) {
		seed := recorded(raritanSensor, []uint32{raritanOnOff}, map[int]power.State{7: power.On, 8: power.Off})
		if _, ok := d.intAt(raritanSensor.child(append(append([]uint32(nil), idx...), raritanOnOff)...)); !ok {
			seed = recorded(raritanSwitching, nil, map[int]power.State{0: power.Off, 1: power.On})
		}
		st, _, err := seed(d, idx)
		locked := ""
		if v, ok := d.intAt(raritanSwitchable.child(idx...)); ok && v == 2 {
			locked = "not switchable"
		}
		return st, locked, err
	},
	names: []oid{raritanName},
	columns: []vendorColumn{
		{col: raritanSwitching, read: stateReader(1, 0, 1, 0)},
		{col: raritanSensor, suffix: []uint32{raritanOnOff}, read: stateReader(7, 8, 7, 8)},
		{col: raritanName, name: true, nameMax: 255},
		{col: raritanOperation, read: stateReader(1, 0, 1, 0), write: commands(map[int]command{0: cmdOff, 1: cmdOn, 2: cmdReboot})},
	},
}

var (
	sentry3Outlet        = mustOID(".1.3.6.1.4.1.1718.3.2.3.1") // outletEntry.tower.infeed.outlet
	sentry3Name          = sentry3Outlet.child(3)
	sentry3Status        = sentry3Outlet.child(5)  // 0 off, 1 on, 2 offWait, 3 onWait, 4-9 errors
	sentry3ControlState  = sentry3Outlet.child(10) // outletControlState: not the status
	sentry3ControlAction = sentry3Outlet.child(11) // 1 on, 2 off, 3 reboot; reads none (0)
)

var sentry3Table = vendorTable{
	name: "Sentry3-MIB outletStatus", rows: sentry3Status,
	seed: recorded(sentry3Status, nil, map[int]power.State{0: power.Off, 1: power.On, 2: power.On, 3: power.Off,
		4: power.Off, 5: power.On, 8: power.Off, 9: power.On}),
	names: []oid{sentry3Name},
	columns: []vendorColumn{
		{col: sentry3Status, read: stateReader(1, 0, 2, 3)},
		// outletControlState: idleOff (0), idleOn (1), wakeOff (2), wakeOn
		// (3), off (4), on (5): a column drivers mistake for the status.
		{col: sentry3ControlState, read: stateReader(5, 4, 5, 4)},
		{col: sentry3Name, name: true, nameMax: 24},
		{col: sentry3ControlAction, read: constant(0), write: commands(map[int]command{1: cmdOn, 2: cmdOff, 3: cmdReboot})},
	},
}

var (
	sentry4Outlet        = mustOID(".1.3.6.1.4.1.1718.4.1.8")
	sentry4Name          = sentry4Outlet.child(2, 1, 3) // st4OutletName.unit.cord.outlet
	sentry4State         = sentry4Outlet.child(3, 1, 1) // st4OutletState: 0 unknown, 1 on, 2 off
	sentry4ControlState  = sentry4Outlet.child(5, 1, 1) // st4OutletControlState
	sentry4ControlAction = sentry4Outlet.child(5, 1, 2) // 1 on, 2 off, 3 reboot; reads none (0)
)

// sentry4Table: st4OutletControlState reads off (10), on (11), pendOn (8)
// and pendOff (9) here; an outlet recorded fixedOn (1), lockedOff (14) or
// lockedOn (15) keeps reading so and refuses every action.
var sentry4Table = vendorTable{
	name: "Sentry4-MIB st4OutletControlState", rows: sentry4ControlState,
	seed: func(d *Device, idx []uint32) (power.State, string, error) {
		n, _ := d.intAt(sentry4ControlState.child(idx...))
		switch n {
		case 1:
			return power.On, "fixedOn", nil
		case 14:
			return power.Off, "lockedOff", nil
		case 15:
			return power.On, "lockedOn", nil
		}
		return recorded(sentry4ControlState, nil, map[int]power.State{2: power.Off, 3: power.On, 4: power.Off, 5: power.On,
			6: power.Off, 7: power.On, 8: power.Off, 9: power.On, 10: power.Off, 11: power.On, 16: power.Off, 17: power.On})(d, idx)
	},
	names: []oid{sentry4Name},
	columns: []vendorColumn{
		{col: sentry4State, read: stateReader(1, 2, 1, 2)},
		{col: sentry4ControlState, read: func(o *outlet, now time.Time) value {
			switch o.locked {
			case "fixedOn":
				return integer(1)
			case "lockedOff":
				return integer(14)
			case "lockedOn":
				return integer(15)
			}
			return stateReader(11, 10, 9, 8)(o, now)
		}},
		{col: sentry4Name, name: true, nameMax: 32},
		{col: sentry4ControlAction, read: constant(0), write: commands(map[int]command{1: cmdOn, 2: cmdOff, 3: cmdReboot})},
	},
}

var (
	cyberPowerEPDUName     = mustOID(".1.3.6.1.4.1.3808.1.1.3.3.5.1.1.2")
	cyberPowerEPDUState    = mustOID(".1.3.6.1.4.1.3808.1.1.3.3.5.1.1.4") // 1 on, 2 off
	cyberPowerEPDUCommand  = mustOID(".1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4")
	cyberPowerEPDU2Name    = mustOID(".1.3.6.1.4.1.3808.1.1.6.6.1.4.1.4")
	cyberPowerEPDU2State   = mustOID(".1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5")
	cyberPowerEPDU2Command = mustOID(".1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5")
	// 1 immediateOn, 2 immediateOff, 3 immediateReboot, 4-6 delayed, 7 cancel.
	cyberPowerCommands = commands(map[int]command{1: cmdOn, 2: cmdOff, 3: cmdReboot, 4: cmdOn, 5: cmdOff, 6: cmdReboot, 7: cmdCancel})
)

var cyberPowerEPDU2Table = vendorTable{
	name: "CPS-MIB ePDU2OutletSwitchedStatusState", rows: cyberPowerEPDU2State,
	seed:  recorded(cyberPowerEPDU2State, nil, map[int]power.State{1: power.On, 2: power.Off}),
	names: []oid{cyberPowerEPDU2Name},
	columns: []vendorColumn{
		{col: cyberPowerEPDU2State, read: stateReader(1, 2, 1, 2)},
		{col: cyberPowerEPDU2Name, name: true},
		{col: cyberPowerEPDU2Command, read: stateReader(1, 2, 1, 2), write: cyberPowerCommands},
	},
}

var cyberPowerEPDUTable = vendorTable{
	name: "CPS-MIB ePDUOutletStatusOutletState", rows: cyberPowerEPDUState,
	seed:  recorded(cyberPowerEPDUState, nil, map[int]power.State{1: power.On, 2: power.Off}),
	names: []oid{cyberPowerEPDUName},
	columns: []vendorColumn{
		{col: cyberPowerEPDUState, read: stateReader(1, 2, 1, 2)},
		{col: cyberPowerEPDUName, name: true},
		{col: cyberPowerEPDUCommand, read: stateReader(1, 2, 1, 2), write: cyberPowerCommands},
	},
}

var (
	trippLiteOutlet  = mustOID(".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1") // tlpPduOutletEntry.device.outlet
	trippLiteName    = trippLiteOutlet.child(2)
	trippLiteState   = trippLiteOutlet.child(4) // 0 unknown, 1 off, 2 on
	trippLiteCommand = trippLiteOutlet.child(6) // 1 off, 2 on, 3 cycle; reads 0 idle
)

var trippLiteTable = vendorTable{
	name: "TRIPPLITE-PRODUCTS tlpPduOutletState", rows: trippLiteState,
	seed:  recorded(trippLiteState, nil, map[int]power.State{1: power.Off, 2: power.On}),
	names: []oid{trippLiteName},
	columns: []vendorColumn{
		{col: trippLiteState, read: stateReader(2, 1, 2, 1)},
		{col: trippLiteName, name: true},
		{col: trippLiteCommand, read: constant(0), write: commands(map[int]command{1: cmdOff, 2: cmdOn, 3: cmdReboot})},
	},
}

var (
	geistSwitch  = mustOID(".1.3.6.1.4.1.21239.5.2.3.5.1") // pduOutletSwitchEntry.outlet
	geistName    = geistSwitch.child(2)                    // pduOutletSwitchName, factory-set
	geistLabel   = geistSwitch.child(3)                    // pduOutletSwitchLabel, user-set
	geistStatus  = geistSwitch.child(4)                    // 1 on, 2 off, 3 on2off, 4 off2on, 5/6 reboot, 7 unavailable
	geistCommand = geistSwitch.child(6)                    // pduOutletSwitchControl; reads none (8)
)

// geistV5Table: pduOutletSwitchControl takes cancel (1), on (2),
// onAfterDelay (3), off (4), offAfterDelay (5), reboot (6) and
// rebootAfterDelay (7); the delayed ones are served with the simulator's
// switch delay like the others. The name and label columns serve what
// they hold: the outlet's name is its label, or its factory name where
// the label is empty.
var geistV5Table = vendorTable{
	name: "GEIST-V5-MIB pduOutletSwitchState", rows: geistStatus,
	seed:  recorded(geistStatus, nil, map[int]power.State{1: power.On, 2: power.Off, 3: power.On, 4: power.Off}),
	names: []oid{geistLabel, geistName},
	columns: []vendorColumn{
		{col: geistStatus, read: stateReader(1, 2, 3, 4)},
		{col: geistCommand, read: constant(8), write: commands(map[int]command{1: cmdCancel, 2: cmdOn, 3: cmdOn,
			4: cmdOff, 5: cmdOff, 6: cmdReboot, 7: cmdReboot})},
	},
}
