package mibs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// prober sends detection's GETNEXTs, many in one request, the same way
// under every SNMP version. Asking for the OID just before an object
// (snmp.Before) answers the object itself when it exists and whatever
// follows it when not: a GET would do under v2c, but under v1 one missing
// object fails a whole GET with noSuchName, where a GETNEXT fails only
// past the end of the agent's MIB, which the prober then remembers.
type prober struct {
	c   snmp.Client
	end string // the least OID asked that nothing follows; "" if none
	// seen is every object an answer held, by its OID.
	seen map[string]snmp.Varbind
}

// maxProbe bounds the objects of one request, as power/apc does: a card
// whose time grows with each varbind answers 30 in 1.5 s at 50 ms each,
// inside the default 2 s SNMP timeout.
const maxProbe = 30

// next sends a GETNEXT of each of asks, at most maxProbe a request, and
// returns each answer by the OID asked; an ask past the end of the MIB has
// none. Every answer is also kept in seen.
func (p *prober) next(ctx context.Context, asks []string) (map[string]snmp.Varbind, error) {
	if p.seen == nil {
		p.seen = map[string]snmp.Varbind{}
	}
	asks = slices.Clone(asks)
	slices.SortFunc(asks, snmp.CompareOIDs)
	asks = slices.Compact(asks)
	got := map[string]snmp.Varbind{}
	for len(asks) > 0 {
		if p.end != "" {
			asks = slices.DeleteFunc(asks, func(o string) bool { return snmp.CompareOIDs(o, p.end) >= 0 })
			if len(asks) == 0 {
				break
			}
		}
		n := min(len(asks), maxProbe)
		vbs, err := p.c.GetNext(ctx, asks[:n])
		var ae *snmp.AgentError
		if errors.As(err, &ae) && ae.Status == snmp.NoSuchName && ae.Index >= 1 && ae.Index <= n {
			p.end = asks[ae.Index-1] // SNMPv1's end of the MIB
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("probing %d objects from %s: %w", n, asks[0], err)
		}
		for i, v := range vbs {
			if i < n && !v.Missing() {
				got[asks[i]], p.seen[v.OID] = v, v
			}
		}
		asks = asks[n:]
	}
	return got, nil
}

// exists returns the GETNEXTs whose answers are oids, where they exist,
// but for those an answer held already.
func (p *prober) exists(oids []string) []string {
	var asks []string
	for _, o := range oids {
		if _, ok := p.seen[o]; !ok {
			asks = append(asks, snmp.Before(o))
		}
	}
	return asks
}

// has returns object oid if an answer held it.
func (p *prober) has(oid string) (snmp.Varbind, bool) {
	v, ok := p.seen[oid]
	return v, ok
}

// below returns the index of oid under column col, if it is one of col's.
func below(oid, col string) (string, bool) {
	return strings.CutPrefix(oid, col+".")
}

// rowSearch finds the rows of column col whose instances end in suffix
// (col.row+suffix), a few rows a request: rows prefix.next to
// prefix.next+n-1 are asked, and while the last one asked has a row at or
// after it, the search goes on from there with twice as many. Rows are
// found however the table is numbered and across the units of a daisy
// chain (unit.outlet), and a table of rows 1 to n costs about n + 1
// objects.
type rowSearch struct {
	col, suffix string
	prefix      string // the row index's arcs before its last, "" for a one-arc index
	next, n     int
	done        bool
	found       []string // row indices (suffix excluded), in order found
	inPrefix    int      // rows found under prefix
}

// newRowSearch starts a search at row first, with n rows a request; known
// says first is a row already.
func newRowSearch(col, suffix, first string, n int, known bool) *rowSearch {
	s := &rowSearch{col: col, suffix: suffix, n: n}
	s.at(first)
	if known {
		s.found, s.inPrefix = []string{first}, 1
		s.next++
	}
	return s
}

// at moves the search to row.
func (s *rowSearch) at(row string) {
	s.prefix, s.next = "", 0
	i := strings.LastIndexByte(row, '.')
	if i >= 0 {
		s.prefix = row[:i+1]
	}
	s.next, _ = strconv.Atoi(row[i+1:])
}

func (s *rowSearch) instance(j int) string {
	return s.col + "." + s.prefix + strconv.Itoa(j) + s.suffix
}

// asks returns this round's GETNEXTs, none once the search is done. A
// search of instances with a suffix (row.sensor) also asks for what
// follows the last row's every instance: the next row, if any.
func (s *rowSearch) asks() []string {
	if s.done {
		return nil
	}
	asks := make([]string, s.n)
	for i := range asks {
		asks[i] = snmp.Before(s.instance(s.next + i))
	}
	if s.suffix != "" {
		asks = append(asks, s.col+"."+s.prefix+strconv.Itoa(s.next+s.n-1)+lastArc)
	}
	return asks
}

// lastArc is the greatest sub-identifier: what follows x.lastArc is what
// follows every instance under x.
const lastArc = ".4294967295"

// take reads the answers to the round's asks and decides whether to go on.
func (s *rowSearch) take(p *prober, got map[string]snmp.Varbind) {
	if s.done {
		return
	}
	last := s.next + s.n - 1
	for j := s.next; j <= last; j++ {
		if _, ok := p.has(s.instance(j)); ok && !slices.Contains(s.found, s.prefix+strconv.Itoa(j)) {
			s.found = append(s.found, s.prefix+strconv.Itoa(j))
			s.inPrefix++
		}
	}
	v, ok := got[snmp.Before(s.instance(last))]
	if s.suffix != "" {
		v, ok = got[s.col+"."+s.prefix+strconv.Itoa(last)+lastArc]
	}
	idx, in := below(v.OID, s.col)
	if !ok || !in {
		s.done = true
		return
	}
	row := idx
	if s.suffix != "" { // the next row's first instance
		row = idx[:max(strings.LastIndexByte(idx, '.'), 0)]
	}
	lastRow := s.prefix + strconv.Itoa(last)
	switch c := snmp.CompareOIDs("."+row, "."+lastRow); {
	case c < 0:
		s.done = true
	case c == 0:
		s.next, s.n = last+1, s.n*2
	default:
		// Another unit of a daisy chain, or a gap: a unit is most
		// likely as long as the one before.
		was := s.prefix
		s.at(row)
		if s.prefix != was && s.inPrefix > 0 {
			s.n, s.inPrefix = s.inPrefix+1, 0
		} else {
			s.n *= 2
		}
	}
}
