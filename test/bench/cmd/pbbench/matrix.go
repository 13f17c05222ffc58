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
	times              []time.Duration
	err                error
}

// measure runs query rounds times, counting at the PDU around each: the
// counts are the first round's, and a round that costs otherwise is an error.
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
		if len(c.times) > 0 && (r1-r0 != c.requests || v1-v0 != c.varbinds) && err == nil {
			err = fmt.Errorf("this round cost %d request(s), %d varbind(s), the first %d, %d", r1-r0, v1-v0, c.requests, c.varbinds)
		}
		if len(c.times) == 0 {
			c.requests, c.varbinds = r1-r0, v1-v0
		}
		if err != nil && c.err == nil {
			c.err = err
		}
		c.times = append(c.times, took)
	}
	return c
}

func (c cell) String() string {
	s := fmt.Sprintf("%d request(s), %d varbind(s)", c.requests, c.varbinds)
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
// with the cost of each counted at the PDU. With -expect-varbinds it fails
// when a count is not what is expected: the MAAS-apc way costs n requests
// of one varbind, powerbridge 1 request of the varbinds given for n.
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
	expectFlag := fs.String("expect-varbinds", "", "OUTLETS:VARBINDS,...: fail unless the counts are these")
	if err := fs.Parse(args); err != nil {
		return err
	}
	outlets, err := ints(*outletsFlag)
	if err != nil {
		return fmt.Errorf("-outlets: %w", err)
	}
	expect, err := expectations(*expectFlag)
	if err != nil {
		return fmt.Errorf("-expect-varbinds: %w", err)
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
func matrixCell(base, token, control, snmp, pdu, model string, lat time.Duration, n, rounds int, ttl time.Duration, expect map[int]int64) []string {
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
	if want, ok := expect[n]; ok && (pb.requests != 1 || pb.varbinds != want || pb.err != nil) {
		bad = append(bad, fmt.Sprintf("%s: powerbridge %s, want 1 request of %d varbinds", label, pb, want))
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

// expectations parses OUTLETS:VARBINDS,...
func expectations(s string) (map[int]int64, error) {
	out := map[int]int64{}
	if s == "" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(f, ":")
		n, err1 := strconv.Atoi(k)
		m, err2 := strconv.ParseInt(v, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q is not OUTLETS:VARBINDS", f)
		}
		out[n] = m
	}
	return out, nil
}
