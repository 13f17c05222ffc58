package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/power/telemetry"
	"github.com/powerbridge/powerbridge/server"
	"github.com/powerbridge/powerbridge/server/redfish"
)

// token is the bearer token of the in-process bridges.
const token = "bench-token-0123456789"

// cacheTTL is what `powerbridge serve` gives every PDU.
const cacheTTL = 2 * time.Second

// bridge is powerbridge wired in process as `powerbridge serve` wires it:
// the APC driver over real SNMP to simulated PDUs, a power.PDU worker each,
// the fleet, and the HTTP server with authentication and metrics. Only the
// cmd package's config loader and reload generations are left out.
type bridge struct {
	sims    []*Sim
	fleet   *power.Fleet
	handler http.Handler
}

type bridgeOptions struct {
	sims     SimConfig
	cacheTTL time.Duration // 0: cacheTTL
	// redfish mounts the Redfish face at /redfish, as serve does, with
	// the Basic account redfishUser.
	redfish bool
}

// The Basic account of the Redfish face.
const redfishUser, redfishPass = "admin", "bench-password-0123456789"

func newBridge(tb testing.TB, o bridgeOptions) *bridge {
	tb.Helper()
	sims, err := StartSims(o.sims)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { CloseSims(sims) })
	if o.cacheTTL == 0 {
		o.cacheTTL = cacheTTL
	}
	metrics := telemetry.New("bench")
	var pdus []*power.PDU
	var machines []power.Machine
	for _, s := range sims {
		drv, err := apc.New(apc.Config{Config: snmp.Config{Address: s.Agent.Addr(), Version: "1", Community: WriteCommunity, Timeout: 2 * time.Second, Retries: 1}})
		if err != nil {
			tb.Fatal(err)
		}
		pdus = append(pdus, power.NewPDU(power.PDUConfig{
			Name: s.Name, Driver: drv, SwitchTimeout: 20 * time.Second, ReadTimeout: 10 * time.Second,
			CacheTTL: o.cacheTTL, Observer: metrics,
		}))
		for n := 1; n <= s.Device.Outlets(); n++ {
			machines = append(machines, power.Machine{Name: MachineName(s.Name, n), Outlets: []power.OutletRef{{PDU: s.Name, Outlet: n}}})
		}
	}
	fleet, err := power.NewFleet(pdus, machines, power.FleetConfig{ActionTimeout: 150 * time.Second, Observer: metrics})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { fleet.Close() })
	auth := server.NewAuthenticator([]server.Credential{{Name: "maas", Token: token}, {Name: redfishUser, User: redfishUser, Password: redfishPass}})
	var faces []server.Face
	if o.redfish {
		faces = append(faces, server.Face{Prefix: "/redfish", New: func(g server.Gate) http.Handler {
			return redfish.New(redfish.Config{Fleet: func(*http.Request) redfish.Fleet { return fleet }, Auth: auth, Identity: "bench"}, g)
		}})
	}
	h := server.New(fleet, server.Config{
		Auth:          auth,
		Faces:         faces,
		StatusTimeout: 10 * time.Second,
		ActionTimeout: 150 * time.Second,
		Metrics:       server.MetricsHandler(metrics.Registry()),
		Instrument:    server.NewHTTPMetrics(metrics.Registry()).Instrument,
	})
	b := &bridge{sims: sims, fleet: fleet, handler: h}
	// Detect every PDU (a handful of requests each, once per process)
	// so that what is measured is the steady state.
	for _, p := range fleet.PDUs() {
		if _, err := p.ReadFresh(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

// serveHTTP serves h on a loopback port for the benchmark's duration.
func serveHTTP(tb testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// statusRequest is a status query shaped as MAAS sends it.
func statusRequest(tb testing.TB, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "MAAS 3.5.0")
	req.RemoteAddr = "127.0.0.1:40000" // as net/http sets it for wrk's connections
	return req
}
