package apc

import (
	"context"
	"github.com/powerbridge/powerbridge/power/snmp"
	"slices"

	"github.com/powerbridge/powerbridge/power"
)

// rpdu2 is the "RPDU 2G" tree (.318.1.1.26) of AP8xxx and of AP79xxB on AOS
// 6 and later. Its tables are indexed by a row number of their own, not by
// the outlet: every row names its unit in a daisy chain (Module) and its
// outlet (Number), and the status, control and metered tables each carry
// both. Rows are looked up by walking those columns, never computed.
//
// Its status column is inverted against the older trees: 1 is off, 2 is on.
type rpdu2 struct{}

var (
	rPDU2OutletSwitchedStatusModule         = object{"rPDU2OutletSwitchedStatusModule", ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.2"}
	rPDU2OutletSwitchedStatusName           = object{"rPDU2OutletSwitchedStatusName", ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.3"}
	rPDU2OutletSwitchedStatusNumber         = object{"rPDU2OutletSwitchedStatusNumber", ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.4"}
	rPDU2OutletSwitchedStatusState          = object{"rPDU2OutletSwitchedStatusState", ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5"}
	rPDU2OutletSwitchedStatusCommandPending = object{"rPDU2OutletSwitchedStatusCommandPending", ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.6"}

	rPDU2OutletSwitchedControlModule  = object{"rPDU2OutletSwitchedControlModule", ".1.3.6.1.4.1.318.1.1.26.9.2.4.1.2"}
	rPDU2OutletSwitchedControlNumber  = object{"rPDU2OutletSwitchedControlNumber", ".1.3.6.1.4.1.318.1.1.26.9.2.4.1.4"}
	rPDU2OutletSwitchedControlCommand = object{"rPDU2OutletSwitchedControlCommand", ".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5"}

	rPDU2OutletMeteredStatusModule  = object{"rPDU2OutletMeteredStatusModule", ".1.3.6.1.4.1.318.1.1.26.9.4.3.1.2"}
	rPDU2OutletMeteredStatusNumber  = object{"rPDU2OutletMeteredStatusNumber", ".1.3.6.1.4.1.318.1.1.26.9.4.3.1.4"}
	rPDU2OutletMeteredStatusCurrent = object{"rPDU2OutletMeteredStatusCurrent", ".1.3.6.1.4.1.318.1.1.26.9.4.3.1.6"} // tenths of A
	rPDU2OutletMeteredStatusPower   = object{"rPDU2OutletMeteredStatusPower", ".1.3.6.1.4.1.318.1.1.26.9.4.3.1.7"}   // W

	rPDU2DeviceStatusModule = ".1.3.6.1.4.1.318.1.1.26.4.3.1.2"
	rPDU2DeviceStatusPower  = object{"rPDU2DeviceStatusPower", ".1.3.6.1.4.1.318.1.1.26.4.3.1.5"}  // hundredths of kW
	rPDU2DeviceStatusEnergy = object{"rPDU2DeviceStatusEnergy", ".1.3.6.1.4.1.318.1.1.26.4.3.1.9"} // tenths of kWh
	rPDU2PhaseStatusModule  = ".1.3.6.1.4.1.318.1.1.26.6.3.1.2"
	rPDU2PhaseStatusCurrent = object{"rPDU2PhaseStatusCurrent", ".1.3.6.1.4.1.318.1.1.26.6.3.1.5"} // tenths of A
)

func (rpdu2) generation() int { return 3 }

// hinted: masterSwitchrPDU2 (.3.4.6) and masterSwitchrPDUB (.3.4.8).
func (rpdu2) hinted(id string) bool {
	return id == sysObjectIDPrefix+".6" || id == sysObjectIDPrefix+".8"
}

const (
	// rPDU2OutletSwitchedTableSize is the number of rows of the switched
	// outlet tables, every unit of a daisy chain's together.
	rPDU2OutletSwitchedTableSize = ".1.3.6.1.4.1.318.1.1.26.9.1.0"
	// rPDU2IdentTableSize is the number of units in the daisy chain.
	rPDU2IdentTableSize = ".1.3.6.1.4.1.318.1.1.26.1.0"
)

func (rpdu2) size() string        { return rPDU2OutletSwitchedTableSize }
func (rpdu2) last() string        { return rPDU2OutletMeteredStatusModule.row(1).OID }
func (rpdu2) stateColumn() string { return rPDU2OutletSwitchedStatusState.OID }

// discover reads the status table's Number and Name columns (and Module,
// unless the PDU is known to be one unit), which the rows need: they are
// not the outlet numbers. The control and metered tables have rows of
// their own, which on the firmware we know mirror the status table's; their
// Number (and Module) at the first and last status rows, asked in the same
// request, confirm that, and only a table that does not mirror is read in
// full.
func (rpdu2) discover(ctx context.Context, p *prober, size, unitCount int) (layout, error) {
	perRow := []string{rPDU2OutletSwitchedStatusNumber.OID, rPDU2OutletSwitchedStatusName.OID}
	if unitCount != 1 {
		perRow = append(perRow, rPDU2OutletSwitchedStatusModule.OID)
	}
	spot := func(rows []int) []string {
		ends := []int{rows[0], rows[len(rows)-1]}
		ask := rowsOf(rPDU2OutletMeteredStatusCurrent.OID, ends[:1])
		ask = append(ask, rowsOf(rPDU2OutletMeteredStatusPower.OID, ends[:1])...)
		for _, t := range []mirror{controlTable, meteredTable} {
			ask = append(ask, t.spot(ends, unitCount)...)
		}
		return ask
	}
	t, err := p.outletRows(ctx, rPDU2OutletSwitchedStatusState.OID, size, perRow, spot)
	if err != nil {
		return layout{}, err
	}
	rows := t.rows
	modules := columnOf(t.got, rPDU2OutletSwitchedStatusModule.OID, rows)
	numbers := columnOf(t.got, rPDU2OutletSwitchedStatusNumber.OID, rows)
	names := columnOf(t.got, rPDU2OutletSwitchedStatusName.OID, rows)
	host := hostModule(modules)
	byNumber := outletRows(rows, modules, numbers, host)

	// Where a control row for an outlet cannot be found, the status row
	// is the best guess there is.
	_, ctlByNumber, err := controlTable.rows(ctx, p, t, unitCount, host)
	if err != nil {
		return layout{}, err
	}
	l := layout{columns: []column{
		{field: fieldState, obj: rPDU2OutletSwitchedStatusState, rows: rows, at: byNumber},
		{field: fieldPending, obj: rPDU2OutletSwitchedStatusCommandPending, rows: rows, at: byNumber},
	}}
	for _, row := range rows {
		n, ok := numbers[row].Integer()
		if !ok || byNumber[int(n)] != row {
			continue // another unit's outlet
		}
		o := outlet{number: int(n), name: outletName(names, row, int(n)), row: row, ctlRow: row}
		if r, ok := ctlByNumber[o.number]; ok {
			o.ctlRow = r
		}
		l.outlets = append(l.outlets, o)
	}
	if len(l.outlets) == 0 {
		return layout{}, errNoTable
	}
	slices.SortFunc(l.outlets, func(a, b outlet) int { return a.number - b.number })

	met, err := meteredColumns(ctx, p, t, unitCount, host)
	l.columns = append(l.columns, met...)
	return l, err
}

// meteredColumns returns the metered table's current and power columns, as
// far as it has them.
func meteredColumns(ctx context.Context, p *prober, t outletTable, unitCount int, host int64) ([]column, error) {
	metRows, metByNumber, err := meteredTable.rows(ctx, p, t, unitCount, host)
	if err != nil || len(metByNumber) == 0 {
		return nil, err
	}
	got := t.got
	if metRows[0] != t.rows[0] {
		// Not the rows the spot check asked the meters at.
		cur, pow := snmp.At(rPDU2OutletMeteredStatusCurrent.OID, metRows[0]), snmp.At(rPDU2OutletMeteredStatusPower.OID, metRows[0])
		if got, err = p.probe(ctx, []string{cur, pow}); err != nil {
			return nil, err
		}
	}
	var cols []column
	if _, ok := got[snmp.At(rPDU2OutletMeteredStatusCurrent.OID, metRows[0])]; ok {
		cols = append(cols, column{field: fieldCurrent, obj: rPDU2OutletMeteredStatusCurrent, rows: metRows, at: metByNumber, convert: tenths})
	}
	if _, ok := got[snmp.At(rPDU2OutletMeteredStatusPower.OID, metRows[0])]; ok {
		cols = append(cols, column{field: fieldPower, obj: rPDU2OutletMeteredStatusPower, rows: metRows, at: metByNumber, convert: units})
	}
	return cols, nil
}

// mirror is an rPDU2 outlet table whose rows should mirror the status
// table's: its Module and Number columns.
type mirror struct{ module, number string }

var (
	controlTable = mirror{rPDU2OutletSwitchedControlModule.OID, rPDU2OutletSwitchedControlNumber.OID}
	meteredTable = mirror{rPDU2OutletMeteredStatusModule.OID, rPDU2OutletMeteredStatusNumber.OID}
)

// spot is what confirms the mirror at the status table's rows ends.
func (m mirror) spot(ends []int, unitCount int) []string {
	ask := rowsOf(m.number, ends)
	if unitCount != 1 {
		ask = append(ask, rowsOf(m.module, ends)...)
	}
	return ask
}

// rows returns the table's rows and its host outlets' rows by number: the
// status table's, when the spot check found the same Number (and Module)
// at its first and last rows; else read from its own columns. A table that
// has no row where the status table has its first is taken to be absent.
func (m mirror) rows(ctx context.Context, p *prober, t outletTable, unitCount int, host int64) ([]int, map[int]int, error) {
	ends := []int{t.rows[0], t.rows[len(t.rows)-1]}
	if ends[0] == 1 && len(rowsIn(t.got, m.number)) == 0 {
		return nil, nil, nil // not a row from 1 on: the table is not there
	}
	same := true
	for _, r := range ends {
		cols := [][2]string{{m.number, rPDU2OutletSwitchedStatusNumber.OID}}
		if unitCount != 1 {
			cols = append(cols, [2]string{m.module, rPDU2OutletSwitchedStatusModule.OID})
		}
		for _, c := range cols {
			a, aok := t.got[snmp.At(c[0], r)].Integer()
			b, bok := t.got[snmp.At(c[1], r)].Integer()
			same = same && aok && bok && a == b
		}
	}
	if same {
		return t.rows, outletRows(t.rows, columnOf(t.got, rPDU2OutletSwitchedStatusModule.OID, t.rows),
			columnOf(t.got, rPDU2OutletSwitchedStatusNumber.OID, t.rows), host), nil
	}
	rows, err := p.findRows(ctx, m.number)
	if err != nil || len(rows) == 0 {
		return nil, nil, err
	}
	got, err := p.probe(ctx, append(rowsOf(m.module, rows), rowsOf(m.number, rows)...))
	if err != nil {
		return nil, nil, err
	}
	return rows, outletRows(rows, columnOf(got, m.module, rows), columnOf(got, m.number, rows), host), nil
}

// hostModule picks the unit whose outlets this driver serves: module 1, the
// host of a daisy chain, or the lowest module there is when the user has
// numbered them otherwise.
func hostModule(modules map[int]snmp.Varbind) int64 {
	host := int64(-1)
	for _, v := range modules {
		if m, ok := v.Integer(); ok && (host < 0 || m == 1 || (m < host && host != 1)) {
			host = m
		}
	}
	if host < 0 {
		return 1
	}
	return host
}

// outletRows maps the outlet numbers of unit host to their rows, from a
// table's Module and Number columns. A table with no Module column is taken
// to be the host's alone.
func outletRows(rows []int, modules, numbers map[int]snmp.Varbind, host int64) map[int]int {
	m := map[int]int{}
	for _, row := range rows {
		if mod, ok := modules[row].Integer(); ok && mod != host {
			continue
		}
		n, ok := numbers[row].Integer()
		if !ok || n <= 0 {
			continue
		}
		if _, dup := m[int(n)]; !dup {
			m[int(n)] = row
		}
	}
	return m
}

func (rpdu2) state(v int64) power.State {
	switch v {
	case 1:
		return power.Off // inverted: rPDU2OutletSwitchedStatusState off(1)
	case 2:
		return power.On
	}
	return power.Unknown
}

func (rpdu2) control(o outlet) instance { return rPDU2OutletSwitchedControlCommand.row(o.ctlRow) }

func (rpdu2) meters() []meterSource {
	return []meterSource{
		{quantity: phaseCurrent, obj: rPDU2PhaseStatusCurrent, module: rPDU2PhaseStatusModule, convert: tenths},
		{quantity: totalPower, obj: rPDU2DeviceStatusPower, module: rPDU2DeviceStatusModule,
			convert: func(hkW int64) float64 { return float64(hkW) * 10 }},
		{quantity: totalEnergy, obj: rPDU2DeviceStatusEnergy, module: rPDU2DeviceStatusModule,
			convert: func(tkWh int64) float64 { return float64(tkWh) * 360_000 }},
	}
}
