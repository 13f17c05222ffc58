package mibs

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// Rows asked a request at first, past the first row found: an 8-outlet
// PDU's table in one request of 8, a 24-outlet one's in two (8, then 16);
// a PDU-wide meter's one row in one of 1.
const (
	outletRowsFirst = 8
	meterRowsFirst  = 1
)

// firstAsks are the GETNEXTs that find the first row of each table of the
// MIBs in group: the outlet table, and the PDU-wide meters'.
func firstAsks(group []*mib) []string {
	var asks []string
	for _, m := range group {
		asks = append(asks, m.rows)
		for _, pm := range m.pduMeters {
			asks = append(asks, pm.col)
		}
	}
	return asks
}

// discover finds m's outlets, their state source and meters, and m's
// PDU-wide meters, given the answers to firstAsks. A table that does not
// answer is errNoTable.
//
// What it costs the PDU, under every SNMP version alike (every probe a
// GETNEXT, at most maxProbe objects a request): one request of the outlet
// rows (an 8-outlet PDU's; 24 outlets take two), with the identity objects
// and the PDU-wide meters' rows; then one round of every outlet's name
// (Geist: its label) and switchable flag, each candidate state and meter
// column's first and last rows and the meters' decimal digits, in requests
// of maxProbe; Geist's factory names, where an outlet has no label, one
// more. 4 to 6 requests in all with the system group; an 8-outlet PDU
// costs 27 to 45 varbinds, a 24-outlet one 60 to 94 (TestDetectionCost).
func (m *mib) discover(ctx context.Context, p *prober, firsts map[string]snmp.Varbind) (*detection, error) {
	first, ok := below(firsts[m.rows].OID, m.rows)
	if !ok {
		return nil, errNoTable
	}
	rows := newRowSearch(m.rows, "", first, outletRowsFirst, true)
	var meters []*rowSearch // one per m.pduMeters, nil where the column has no row
	for _, pm := range m.pduMeters {
		idx, ok := below(firsts[pm.col].OID, pm.col)
		if !ok {
			meters = append(meters, nil)
			continue
		}
		row := idx
		if pm.suffix != "" {
			// The row's instance with this suffix is not known to be
			// there: it is asked, with what follows the row.
			row = idx[:max(strings.LastIndexByte(idx, '.'), 0)]
		}
		meters = append(meters, newRowSearch(pm.col, pm.suffix, row, meterRowsFirst, pm.suffix == ""))
	}
	if err := m.probeRounds(ctx, p, rows, meters); err != nil {
		return nil, err
	}
	return m.detection(ctx, p, rows.found, meters)
}

// probeRounds runs the searches to their end, asking in the first round
// the identity objects, and once the outlet rows are known every per-row
// object (perRow) and the meters' extra columns (meterExtras).
func (m *mib) probeRounds(ctx context.Context, p *prober, rows *rowSearch, meters []*rowSearch) error {
	asks := p.exists(m.identObjects)
	asked := map[string]bool{}
	perRowDone, namesDone := false, false
	for {
		asks = append(asks, rows.asks()...)
		for _, s := range meters {
			if s != nil {
				asks = append(asks, s.asks()...)
			}
		}
		if perRowDone && !namesDone {
			asks, namesDone = append(asks, p.exists(m.factoryNames(p, rows.found))...), true
		}
		if rows.done && !perRowDone && len(rows.found) > 0 {
			asks, perRowDone = append(asks, p.exists(m.perRow(rows.found))...), true
		}
		for _, o := range p.exists(m.meterExtras(meters)) {
			if !asked[o] {
				asks, asked[o] = append(asks, o), true
			}
		}
		if len(asks) == 0 {
			return nil
		}
		got, err := p.next(ctx, asks)
		if err != nil {
			return fmt.Errorf("probing the %s outlet table: %w", m.label(), err)
		}
		rows.take(p, got)
		for _, s := range meters {
			if s != nil {
				s.take(p, got)
			}
		}
		if len(rows.found) == 0 && rows.done {
			return errNoTable
		}
		asks = nil
	}
}

// perRow returns every outlet's name (its user-set name where the MIB
// has one) and switchable flag, and the first and last rows of each state
// source and outlet meter (and its decimal digits).
func (m *mib) perRow(rows []string) []string {
	var oids []string
	names := m.name
	if m.userName != "" {
		names = m.userName // the factory names only where needed: factoryNames
	}
	for _, col := range []string{names, m.switchable} {
		if col == "" {
			continue
		}
		for _, r := range rows {
			oids = append(oids, col+"."+r)
		}
	}
	ends := []string{rows[0], rows[len(rows)-1]}
	for _, s := range m.states {
		for _, r := range ends {
			oids = append(oids, s.col+"."+r+s.suffix)
		}
	}
	for _, om := range m.outletMeters {
		for _, r := range ends {
			oids = append(oids, om.col+"."+r+om.suffix)
			if om.decimals != "" {
				oids = append(oids, om.decimals+"."+r+om.suffix)
			}
		}
	}
	return oids
}

// factoryNames returns the factory-set names to read, once the user-set
// ones are: those of the outlets with none.
func (m *mib) factoryNames(p *prober, rows []string) []string {
	var oids []string
	for _, r := range rows {
		if m.userName == "" || m.name == "" {
			break
		}
		v, _ := p.has(m.userName + "." + r)
		if s, _ := v.Text(); strings.TrimSpace(s) == "" {
			oids = append(oids, m.name+"."+r)
		}
	}
	return oids
}

// meterExtras returns the decimal digits and kind of each
// PDU-wide meter row found so far.
func (m *mib) meterExtras(meters []*rowSearch) []string {
	var oids []string
	for i, s := range meters {
		if s == nil {
			continue
		}
		pm := m.pduMeters[i]
		for _, r := range s.found {
			for _, col := range []string{pm.decimals, pm.kind} {
				if col != "" {
					oids = append(oids, col+"."+r+pm.suffix)
				}
			}
		}
	}
	return oids
}

// detection builds what discovery learnt from the objects probed.
func (m *mib) detection(ctx context.Context, p *prober, rows []string, meters []*rowSearch) (*detection, error) {
	slices.SortFunc(rows, func(a, b string) int { return snmp.CompareOIDs("."+a, "."+b) })
	det := &detection{mib: m, scales: map[string]float64{}, locked: map[int]string{},
		info: power.Info{Vendor: m.vendor, Dialect: m.dialect}}
	for i, idx := range rows {
		o := outlet{number: i + 1, index: idx, name: "Outlet " + strconv.Itoa(i+1)}
		for _, col := range []string{m.userName, m.name} {
			if v, ok := p.has(col + "." + idx); col != "" && ok {
				if s, ok := v.Text(); ok && strings.TrimSpace(s) != "" {
					o.name = strings.TrimSpace(s)
					break
				}
			}
		}
		if v, ok := p.has(m.switchable + "." + idx); m.switchable != "" && ok {
			if n, ok := v.Integer(); ok && !m.isSwitchable(n) {
				o.unswitched = true
			}
		}
		det.outlets = append(det.outlets, o)
	}
	if !det.findState(p) {
		return nil, errNoTable
	}
	det.findPDUMeters(p, meters)
	if err := det.findMeters(ctx, p); err != nil {
		return nil, err
	}
	return det, nil
}

// answersAtEnds reports whether column col has an INTEGER at the first
// and the last outlet (instance col.index+suffix). A read GETs every
// outlet's, and should one be missing, the read finds the table changed
// and detection runs again.
func (det *detection) answersAtEnds(p *prober, col, suffix string) bool {
	for _, o := range []outlet{det.outlets[0], det.outlets[len(det.outlets)-1]} {
		v, _ := p.has(col + "." + o.index + suffix)
		if _, ok := v.Integer(); !ok {
			return false
		}
	}
	return true
}

// findState picks the first state source that answers.
func (det *detection) findState(p *prober) bool {
	for _, s := range det.mib.states {
		if det.answersAtEnds(p, s.col, s.suffix) {
			det.state = s
			return true
		}
	}
	return false
}

// findPDUMeters keeps the PDU-wide meter rows found.
func (det *detection) findPDUMeters(p *prober, meters []*rowSearch) {
	for i, s := range meters {
		if s == nil {
			continue
		}
		pm := det.mib.pduMeters[i]
		found := slices.Clone(s.found)
		slices.SortFunc(found, func(a, b string) int { return snmp.CompareOIDs("."+a, "."+b) })
		for _, r := range found {
			if v, ok := p.has(pm.kind + "." + r + pm.suffix); pm.kind != "" && ok {
				if n, ok := v.Integer(); ok && !pm.keep(n) {
					continue
				}
			}
			scale := pm.scale
			if pm.decimals != "" {
				v, _ := p.has(pm.decimals + "." + r + pm.suffix)
				d, _ := v.Integer()
				scale = math.Pow10(-int(d)) * pm.scale
			}
			det.pdu = append(det.pdu, pduInstance{quantity: pm.quantity, oid: pm.col + "." + r + pm.suffix, scale: scale})
		}
	}
}

// findMeters keeps the per-outlet meters that answer and fit beside the
// states in one request of snmp.MaxVarbinds.
func (det *detection) findMeters(ctx context.Context, p *prober) error {
	budget := snmp.MaxVarbinds - len(det.pdu) - len(det.outlets)
	for _, om := range det.mib.outletMeters {
		if budget < len(det.outlets) {
			break
		}
		if !det.answersAtEnds(p, om.col, om.suffix) {
			continue
		}
		if om.decimals != "" {
			if err := det.readDecimals(ctx, p, om); err != nil {
				return err
			}
		}
		det.meters = append(det.meters, om)
		budget -= len(det.outlets)
	}
	return nil
}

// readDecimals finds the decimal digits of meter om for every outlet: those
// of the first and last outlets, already probed, when they agree (they do
// on every unit seen), else every outlet's, in one more round.
func (det *detection) readDecimals(ctx context.Context, p *prober, om outletMeter) error {
	digits := func(o outlet) (int64, bool) {
		v, ok := p.has(om.decimals + "." + o.index + om.suffix)
		d, isInt := v.Integer()
		return d, ok && isInt
	}
	first, ok1 := digits(det.outlets[0])
	last, ok2 := digits(det.outlets[len(det.outlets)-1])
	if !ok1 || !ok2 || first != last {
		var oids []string
		for _, o := range det.outlets {
			oids = append(oids, om.decimals+"."+o.index+om.suffix)
		}
		if _, err := p.next(ctx, p.exists(oids)); err != nil {
			return fmt.Errorf("probing %s: %w", om.decimals, err)
		}
	}
	for _, o := range det.outlets {
		d, ok := digits(o)
		if !ok {
			d = first // not probed: as the first and the last outlets
		}
		det.scales[om.col+"."+o.index+om.suffix] = math.Pow10(-int(d))
	}
	return nil
}
