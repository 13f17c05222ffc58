package mibs

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// fakeAgent is an in-memory SNMP agent over a recording, with SNMPv1 or
// v2c semantics and a log of the requests it got.
type fakeAgent struct {
	version  string
	oids     []string
	vals     map[string]snmp.Varbind
	requests []string // op of each request
	sets     []string // oid=value of each SET
}

func newFake(version string, objects map[string]snmp.Varbind) *fakeAgent {
	f := &fakeAgent{version: version, vals: objects}
	for o := range objects {
		f.oids = append(f.oids, o)
	}
	slices.SortFunc(f.oids, snmp.CompareOIDs)
	return f
}

func (f *fakeAgent) next(oid string) (snmp.Varbind, bool) {
	i, found := slices.BinarySearchFunc(f.oids, oid, snmp.CompareOIDs)
	if found {
		i++
	}
	if i >= len(f.oids) {
		return snmp.Varbind{}, false
	}
	return f.vals[f.oids[i]], true
}

func (f *fakeAgent) Get(ctx context.Context, oids []string) ([]snmp.Varbind, error) {
	f.requests = append(f.requests, "get")
	out := make([]snmp.Varbind, len(oids))
	for i, o := range oids {
		v, ok := f.vals[o]
		if !ok {
			if f.version == "1" {
				return nil, &snmp.AgentError{Status: snmp.NoSuchName, Index: i + 1, OID: o}
			}
			v = snmp.Varbind{OID: o, Kind: snmp.KindNoSuchInstance}
		}
		out[i] = v
	}
	return out, nil
}

func (f *fakeAgent) GetNext(ctx context.Context, oids []string) ([]snmp.Varbind, error) {
	f.requests = append(f.requests, "getnext")
	out := make([]snmp.Varbind, len(oids))
	for i, o := range oids {
		v, ok := f.next(o)
		if !ok {
			if f.version == "1" {
				return nil, &snmp.AgentError{Status: snmp.NoSuchName, Index: i + 1, OID: o}
			}
			v = snmp.Varbind{OID: o, Kind: snmp.KindEndOfMibView}
		}
		out[i] = v
	}
	return out, nil
}

func (f *fakeAgent) GetBulk(ctx context.Context, oids []string, nonRep, reps int) ([]snmp.Varbind, error) {
	f.requests = append(f.requests, "getbulk")
	if f.version == "1" {
		return nil, errors.New("fake: GETBULK under SNMPv1")
	}
	step := func(o string) snmp.Varbind {
		if v, ok := f.next(o); ok {
			return v
		}
		return snmp.Varbind{OID: o, Kind: snmp.KindEndOfMibView}
	}
	var out []snmp.Varbind
	for _, o := range oids[:nonRep] {
		out = append(out, step(o))
	}
	cursor := slices.Clone(oids[nonRep:])
	for range reps {
		for j, o := range cursor {
			v := step(o)
			out = append(out, v)
			cursor[j] = v.OID
		}
	}
	return out, nil
}

func (f *fakeAgent) Set(ctx context.Context, oid string, value int) error {
	f.requests = append(f.requests, "set")
	f.sets = append(f.sets, oid+"="+strconv.Itoa(value))
	return nil
}

func (f *fakeAgent) Close() error { return nil }

func (f *fakeAgent) count(op string) int {
	n := 0
	for _, r := range f.requests {
		if r == op {
			n++
		}
	}
	return n
}

const recordings = "../pdusim/testdata/recordings/"

// withInt returns v with the integer n.
func withInt(v snmp.Varbind, n int64) snmp.Varbind { v.Num = n; return v }
