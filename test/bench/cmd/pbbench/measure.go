package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/test/bench"
)

// requests asks a `pbbench sims` control address how many SNMP requests
// its PDUs have had, in all and at most at once on one PDU.
func requests(control string) (total, maxInFlight int64, err error) {
	resp, err := http.Get(control + "/requests")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Requests int64 `json:"requests"`
		PDUs     map[string]struct {
			MaxInFlight int64 `json:"max_in_flight"`
		} `json:"pdus"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, 0, err
	}
	for _, p := range out.PDUs {
		maxInFlight = max(maxInFlight, p.MaxInFlight)
	}
	return out.Requests, maxInFlight, nil
}

// burst sends a burst of status queries at once and reports how many SNMP
// requests and varbinds the PDUs received meanwhile; with -expect-requests
// (N or MIN-MAX) and -expect-varbinds it fails when they are not those.
func burst(args []string) error {
	fs := flag.NewFlagSet("burst", flag.ContinueOnError)
	url := fs.String("url", "", "powerbridge's base URL")
	token := fs.String("token", "bench-token-0123456789", "bearer token")
	control := fs.String("control", "", "the `pbbench sims` control URL")
	machines := fs.String("machines", "", "comma-separated machine names; queries go round them")
	n := fs.Int("n", 50, "how many queries")
	expect := fs.String("expect-requests", "", "fail unless the PDUs received this many requests: N, or MIN-MAX")
	expectVarbinds := fs.Int64("expect-varbinds", -1, "fail unless the PDUs received exactly this many varbinds")
	label := fs.String("label", "burst", "what to call it in the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := strings.Split(*machines, ",")
	var all []string
	for i := range *n {
		all = append(all, names[i%len(names)])
	}
	r0, v0, _, err := counts(*control)
	if err != nil {
		return err
	}
	start := time.Now()
	err = bench.Burst(context.Background(), *url, *token, all)
	took := time.Since(start)
	if err != nil {
		return err
	}
	r1, v1, _, err := counts(*control)
	if err != nil {
		return err
	}
	_, inFlight, err := requests(*control)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d status queries for %d machines at once: %d SNMP request(s), %d varbind(s) at the PDU(s), in %s (most requests in flight at one PDU ever: %d)\n",
		*label, *n, len(names), r1-r0, v1-v0, took.Round(time.Microsecond), inFlight)
	return burstCost(*label, r1-r0, v1-v0, *expect, *expectVarbinds)
}

// burstCost checks what a burst cost against -expect-requests and
// -expect-varbinds.
func burstCost(label string, requests, varbinds int64, expect string, expectVarbinds int64) error {
	if expect != "" {
		lo, hi, err := requestRange(expect)
		if err != nil {
			return fmt.Errorf("-expect-requests: %w", err)
		}
		if requests < lo || requests > hi {
			return fmt.Errorf("%s: the PDUs received %d SNMP requests, want %s", label, requests, expect)
		}
	}
	if expectVarbinds >= 0 && varbinds != expectVarbinds {
		return fmt.Errorf("%s: the PDUs received %d varbinds, want %d", label, varbinds, expectVarbinds)
	}
	return nil
}

// query8 times, side by side, querying the 8 outlets of a PDU the MAAS-apc
// way (8 snmpget processes, one after another) and through powerbridge over
// HTTP with a cold cache (8 status queries at once, and one after another).
func query8(args []string) error {
	fs := flag.NewFlagSet("query8", flag.ContinueOnError)
	url := fs.String("url", "", "powerbridge's base URL")
	token := fs.String("token", "bench-token-0123456789", "bearer token")
	snmp := fs.String("snmp", "", "the PDU's SNMP address, for snmpget")
	pdu := fs.String("pdu", "pdu1", "the PDU's name in powerbridge's config")
	rounds := fs.Int("rounds", 10, "how many rounds")
	ttl := fs.Duration("ttl", 2*time.Second, "powerbridge's cache TTL: wait this long before each powerbridge round so that it is cold")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	var machines []string
	for n := 1; n <= 8; n++ {
		machines = append(machines, bench.MachineName(*pdu, n))
	}
	var apcT, burstT, seqT []time.Duration
	last := time.Now()
	cold := func() { time.Sleep(time.Until(last.Add(*ttl + 100*time.Millisecond))) }
	for range *rounds {
		start := time.Now()
		for n := 1; n <= 8; n++ {
			if _, err := bench.MAASApcQuery(ctx, *snmp, n); err != nil {
				return err
			}
		}
		apcT = append(apcT, time.Since(start))

		cold()
		start = time.Now()
		if err := bench.Burst(ctx, *url, *token, machines); err != nil {
			return err
		}
		burstT = append(burstT, time.Since(start))
		last = time.Now()

		cold()
		start = time.Now()
		for _, m := range machines {
			if _, err := bench.QueryStatus(ctx, *url, *token, m); err != nil {
				return err
			}
		}
		seqT = append(seqT, time.Since(start))
		last = time.Now()
	}
	a, b, s := median(apcT), median(burstT), median(seqT)
	fmt.Printf("query8: MAAS-apc way (8 snmpget -v1 -c private, sequential): median %s (min %s, max %s) over %d rounds\n", a, slices.Min(apcT), slices.Max(apcT), *rounds)
	fmt.Printf("query8: powerbridge, 8 cold status queries at once over HTTP: median %s (min %s, max %s): %.1fx faster\n", b, slices.Min(burstT), slices.Max(burstT), float64(a)/float64(b))
	fmt.Printf("query8: powerbridge, 8 cold status queries one after another over HTTP: median %s (min %s, max %s): %.1fx faster\n", s, slices.Min(seqT), slices.Max(seqT), float64(a)/float64(s))
	return nil
}

// poweron times, side by side, a power-on as raw SNMP (the APC driver's
// SET, then reads until the outlet shows on) and through powerbridge (MAAS's
// POST to the on route). Each is preceded by an untimed off.
func poweron(args []string) error {
	fs := flag.NewFlagSet("poweron", flag.ContinueOnError)
	url := fs.String("url", "", "powerbridge's base URL")
	token := fs.String("token", "bench-token-0123456789", "bearer token")
	snmpAddr := fs.String("snmp", "", "the raw side's PDU SNMP address (another simulated PDU of the same model)")
	pdu := fs.String("pdu", "pdu1", "the powerbridge side's PDU")
	outlet := fs.Int("outlet", 3, "the outlet")
	rounds := fs.Int("rounds", 200, "how many rounds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	drv, err := apc.New(apc.Config{Config: snmp.Config{Address: *snmpAddr, Version: "1", Community: bench.WriteCommunity, Timeout: 2 * time.Second}})
	if err != nil {
		return err
	}
	defer drv.Close()
	if _, err := drv.Read(ctx); err != nil { // detection, once
		return err
	}
	raw := func(to power.State) error { return switchAndVerify(ctx, drv, *outlet, to) }
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	machine := bench.MachineName(*pdu, *outlet)
	var rawT, pbT []time.Duration
	for range *rounds {
		if err := raw(power.Off); err != nil {
			return err
		}
		start := time.Now()
		if err := raw(power.On); err != nil {
			return err
		}
		rawT = append(rawT, time.Since(start))

		if err := bench.Post(ctx, client, *url, *token, machine, "off"); err != nil {
			return err
		}
		start = time.Now()
		if err := bench.Post(ctx, client, *url, *token, machine, "on"); err != nil {
			return err
		}
		pbT = append(pbT, time.Since(start))
	}
	r, p := median(rawT), median(pbT)
	fmt.Printf("poweron: raw SNMP set + verify: median %s (min %s)\n", r, slices.Min(rawT))
	fmt.Printf("poweron: through powerbridge (POST /on, new connection, as MAAS): median %s (min %s): powerbridge adds %s\n", p, slices.Min(pbT), p-r)
	return nil
}

// switchAndVerify is a switch as raw SNMP: the driver's SET, then reads
// until the outlet shows to.
func switchAndVerify(ctx context.Context, drv power.Driver, outlet int, to power.State) error {
	if err := drv.Switch(ctx, outlet, to); err != nil {
		return err
	}
	for {
		r, err := drv.Read(ctx)
		if err != nil {
			return err
		}
		if o, _ := r.Outlet(outlet); o.State == to {
			return nil
		}
	}
}

// proc reports a process's CPU use and memory over a window.
func proc(args []string) error {
	fs := flag.NewFlagSet("proc", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "the process")
	warmup := fs.Duration("warmup", 0, "wait this long before the window starts")
	window := fs.Duration("window", time.Minute, "how long to measure")
	label := fs.String("label", "proc", "what to call it in the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	time.Sleep(*warmup)
	a, err := bench.SampleProc(*pid)
	if err != nil {
		return err
	}
	time.Sleep(*window)
	b, err := bench.SampleProc(*pid)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %.2f%% of one core over %s (%s of CPU); RSS %.1f MB now, %.1f MB at most (VmHWM)\n",
		*label, 100*bench.CPUShare(a, b), b.At.Sub(a.At).Round(time.Millisecond), b.CPU-a.CPU, mb(b.RSS), mb(b.HWM))
	return nil
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
