package pdusim

import (
	"fmt"
	"slices"
	"time"

	"github.com/gosnmp/gosnmp"
)

// value is one typed SNMP value, held in the form gosnmp marshals it:
// Integer as int, OctetString and Opaque as []byte, ObjectIdentifier as a
// dotted string with a leading dot, IPAddress as 4 bytes, Counter32, Gauge32
// and TimeTicks as uint32, Counter64 as uint64.
type value struct {
	typ gosnmp.Asn1BER
	v   any
}

func integer(n int) value       { return value{gosnmp.Integer, n} }
func octets(s string) value     { return value{gosnmp.OctetString, []byte(s)} }
func objectID(o string) value   { return value{gosnmp.ObjectIdentifier, mustOID(o).String()} }
func gauge32(n uint32) value    { return value{gosnmp.Gauge32, n} }
func timeTicks(n uint32) value  { return value{gosnmp.TimeTicks, n} }
func ipAddress(b [4]byte) value { return value{gosnmp.IPAddress, b[:]} }
func counter64(n uint64) value  { return value{gosnmp.Counter64, n} }

// int returns an INTEGER's number.
func (v value) int() (int, bool) {
	n, ok := v.v.(int)
	return n, ok && v.typ == gosnmp.Integer
}

// object is one instance in the store.
type object struct {
	oid   oid
	name  string   // oid.String(): the key requests are looked up by
	value value    // what a static object reads
	live  *binding // set when the outlet layer serves this object
}

// binding makes an object live: read from, and written to, the outlets.
// Both functions run with the device locked.
type binding struct {
	get func(now time.Time) value
	// set checks a written value and returns how to apply it, or the SNMPv2
	// error status that refuses it. Checking every varbind of a SET before
	// applying any keeps a refused SET free of side effects. nil: read-only.
	set func(v gosnmp.SnmpPDU) (apply func(now time.Time), status gosnmp.SNMPError)
}

// read returns what the object holds now.
func (o *object) read(now time.Time) value {
	if o.live != nil {
		return o.live.get(now)
	}
	return o.value
}

func (o *object) writable() bool { return o.live != nil && o.live.set != nil }

// store is the device's MIB: instances sorted in OID order, so that GETNEXT
// and GETBULK walk them the way a real agent does.
type store struct {
	objects []*object
	byName  map[string]*object
	// columns holds every instance's OID less its last arc. Without MIB
	// files that is the best guess at "a known object": a GET of an
	// unknown instance under it reads noSuchInstance rather than
	// noSuchObject, as net-snmp answers for sPDUOutletCtl.99.
	columns map[string]bool
}

// newStore sorts objects and rejects duplicates.
func newStore(objects []*object) (*store, error) {
	slices.SortStableFunc(objects, func(a, b *object) int { return a.oid.compare(b.oid) })
	s := &store{
		objects: objects,
		byName:  make(map[string]*object, len(objects)),
		columns: make(map[string]bool),
	}
	for i, o := range objects {
		if i > 0 && objects[i-1].oid.compare(o.oid) == 0 {
			return nil, fmt.Errorf("duplicate OID %s", o.name)
		}
		s.byName[o.name] = o
		s.columns[o.oid[:len(o.oid)-1].String()] = true
	}
	return s, nil
}

func newObject(o oid, v value) *object { return &object{oid: o, name: o.String(), value: v} }

// lookup returns the instance o, or nil.
func (s *store) lookup(o oid) *object { return s.byName[o.String()] }

// next returns the first instance after o that keep accepts, or nil at the
// end of the MIB.
func (s *store) next(o oid, keep func(*object) bool) *object {
	i, found := slices.BinarySearchFunc(s.objects, o, func(x *object, o oid) int { return x.oid.compare(o) })
	if found {
		i++
	}
	for ; i < len(s.objects); i++ {
		if keep == nil || keep(s.objects[i]) {
			return s.objects[i]
		}
	}
	return nil
}

// knownObject reports whether o names an instance of an object the store
// has instances of, going by the columns guessed in newStore.
func (s *store) knownObject(o oid) bool {
	for k := len(o); k >= 2; k-- {
		if s.columns[o[:k].String()] {
			return true
		}
	}
	return false
}

// writableObject reports whether the object o would be an instance of has a
// writable instance: then writing a missing instance is noCreation rather
// than notWritable, as net-snmp answers.
func (s *store) writableObject(o oid) bool {
	for k := len(o); k >= 2; k-- {
		col := o[:k]
		if !s.columns[col.String()] {
			continue
		}
		for x := s.next(col, nil); x != nil && x.oid.hasPrefix(col); x = s.next(x.oid, nil) {
			if x.writable() {
				return true
			}
		}
		return false
	}
	return false
}

// insert adds the instance o with value v, in order, unless the store has
// it; it returns the instance.
func (s *store) insert(o oid, v value) *object {
	if x := s.lookup(o); x != nil {
		return x
	}
	x := newObject(o, v)
	i, _ := slices.BinarySearchFunc(s.objects, o, func(x *object, o oid) int { return x.oid.compare(o) })
	s.objects = slices.Insert(s.objects, i, x)
	s.byName[x.name] = x
	s.columns[o[:len(o)-1].String()] = true
	return x
}
