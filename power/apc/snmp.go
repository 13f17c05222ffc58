package apc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// snmpClient is everything this package asks of an SNMP agent. The gosnmp
// implementation (gosnmp.go) is the only code that sees gosnmp; tests use an
// in-memory fake. Like gosnmp itself, an implementation serves one call at a
// time.
//
// Agent errors (an error-status in the response PDU) come back as
// *agentError, timeouts as errors wrapping errTimeout, and SNMPv3 security
// rejections as errors wrapping errAuth.
type snmpClient interface {
	Get(ctx context.Context, oids []string) ([]varbind, error)
	GetNext(ctx context.Context, oids []string) ([]varbind, error)
	// GetBulk sends one GETBULK (SNMP v2c and v3 only): the first
	// nonRepeaters OIDs are read once, each of the others maxRepetitions
	// times.
	GetBulk(ctx context.Context, oids []string, nonRepeaters, maxRepetitions int) ([]varbind, error)
	// Set writes one INTEGER. It is sent exactly once: never retried.
	Set(ctx context.Context, oid string, value int) error
	// Close closes the sockets; a later call opens them again.
	Close() error
}

// maxVarbinds bounds the variable bindings of one request and its answer.
// APC management cards answer from a small buffer; 60 INTEGER bindings keep
// a response near 1400 bytes, inside one unfragmented UDP datagram even with
// SNMPv3's headers. gosnmp refuses more than 60 OIDs in one GET, too.
const maxVarbinds = 60

// kind is the type of a variable binding's value, reduced to what this
// package needs.
type kind uint8

const (
	kindNull   kind = iota
	kindInt         // INTEGER, Counter32, Gauge32, TimeTicks, Counter64
	kindString      // OCTET STRING, IpAddress
	kindOID         // OBJECT IDENTIFIER
	kindNoSuchObject
	kindNoSuchInstance
	kindEndOfMibView
)

// varbind is one variable binding of a response.
type varbind struct {
	oid  string // numeric, with a leading dot
	kind kind
	num  int64  // kindInt
	str  string // kindString, kindOID
}

// missing reports whether the agent answered that the object is not there.
func (v varbind) missing() bool {
	return v.kind == kindNoSuchObject || v.kind == kindNoSuchInstance || v.kind == kindEndOfMibView
}

// integer returns the value of an integer-typed binding.
func (v varbind) integer() (int64, bool) { return v.num, v.kind == kindInt }

// snmpStatus is a PDU's error-status (RFC 3416, section 3).
type snmpStatus int

const (
	noError snmpStatus = iota
	tooBig
	noSuchName
	badValue
	readOnly
	genErr
	noAccess
	wrongType
	wrongLength
	wrongEncoding
	wrongValue
	noCreation
	inconsistentValue
	resourceUnavailable
	commitFailed
	undoFailed
	authorizationError
	notWritable
	inconsistentName
)

var statusNames = [...]string{
	"noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr",
	"noAccess", "wrongType", "wrongLength", "wrongEncoding", "wrongValue",
	"noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
	"undoFailed", "authorizationError", "notWritable", "inconsistentName",
}

func (s snmpStatus) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "error-status " + strconv.Itoa(int(s))
}

// refused reports whether a SET answered with s was certainly not carried
// out. Each of these is raised while the agent checks the request, before it
// touches anything (RFC 3416, 4.2.5; RFC 1157, 4.1.5).
//
// genErr is not among them: some APC cards answer genErr to a SET that
// worked. Nor are commitFailed and undoFailed, which speak of an assignment
// that was at least attempted, or any status this list does not know.
func (s snmpStatus) refused() bool {
	switch s {
	case tooBig, noSuchName, badValue, readOnly, noAccess, wrongType,
		wrongLength, wrongEncoding, wrongValue, noCreation, inconsistentValue,
		resourceUnavailable, authorizationError, notWritable, inconsistentName:
		return true
	}
	return false
}

// agentError is an error-status the agent answered with.
type agentError struct {
	status snmpStatus
	index  int    // 1-based error-index of the offending binding; 0 if none
	oid    string // that binding's OID, when index points at one
}

func (e *agentError) Error() string {
	if e.oid != "" {
		return fmt.Sprintf("agent answered %v for %s", e.status, e.oid)
	}
	return fmt.Sprintf("agent answered %v", e.status)
}

var (
	// errTimeout marks a request that got no answer. SNMP agents do not
	// answer a wrong community at all, so this is also what bad
	// credentials look like.
	errTimeout = errors.New("no answer")

	// errAuth marks an SNMPv3 request the agent rejected in its security
	// layer (unknown user, wrong digest, undecryptable): it was not
	// processed.
	errAuth = errors.New("SNMPv3 credentials rejected by the agent")
)

// isStatus reports whether err is an agent error with status s.
func isStatus(err error, s snmpStatus) bool {
	var ae *agentError
	return errors.As(err, &ae) && ae.status == s
}

// walkColumns reads whole table columns in step: each request carries every
// column still being walked, a GETNEXT under SNMPv1 (a table of n rows costs
// n+1 requests) or a GETBULK under v2c and v3 (usually one or two). Every
// table this package walks has a single integer index; the result maps that
// index to the binding, one map per column. A column the agent does not
// serve comes back empty.
func walkColumns(ctx context.Context, c snmpClient, bulk bool, cols ...string) ([]map[int]varbind, error) {
	out := make([]map[int]varbind, len(cols))
	cursor := make([]string, len(cols)) // where each column goes on; "" once it ended
	for i, col := range cols {
		out[i] = map[int]varbind{}
		cursor[i] = col
	}
	// A loop guard against an agent that keeps answering without end;
	// no APC table comes near it.
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
		var vbs []varbind
		var err error
		if bulk {
			vbs, err = c.GetBulk(ctx, oids, 0, max(1, maxVarbinds/len(active)))
		} else {
			vbs, err = c.GetNext(ctx, oids)
		}
		if err != nil {
			// SNMPv1 has no endOfMibView: a GETNEXT past the last
			// object of the agent fails the whole request with
			// noSuchName. Retire the column it names and go on.
			var ae *agentError
			if !bulk && errors.As(err, &ae) && ae.status == noSuchName && ae.index >= 1 && ae.index <= len(active) {
				cursor[active[ae.index-1]] = ""
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

// advance takes one answer of walkColumns to a request for the columns
// active: it records each binding in its column's rows in out and moves the
// column's cursor on, or ends the column ("") past its last row.
func advance(vbs []varbind, active []int, cols, cursor []string, out []map[int]varbind) error {
	// A GETBULK answer holds the repetitions one after another, each
	// with one binding per requested column, so binding k belongs to
	// column k mod len(active); a GETNEXT answer is one repetition.
	for k, vb := range vbs {
		i := active[k%len(active)]
		if cursor[i] == "" {
			continue
		}
		if vb.missing() || !strings.HasPrefix(vb.oid, cols[i]+".") {
			cursor[i] = "" // past the end of the column
			continue
		}
		if compareOIDs(vb.oid, cursor[i]) <= 0 {
			return fmt.Errorf("walking %s: agent answered %s after %s: OIDs not increasing", cols[i], vb.oid, cursor[i])
		}
		cursor[i] = vb.oid
		if row, ok := rowOf(vb.oid, cols[i]); ok {
			out[i][row] = vb
		}
	}
	return nil
}

// rowOf returns the row index of oid in table column col, when oid is col
// followed by exactly one sub-identifier.
func rowOf(oid, col string) (int, bool) {
	rest, ok := strings.CutPrefix(oid, col+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// at returns the instance OID of row n of column col.
func at(col string, n int) string { return col + "." + strconv.Itoa(n) }

// before returns an OID whose GETNEXT successor is oid itself, for an
// instance of a scalar (x.0) or of a table with a single integer index
// (x.n): the parent object, or the row before. GETBULK's non-repeaters are
// GETNEXTs, so this is how a GETBULK reads a known instance.
func before(oid string) string {
	i := strings.LastIndexByte(oid, '.')
	n, err := strconv.Atoi(oid[i+1:])
	if err != nil || n <= 0 {
		return oid[:i]
	}
	return oid[:i+1] + strconv.Itoa(n-1)
}

// compareOIDs orders two numeric OIDs the way an agent does: sub-identifier
// by sub-identifier, a prefix before its extensions.
func compareOIDs(a, b string) int {
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
