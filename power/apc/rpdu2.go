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

func (rpdu2) discover(ctx context.Context, c snmp.Client, bulk bool) (layout, error) {
	got, err := walkOutlets(ctx, c, bulk,
		rPDU2OutletSwitchedStatusState, rPDU2OutletSwitchedStatusCommandPending,
		rPDU2OutletSwitchedStatusModule, rPDU2OutletSwitchedStatusNumber, rPDU2OutletSwitchedStatusName)
	if err != nil {
		return layout{}, err
	}
	rows := sortedRows(got[0])
	host := hostModule(got[2])
	byNumber := outletRows(rows, got[2], got[3], host)

	// The control table has rows of its own. On the firmware we know they
	// match the status rows, and where a control row for an outlet cannot
	// be found, the status row is the best guess there is.
	ctl, err := snmp.WalkColumns(ctx, c, bulk, rPDU2OutletSwitchedControlModule.OID, rPDU2OutletSwitchedControlNumber.OID)
	if err != nil {
		return layout{}, err
	}
	ctlByNumber := outletRows(sortedRows(ctl[0]), ctl[0], ctl[1], host)

	l := layout{columns: []column{
		{field: fieldState, obj: rPDU2OutletSwitchedStatusState, rows: rows, at: byNumber},
		{field: fieldPending, obj: rPDU2OutletSwitchedStatusCommandPending, rows: rows, at: byNumber},
	}}
	for _, row := range rows {
		n, ok := got[3][row].Integer()
		if !ok || byNumber[int(n)] != row {
			continue // another unit's outlet
		}
		o := outlet{number: int(n), name: outletName(got[4], row, int(n)), row: row, ctlRow: row}
		if r, ok := ctlByNumber[o.number]; ok {
			o.ctlRow = r
		}
		l.outlets = append(l.outlets, o)
	}
	if len(l.outlets) == 0 {
		return layout{}, errNoTable
	}
	slices.SortFunc(l.outlets, func(a, b outlet) int { return a.number - b.number })

	met, err := snmp.WalkColumns(ctx, c, bulk,
		rPDU2OutletMeteredStatusModule.OID, rPDU2OutletMeteredStatusNumber.OID,
		rPDU2OutletMeteredStatusCurrent.OID, rPDU2OutletMeteredStatusPower.OID)
	if err != nil {
		return layout{}, err
	}
	metRows := sortedRows(met[0])
	metByNumber := outletRows(metRows, met[0], met[1], host)
	if len(metByNumber) > 0 && len(met[2]) > 0 {
		l.columns = append(l.columns, column{field: fieldCurrent, obj: rPDU2OutletMeteredStatusCurrent, rows: metRows, at: metByNumber, convert: tenths})
	}
	if len(metByNumber) > 0 && len(met[3]) > 0 {
		l.columns = append(l.columns, column{field: fieldPower, obj: rPDU2OutletMeteredStatusPower, rows: metRows, at: metByNumber, convert: units})
	}
	return l, nil
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
