package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/server"
)

// In-process, so that every goroutine can be counted: a real power.Fleet
// over the APC driver and simulated PDUs (one healthy, one silent, one slow
// and lossy), pollers, and the HTTP server, hit with queries and actions
// that succeed, fail and time out, some of them abandoned by their clients
// half way, and with wrong tokens. Once everything is closed, the
// goroutines are back to what they were before.
func TestNoGoroutineLeaks(t *testing.T) {
	before := runtime.NumGoroutine()

	type rack struct {
		name  string
		agent *pdusim.Agent
	}
	var pdus []*power.PDU
	var racks []rack
	for i, fault := range []func(*pdusim.Agent){
		func(*pdusim.Agent) {},
		func(a *pdusim.Agent) { a.SetSilent(true) },
		func(a *pdusim.Agent) { a.SetLatency(150 * time.Millisecond); a.DropEveryNthRequest(3) },
	} {
		dev, err := pdusim.New("ap7900", pdusim.Options{SwitchDelay: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
		if err != nil {
			t.Fatal(err)
		}
		fault(agent)
		name := fmt.Sprintf("rack%d", i+1)
		racks = append(racks, rack{name, agent})
		drv, err := apc.New(apc.Config{Config: snmp.Config{Address: agent.Addr(), Community: "private", ReadCommunity: "public", Timeout: 200 * time.Millisecond, Retries: 1}})
		if err != nil {
			t.Fatal(err)
		}
		pdus = append(pdus, power.NewPDU(power.PDUConfig{
			Name: name, Driver: drv, SwitchTimeout: time.Second, ReadTimeout: time.Second, CacheTTL: 100 * time.Millisecond,
		}))
	}
	var machines []power.Machine
	var names []string
	for i := range 12 {
		m := power.Machine{Name: fmt.Sprintf("m%d", i), Outlets: []power.OutletRef{{PDU: racks[i%3].name, Outlet: i/3 + 1}}}
		if i%4 == 3 { // some with a second supply on the next PDU
			m.Outlets = append(m.Outlets, power.OutletRef{PDU: racks[(i+1)%3].name, Outlet: 8})
		}
		machines = append(machines, m)
		names = append(names, m.Name)
	}
	fleet, err := power.NewFleet(pdus, machines, power.FleetConfig{ActionTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pollCtx, stopPolls := context.WithCancel(context.Background())
	fleet.Poll(pollCtx, 50*time.Millisecond)
	srv := httptest.NewServer(server.New(fleet, server.Config{
		Auth:          server.NewAuthenticator([]server.Credential{{Name: "maas", Token: maasToken}}),
		StatusTimeout: 500 * time.Millisecond,
		ActionTimeout: 3 * time.Second,
		// Room for every wrong token: an address over the limit would be
		// refused before its queries and actions reach the fleet.
		AuthFailureBurst: 1000,
	}))

	client := &http.Client{Transport: &http.Transport{}}
	do := func(ctx context.Context, method, path, token string) {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			for round := range 3 {
				do(t.Context(), "GET", "/v1/machines/"+name+"/status", maasToken)
				do(t.Context(), "POST", "/v1/machines/"+name+"/"+[]string{"on", "off", "cycle"}[round], maasToken)
				do(t.Context(), "GET", "/v1/machines/"+name+"/status", "wrong-token")
				// A client that gives up half way through an action.
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(50*(i%4+1))*time.Millisecond)
				do(ctx, "POST", "/v1/machines/"+name+"/on", maasToken)
				cancel()
			}
			do(t.Context(), "GET", "/v1/pdus", maasToken)
			do(t.Context(), "GET", "/readyz", "")
		})
	}
	wg.Wait()

	// Close everything down, actions abandoned by their clients and still
	// under way included: they end with their PDUs.
	srv.Close()
	client.CloseIdleConnections()
	stopPolls()
	if err := fleet.Close(); err != nil {
		t.Errorf("closing the fleet: %v", err)
	}
	for _, r := range racks {
		r.agent.Close()
	}

	var after int
	waitUntil(t, 30*time.Second, "the goroutines are back to what they were", func() bool {
		after = runtime.NumGoroutine()
		return after <= before
	})
	if t.Failed() {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Logf("goroutines left:\n%s", buf[:n])
	}
	t.Logf("goroutines: %d before, %d after", before, after)
}
