package bench

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// discard is a ResponseWriter that keeps nothing, for timing a handler alone.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkStatusHandler is the status route's handler, middleware
// included, answering from a warm cache, without the network: what
// powerbridge adds to net/http per query, against the bare handler.
func BenchmarkStatusHandler(b *testing.B) {
	br := newBridge(b, bridgeOptions{sims: SimConfig{Count: 1}, cacheTTL: time.Hour})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"impl=bare", Bare()}, {"impl=powerbridge", br.handler}} {
		b.Run(c.name+"/procs=1", func(b *testing.B) {
			req := statusRequest(b, "http://bench/v1/machines/"+MachineName("pdu1", 3)+"/status")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, req)
			}
		})
		b.Run(c.name+"/procs=all", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := statusRequest(b, "http://bench/v1/machines/"+MachineName("pdu1", 3)+"/status")
				w := &discard{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					c.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

// BenchmarkStatusHTTP is the warm status route over loopback HTTP with
// keep-alive and 64 concurrent clients, against the bare handler served the
// same way. Client and server share the machine's cores, as they do in
// bench.sh's wrk runs.
func BenchmarkStatusHTTP(b *testing.B) {
	br := newBridge(b, bridgeOptions{sims: SimConfig{Count: 1}, cacheTTL: time.Hour})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"impl=bare", Bare()}, {"impl=powerbridge", br.handler}} {
		b.Run(c.name, func(b *testing.B) {
			url := serveHTTP(b, c.h) + "/v1/machines/" + MachineName("pdu1", 3) + "/status"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.SetParallelism(max(1, 64/runtimeProcs()))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := statusRequest(b, url)
				for pb.Next() {
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

// BenchmarkQuery8 queries the 8 outlets of one simulated PDU that answers
// each request after 50 ms, the MAAS-apc way (one snmpget process per
// outlet, one after another) and through powerbridge over HTTP (8 status
// queries at once, as MAAS's rack controller sends them for 8 machines,
// each on a new connection as MAAS makes them, with a cold cache: every
// iteration starts after the cached reading has expired). snmp-req/op is
// counted at the simulated PDU.
func BenchmarkQuery8(b *testing.B) {
	const latency = 50 * time.Millisecond
	b.Run("impl=maas-apc", func(b *testing.B) {
		if _, err := exec.LookPath("snmpget"); err != nil {
			b.Skip("snmpget is not installed (Debian package snmp)")
		}
		sims, err := StartSims(SimConfig{Count: 1, Latency: latency})
		if err != nil {
			b.Fatal(err)
		}
		defer CloseSims(sims)
		addr := sims[0].Agent.Addr()
		before := Requests(sims)
		for b.Loop() {
			for n := 1; n <= 8; n++ {
				if _, err := MAASApcQuery(context.Background(), addr, n); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(Requests(sims)-before)/float64(b.N), "snmp-req/op")
	})
	b.Run("impl=powerbridge", func(b *testing.B) {
		// A cache that expires at once: every iteration is cold.
		br := newBridge(b, bridgeOptions{sims: SimConfig{Count: 1, Latency: latency}, cacheTTL: time.Nanosecond})
		base := serveHTTP(b, br.handler)
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		before := Requests(br.sims)
		for b.Loop() {
			var wg sync.WaitGroup
			for n := 1; n <= 8; n++ {
				wg.Go(func() {
					req := statusRequest(b, base+"/v1/machines/"+MachineName("pdu1", n)+"/status")
					req.Close = true
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
					}
				})
			}
			wg.Wait()
		}
		b.ReportMetric(float64(Requests(br.sims)-before)/float64(b.N), "snmp-req/op")
	})
}

// BenchmarkPowerOn times one power-on: raw, as the APC driver's SNMP SET
// followed by reads until the outlet shows on (the set + verify powerbridge
// performs), and through powerbridge, as MAAS's POST to the on route over
// loopback HTTP. The simulated PDU switches at once and answers at once, so
// the difference is powerbridge's own cost. Each iteration switches the
// outlet off first, untimed; on-ns/op is the power-on alone.
func BenchmarkPowerOn(b *testing.B) {
	b.Run("impl=raw-snmp", func(b *testing.B) {
		sims, err := StartSims(SimConfig{Count: 1, SwitchDelay: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer CloseSims(sims)
		drv, err := apc.New(apc.Config{Config: snmp.Config{Address: sims[0].Agent.Addr(), Version: "1", Community: WriteCommunity, Timeout: 2 * time.Second}})
		if err != nil {
			b.Fatal(err)
		}
		defer drv.Close()
		ctx := context.Background()
		if _, err := drv.Read(ctx); err != nil { // detection, once
			b.Fatal(err)
		}
		switchVerified := func(to power.State) {
			if err := drv.Switch(ctx, 3, to); err != nil {
				b.Fatal(err)
			}
			for {
				r, err := drv.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if o, _ := r.Outlet(3); o.State == to {
					return
				}
			}
		}
		var on time.Duration
		for b.Loop() {
			switchVerified(power.Off)
			start := time.Now()
			switchVerified(power.On)
			on += time.Since(start)
		}
		b.ReportMetric(float64(on.Nanoseconds())/float64(b.N), "on-ns/op")
	})
	b.Run("impl=powerbridge", func(b *testing.B) {
		br := newBridge(b, bridgeOptions{sims: SimConfig{Count: 1, SwitchDelay: -1}})
		base := serveHTTP(b, br.handler) + "/v1/machines/" + MachineName("pdu1", 3)
		client := &http.Client{Transport: &http.Transport{}}
		post := func(action string) {
			req, err := http.NewRequest(http.MethodPost, base+"/"+action, http.NoBody)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d %s", action, resp.StatusCode, body)
			}
		}
		before := Requests(br.sims)
		var on time.Duration
		for b.Loop() {
			post("off")
			start := time.Now()
			post("on")
			on += time.Since(start)
		}
		b.ReportMetric(float64(on.Nanoseconds())/float64(b.N), "on-ns/op")
		b.ReportMetric(float64(Requests(br.sims)-before)/float64(2*b.N), "snmp-req/switch")
	})
}

func runtimeProcs() int { return max(1, numCPU()) }
