package main

import (
	"os"
	"runtime/debug"
)

// The soft memory limit serve runs under unless GOMEMLIMIT says otherwise:
// a base, and a receive buffer per PDU. At start-up every PDU is detected
// and read at once, and each of those sessions holds gosnmp's 64 KiB
// receive buffer; without a limit the garbage collector lets the heap grow
// to twice that peak (230 MB of RSS at 1,000 PDUs, for a live heap that
// settles at 28 MB), and the runtime then spends a second share of the
// CPU handing the pages back. A soft limit only makes the collector run
// sooner near it: nothing fails above it, and Go bounds the collector's
// share of the CPU when the live heap itself is larger.
const (
	memoryLimitBase   = 64 << 20
	memoryLimitPerPDU = 64 << 10
)

// setMemoryLimit sets the soft memory limit for a fleet of pdus PDUs,
// unless the environment chose one (GOMEMLIMIT, read by the runtime).
func setMemoryLimit(pdus int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(memoryLimitBase + int64(pdus)*memoryLimitPerPDU)
}
