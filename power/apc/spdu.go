package apc

import (
	"context"

	"github.com/powerbridge/powerbridge/power"
)

// spdu is the MasterSwitch tree (.318.1.1.4), the oldest: every APC switched
// PDU serves it, AOS 6 firmware included. One table carries state, pending
// and control, indexed by the outlet number.
type spdu struct{}

var (
	sPDUOutletPending = object{"sPDUOutletPending", ".1.3.6.1.4.1.318.1.1.4.4.2.1.2"}
	// sPDUOutletCtl reads 1 on, 2 off, 4 unknown; writing it switches.
	sPDUOutletCtl     = object{"sPDUOutletCtl", ".1.3.6.1.4.1.318.1.1.4.4.2.1.3"}
	sPDUOutletCtlName = object{"sPDUOutletCtlName", ".1.3.6.1.4.1.318.1.1.4.4.2.1.4"}
)

func (spdu) generation() int { return 1 }

// hinted: masterSwitch (.3.4.1), masterSwitchV2, masterSwitchVM and
// masterSwitchMSP (.3.4.2, .3.4.3, .3.4.7).
func (spdu) hinted(id string) bool {
	switch id {
	case sysObjectIDPrefix + ".1", sysObjectIDPrefix + ".2", sysObjectIDPrefix + ".3", sysObjectIDPrefix + ".7":
		return true
	}
	return false
}

// sPDUOutletControlTableSize is the number of outlets.
const sPDUOutletControlTableSize = ".1.3.6.1.4.1.318.1.1.4.4.1.0"

func (spdu) size() string        { return sPDUOutletControlTableSize }
func (spdu) last() string        { return sPDUOutletCtlName.row(1).OID }
func (spdu) stateColumn() string { return sPDUOutletCtl.OID }

func (spdu) discover(ctx context.Context, p *prober, size, _ int) (layout, error) {
	t, err := p.outletRows(ctx, sPDUOutletCtl.OID, size, []string{sPDUOutletCtlName.OID}, noExtra)
	if err != nil {
		return layout{}, err
	}
	rows := t.rows
	names := columnOf(t.got, sPDUOutletCtlName.OID, rows)
	l := layout{columns: []column{
		{field: fieldState, obj: sPDUOutletCtl, rows: rows, at: identity(rows)},
		{field: fieldPending, obj: sPDUOutletPending, rows: rows, at: identity(rows)},
	}}
	for _, n := range rows {
		l.outlets = append(l.outlets, outlet{number: n, name: outletName(names, n, n), row: n, ctlRow: n})
	}
	return l, nil
}

func (spdu) state(v int64) power.State {
	switch v {
	case 1:
		return power.On
	case 2:
		return power.Off
	}
	return power.Unknown // 4: outletUnknown
}

func (spdu) control(o outlet) instance { return sPDUOutletCtl.row(o.ctlRow) }

func (spdu) meters() []meterSource { return nil }
