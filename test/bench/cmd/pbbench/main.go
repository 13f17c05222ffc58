// Command pbbench is the driver of powerbridge's benchmark harness
// (test/bench/bench.sh): it hosts simulated PDUs, serves the bare handler
// the status route is compared with, and times powerbridge against the
// MAAS-apc way and against raw SNMP. Every subcommand prints its figures
// on stdout.
//
//	pbbench sims    -n 200 -model ap8941 -config FILE -control ADDR ...
//	pbbench bare    -listen ADDR
//	pbbench burst   -url URL -token T -control URL -machines a,b -expect-requests 1
//	pbbench query8  -url URL -token T -snmp ADDR -pdu pdu1 -rounds 10
//	pbbench matrix  -url URL -control URL -snmp ADDR -outlets 1,8,24 -models request,varbind -latencies 0s,50ms,200ms
//	pbbench poweron -url URL -token T -snmp ADDR -pdu pdu1 -outlet 3 -rounds 50
//	pbbench proc    -pid PID -warmup 20s -window 60s
package main

import (
	"fmt"
	"os"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cmds := map[string]func([]string) error{
		"sims":    sims,
		"bare":    bare,
		"burst":   burst,
		"query8":  query8,
		"poweron": poweron,
		"proc":    proc,
		"matrix":  matrix,
	}
	if len(args) == 0 || cmds[args[0]] == nil {
		fmt.Fprintln(os.Stderr, "usage: pbbench sims|bare|burst|query8|matrix|poweron|proc [flags]")
		return 2
	}
	if err := cmds[args[0]](args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pbbench %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
