package snmp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// WalkTable reads whole table columns in step: each request carries every
// column still being walked, a GETNEXT under SNMPv1 (a table of n rows costs
// n+1 requests) or a GETBULK under v2c and v3 (usually one or two). The
// result maps each row's index (the sub-identifiers after the column, "3" or
// "0.3") to its binding, one map per column. A column the agent does not
// serve comes back empty.
func WalkTable(ctx context.Context, c Client, bulk bool, cols ...string) ([]map[string]Varbind, error) {
	out := make([]map[string]Varbind, len(cols))
	cursor := make([]string, len(cols)) // where each column goes on; "" once it ended
	for i, col := range cols {
		out[i] = map[string]Varbind{}
		cursor[i] = col
	}
	// A loop guard against an agent that keeps answering without end;
	// no PDU table comes near it.
	for range 4096 {
		var active []int
		for i, cur := range cursor {
			if cur != "" {
				active = append(active, i)
			}
		}
		if len(active) == 0 {
			return out, nil
		}
		oids := make([]string, len(active))
		for k, i := range active {
			oids[k] = cursor[i]
		}
		var vbs []Varbind
		var err error
		if bulk {
			vbs, err = c.GetBulk(ctx, oids, 0, max(1, MaxVarbinds/len(active)))
		} else {
			vbs, err = c.GetNext(ctx, oids)
		}
		if err != nil {
			// SNMPv1 has no endOfMibView: a GETNEXT past the last
			// object of the agent fails the whole request with
			// noSuchName. Retire the column it names and go on.
			var ae *AgentError
			if !bulk && errors.As(err, &ae) && ae.Status == NoSuchName && ae.Index >= 1 && ae.Index <= len(active) {
				cursor[active[ae.Index-1]] = ""
				continue
			}
			return nil, err
		}
		if len(vbs) == 0 {
			return out, nil
		}
		if err := advance(vbs, active, cols, cursor, out); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("walking %s: the agent does not stop answering", strings.Join(cols, ", "))
}

// WalkColumns is WalkTable for tables with a single integer index: it maps
// each row number to its binding.
func WalkColumns(ctx context.Context, c Client, bulk bool, cols ...string) ([]map[int]Varbind, error) {
	got, err := WalkTable(ctx, c, bulk, cols...)
	if err != nil {
		return nil, err
	}
	out := make([]map[int]Varbind, len(got))
	for i, m := range got {
		out[i] = map[int]Varbind{}
		for idx, v := range m {
			if n, err := strconv.Atoi(idx); err == nil && n >= 0 {
				out[i][n] = v
			}
		}
	}
	return out, nil
}

// advance takes one answer of WalkTable to a request for the columns
// active: it records each binding in its column's rows in out and moves the
// column's cursor on, or ends the column ("") past its last row.
func advance(vbs []Varbind, active []int, cols, cursor []string, out []map[string]Varbind) error {
	// A GETBULK answer holds the repetitions one after another, each
	// with one binding per requested column, so binding k belongs to
	// column k mod len(active); a GETNEXT answer is one repetition.
	for k, vb := range vbs {
		i := active[k%len(active)]
		if cursor[i] == "" {
			continue
		}
		if vb.Missing() || !strings.HasPrefix(vb.OID, cols[i]+".") {
			cursor[i] = "" // past the end of the column
			continue
		}
		if CompareOIDs(vb.OID, cursor[i]) <= 0 {
			return fmt.Errorf("walking %s: agent answered %s after %s: OIDs not increasing", cols[i], vb.OID, cursor[i])
		}
		cursor[i] = vb.OID
		out[i][strings.TrimPrefix(vb.OID, cols[i]+".")] = vb
	}
	return nil
}

// RowOf returns the row index of oid in table column col, when oid is col
// followed by exactly one sub-identifier.
func RowOf(oid, col string) (int, bool) {
	rest, ok := strings.CutPrefix(oid, col+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// At returns the instance OID of row n of column col.
func At(col string, n int) string { return col + "." + strconv.Itoa(n) }

// Before returns an OID whose GETNEXT successor is oid itself, for an
// instance of a scalar (x.0) or a table row (x.n, x.u.n): the parent
// object, or the row before. GETBULK's non-repeaters are GETNEXTs, so this
// is how a GETBULK reads a known instance.
func Before(oid string) string {
	i := strings.LastIndexByte(oid, '.')
	n, err := strconv.Atoi(oid[i+1:])
	if err != nil || n <= 0 {
		return oid[:i]
	}
	return oid[:i+1] + strconv.Itoa(n-1)
}

// CompareOIDs orders two numeric OIDs the way an agent does: sub-identifier
// by sub-identifier, a prefix before its extensions.
func CompareOIDs(a, b string) int {
	as := strings.Split(strings.TrimPrefix(a, "."), ".")
	bs := strings.Split(strings.TrimPrefix(b, "."), ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.ParseUint(as[i], 10, 32)
		y, _ := strconv.ParseUint(bs[i], 10, 32)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	switch {
	case len(as) < len(bs):
		return -1
	case len(as) > len(bs):
		return 1
	}
	return 0
}
