package apc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/powerbridge/powerbridge/power/snmp"
	"maps"
	"slices"
	"strings"

	"github.com/powerbridge/powerbridge/power"
)

const (
	sysDescr    = ".1.3.6.1.2.1.1.1.0"
	sysObjectID = ".1.3.6.1.2.1.1.2.0"

	// sysObjectIDPrefix is APC's masterSwitch product branch: every APC
	// switched PDU's sysObjectID is one of its children.
	sysObjectIDPrefix = ".1.3.6.1.4.1.318.1.3.4"
)

// ErrNoOutletTable is what Read answers, wrapped, when the PDU answers
// SNMP but none of APC's outlet tables: it is no APC switched PDU, or not
// one this package knows.
var ErrNoOutletTable = errors.New("no outlet table answers")

// detection is what the driver learnt of the PDU on first contact, and keeps
// until the PDU stops answering the way it did.
type detection struct {
	info    power.Info
	dialect dialect
	layout  layout
	meters  []meterInstance // PDU-wide meters that answered
	// system is the PDU's sysDescr and sysObjectID as detection found
	// them: a cached detection is trusted while they stay the same.
	system System
}

// System is what an agent's MIB-II system group says of the device: its
// sysDescr and its sysObjectID (dotted, with the leading dot).
type System struct{ Descr, ObjectID string }

// meterInstance is one PDU-wide reading a Read fetches.
type meterInstance struct {
	quantity quantity
	inst     instance
	convert  func(int64) float64
}

// outlet returns the outlet numbered n.
func (d *detection) outlet(n int) (outlet, bool) {
	for _, o := range d.layout.outlets {
		if o.number == n {
			return o, true
		}
	}
	return outlet{}, false
}

// detect identifies the PDU and finds a dialect whose outlet table answers.
//
// sysObjectID is only a hint: firmware serves older trees beside the newest
// (fence_apc_snmp drives AOS 6 units by reading sPDU and writing rPDU), and
// a capture or a simulator may hold less than the real device. So the
// hinted dialect and every newer one are probed first (their size objects
// and first state rows in one request), the older ones only if none of
// them answers, and the newest whose outlet table answers wins. A forced
// dialect is the only one probed. sys, when the caller has read the system group already, saves
// reading it again.
//
// What it costs the PDU, under every SNMP version alike (every probe is a
// GETNEXT of the object just before the one wanted, see prober, at most
// maxProbe objects a request): the system group (1 request, 2 varbinds,
// unless sys is given); the trees' size objects (1 request, up to 7
// varbinds); the outlet table (the names of n outlets, and in rPDU2 the
// rows' outlet numbers, n more, and a few objects besides); the PDU-wide
// meters (1 request, 2 when the chosen tree lacks some). 5 requests and 24
// varbinds for an 8-outlet AP7900, 5 or 6 and 66 for a 24-outlet AP8941:
// the names and the rPDU2 row numbers, one varbind per outlet each, are
// what a 24-outlet PDU cannot do without.
func detect(ctx context.Context, c snmp.Client, forced string, sys *System) (*detection, error) {
	det := &detection{}
	if sys != nil {
		det.system = *sys
	} else {
		s, err := identify(ctx, c)
		if err != nil {
			return nil, err
		}
		det.system = s
	}
	det.info.Model, det.info.Firmware = parseSysDescr(det.system.Descr)

	p := &prober{c: c}
	d, l, unitCount, err := findDialect(ctx, p, forced, det.system.ObjectID)
	if err != nil {
		return nil, err
	}
	det.dialect, det.layout = d, l
	det.info.Vendor = "APC"
	det.info.Dialect = nameOf(det.dialect)

	if det.meters, err = detectMeters(ctx, p, det.dialect, forced, unitCount); err != nil {
		return nil, err
	}
	return det, nil
}

// findDialect probes the dialects' outlet tables in probeGroups' order and
// returns the first whose table answers, its layout and the daisy chain's
// unit count (0 if not known).
func findDialect(ctx context.Context, p *prober, forced, id string) (dialect, layout, int, error) {
	var tried []string
	for _, group := range probeGroups(forced, id) {
		// One request for the group: every dialect's size object and
		// first state row, and the daisy chain's unit count. And the
		// last object the dialect's discovery may ask for: under SNMPv1
		// a GETNEXT past the end of the agent's MIB fails the whole
		// request, and this is where that costs least.
		ask := []string{rPDU2IdentTableSize}
		for _, d := range group {
			ask = append(ask, d.size(), snmp.At(d.stateColumn(), 1), d.last())
		}
		got, err := p.probe(ctx, ask)
		if err != nil {
			return nil, layout{}, 0, fmt.Errorf("probing the outlet tables: %w", err)
		}
		unitCount := intOf(got, rPDU2IdentTableSize)
		for _, d := range group {
			size := intOf(got, d.size())
			if len(rowsIn(got, d.stateColumn())) == 0 && size <= 0 {
				tried = append(tried, nameOf(d))
				continue
			}
			l, err := d.discover(ctx, p, size, unitCount)
			if errors.Is(err, errNoTable) {
				tried = append(tried, nameOf(d))
				continue
			}
			if err != nil {
				return nil, layout{}, 0, fmt.Errorf("probing the %s outlet table: %w", nameOf(d), err)
			}
			return d, l, unitCount, nil
		}
	}
	return nil, layout{}, 0, fmt.Errorf("%w (tried %s)", ErrNoOutletTable, strings.Join(tried, ", "))
}

// detectMeters finds the PDU-wide meters of the tree d, and unless the
// dialect was forced, those it lacks in the other trees.
func detectMeters(ctx context.Context, p *prober, d dialect, forced string, unitCount int) ([]meterInstance, error) {
	// Meters come from the chosen tree first. Unless the dialect was
	// forced, the other trees fill what it lacks: an AP7900B whose rPDU2
	// outlet table is missing still reports its load in rPDU2's phase
	// table.
	found, err := discoverMeters(ctx, p, d.meters(), unitCount)
	if err != nil || forced != "auto" {
		return found, err
	}
	have := map[quantity]bool{}
	for _, m := range found {
		have[m.quantity] = true
	}
	var others []meterSource
	for _, name := range Dialects() {
		if o := dialects[name]; o != d {
			for _, s := range o.meters() {
				if !have[s.quantity] {
					others = append(others, s)
				}
			}
		}
	}
	if len(others) == 0 {
		return found, nil
	}
	more, err := discoverMeters(ctx, p, others, unitCount)
	if err != nil {
		return nil, err
	}
	found = append(found, more...)
	return found, nil
}

// intOf returns the integer at oid in got, or 0.
func intOf(got map[string]snmp.Varbind, oid string) int {
	n, _ := got[oid].Integer()
	return int(n)
}

// probeGroups is the order detect probes the dialects in for a PDU whose
// sysObjectID is id, in groups of one request each, newest first within a
// group: the hinted dialect and every newer one, then the older ones, which
// are never probed when a dialect of the first group answers (with no hint,
// all in one group); only the forced one unless forced is "auto".
func probeGroups(forced, id string) [][]dialect {
	if forced != "auto" {
		return [][]dialect{{dialects[forced]}}
	}
	hinted := 0
	for _, d := range dialects {
		if d.hinted(id) {
			hinted = d.generation()
		}
	}
	var first, rest []dialect
	for _, d := range dialects {
		if d.generation() >= hinted {
			first = append(first, d)
		} else {
			rest = append(rest, d)
		}
	}
	newest := func(a, b dialect) int { return cmp.Compare(b.generation(), a.generation()) }
	slices.SortFunc(first, newest)
	slices.SortFunc(rest, newest)
	if len(rest) == 0 {
		return [][]dialect{first}
	}
	return [][]dialect{first, rest}
}

// identify reads sysDescr and sysObjectID. It is also the first sign of
// life: no answer here ends detection.
func identify(ctx context.Context, c snmp.Client) (System, error) {
	vbs, err := c.Get(ctx, []string{sysDescr, sysObjectID})
	var ae *snmp.AgentError
	if errors.As(err, &ae) {
		// An agent without MIB-II's system group is odd but not fatal:
		// the outlet tables decide.
		return System{}, nil
	}
	if err != nil {
		return System{}, fmt.Errorf("reading sysDescr: %w", err)
	}
	var s System
	for _, v := range vbs {
		switch {
		case v.OID == sysDescr && v.Kind == snmp.KindString:
			s.Descr = v.Str
		case v.OID == sysObjectID && v.Kind == snmp.KindOID:
			s.ObjectID = "." + strings.TrimPrefix(v.Str, ".")
		}
	}
	return s, nil
}

// parseSysDescr finds the model (after "MN:") and the firmware application
// (after "AN1:") in an APC management card's sysDescr, such as
// "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin
// AF1:v6.8.0 AN1:apc_hw05_rpdu2g_680.bin MN:AP7900B HR:B2 SN: ZA1732000177
// MD:08/07/2017)".
func parseSysDescr(s string) (model, firmware string) {
	for _, f := range strings.Fields(s) {
		f = strings.Trim(f, "(),")
		if v, ok := strings.CutPrefix(f, "MN:"); ok {
			model = v
		}
		if v, ok := strings.CutPrefix(f, "AN1:"); ok {
			firmware = v
		}
	}
	return model, firmware
}

// discoverMeters finds which of the sources answer with a supported value,
// keeping the first source of each quantity that does. Every source is
// probed in one request: a scalar's one instance, a table's first rows (3
// phases or banks per unit, one device row per unit), with their Module
// when the PDU may be more than one unit. A phase table whose last row
// asked answers is probed on, in one more request.
func discoverMeters(ctx context.Context, p *prober, sources []meterSource, unitCount int) ([]meterInstance, error) {
	rowsFor := func(s meterSource, from int) []int {
		n := max(unitCount, 1)
		if s.quantity == phaseCurrent {
			n *= 3
		}
		rows := make([]int, n)
		for i := range rows {
			rows[i] = from + i
		}
		return rows
	}
	ask := func(s meterSource, rows []int) []string {
		if s.scalar {
			return []string{snmp.At(s.obj.OID, 0)}
		}
		oids := rowsOf(s.obj.OID, rows)
		if s.module != "" && unitCount != 1 {
			oids = append(oids, rowsOf(s.module, rows)...)
		}
		return oids
	}
	var all []string
	for _, s := range sources {
		all = append(all, ask(s, rowsFor(s, 1))...)
	}
	got, err := p.probe(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("probing the PDU's meters: %w", err)
	}
	var more []string
	for _, s := range sources {
		if rows := rowsFor(s, 1); !s.scalar && s.quantity == phaseCurrent && has(got, snmp.At(s.obj.OID, rows[len(rows)-1])) {
			more = append(more, ask(s, rowsFor(s, len(rows)+1))...)
		}
	}
	if len(more) > 0 {
		extra, err := p.probe(ctx, more)
		if err != nil {
			return nil, fmt.Errorf("probing the PDU's meters: %w", err)
		}
		maps.Copy(got, extra)
	}
	return pickMeters(got, sources), nil
}

// pickMeters keeps, of each quantity, the instances of the first source
// that has one with a supported value: of a table, the host unit's rows.
func pickMeters(got map[string]snmp.Varbind, sources []meterSource) []meterInstance {
	var found []meterInstance
	have := map[quantity]bool{}
	for _, s := range sources {
		if have[s.quantity] {
			continue
		}
		var rows []int
		if s.scalar {
			rows = []int{0}
		} else {
			values := rowsIn(got, s.obj.OID)
			modules := rowsIn(got, s.module)
			host := hostModule(modules)
			for _, r := range sortedRows(values) {
				if m, ok := modules[r].Integer(); !ok || m == host {
					rows = append(rows, r)
				}
			}
		}
		var instances []meterInstance
		for _, r := range rows {
			if v, ok := got[snmp.At(s.obj.OID, r)].Integer(); ok && v != unsupported {
				instances = append(instances, meterInstance{quantity: s.quantity, inst: s.obj.row(r), convert: s.convert})
			}
		}
		if len(instances) > 0 {
			found = append(found, instances...)
			have[s.quantity] = true
		}
	}
	return found
}

// has reports whether got holds oid.
func has(got map[string]snmp.Varbind, oid string) bool {
	_, ok := got[oid]
	return ok
}

// rowsIn returns the rows of column col that got holds.
func rowsIn(got map[string]snmp.Varbind, col string) map[int]snmp.Varbind {
	m := map[int]snmp.Varbind{}
	if col == "" {
		return m
	}
	for oid, v := range got {
		if r, ok := snmp.RowOf(oid, col); ok {
			m[r] = v
		}
	}
	return m
}
