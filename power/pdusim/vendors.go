package pdusim

import (
	"fmt"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/powerbridge/powerbridge/power"
)

// A vendorTable is another vendor's outlet table as that vendor's firmware
// serves it, written from the vendor's MIB: which column's rows are the
// outlets (indexed by outlet, unit.outlet or tower.infeed.outlet), what
// each column reads for an outlet, and what a write to a control column
// does. Outlets are the rows of the table in index order, numbered 1 to N.
// It is the simulator's own reading of each MIB, kept apart from the
// driver's, so that the two can disagree when one of them is wrong.
type vendorTable struct {
	name string
	// rows is the column whose instances are the outlets.
	rows oid
	// seed gives an outlet's state from the recorded objects at its index
	// and whether the device lets it be switched ("" if it does).
	seed func(d *Device, idx []uint32) (st power.State, locked string, err error)
	// names are the columns an outlet's name is read from, first first.
	names   []oid
	columns []vendorColumn
}

// vendorColumn is one column of a vendor table served live.
type vendorColumn struct {
	col    oid
	suffix []uint32 // arcs after the row index (Raritan's sensor type)
	read   func(o *outlet, now time.Time) value
	// write decodes a written INTEGER into a command, or refuses it; nil
	// for a read-only column.
	write func(v int) (command, gosnmp.SNMPError)
	name  bool // the column is the outlet name
	// nameMax, for a name column the MIB has read-write, is its SIZE's
	// upper bound; with 0 a write to the column is notWritable.
	nameMax int
}

// commands is a write function for a column whose values map to commands.
func commands(m map[int]command) func(v int) (command, gosnmp.SNMPError) {
	return func(v int) (command, gosnmp.SNMPError) {
		c, ok := m[v]
		if !ok {
			return 0, gosnmp.WrongValue
		}
		return c, gosnmp.NoError
	}
}

// stateReader reads on, off, and the pending variants of a transition:
// leavingOn while an on outlet is being switched off, leavingOff while an
// off one is being switched on.
func stateReader(on, off, leavingOn, leavingOff int) func(*outlet, time.Time) value {
	return func(o *outlet, now time.Time) value {
		st := o.stateAt(now)
		if o.pending(now) && o.steps[0].to != st {
			if st == power.On {
				return integer(leavingOn)
			}
			return integer(leavingOff)
		}
		if st == power.On {
			return integer(on)
		}
		return integer(off)
	}
}

// constant reads the same INTEGER whatever the outlet does.
func constant(n int) func(*outlet, time.Time) value {
	return func(*outlet, time.Time) value { return integer(n) }
}

// recorded returns a seed function that decodes the recorded INTEGER at
// col.idx+suffix with states.
func recorded(col oid, suffix []uint32, states map[int]power.State) func(*Device, []uint32) (power.State, string, error) {
	return func(d *Device, idx []uint32) (power.State, string, error) {
		o := col.child(append(append([]uint32(nil), idx...), suffix...)...)
		n, ok := d.intAt(o)
		if !ok {
			return power.Unknown, "", fmt.Errorf("%s: no recorded INTEGER outlet state", o)
		}
		st, ok := states[n]
		if !ok {
			return power.Unknown, "", fmt.Errorf("%s: recorded outlet state %d is not one this simulator knows", o, n)
		}
		return st, "", nil
	}
}

// attachVendorTables makes live the outlets of the first vendor whose
// tables the store holds, binding every table of that vendor to the same
// outlets in index order. It reports whether it found any.
func (d *Device) attachVendorTables() (bool, error) {
	for _, family := range vendorFamilies {
		var present []vendorTable
		for _, t := range family {
			if len(d.store.rows(t.rows)) > 0 {
				present = append(present, t)
			}
		}
		if len(present) == 0 {
			continue
		}
		first := present[0]
		idxs := d.store.rows(first.rows)
		if len(idxs) > maxOutlets {
			return false, fmt.Errorf("%s: %d outlets, more than %d", first.name, len(idxs), maxOutlets)
		}
		d.outlets = make([]*outlet, len(idxs))
		for i, idx := range idxs {
			st, locked, err := first.seed(d, idx)
			if err != nil {
				return false, fmt.Errorf("%s: %w", first.name, err)
			}
			o := &outlet{state: st, locked: locked, name: fmt.Sprintf("Outlet %d", i+1)}
			for _, col := range first.names {
				if x := d.store.lookup(col.child(idx...)); x != nil && x.value.typ == gosnmp.OctetString && len(x.value.v.([]byte)) > 0 {
					o.name = string(x.value.v.([]byte))
					break
				}
			}
			d.outlets[i] = o
		}
		for _, t := range present {
			for i, idx := range d.store.rows(t.rows) {
				if i < len(d.outlets) {
					d.bindVendor(t, i+1, idx)
				}
			}
		}
		return true, nil
	}
	return false, nil
}

// bindVendor serves outlet n's instances of table t at row index idx.
func (d *Device) bindVendor(t vendorTable, n int, idx []uint32) {
	for _, c := range t.columns {
		c := c
		arcs := append(append([]uint32(nil), idx...), c.suffix...)
		read := func(now time.Time) value { return c.read(d.outlets[n-1], now) }
		var set setter
		if c.name {
			read = d.readName(n)
			if c.nameMax > 0 {
				set = d.nameSetter(n, c.nameMax)
			}
		}
		if c.write != nil {
			set = func(v gosnmp.SnmpPDU) (func(time.Time), gosnmp.SNMPError) {
				if v.Type != gosnmp.Integer {
					return nil, gosnmp.WrongType
				}
				cmd, status := c.write(v.Value.(int))
				if status != gosnmp.NoError {
					return nil, status
				}
				if d.outlets[n-1].locked != "" {
					// The unit will not switch it: refused as
					// inconsistent with the outlet's state.
					return nil, gosnmp.InconsistentValue
				}
				return func(now time.Time) { d.command(n, cmd, now) }, gosnmp.NoError
			}
		}
		if c.write != nil {
			// A capture holds what its tool polled, which is seldom the
			// control column: switching is layered on top of it.
			d.store.insert(c.col.child(arcs...), integer(0))
		}
		d.bind(c.col.child(arcs...), read, set)
	}
}

// rows returns the row indices of column col (the arcs after it), in
// order, for instances under it.
func (s *store) rows(col oid) [][]uint32 {
	var rows [][]uint32
	for x := s.next(col, nil); x != nil && x.oid.hasPrefix(col); x = s.next(x.oid, nil) {
		rows = append(rows, append([]uint32(nil), x.oid[len(col):]...))
	}
	return rows
}

// vendorTableNames lists the other vendors' tables a store may hold, for
// the error that says it holds none.
func vendorTableNames() string {
	var names []string
	for _, family := range vendorFamilies {
		for _, t := range family {
			names = append(names, t.name)
		}
	}
	return strings.Join(names, ", ")
}
