package pdusim

import (
	"fmt"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/powerbridge/powerbridge/power"
)

// The PowerNet-MIB objects the outlet layer serves. Table columns are given
// without their row index.
var (
	sysDescr    = mustOID(".1.3.6.1.2.1.1.1.0")
	sysObjectID = mustOID(".1.3.6.1.2.1.1.2.0")
	sysUpTime   = mustOID(".1.3.6.1.2.1.1.3.0")

	apcHardware = mustOID(".1.3.6.1.4.1.318.1.1")

	// sPDU ("MasterSwitch"): rows are outlet numbers.
	sPDU                       = apcHardware.child(4)
	sPDUIdentModelNumber       = sPDU.child(1, 4, 0)
	sPDUMasterControlSwitch    = sPDU.child(2, 1, 0)
	sPDUMasterState            = sPDU.child(2, 2, 0)
	sPDUMasterPending          = sPDU.child(2, 3, 0)
	sPDUOutletControlTableSize = sPDU.child(4, 1, 0)
	sPDUOutletPending          = sPDU.child(4, 2, 1, 2)
	sPDUOutletCtl              = sPDU.child(4, 2, 1, 3)
	sPDUOutletCtlName          = sPDU.child(4, 2, 1, 4)
	sPDUOutletName             = sPDU.child(5, 2, 1, 3)

	// rPDU: rows are outlet numbers.
	rPDU                           = apcHardware.child(12)
	rPDUIdentModelNumber           = rPDU.child(1, 5, 0)
	rPDUIdentDevicePowerWatts      = rPDU.child(1, 16, 0)
	rPDULoadStatusLoad             = rPDU.child(2, 3, 1, 1, 2)
	rPDUOutletDevNumCntrlOutlets   = rPDU.child(3, 1, 3, 0)
	rPDUOutletControlOutletName    = rPDU.child(3, 3, 1, 1, 2)
	rPDUOutletControlOutletCommand = rPDU.child(3, 3, 1, 1, 4)
	rPDUOutletConfigOutletName     = rPDU.child(3, 4, 1, 1, 2)
	rPDUOutletStatusOutletName     = rPDU.child(3, 5, 1, 1, 2)
	rPDUOutletStatusOutletState    = rPDU.child(3, 5, 1, 1, 4)
	rPDUOutletStatusCommandPending = rPDU.child(3, 5, 1, 1, 5)

	// rPDU2: rows are a row index X; the Module and Number columns say
	// which outlet a row is.
	rPDU2                                   = apcHardware.child(26)
	rPDU2DeviceStatusPower                  = rPDU2.child(4, 3, 1, 5)
	rPDU2DeviceStatusEnergy                 = rPDU2.child(4, 3, 1, 9)
	rPDU2PhaseStatusCurrent                 = rPDU2.child(6, 3, 1, 5)
	rPDU2PhaseStatusVoltage                 = rPDU2.child(6, 3, 1, 6)
	rPDU2OutletSwitchedTableSize            = rPDU2.child(9, 1, 0)
	rPDU2OutletSwitchedConfigName           = rPDU2.child(9, 2, 1, 1, 3)
	rPDU2OutletSwitchedStatusModule         = rPDU2.child(9, 2, 3, 1, 2)
	rPDU2OutletSwitchedStatusName           = rPDU2.child(9, 2, 3, 1, 3)
	rPDU2OutletSwitchedStatusNumber         = rPDU2.child(9, 2, 3, 1, 4)
	rPDU2OutletSwitchedStatusState          = rPDU2.child(9, 2, 3, 1, 5)
	rPDU2OutletSwitchedStatusCommandPending = rPDU2.child(9, 2, 3, 1, 6)
	rPDU2OutletSwitchedControlName          = rPDU2.child(9, 2, 4, 1, 3)
	rPDU2OutletSwitchedControlCommand       = rPDU2.child(9, 2, 4, 1, 5)
)

// Commands each tree accepts. The delayed variants wait for the outlet's
// configured power-on/off time, which the simulator keeps at zero, so they
// act like the immediate ones.
var (
	sPDUCommands  = map[int]command{1: cmdOn, 2: cmdOff, 3: cmdReboot, 5: cmdOn, 6: cmdOff, 7: cmdReboot}
	rPDUCommands  = map[int]command{1: cmdOn, 2: cmdOff, 3: cmdReboot, 4: cmdOn, 5: cmdOff, 6: cmdReboot, 7: cmdCancel}
	rPDU2Commands = map[int]command{1: cmdOn, 2: cmdOff, 3: cmdReboot, 5: cmdOn, 6: cmdOff, 7: cmdReboot, 8: cmdCancel}
	// sPDUMasterControlSwitch: the sequenced variants act at once here.
	masterCommands = map[int]command{1: cmdOn, 2: cmdOn, 3: cmdOff, 4: cmdReboot, 5: cmdReboot, 7: cmdOff}
)

const (
	maxOutlets    = 256 // far above any APC unit; bounds what a bad recording can allocate
	maxNameLength = 20  // sPDUOutletName: "Maximum size is 20 characters"
)

// setter is binding.set.
type setter = func(v gosnmp.SnmpPDU) (apply func(now time.Time), status gosnmp.SNMPError)

// attachOutlets finds the outlet tables in the store, creates the outlets
// they describe and makes every outlet object live.
func (d *Device) attachOutlets() error {
	seeds := make(map[int]*outlet)
	spdu := d.store.column(sPDUOutletCtl)
	for _, x := range spdu {
		n := int(x.oid[len(x.oid)-1])
		st, err := decodeState(x, 1, 2)
		if err != nil {
			return err
		}
		if err := d.seed(seeds, n, st, sPDUOutletCtlName.child(uint32(n)), sPDUOutletName.child(uint32(n))); err != nil {
			return err
		}
	}
	rpdu := d.store.column(rPDUOutletStatusOutletState)
	for _, x := range rpdu {
		n := int(x.oid[len(x.oid)-1])
		st, err := decodeState(x, 1, 2)
		if err != nil {
			return err
		}
		if err := d.seed(seeds, n, st, rPDUOutletStatusOutletName.child(uint32(n)), rPDUOutletControlOutletName.child(uint32(n))); err != nil {
			return err
		}
	}
	rows2, err := d.seedRPDU2(seeds)
	if err != nil {
		return err
	}
	if len(seeds) == 0 {
		if found, err := d.attachVendorTables(); found || err != nil {
			return err
		}
		return fmt.Errorf("no outlet table: want sPDUOutletCtl (%s), rPDUOutletStatusOutletState (%s) or rPDU2OutletSwitchedStatusState (%s) rows, or one of %s",
			sPDUOutletCtl, rPDUOutletStatusOutletState, rPDU2OutletSwitchedStatusState, vendorTableNames())
	}

	d.layOut(seeds)
	for _, x := range spdu {
		d.bindSPDU(int(x.oid[len(x.oid)-1]))
	}
	if len(spdu) > 0 {
		d.bindMaster()
	}
	for _, x := range rpdu {
		d.bindRPDU(int(x.oid[len(x.oid)-1]))
	}
	for row, n := range rows2 {
		d.bindRPDU2(row, n)
	}
	return nil
}

// seed adds to seeds outlet n of an outlet table, in state st, named by the
// first of the name objects names the store holds. An outlet an older tree
// seeded already is kept.
func (d *Device) seed(seeds map[int]*outlet, n int, st power.State, names ...oid) error {
	if n < 1 || n > maxOutlets {
		return fmt.Errorf("outlet number %d out of range 1-%d", n, maxOutlets)
	}
	if seeds[n] != nil {
		return nil // an older tree told us already
	}
	o := &outlet{state: st, name: fmt.Sprintf("Outlet %d", n)}
	for _, col := range names {
		if x := d.store.lookup(col); x != nil && x.value.typ == gosnmp.OctetString {
			o.name = string(x.value.v.([]byte))
			break
		}
	}
	seeds[n] = o
	return nil
}

// seedRPDU2 adds to seeds the outlets of the rPDU2 outlet table, and returns
// the outlet number of each of its rows.
func (d *Device) seedRPDU2(seeds map[int]*outlet) (map[uint32]int, error) {
	rows2 := make(map[uint32]int) // rPDU2 row X → outlet number
	for _, x := range d.store.column(rPDU2OutletSwitchedStatusState) {
		row := x.oid[len(x.oid)-1]
		if m, ok := d.intAt(rPDU2OutletSwitchedStatusModule.child(row)); ok && m != 1 {
			return nil, fmt.Errorf("rPDU2 outlet row %d is on module %d: daisy-chained units are not simulated", row, m)
		}
		n := int(row)
		if num, ok := d.intAt(rPDU2OutletSwitchedStatusNumber.child(row)); ok {
			n = num
		}
		st, err := decodeState(x, 2, 1) // rPDU2 reads 1 off, 2 on
		if err != nil {
			return nil, err
		}
		if err := d.seed(seeds, n, st, rPDU2OutletSwitchedStatusName.child(row)); err != nil {
			return nil, err
		}
		rows2[row] = n
	}
	return rows2, nil
}

// layOut makes d's outlets those of seeds, numbered 1 to the highest seeded.
func (d *Device) layOut(seeds map[int]*outlet) {
	count := 0
	for n := range seeds {
		count = max(count, n)
	}
	d.outlets = make([]*outlet, count)
	for n := 1; n <= count; n++ {
		o := seeds[n]
		if o == nil { // a gap in the recorded rows: an outlet no tree serves
			o = &outlet{state: power.Off, name: fmt.Sprintf("Outlet %d", n)}
		}
		d.outlets[n-1] = o
	}
}

func (d *Device) bindSPDU(n int) {
	i := uint32(n)
	d.bind(sPDUOutletCtl.child(i), d.readState(n, 1, 2), d.commandSetter(n, sPDUCommands))
	d.bind(sPDUOutletPending.child(i), d.readPending(n), nil)
	d.bind(sPDUOutletCtlName.child(i), d.readName(n), nil)
	d.bind(sPDUOutletName.child(i), d.readName(n), d.nameSetter(n, maxNameLength))
}

// bindMaster serves the sPDU objects that cover all outlets at once.
func (d *Device) bindMaster() {
	d.bind(sPDUMasterControlSwitch, func(time.Time) value { return integer(6) }, // noCommand: what APC reads back
		func(v gosnmp.SnmpPDU) (func(time.Time), gosnmp.SNMPError) {
			c, status := commandOf(v, masterCommands)
			if status != gosnmp.NoError {
				return nil, status
			}
			return func(now time.Time) {
				for n := range d.outlets {
					d.command(n+1, c, now)
				}
			}, gosnmp.NoError
		})
	// "On  On  Off ...": a word per outlet, padded as the AP7900 pads it.
	d.bind(sPDUMasterState, d.readAll(func(o *outlet, now time.Time) string {
		if o.stateAt(now) == power.On {
			return "On"
		}
		return "Off"
	}), nil)
	d.bind(sPDUMasterPending, d.readAll(func(o *outlet, now time.Time) string {
		if o.pending(now) {
			return "Yes"
		}
		return "No"
	}), nil)
}

func (d *Device) bindRPDU(n int) {
	i := uint32(n)
	// The command column reads the state: 1 on, 2 off, never the command.
	d.bind(rPDUOutletControlOutletCommand.child(i), d.readState(n, 1, 2), d.commandSetter(n, rPDUCommands))
	d.bind(rPDUOutletControlOutletName.child(i), d.readName(n), nil)
	d.bind(rPDUOutletConfigOutletName.child(i), d.readName(n), d.nameSetter(n, maxNameLength))
	d.bind(rPDUOutletStatusOutletName.child(i), d.readName(n), nil)
	d.bind(rPDUOutletStatusOutletState.child(i), d.readState(n, 1, 2), nil)
	d.bind(rPDUOutletStatusCommandPending.child(i), d.readPending(n), nil)
}

func (d *Device) bindRPDU2(row uint32, n int) {
	// rPDU2's status is inverted against sPDU and rPDU: 1 off, 2 on. Its
	// command column reads like the others: 1 on, 2 off.
	d.bind(rPDU2OutletSwitchedStatusState.child(row), d.readState(n, 2, 1), nil)
	d.bind(rPDU2OutletSwitchedStatusCommandPending.child(row), d.readPending(n), nil)
	d.bind(rPDU2OutletSwitchedStatusName.child(row), d.readName(n), nil)
	d.bind(rPDU2OutletSwitchedControlName.child(row), d.readName(n), nil)
	d.bind(rPDU2OutletSwitchedConfigName.child(row), d.readName(n), d.nameSetter(n, maxNameLength))
	d.bind(rPDU2OutletSwitchedControlCommand.child(row), d.readState(n, 1, 2), d.commandSetter(n, rPDU2Commands))
}

// bind makes the instance o live, if the store has it: a tree serves only
// the objects its recording or model holds.
func (d *Device) bind(o oid, get func(now time.Time) value, set setter) {
	if x := d.store.lookup(o); x != nil {
		x.live = &binding{get: get, set: set}
	}
}

// readState reads outlet n's state as on or off.
func (d *Device) readState(n, on, off int) func(time.Time) value {
	return func(now time.Time) value {
		if d.outlets[n-1].stateAt(now) == power.On {
			return integer(on)
		}
		return integer(off)
	}
}

// readPending reads 1 commandPending or 2 noCommandPending, in every tree.
func (d *Device) readPending(n int) func(time.Time) value {
	return func(now time.Time) value {
		if d.outlets[n-1].pending(now) {
			return integer(1)
		}
		return integer(2)
	}
}

func (d *Device) readName(n int) func(time.Time) value {
	return func(time.Time) value { return octets(d.outlets[n-1].name) }
}

// readAll reads a word per outlet, each padded to four characters.
func (d *Device) readAll(word func(*outlet, time.Time) string) func(time.Time) value {
	return func(now time.Time) value {
		var b strings.Builder
		for _, o := range d.outlets {
			fmt.Fprintf(&b, "%-4s", word(o, now))
		}
		return octets(b.String())
	}
}

func (d *Device) commandSetter(n int, commands map[int]command) setter {
	return func(v gosnmp.SnmpPDU) (func(time.Time), gosnmp.SNMPError) {
		c, status := commandOf(v, commands)
		if status != gosnmp.NoError {
			return nil, status
		}
		return func(now time.Time) { d.command(n, c, now) }, gosnmp.NoError
	}
}

func commandOf(v gosnmp.SnmpPDU, commands map[int]command) (command, gosnmp.SNMPError) {
	if v.Type != gosnmp.Integer {
		return 0, gosnmp.WrongType
	}
	n, _ := v.Value.(int)
	c, ok := commands[n]
	if !ok {
		return 0, gosnmp.WrongValue
	}
	return c, gosnmp.NoError
}

// nameSetter writes outlet n's name, of at most max bytes (longer is
// wrongLength, as the agents answer a value outside the column's SIZE).
func (d *Device) nameSetter(n, max int) setter {
	return func(v gosnmp.SnmpPDU) (func(time.Time), gosnmp.SNMPError) {
		if v.Type != gosnmp.OctetString {
			return nil, gosnmp.WrongType
		}
		b, _ := v.Value.([]byte)
		if len(b) > max {
			return nil, gosnmp.WrongLength
		}
		name := string(b) // a copy: b points into the request's buffer
		return func(time.Time) { d.outlets[n-1].name = name }, gosnmp.NoError
	}
}

// decodeState reads a recorded outlet state.
func decodeState(x *object, on, off int) (power.State, error) {
	switch n, _ := x.value.int(); {
	case x.value.typ != gosnmp.Integer:
		return power.Unknown, fmt.Errorf("%s: outlet state is not an INTEGER", x.name)
	case n == on:
		return power.On, nil
	case n == off:
		return power.Off, nil
	default:
		return power.Unknown, fmt.Errorf("%s: outlet state %d is neither on (%d) nor off (%d)", x.name, n, on, off)
	}
}

// intAt returns the INTEGER at o, if the store has one.
func (d *Device) intAt(o oid) (int, bool) {
	x := d.store.lookup(o)
	if x == nil {
		return 0, false
	}
	return x.value.int()
}

// column returns the instances col.X of a one-arc-indexed table column, in
// row order.
func (s *store) column(col oid) []*object {
	var rows []*object
	for x := s.next(col, nil); x != nil && x.oid.hasPrefix(col); x = s.next(x.oid, nil) {
		if len(x.oid) == len(col)+1 {
			rows = append(rows, x)
		}
	}
	return rows
}
