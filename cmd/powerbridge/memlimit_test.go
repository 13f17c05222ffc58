package main

import (
	"runtime/debug"
	"testing"
)

func TestMemoryLimitFollowsTheFleet(t *testing.T) {
	was := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(was) })

	t.Setenv("GOMEMLIMIT", "")
	setMemoryLimit(1000)
	if got, want := debug.SetMemoryLimit(-1), int64(64<<20+1000*64<<10); got != want {
		t.Fatalf("limit for 1,000 PDUs = %d, want %d", got, want)
	}

	// A limit chosen in the environment stays.
	debug.SetMemoryLimit(was)
	t.Setenv("GOMEMLIMIT", "1GiB")
	setMemoryLimit(1000)
	if got := debug.SetMemoryLimit(-1); got != was {
		t.Fatalf("with GOMEMLIMIT set, the limit became %d, want it left at %d", got, was)
	}
}
