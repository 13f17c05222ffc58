package apc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// fakeAgent is an in-memory SNMP agent: a sorted set of objects answered
// with SNMPv1 or v2c semantics, a log of the requests it got, and knobs to
// make it fail.
type fakeAgent struct {
	version string // "1": no GETBULK, snmp.NoSuchName errors; otherwise v2c rules
	oids    []string
	vals    map[string]snmp.Varbind

	requests []fakeRequest

	// setStatus answers a SET with an error-status; setErr fails it as
	// the transport would (a timeout).
	setStatus snmp.Status
	setErr    error
	// fail makes every request fail as the transport would.
	fail error
	// maxReps caps GETBULK repetitions, as an agent whose answer would
	// grow too big may do.
	maxReps int
}

type fakeRequest struct {
	op     string // get, getnext, getbulk, set
	oids   []string
	nonRep int
	reps   int
	value  int
}

func newFake(version string, objects map[string]snmp.Varbind) *fakeAgent {
	f := &fakeAgent{version: version, vals: map[string]snmp.Varbind{}}
	for oid, v := range objects {
		f.put(oid, v)
	}
	return f
}

// put adds or replaces an object.
func (f *fakeAgent) put(oid string, v snmp.Varbind) {
	v.OID = oid
	if _, ok := f.vals[oid]; !ok {
		i, _ := slices.BinarySearchFunc(f.oids, oid, snmp.CompareOIDs)
		f.oids = slices.Insert(f.oids, i, oid)
	}
	f.vals[oid] = v
}

func (f *fakeAgent) putInt(oid string, n int64) { f.put(oid, snmp.Varbind{Kind: snmp.KindInt, Num: n}) }
func (f *fakeAgent) putStr(oid, s string)       { f.put(oid, snmp.Varbind{Kind: snmp.KindString, Str: s}) }

// remove deletes every object under prefix.
func (f *fakeAgent) remove(prefix string) {
	f.oids = slices.DeleteFunc(f.oids, func(o string) bool {
		if o == prefix || strings.HasPrefix(o, prefix+".") {
			delete(f.vals, o)
			return true
		}
		return false
	})
}

// count returns how many requests of kind op the agent got; "" counts all.
func (f *fakeAgent) count(op string) int {
	n := 0
	for _, r := range f.requests {
		if op == "" || r.op == op {
			n++
		}
	}
	return n
}

// touched reports whether any request named an OID under prefix.
func (f *fakeAgent) touched(prefix string) bool {
	for _, r := range f.requests {
		for _, o := range r.oids {
			if strings.HasPrefix(o, prefix) || strings.HasPrefix(prefix, o+".") {
				return true
			}
		}
	}
	return false
}

func (f *fakeAgent) int(oid string) int64 { return f.vals[oid].Num }

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
	f.requests = append(f.requests, fakeRequest{op: "get", oids: oids})
	if err := f.check(ctx, oids); err != nil {
		return nil, err
	}
	out := make([]snmp.Varbind, len(oids))
	for i, o := range oids {
		v, ok := f.vals[o]
		if !ok {
			if f.version == "1" {
				return nil, &snmp.AgentError{Status: snmp.NoSuchName, Index: i + 1, OID: o}
			}
			v = snmp.Varbind{OID: o, Kind: snmp.KindNoSuchObject}
		}
		out[i] = v
	}
	return out, nil
}

func (f *fakeAgent) GetNext(ctx context.Context, oids []string) ([]snmp.Varbind, error) {
	f.requests = append(f.requests, fakeRequest{op: "getnext", oids: oids})
	if err := f.check(ctx, oids); err != nil {
		return nil, err
	}
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
	f.requests = append(f.requests, fakeRequest{op: "getbulk", oids: oids, nonRep: nonRep, reps: reps})
	if f.version == "1" {
		return nil, errors.New("fake: GETBULK under SNMPv1")
	}
	if err := f.check(ctx, oids); err != nil {
		return nil, err
	}
	if len(oids) > snmp.MaxVarbinds || nonRep+(len(oids)-nonRep)*reps > snmp.MaxVarbinds && f.maxReps == 0 {
		return nil, fmt.Errorf("fake: GETBULK for %d bindings, more than %d", nonRep+(len(oids)-nonRep)*reps, snmp.MaxVarbinds)
	}
	if f.maxReps > 0 {
		reps = min(reps, f.maxReps)
	}
	var out []snmp.Varbind
	step := func(o string) snmp.Varbind {
		if v, ok := f.next(o); ok {
			return v
		}
		return snmp.Varbind{OID: o, Kind: snmp.KindEndOfMibView}
	}
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
	f.requests = append(f.requests, fakeRequest{op: "set", oids: []string{oid}, value: value})
	if err := f.check(ctx, nil); err != nil {
		return err
	}
	if f.setErr != nil {
		return f.setErr
	}
	if f.setStatus != snmp.NoError {
		return &snmp.AgentError{Status: f.setStatus, Index: 1, OID: oid}
	}
	if _, ok := f.vals[oid]; !ok {
		if f.version == "1" {
			return &snmp.AgentError{Status: snmp.NoSuchName, Index: 1, OID: oid}
		}
		return &snmp.AgentError{Status: snmp.NotWritable, Index: 1, OID: oid}
	}
	f.putInt(oid, int64(value))
	return nil
}

func (f *fakeAgent) Close() error { return nil }

func (f *fakeAgent) check(ctx context.Context, oids []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.fail != nil {
		return f.fail
	}
	if len(oids) > snmp.MaxVarbinds {
		return fmt.Errorf("fake: %d OIDs in one request", len(oids))
	}
	return nil
}

const recordings = "../pdusim/testdata/recordings/"
