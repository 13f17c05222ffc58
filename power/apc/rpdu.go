package apc

import (
	"context"

	"github.com/powerbridge/powerbridge/power"
)

// rpdu is the first Rack PDU tree (.318.1.1.12), served by AP79xx on AOS 3.x
// and by AP8xxx beside rPDU2. Status and control are separate tables, both
// indexed by the outlet number. The control object reads back only 1 or 2,
// so state comes from the status table.
type rpdu struct{}

var (
	rPDUOutletStatusOutletName     = object{"rPDUOutletStatusOutletName", ".1.3.6.1.4.1.318.1.1.12.3.5.1.1.2"}
	rPDUOutletStatusOutletState    = object{"rPDUOutletStatusOutletState", ".1.3.6.1.4.1.318.1.1.12.3.5.1.1.4"}
	rPDUOutletStatusCommandPending = object{"rPDUOutletStatusCommandPending", ".1.3.6.1.4.1.318.1.1.12.3.5.1.1.5"}
	// rPDUOutletStatusLoad is in tenths of amperes, on outlet-metered
	// models only.
	rPDUOutletStatusLoad           = object{"rPDUOutletStatusLoad", ".1.3.6.1.4.1.318.1.1.12.3.5.1.1.7"}
	rPDUOutletControlOutletCommand = object{"rPDUOutletControlOutletCommand", ".1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"}

	// rPDULoadStatusLoad is a Gauge32 in tenths of amperes, one row per
	// phase or bank.
	rPDULoadStatusLoad        = object{"rPDULoadStatusLoad", ".1.3.6.1.4.1.318.1.1.12.2.3.1.1.2"}
	rPDUIdentDevicePowerWatts = object{"rPDUIdentDevicePowerWatts", ".1.3.6.1.4.1.318.1.1.12.1.16"}
)

func (rpdu) generation() int { return 2 }

// hinted: masterSwitchrPDU (.3.4.5).
func (rpdu) hinted(id string) bool { return id == sysObjectIDPrefix+".5" }

// rPDUOutletDevNumCntrlOutlets is the number of switched outlets.
const rPDUOutletDevNumCntrlOutlets = ".1.3.6.1.4.1.318.1.1.12.3.1.3.0"

func (rpdu) size() string        { return rPDUOutletDevNumCntrlOutlets }
func (rpdu) last() string        { return rPDUOutletStatusLoad.row(1).OID }
func (rpdu) stateColumn() string { return rPDUOutletStatusOutletState.OID }

func (rpdu) discover(ctx context.Context, p *prober, size, _ int) (layout, error) {
	// The load column is there on outlet-metered models only; its first
	// row says whether it is.
	firstLoad := func([]int) []string { return []string{rPDUOutletStatusLoad.row(1).OID} }
	t, err := p.outletRows(ctx, rPDUOutletStatusOutletState.OID, size, []string{rPDUOutletStatusOutletName.OID}, firstLoad)
	if err != nil {
		return layout{}, err
	}
	rows := t.rows
	names := columnOf(t.got, rPDUOutletStatusOutletName.OID, rows)
	l := layout{columns: []column{
		{field: fieldState, obj: rPDUOutletStatusOutletState, rows: rows, at: identity(rows)},
		{field: fieldPending, obj: rPDUOutletStatusCommandPending, rows: rows, at: identity(rows)},
	}}
	if _, ok := t.got[rPDUOutletStatusLoad.row(1).OID]; ok {
		l.columns = append(l.columns, column{field: fieldCurrent, obj: rPDUOutletStatusLoad, rows: rows, at: identity(rows), convert: tenths})
	}
	for _, n := range rows {
		l.outlets = append(l.outlets, outlet{number: n, name: outletName(names, n, n), row: n, ctlRow: n})
	}
	return l, nil
}

func (rpdu) state(v int64) power.State {
	switch v {
	case 1:
		return power.On
	case 2:
		return power.Off
	}
	return power.Unknown
}

func (rpdu) control(o outlet) instance { return rPDUOutletControlOutletCommand.row(o.ctlRow) }

func (rpdu) meters() []meterSource {
	return []meterSource{
		{quantity: phaseCurrent, obj: rPDULoadStatusLoad, convert: tenths},
		{quantity: totalPower, obj: rPDUIdentDevicePowerWatts, scalar: true, convert: units},
	}
}
