//go:build pprof

package main

import (
	"log"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

// Built with -tags pprof, the binary serves net/http/pprof on the address
// in POWERBRIDGE_PPROF (127.0.0.1:PORT), apart from its own listener, which
// never serves it: the heap profiles of BENCHMARKS.md are taken so.
func init() {
	addr := os.Getenv("POWERBRIDGE_PPROF")
	if addr == "" {
		return
	}
	go func() { log.Println("pprof:", http.ListenAndServe(addr, nil)) }()
}
