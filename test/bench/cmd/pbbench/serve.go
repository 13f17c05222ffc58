package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/test/bench"
)

// sims serves simulated PDUs until interrupted, writes the powerbridge
// config that drives them, and answers how many SNMP requests they have
// had on a control address: GET /requests.
func sims(args []string) error {
	fs := flag.NewFlagSet("sims", flag.ContinueOnError)
	n := fs.Int("n", 1, "how many PDUs")
	model := fs.String("model", "ap7900", "ap7900 (8 outlets) or ap8941 (24)")
	latency := fs.Duration("latency", 0, "how long each PDU waits before answering (per request), or per varbind with -latency-model varbind")
	latencyModel := fs.String("latency-model", "", `"request": one request at a time, -latency each; "varbind": one at a time, -latency per varbind; "" (default): -latency per request, requests served in parallel`)
	switchDelay := fs.Duration("switch-delay", -1, "how long a switch stays pending; negative: instant")
	config := fs.String("config", "", "write the powerbridge config here")
	listen := fs.String("listen", "127.0.0.1:8080", "powerbridge's listen address, for the config")
	token := fs.String("token", "bench-token-0123456789", "powerbridge's bearer token, for the config")
	poll := fs.Duration("poll", 0, "every PDU's poll_interval; 0 for the default (15s)")
	version := fs.String("version", "1", "the SNMP version powerbridge speaks: 1 or 2c")
	control := fs.String("control", "127.0.0.1:0", "serve GET /requests here")
	stateDir := fs.String("state-dir", "", "powerbridge's state_dir, for the config")
	noMachines := fs.Bool("no-machines", false, "a config with the PDUs only; by default one machine per outlet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc := bench.SimConfig{Count: *n, Model: *model, Latency: *latency, SwitchDelay: *switchDelay}
	if *latencyModel != "" {
		var err error
		if sc.Latency, sc.PerVarbind, err = bench.LatencyModel(*latencyModel, *latency); err != nil {
			return fmt.Errorf("-latency-model: %w", err)
		}
		sc.OneAtATime = true
	}
	ss, err := bench.StartSims(sc)
	if err != nil {
		return err
	}
	defer bench.CloseSims(ss)
	if *config != "" {
		cfg := bench.Config(ss, bench.ConfigOptions{Listen: *listen, Token: *token, PollInterval: *poll, Version: *version, NoMachines: *noMachines, StateDir: *stateDir})
		if err := os.WriteFile(*config, []byte(cfg), 0o600); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *control)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: controlHandler(ss), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("ready control=http://%s pdus=%d first=%s\n", ln.Addr(), len(ss), ss[0].Agent.Addr())
	waitForSignal()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// controlHandler serves GET /requests: the requests and varbinds each PDU has
// had, and the most requests it had in flight at once.
func controlHandler(ss []*bench.Sim) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, r *http.Request) {
		type pduStats struct {
			Address     string `json:"address"`
			Requests    int64  `json:"requests"`
			Varbinds    int64  `json:"varbinds"`
			MaxInFlight int64  `json:"max_in_flight"`
			InFlight    int64  `json:"in_flight"`
		}
		out := struct {
			Requests int64               `json:"requests"`
			Varbinds int64               `json:"varbinds"`
			InFlight int64               `json:"in_flight"`
			PDUs     map[string]pduStats `json:"pdus"`
		}{PDUs: map[string]pduStats{}}
		for _, s := range ss {
			st := s.Agent.Stats()
			out.Requests += st.Requests
			out.Varbinds += st.Varbinds
			out.InFlight += st.InFlight
			out.PDUs[s.Name] = pduStats{s.Agent.Addr(), st.Requests, st.Varbinds, st.MaxInFlight, st.InFlight}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	// POST /latency?model=request|varbind&d=50ms sets every PDU's latency
	// model (one request at a time); d=0 takes the latency away.
	mux.HandleFunc("POST /latency", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.FormValue("d"))
		if err != nil {
			http.Error(w, "d: "+err.Error(), http.StatusBadRequest)
			return
		}
		perRequest, perVarbind, err := bench.LatencyModel(r.FormValue("model"), d)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, s := range ss {
			s.Agent.SetLatencyModel(pdusim.LatencyModel{PerRequest: perRequest, PerVarbind: perVarbind, OneAtATime: true})
		}
	})
	return mux
}

// bare serves bench.Bare until interrupted.
func bare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	// The same server settings as powerbridge's.
	srv := &http.Server{Handler: bench.Bare(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go srv.Serve(ln)
	fmt.Printf("ready http://%s\n", ln.Addr())
	waitForSignal()
	return srv.Close()
}

func waitForSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
