package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/test/bench"
)

// counts asks a `pbbench sims` control address for the requests and
// varbinds its PDUs have had, and how many requests they have in hand.
func counts(control string) (requests, varbinds, inFlight int64, err error) {
	resp, err := http.Get(control + "/requests")
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Requests int64 `json:"requests"`
		Varbinds int64 `json:"varbinds"`
		InFlight int64 `json:"in_flight"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.Requests, out.Varbinds, out.InFlight, err
}

// setLatency sets the simulated PDUs' latency model.
func setLatency(control, model string, d time.Duration) error {
	resp, err := http.PostForm(control+"/latency", url.Values{"model": {model}, "d": {d.String()}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("setting the latency model %s %s: %s", model, d, resp.Status)
	}
	return nil
}

// idle waits until the simulated PDUs have no request in hand, so that a
// cell does not start behind the last one's late requests.
func idle(control string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		_, _, n, err := counts(control)
		if err != nil || n == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the PDUs still have %d requests in hand after %s", n, within)
		}
		time.Sleep(50 * time.Millisecond) // the poll interval, not a synchronisation
	}
}

// cell is one way of querying some outlets, measured: what it cost the PDU
// per round, how long the rounds took, and the first error.
type cell struct {
	requests, varbinds int64
	// maxRequests is the most requests a round cost: a burst of cold
	// queries costs powerbridge one or two, as they arrive.
	maxRequests int64
	times       []time.Duration
	err         error
}

// measure runs query rounds times, counting at the PDU around each: the
// counts are the first round's (the requests the fewest and the most of
// any round's), and a round that costs other varbinds is an error.
func measure(control string, rounds int, before func(), query func() error) cell {
	var c cell
	for range rounds {
		before()
		r0, v0, _, err := counts(control)
		if err != nil {
			return cell{err: err}
		}
		start := time.Now()
		err = query()
		took := time.Since(start)
		r1, v1, _, cerr := counts(control)
		if cerr != nil {
			return cell{err: cerr}
		}
		if len(c.times) > 0 && v1-v0 != c.varbinds && err == nil {
			err = fmt.Errorf("this round cost %d request(s), %d varbind(s), the first %d, %d", r1-r0, v1-v0, c.requests, c.varbinds)
		}
		if len(c.times) == 0 {
			c.requests, c.maxRequests, c.varbinds = r1-r0, r1-r0, v1-v0
		}
		c.requests, c.maxRequests = min(c.requests, r1-r0), max(c.maxRequests, r1-r0)
		if err != nil && c.err == nil {
			c.err = err
		}
		c.times = append(c.times, took)
	}
	return c
}

func (c cell) String() string {
	reqs := fmt.Sprint(c.requests)
	if c.maxRequests > c.requests {
		reqs += "-" + fmt.Sprint(c.maxRequests)
	}
	s := fmt.Sprintf("%s request(s), %d varbind(s)", reqs, c.varbinds)
	if len(c.times) > 0 {
		s += fmt.Sprintf(", median %s (min %s, max %s)", median(c.times).Round(100*time.Microsecond),
			slices.Min(c.times).Round(100*time.Microsecond), slices.Max(c.times).Round(100*time.Microsecond))
	}
	if c.err != nil {
		s += ", FAILED: " + strings.TrimSpace(c.err.Error())
	}
	return s
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// matrix measures, for each latency model, latency and number of outlets,
// the MAAS-apc way (one snmpget per outlet, one after another) against
// powerbridge (one cold status query per outlet's machine, all at once),
// with the cost of each counted at the PDU. With -expect it fails when a
// count is not what is expected: the MAAS-apc way costs n requests of one
// varbind, powerbridge the requests and varbinds given for n.
func matrix(args []string) error {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	base := fs.String("url", "", "powerbridge's base URL")
	token := fs.String("token", "bench-token-0123456789", "bearer token")
	control := fs.String("control", "", "the `pbbench sims` control URL")
	snmp := fs.String("snmp", "", "the PDU's SNMP address, for snmpget")
	pdu := fs.String("pdu", "pdu1", "the PDU's name in powerbridge's config")
	outletsFlag := fs.String("outlets", "1,8,24", "how many outlets to query, comma-separated")
	models := fs.String("models", "request,varbind", "latency models, comma-separated")
	latencies := fs.String("latencies", "0s,50ms,200ms", "latencies, comma-separated")
	rounds := fs.Int("rounds", 3, "rounds per cell")
	ttl := fs.Duration("ttl", 2*time.Second, "powerbridge's cache TTL: wait this long before each powerbridge round so that it is cold")
	expectFlag := fs.String("expect", "", "OUTLETS:REQUESTS:VARBINDS,...: fail unless powerbridge's counts are these; REQUESTS is a number or a range MIN-MAX")
	if err := fs.Parse(args); err != nil {
		return err
	}
	outlets, err := ints(*outletsFlag)
	if err != nil {
		return fmt.Errorf("-outlets: %w", err)
	}
	expect, err := expectations(*expectFlag)
	if err != nil {
		return fmt.Errorf("-expect: %w", err)
	}
	var failed []string
	for _, model := range strings.Split(*models, ",") {
		for _, ls := range strings.Split(*latencies, ",") {
			lat, err := time.ParseDuration(ls)
			if err != nil {
				return fmt.Errorf("-latencies: %w", err)
			}
			for _, n := range outlets {
				f := matrixCell(*base, *token, *control, *snmp, *pdu, model, lat, n, *rounds, *ttl, expect)
				failed = append(failed, f...)
			}
		}
	}
	if err := setLatency(*control, "request", 0); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("counts not as expected:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

// matrixCell measures one cell of the matrix, prints it, and returns what
// in it is not as expected.
func matrixCell(base, token, control, snmp, pdu, model string, lat time.Duration, n, rounds int, ttl time.Duration, expect map[int]expectation) []string {
	ctx := context.Background()
	label := fmt.Sprintf("matrix %s %s, %d outlet(s)", model, lat, n)
	if err := setLatency(control, model, lat); err != nil {
		return []string{label + ": " + err.Error()}
	}
	if err := idle(control, time.Minute); err != nil {
		return []string{label + ": " + err.Error()}
	}
	var machines []string
	for i := 1; i <= n; i++ {
		machines = append(machines, bench.MachineName(pdu, i))
	}
	maas := measure(control, rounds, func() {}, func() error {
		for i := 1; i <= n; i++ {
			if _, err := bench.MAASApcQuery(ctx, snmp, i); err != nil {
				return err
			}
		}
		return nil
	})
	la := loadavg()
	last := time.Now()
	pb := measure(control, rounds, func() {
		_ = idle(control, time.Minute)
		time.Sleep(time.Until(last.Add(ttl + 100*time.Millisecond))) // cold: the cached reading has expired
	}, func() error {
		defer func() { last = time.Now() }()
		return bench.Burst(ctx, base, token, machines)
	})
	ratio := ""
	if maas.err == nil && pb.err == nil && len(pb.times) > 0 && median(pb.times) > 0 {
		ratio = fmt.Sprintf(": powerbridge %.2fx the MAAS-apc way's speed", float64(median(maas.times))/float64(median(pb.times)))
	}
	fmt.Printf("%s: MAAS-apc way %s; powerbridge %s%s (load average %s, %s)\n", label, maas, pb, ratio, la, loadavg())

	var bad []string
	if maas.requests != int64(n) || maas.varbinds != int64(n) || maas.err != nil {
		bad = append(bad, fmt.Sprintf("%s: MAAS-apc way %s, want %d requests of 1 varbind", label, maas, n))
	}
	if want, ok := expect[n]; ok && (pb.requests < want.minRequests || pb.maxRequests > want.maxRequests || pb.varbinds != want.varbinds || pb.err != nil) {
		bad = append(bad, fmt.Sprintf("%s: powerbridge %s, want %s", label, pb, want))
	}
	return bad
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// expectation is what powerbridge's side of a cell should cost the PDU.
type expectation struct {
	minRequests, maxRequests, varbinds int64
}

func (e expectation) String() string {
	if e.minRequests == e.maxRequests {
		return fmt.Sprintf("%d request(s) of %d varbind(s) in all", e.minRequests, e.varbinds)
	}
	return fmt.Sprintf("%d to %d requests of %d varbind(s) in all", e.minRequests, e.maxRequests, e.varbinds)
}

// expectations parses OUTLETS:REQUESTS:VARBINDS,..., REQUESTS a number or
// MIN-MAX.
func expectations(s string) (map[int]expectation, error) {
	out := map[int]expectation{}
	if s == "" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		parts := strings.Split(f, ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%q is not OUTLETS:REQUESTS:VARBINDS", f)
		}
		n, err1 := strconv.Atoi(parts[0])
		lo, hi, err2 := requestRange(parts[1])
		v, err3 := strconv.ParseInt(parts[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%q is not OUTLETS:REQUESTS:VARBINDS", f)
		}
		out[n] = expectation{minRequests: lo, maxRequests: hi, varbinds: v}
	}
	return out, nil
}

// requestRange parses a number of requests, N or MIN-MAX.
func requestRange(s string) (lo, hi int64, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = strconv.ParseInt(b, 10, 64); err != nil || hi < lo {
		return 0, 0, fmt.Errorf("%q is not a range of requests", s)
	}
	return lo, hi, nil
}
