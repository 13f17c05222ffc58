package apc

import (
	"context"
	"errors"
	"fmt"
	"github.com/powerbridge/powerbridge/power/snmp"
	"slices"

	"github.com/powerbridge/powerbridge/power"
)

// errGone marks a Read that found the outlet table other than detection
// left it: an outlet or a whole tree no longer answers (new firmware, a
// renumbered daisy chain). The driver then detects again.
var errGone = errors.New("the outlet table no longer answers as it did")

// want is one instance a Read asks for.
type want struct {
	OID  string
	need bool // an outlet's state or pending: its absence means errGone
}

// wants lists what a Read fetches: the PDU-wide meters, then every column
// for every outlet.
func (d *detection) wants() []want {
	var ws []want
	for _, m := range d.meters {
		ws = append(ws, want{OID: m.inst.OID})
	}
	for _, col := range d.layout.columns {
		need := col.field == fieldState || col.field == fieldPending
		for _, o := range d.layout.outlets {
			if row, ok := col.at[o.number]; ok {
				ws = append(ws, want{OID: snmp.At(col.obj.OID, row), need: need})
			}
		}
	}
	return ws
}

// fetch reads every outlet and meter of the PDU.
//
// What a Read costs, with m PDU-wide meters (a current per phase or bank,
// power, energy: 2 on a single-phase AP7900, 5 on a three-phase rPDU2 unit),
// n outlets and c per-outlet columns (2, state and pending; 4 on
// metered-by-outlet models, with current and power):
//   - SNMPv1, which has no GETBULK: one multi-OID GET per snmp.MaxVarbinds (60)
//     instances, ⌈(m + n·c) / 60⌉ requests. It asks only for instances
//     detection found, because one missing OID fails a whole v1 GET.
//   - v2c and v3: one GETBULK per ⌊(60 − m) / c⌋ rows, the meters riding
//     along as non-repeaters. (Rows of other units of a daisy chain that
//     lie between the host's rows count too.)
//
// Either way that is one request for up to 27 switched outlets with up to 6
// meters, which covers every APC switched PDU but the metered-by-outlet
// models with more than 13 outlets: those take two.
func (d *Driver) fetch(ctx context.Context, det *detection) (map[string]snmp.Varbind, error) {
	got := map[string]snmp.Varbind{}
	ws := det.wants()
	if !d.bulk {
		oids := make([]string, len(ws))
		for i, w := range ws {
			oids[i] = w.OID
		}
		if err := d.get(ctx, oids, got); err != nil {
			return nil, err
		}
		return got, nil
	}

	// GETBULK. Each meter is read as a non-repeater (a GETNEXT of the OID
	// just before it), each column as a repeater walking its rows from
	// the first outlet's to the last outlet's; the rows of other units of
	// a daisy chain in between come along and are dropped.
	var nonRepeaters []string
	for _, m := range det.meters {
		nonRepeaters = append(nonRepeaters, m.inst.OID)
	}
	spans := columnSpans(det.layout)
	if err := snmp.BulkGet(ctx, d.snmp, nonRepeaters, spans, got); err != nil {
		return nil, err
	}

	// An agent may answer a GETBULK with fewer repetitions than asked
	// (RFC 3416 lets it stop when the answer grows too big). Ask for what
	// is missing by name, in one more request, before calling it gone.
	var missing []string
	short := false
	for _, w := range ws {
		if _, ok := got[w.OID]; !ok {
			missing = append(missing, w.OID)
			short = short || w.need
		}
	}
	if short {
		if err := d.get(ctx, missing, got); err != nil {
			return nil, err
		}
	}
	return got, nil
}

// columnSpans returns, per column of l, the instances from its first
// outlet's row to its last outlet's.
func columnSpans(l layout) [][]string {
	var spans [][]string
	for _, col := range l.columns {
		first, last := -1, -1
		for _, o := range l.outlets {
			if row, ok := col.at[o.number]; ok {
				first = minRow(first, row)
				last = max(last, row)
			}
		}
		var span []string
		for _, r := range col.rows {
			if r >= first && r <= last {
				span = append(span, snmp.At(col.obj.OID, r))
			}
		}
		if len(span) > 0 {
			spans = append(spans, span)
		}
	}
	return spans
}

// get GETs oids into got.
func (d *Driver) get(ctx context.Context, oids []string, got map[string]snmp.Varbind) error {
	err := snmp.GetAll(ctx, d.snmp, oids, got)
	if snmp.IsStatus(err, snmp.NoSuchName) {
		// SNMPv1 fails the whole GET for one missing object.
		return fmt.Errorf("%w: %w", errGone, err)
	}
	return err
}

func minRow(a, b int) int {
	if a < 0 || b < a {
		return b
	}
	return a
}

// reading decodes what fetch got.
func (det *detection) reading(got map[string]snmp.Varbind) (power.Reading, error) {
	r := power.Reading{Info: det.info}
	for _, o := range det.layout.outlets {
		out := power.Outlet{Number: o.number, Name: o.name}
		for _, col := range det.layout.columns {
			row, ok := col.at[o.number]
			if !ok {
				continue
			}
			in := col.obj.row(row)
			v, ok := got[in.OID]
			n, isInt := v.Integer()
			switch {
			case !ok && (col.field == fieldState || col.field == fieldPending):
				return power.Reading{}, fmt.Errorf("%w: no %s for outlet %d", errGone, in.name, o.number)
			case !ok || !isInt:
				// A meter that did not answer this time, or a value
				// of the wrong type: no reading rather than a wrong one.
				if col.field == fieldState {
					out.State = power.Unknown
				}
			case col.field == fieldState:
				out.State = det.dialect.state(n)
			case col.field == fieldPending:
				out.Pending = n == valuePending
			case n == unsupported:
			case col.field == fieldCurrent:
				out.CurrentAmperes = ptr(col.convert(n))
			case col.field == fieldPower:
				out.PowerWatts = ptr(col.convert(n))
			}
		}
		r.Outlets = append(r.Outlets, out)
	}

	var currents []float64
	currentsOK := true
	for _, m := range det.meters {
		v, ok := got[m.inst.OID]
		n, isInt := v.Integer()
		if !ok || !isInt || n == unsupported {
			if m.quantity == phaseCurrent {
				currentsOK = false // a gap would shift the phases
			}
			continue
		}
		switch m.quantity {
		case phaseCurrent:
			currents = append(currents, m.convert(n))
		case totalPower:
			r.Meter.PowerWatts = ptr(m.convert(n))
		case totalEnergy:
			r.Meter.EnergyJoules = ptr(m.convert(n))
		}
	}
	if currentsOK {
		r.Meter.CurrentAmperes = currents
	}
	return r, nil
}

func ptr(f float64) *float64 { return &f }

var _ power.StateReader = (*Driver)(nil)

// ReadStates returns the state of the given outlets (power.StateReader):
// one GET of their instances of the state column, one varbind per outlet,
// under every SNMP version. An outlet the PDU does not have is left out.
func (d *Driver) ReadStates(ctx context.Context, outlets []int) ([]power.Outlet, error) {
	os, err := d.readStates(ctx, outlets)
	d.snmp.Close() // as after a Read
	if err != nil {
		return nil, fmt.Errorf("reading the outlet states of %s: %w", d.target, err)
	}
	return os, nil
}

func (d *Driver) readStates(ctx context.Context, outlets []int) ([]power.Outlet, error) {
	det, err := d.detection(ctx)
	if err != nil {
		return nil, err
	}
	os, err := d.statesWith(ctx, det, outlets)
	if !errors.Is(err, errGone) {
		return os, err
	}
	d.det = nil // as in read: detect again, once
	if det, err = d.detection(ctx); err != nil {
		return nil, err
	}
	return d.statesWith(ctx, det, outlets)
}

// statesWith GETs the state instances of outlets and decodes them as a
// Read does.
func (d *Driver) statesWith(ctx context.Context, det *detection, outlets []int) ([]power.Outlet, error) {
	var col column
	for _, c := range det.layout.columns {
		if c.field == fieldState {
			col = c
			break
		}
	}
	var asked []outlet
	var oids []string
	for _, o := range det.layout.outlets {
		row, ok := col.at[o.number]
		if !ok || !slices.Contains(outlets, o.number) {
			continue
		}
		asked = append(asked, o)
		oids = append(oids, snmp.At(col.obj.OID, row))
	}
	if len(oids) == 0 {
		return nil, nil
	}
	got := map[string]snmp.Varbind{}
	if err := d.get(ctx, oids, got); err != nil {
		return nil, err
	}
	os := make([]power.Outlet, 0, len(asked))
	for i, o := range asked {
		v, ok := got[oids[i]]
		if !ok {
			return nil, fmt.Errorf("%w: no %s for outlet %d", errGone, col.obj.row(col.at[o.number]).name, o.number)
		}
		out := power.Outlet{Number: o.number, Name: o.name, State: power.Unknown}
		if n, isInt := v.Integer(); isInt {
			out.State = det.dialect.state(n)
		}
		os = append(os, out)
	}
	return os, nil
}
