package pdusim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// oid is a parsed object identifier. Comparing parsed arcs, not strings, is
// what puts .1.10 after .1.9 the way SNMP orders a walk.
type oid []uint32

// parseOID reads a dotted OID with or without its leading dot.
func parseOID(s string) (oid, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("OID %q has fewer than two arcs", s)
	}
	o := make(oid, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %q is not a number", s, p)
		}
		o[i] = uint32(n)
	}
	return o, nil
}

// mustOID is parseOID for the constants of this package.
func mustOID(s string) oid {
	o, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String gives the OID with a leading dot, as gosnmp and net-snmp's -On do.
func (o oid) String() string {
	var b strings.Builder
	for _, n := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return b.String()
}

// compare orders OIDs arc by arc; a prefix sorts before what it prefixes.
func (o oid) compare(p oid) int {
	for i := 0; i < len(o) && i < len(p); i++ {
		switch {
		case o[i] < p[i]:
			return -1
		case o[i] > p[i]:
			return 1
		}
	}
	return len(o) - len(p)
}

// hasPrefix reports whether p is o or an ancestor of o.
func (o oid) hasPrefix(p oid) bool {
	return len(o) >= len(p) && o[:len(p)].compare(p) == 0
}

// child returns o extended by arcs, in a new slice.
func (o oid) child(arcs ...uint32) oid {
	c := make(oid, 0, len(o)+len(arcs))
	return append(append(c, o...), arcs...)
}
