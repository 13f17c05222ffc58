package apc

import (
	"context"
	"errors"
	"github.com/powerbridge/powerbridge/power/snmp"
	"slices"
	"strconv"
	"strings"

	"github.com/powerbridge/powerbridge/power"
)

// A dialect is one of the MIB trees in which APC firmware serves its outlets
// (sPDU, rPDU, rPDU2; see the reference's "Three dialects"). Each lives in a
// file of its own; adding one is a new file and a line in dialects.
type dialect interface {
	// generation orders the dialects from oldest to newest. Firmware
	// serves older trees beside newer ones, and detection picks the
	// newest tree that answers.
	generation() int

	// hinted reports whether a sysObjectID names a device that speaks
	// this dialect first of all. It only orders the probes.
	hinted(sysObjectID string) bool

	// size is the scalar that holds the number of rows of the outlet
	// table, and stateColumn the table's state column: detection probes
	// both of every dialect in one request to learn which trees answer.
	size() string
	stateColumn() string
	// last is the first object of the last table of this tree that
	// discovery may ask for: if it lies past the end of the MIB, all
	// that table does.
	last() string

	// discover finds the outlet table's rows (size of them, 0 if the size
	// object did not answer), the outlets' names and the columns a Read
	// fetches for them; unitCount is the number of units in the daisy
	// chain, 0 if not known. A table that does not answer is errNoTable.
	discover(ctx context.Context, p *prober, size, unitCount int) (layout, error)

	// state decodes a value of the layout's state column.
	state(v int64) power.State

	// control is the object whose write switches outlet o: 1 is on and 2
	// is off in every tree.
	control(o outlet) instance

	// meters lists the PDU-wide meters this tree has, if any.
	meters() []meterSource
}

// dialects maps the names a config may force to their dialects.
var dialects = map[string]dialect{
	"spdu":  spdu{},
	"rpdu":  rpdu{},
	"rpdu2": rpdu2{},
}

// Dialects returns the names of the dialects this package speaks, newest
// first. A config may name one of them, or "auto" to detect.
func Dialects() []string {
	names := make([]string, 0, len(dialects))
	for n := range dialects {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return dialects[b].generation() - dialects[a].generation()
	})
	return names
}

// nameOf returns the registered name of d.
func nameOf(d dialect) string {
	for n, x := range dialects {
		if x == d {
			return n
		}
	}
	return "?"
}

// errNoTable is a dialect's answer when its outlet table is not there.
var errNoTable = errors.New("the outlet table does not answer")

// The values every tree shares.
const (
	valueOn      = 1 // the control object's immediateOn
	valueOff     = 2 // … and immediateOff
	valuePending = 1 // commandPending in every tree's pending column
)

// object is a MIB object: its name, for messages, and its OID.
type object struct{ name, OID string }

// instance is an instance of an object.
type instance struct{ name, OID string }

// row returns row n of table column o.
func (o object) row(n int) instance {
	return instance{name: o.name + "." + strconv.Itoa(n), OID: snmp.At(o.OID, n)}
}

// outlet is one switched outlet as discovery found it.
type outlet struct {
	number int
	name   string
	row    int // its row in the status table (the outlet number, but in rPDU2)
	ctlRow int // its row in the control table
}

// field is what a per-outlet column of a Read holds.
type field int

const (
	fieldState field = iota
	fieldPending
	fieldCurrent // amperes, after the column's convert
	fieldPower   // watts, after the column's convert
)

// column is a table column a Read fetches, one instance per outlet.
type column struct {
	field   field
	obj     object
	rows    []int       // every row the table has, in order: what a GETBULK walks over
	at      map[int]int // outlet number → its row in this table
	convert func(int64) float64
}

// layout is what discovery learnt of an outlet table.
type layout struct {
	outlets []outlet // in outlet-number order
	columns []column // state first, pending second, then any meters
}

// quantity is what a PDU-wide meter measures.
type quantity int

const (
	phaseCurrent quantity = iota // amperes, one reading per phase or bank
	totalPower                   // watts
	totalEnergy                  // joules
)

// meterSource is a PDU-wide meter a tree may have: a scalar, or a table
// column with one row per phase or per chained unit.
type meterSource struct {
	quantity quantity
	obj      object
	scalar   bool   // read obj.0
	module   string // the table's Module column: keep the host unit's rows only
	convert  func(int64) float64
}

// unsupported is what APC answers for a meter the model does not have.
const unsupported = -1

func tenths(v int64) float64 { return float64(v) / 10 }
func units(v int64) float64  { return float64(v) }

// sortedRows returns the keys of m in order.
func sortedRows(m map[int]snmp.Varbind) []int {
	rows := make([]int, 0, len(m))
	for r := range m {
		rows = append(rows, r)
	}
	slices.Sort(rows)
	return rows
}

// identity maps every row to itself: the outlet number is the row in the
// sPDU and rPDU tables.
func identity(rows []int) map[int]int {
	m := make(map[int]int, len(rows))
	for _, r := range rows {
		m[r] = r
	}
	return m
}

// outletName returns the name column's value, or APC's default name.
func outletName(names map[int]snmp.Varbind, row, number int) string {
	if v, ok := names[row]; ok && v.Kind == snmp.KindString {
		if s := strings.TrimSpace(v.Str); s != "" {
			return s
		}
	}
	return "Outlet " + strconv.Itoa(number)
}
