package apc

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeAgent is an in-memory SNMP agent: a sorted set of objects answered
// with SNMPv1 or v2c semantics, a log of the requests it got, and knobs to
// make it fail.
type fakeAgent struct {
	version string // "1": no GETBULK, noSuchName errors; otherwise v2c rules
	oids    []string
	vals    map[string]varbind

	requests []fakeRequest

	// setStatus answers a SET with an error-status; setErr fails it as
	// the transport would (a timeout).
	setStatus snmpStatus
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

func newFake(version string, objects map[string]varbind) *fakeAgent {
	f := &fakeAgent{version: version, vals: map[string]varbind{}}
	for oid, v := range objects {
		f.put(oid, v)
	}
	return f
}

// put adds or replaces an object.
func (f *fakeAgent) put(oid string, v varbind) {
	v.oid = oid
	if _, ok := f.vals[oid]; !ok {
		i, _ := slices.BinarySearchFunc(f.oids, oid, compareOIDs)
		f.oids = slices.Insert(f.oids, i, oid)
	}
	f.vals[oid] = v
}

func (f *fakeAgent) putInt(oid string, n int64) { f.put(oid, varbind{kind: kindInt, num: n}) }
func (f *fakeAgent) putStr(oid, s string)       { f.put(oid, varbind{kind: kindString, str: s}) }

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

func (f *fakeAgent) int(oid string) int64 { return f.vals[oid].num }

func (f *fakeAgent) next(oid string) (varbind, bool) {
	i, found := slices.BinarySearchFunc(f.oids, oid, compareOIDs)
	if found {
		i++
	}
	if i >= len(f.oids) {
		return varbind{}, false
	}
	return f.vals[f.oids[i]], true
}

func (f *fakeAgent) Get(ctx context.Context, oids []string) ([]varbind, error) {
	f.requests = append(f.requests, fakeRequest{op: "get", oids: oids})
	if err := f.check(ctx, oids); err != nil {
		return nil, err
	}
	out := make([]varbind, len(oids))
	for i, o := range oids {
		v, ok := f.vals[o]
		if !ok {
			if f.version == "1" {
				return nil, &agentError{status: noSuchName, index: i + 1, oid: o}
			}
			v = varbind{oid: o, kind: kindNoSuchObject}
		}
		out[i] = v
	}
	return out, nil
}

func (f *fakeAgent) GetNext(ctx context.Context, oids []string) ([]varbind, error) {
	f.requests = append(f.requests, fakeRequest{op: "getnext", oids: oids})
	if err := f.check(ctx, oids); err != nil {
		return nil, err
	}
	out := make([]varbind, len(oids))
	for i, o := range oids {
		v, ok := f.next(o)
		if !ok {
			if f.version == "1" {
				return nil, &agentError{status: noSuchName, index: i + 1, oid: o}
			}
			v = varbind{oid: o, kind: kindEndOfMibView}
		}
		out[i] = v
	}
	return out, nil
}

func (f *fakeAgent) GetBulk(ctx context.Context, oids []string, nonRep, reps int) ([]varbind, error) {
	f.requests = append(f.requests, fakeRequest{op: "getbulk", oids: oids, nonRep: nonRep, reps: reps})
	if f.version == "1" {
		return nil, errors.New("fake: GETBULK under SNMPv1")
	}
	if err := f.check(ctx, oids); err != nil {
		return nil, err
	}
	if len(oids) > maxVarbinds || nonRep+(len(oids)-nonRep)*reps > maxVarbinds && f.maxReps == 0 {
		return nil, fmt.Errorf("fake: GETBULK for %d bindings, more than %d", nonRep+(len(oids)-nonRep)*reps, maxVarbinds)
	}
	if f.maxReps > 0 {
		reps = min(reps, f.maxReps)
	}
	var out []varbind
	step := func(o string) varbind {
		if v, ok := f.next(o); ok {
			return v
		}
		return varbind{oid: o, kind: kindEndOfMibView}
	}
	for _, o := range oids[:nonRep] {
		out = append(out, step(o))
	}
	cursor := slices.Clone(oids[nonRep:])
	for range reps {
		for j, o := range cursor {
			v := step(o)
			out = append(out, v)
			cursor[j] = v.oid
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
	if f.setStatus != noError {
		return &agentError{status: f.setStatus, index: 1, oid: oid}
	}
	if _, ok := f.vals[oid]; !ok {
		if f.version == "1" {
			return &agentError{status: noSuchName, index: 1, oid: oid}
		}
		return &agentError{status: notWritable, index: 1, oid: oid}
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
	if len(oids) > maxVarbinds {
		return fmt.Errorf("fake: %d OIDs in one request", len(oids))
	}
	return nil
}

// loadSnmprec reads a .snmprec recording (snmpsim's format: OID|TAG|VALUE,
// TAG the BER tag in decimal, "4x" for hex-encoded strings).
func loadSnmprec(t testing.TB, path string) map[string]varbind {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objects := map[string]varbind{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		oid, rest, ok1 := strings.Cut(sc.Text(), "|")
		tag, value, ok2 := strings.Cut(rest, "|")
		if !ok1 || !ok2 {
			continue
		}
		oid = "." + strings.TrimPrefix(oid, ".")
		var v varbind
		switch tag {
		case "2", "65", "66", "67", "70":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, line, err)
			}
			v = varbind{kind: kindInt, num: n}
		case "4", "64":
			v = varbind{kind: kindString, str: value}
		case "4x":
			b, err := hex.DecodeString(value)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, line, err)
			}
			v = varbind{kind: kindString, str: string(b)}
		case "6":
			v = varbind{kind: kindOID, str: "." + strings.TrimPrefix(value, ".")}
		default:
			continue
		}
		v.oid = oid
		objects[oid] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return objects
}

const recordings = "../apcsim/testdata/recordings/"
