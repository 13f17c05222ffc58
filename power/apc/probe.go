package apc

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// prober asks the agent whether objects are there, many in one request,
// the same way under every SNMP version: a GETNEXT of the OID just before
// each (snmp.Before), whose answer is the object itself when it exists and
// whatever follows it when not. A GET would do under v2c, but under v1 one
// missing object fails a whole GET with noSuchName; a GETNEXT fails only
// past the end of the agent's MIB, and then everything at or after that
// point is missing too, which the prober remembers.
type prober struct {
	c   snmp.Client
	end string // the least OID known to lie past the agent's last object; "" if none
	// known is every object an answer held; absent every object asked
	// for whose answer was something else. Neither is asked again.
	known  map[string]snmp.Varbind
	absent map[string]bool
}

// probe returns the objects of oids that exist, by OID (and whatever
// answered in place of those that do not), in as few requests
// of maxProbe objects as there can be (one more for each end of the MIB
// run into).
func (p *prober) probe(ctx context.Context, oids []string) (map[string]snmp.Varbind, error) {
	if p.known == nil {
		p.known, p.absent = map[string]snmp.Varbind{}, map[string]bool{}
	}
	got := map[string]snmp.Varbind{}
	var todo []string
	for _, o := range oids {
		if v, ok := p.known[o]; ok {
			got[o] = v
		} else if !p.absent[o] {
			todo = append(todo, o)
		}
	}
	slices.SortFunc(todo, snmp.CompareOIDs)
	todo = slices.Compact(todo)
	for len(todo) > 0 {
		todo = p.beforeEnd(todo)
		if len(todo) == 0 {
			break
		}
		n := min(len(todo), maxProbe)
		asked := make([]string, n)
		for i, o := range todo[:n] {
			asked[i] = snmp.Before(o)
		}
		vbs, err := p.c.GetNext(ctx, asked)
		var ae *snmp.AgentError
		if errors.As(err, &ae) && ae.Status == snmp.NoSuchName && ae.Index >= 1 && ae.Index <= n {
			// SNMPv1's end of the MIB: nothing follows asked[Index-1].
			p.end = asked[ae.Index-1]
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("probing %d objects from %s: %w", n, todo[0], err)
		}
		// What answered in place of a missing object is there too, and
		// is kept: findRows learns the next row from it.
		for _, v := range vbs {
			if !v.Missing() {
				got[v.OID], p.known[v.OID] = v, v
			}
		}
		for _, o := range todo[:n] {
			if _, ok := got[o]; !ok {
				p.absent[o] = true
			}
		}
		todo = todo[n:]
	}
	return got, nil
}

// beforeEnd drops from sorted oids those whose GETNEXT is known to run
// past the end of the MIB.
func (p *prober) beforeEnd(oids []string) []string {
	if p.end == "" {
		return oids
	}
	return slices.DeleteFunc(oids, func(o string) bool { return snmp.CompareOIDs(snmp.Before(o), p.end) >= 0 })
}

// maxProbe bounds the objects of one probe: a card whose time grows with
// each varbind answers 30 in 1.5 s at 50 ms each, inside the default 2 s
// SNMP timeout, where 60 would never be answered in time.
const maxProbe = 30

// rowsOf returns the instances of column col at rows.
func rowsOf(col string, rows []int) []string {
	oids := make([]string, len(rows))
	for i, r := range rows {
		oids[i] = snmp.At(col, r)
	}
	return oids
}

// upTo returns the rows 1 to n.
func upTo(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i + 1
	}
	return rows
}

// column returns the values of column col that got holds, by row.
func columnOf(got map[string]snmp.Varbind, col string, rows []int) map[int]snmp.Varbind {
	m := map[int]snmp.Varbind{}
	for _, r := range rows {
		if v, ok := got[snmp.At(col, r)]; ok {
			m[r] = v
		}
	}
	return m
}

// outletTable is what outletRows learnt of an outlet table.
type outletTable struct {
	rows []int                   // the rows of its state column, in order
	got  map[string]snmp.Varbind // every object probed that exists
}

// outletRows finds the rows of the outlet table whose state column is
// state, and probes the columns perRow at those rows and the objects extra
// in the same request. With the table's size known (its size object
// answered), the rows are 1 to size, and the state column's first and last
// rows confirm it; otherwise, or when they do not answer, the rows are
// found by probing the state column a few rows at a time. A table with no
// rows is errNoTable.
func (p *prober) outletRows(ctx context.Context, state string, size int, perRow []string, extra func(rows []int) []string) (outletTable, error) {
	if size > 0 {
		rows := upTo(size)
		ask := append(rowsOf(state, []int{1, size}), extra(rows)...)
		for _, col := range perRow {
			ask = append(ask, rowsOf(col, rows)...)
		}
		got, err := p.probe(ctx, ask)
		if err != nil {
			return outletTable{}, err
		}
		if _, ok := got[snmp.At(state, 1)]; ok {
			if _, ok := got[snmp.At(state, size)]; ok {
				return outletTable{rows: rows, got: got}, nil
			}
		}
	}
	rows, err := p.findRows(ctx, state)
	if err != nil {
		return outletTable{}, err
	}
	if len(rows) == 0 {
		return outletTable{}, errNoTable
	}
	ask := extra(rows)
	for _, col := range perRow {
		ask = append(ask, rowsOf(col, rows)...)
	}
	got, err := p.probe(ctx, ask)
	return outletTable{rows: rows, got: got}, err
}

// findRows finds the rows of column col by probing rows 1 to 9, then on
// to twice as many past the last row found while the last row asked had
// one at or after it: the GETNEXT for row r answers the first row from r
// on, so no row is missed however the table is numbered, and a table
// numbered 1 to n costs n + 1 objects.
func (p *prober) findRows(ctx context.Context, col string) ([]int, error) {
	found := map[int]bool{}
	for lo, n := 1, 9; ; n *= 2 {
		ask := make([]int, n)
		for i := range ask {
			ask[i] = lo + i
		}
		got, err := p.probe(ctx, rowsOf(col, ask))
		if err != nil {
			return nil, err
		}
		last := 0
		for r := range rowsIn(got, col) {
			found[r] = true
			last = max(last, r)
		}
		if last < lo+n-1 {
			break
		}
		lo = last + 1
	}
	rows := make([]int, 0, len(found))
	for r := range found {
		rows = append(rows, r)
	}
	slices.Sort(rows)
	return rows, nil
}

// noExtra is outletRows' extra for a table that needs nothing more.
func noExtra([]int) []string { return nil }
