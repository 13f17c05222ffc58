package pdusim

import (
	"time"

	"github.com/gosnmp/gosnmp"
)

// access is what a request's credentials allow.
type access int

const (
	readOnly access = iota
	readWrite
	// denied: an SNMPv3 user below its own security level, which net-snmp
	// answers with authorizationError.
	denied
)

// maxBulkVarbinds bounds a GETBULK response before it is cut to size.
const maxBulkVarbinds = 2048

// result is the error status, index and varbinds of a response PDU.
type result struct {
	status gosnmp.SNMPError
	index  int
	vars   []gosnmp.SnmpPDU
}

// answer carries out one request PDU as net-snmp and APC cards do, with the
// device locked for the whole request so that each is atomic. The caller
// has checked the PDU type.
func (d *Device) answer(req *gosnmp.SnmpPacket, acc access) result {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	v1 := req.Version == gosnmp.Version1
	switch {
	case acc == denied:
		return result{gosnmp.AuthorizationError, 0, req.Variables}
	case req.PDUType == gosnmp.GetRequest:
		return d.get(req.Variables, v1, now)
	case req.PDUType == gosnmp.GetNextRequest:
		return d.getNext(req.Variables, v1, now)
	case req.PDUType == gosnmp.GetBulkRequest:
		return d.getBulk(req, now)
	default:
		return d.set(req.Variables, v1, acc == readWrite, now)
	}
}

// visible hides what SNMPv1 cannot carry: a v1 agent skips Counter64
// objects in a walk and does not know them in a GET (RFC 3584 §4.2.2).
func visible(x *object, v1 bool) bool {
	return !v1 || x.value.typ != gosnmp.Counter64
}

func varbind(x *object, now time.Time) gosnmp.SnmpPDU {
	v := x.read(now)
	return gosnmp.SnmpPDU{Name: x.name, Type: v.typ, Value: v.v}
}

// fail is an error response: v1 gets the v1 status (RFC 3584 §4.4), and the
// varbinds go back as they came.
func fail(status gosnmp.SNMPError, i int, vars []gosnmp.SnmpPDU, v1 bool) result {
	if v1 {
		status = v1Status(status)
	}
	return result{status, i + 1, vars}
}

func (d *Device) get(vars []gosnmp.SnmpPDU, v1 bool, now time.Time) result {
	out := make([]gosnmp.SnmpPDU, len(vars))
	for i, vb := range vars {
		o, err := parseOID(vb.Name)
		var x *object
		if err == nil {
			x = d.store.lookup(o)
		}
		switch {
		case x != nil && visible(x, v1):
			out[i] = varbind(x, now)
		case v1:
			// One unknown OID fails the whole v1 GET.
			return fail(gosnmp.NoSuchName, i, vars, v1)
		case err == nil && d.store.knownObject(o):
			out[i] = gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.NoSuchInstance}
		default:
			out[i] = gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.NoSuchObject}
		}
	}
	return result{vars: out}
}

// next returns the varbind after name, or false at the end of the MIB.
func (d *Device) next(name string, v1 bool, now time.Time) (gosnmp.SnmpPDU, bool) {
	o, _ := parseOID(name) // a name that is no OID walks from the start
	x := d.store.next(o, func(x *object) bool { return visible(x, v1) })
	if x == nil {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView}, false
	}
	return varbind(x, now), true
}

func (d *Device) getNext(vars []gosnmp.SnmpPDU, v1 bool, now time.Time) result {
	out := make([]gosnmp.SnmpPDU, len(vars))
	for i, vb := range vars {
		var ok bool
		if out[i], ok = d.next(vb.Name, v1, now); !ok && v1 {
			return fail(gosnmp.NoSuchName, i, vars, v1)
		}
	}
	return result{vars: out}
}

// getBulk follows RFC 3416 §4.2.3: one GETNEXT for each non-repeater, then
// up to max-repetitions rounds over the rest, stopping early once every
// repeater has reached the end of the MIB.
func (d *Device) getBulk(req *gosnmp.SnmpPacket, now time.Time) result {
	vars := req.Variables
	nonRepeaters := min(int(req.NonRepeaters), len(vars))
	var out []gosnmp.SnmpPDU
	for _, vb := range vars[:nonRepeaters] {
		pdu, _ := d.next(vb.Name, false, now)
		out = append(out, pdu)
	}
	last := make([]string, 0, len(vars)-nonRepeaters)
	for _, vb := range vars[nonRepeaters:] {
		last = append(last, vb.Name)
	}
	for r := 0; r < int(req.MaxRepetitions) && len(last) > 0 && len(out) < maxBulkVarbinds; r++ {
		more := false
		for j, name := range last {
			pdu, ok := d.next(name, false, now)
			out = append(out, pdu)
			if ok {
				last[j], more = pdu.Name, true
			}
		}
		if !more {
			break
		}
	}
	return result{vars: out}
}

// set checks every varbind before applying any, so that a refused SET
// changes nothing. Each accepted SET is carried out once per request: there
// is no deduplication by request ID, as there is none on a real agent.
func (d *Device) set(vars []gosnmp.SnmpPDU, v1, write bool, now time.Time) result {
	if !write {
		return fail(gosnmp.NoAccess, 0, vars, v1)
	}
	applies := make([]func(time.Time), 0, len(vars))
	for i, vb := range vars {
		o, err := parseOID(vb.Name)
		var x *object
		if err == nil {
			x = d.store.lookup(o)
		}
		switch {
		case x != nil && x.writable():
			apply, status := x.live.set(vb)
			if status != gosnmp.NoError {
				return fail(status, i, vars, v1)
			}
			applies = append(applies, apply)
		case x != nil:
			return fail(gosnmp.NotWritable, i, vars, v1)
		case err == nil && d.store.writableObject(o):
			return fail(gosnmp.NoCreation, i, vars, v1)
		default:
			return fail(gosnmp.NotWritable, i, vars, v1)
		}
	}
	for _, apply := range applies {
		apply(now)
	}
	return result{vars: vars}
}

// v1Status maps an SNMPv2 error status onto SNMPv1's (RFC 3584 §4.4).
func v1Status(s gosnmp.SNMPError) gosnmp.SNMPError {
	switch s {
	case gosnmp.WrongValue, gosnmp.WrongEncoding, gosnmp.WrongType, gosnmp.WrongLength, gosnmp.InconsistentValue:
		return gosnmp.BadValue
	case gosnmp.NoAccess, gosnmp.NotWritable, gosnmp.NoCreation, gosnmp.InconsistentName, gosnmp.AuthorizationError:
		return gosnmp.NoSuchName
	case gosnmp.ResourceUnavailable, gosnmp.CommitFailed, gosnmp.UndoFailed:
		return gosnmp.GenErr
	}
	return s
}
