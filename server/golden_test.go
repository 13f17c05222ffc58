package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from what the code answers now")

// goldenDriver answers every read with one fixed reading, or with err.
type goldenDriver struct {
	reading power.Reading
	err     error
}

func (d goldenDriver) Read(context.Context) (power.Reading, error) { return d.reading, d.err }
func (d goldenDriver) Switch(context.Context, int, power.State) error {
	return errors.New("golden driver does not switch")
}
func (d goldenDriver) Close() error { return nil }

func f64(v float64) *float64 { return &v }

// goldenFleet is a fixed fleet that fills every field of every answer at
// least once: a metered PDU, an unreadable one, a machine with two outlets.
type goldenFleet struct {
	pduFleet
}

func newGoldenFleet(t *testing.T) *goldenFleet {
	rack1 := power.NewPDU(power.PDUConfig{Name: "rack1", Driver: goldenDriver{reading: power.Reading{
		Info: power.Info{Vendor: "APC", Model: "AP8959", Firmware: "v6.5.6", Dialect: "rpdu2"},
		Outlets: []power.Outlet{
			{Number: 1, Name: "node1-a", State: power.On, CurrentAmperes: f64(0.4), PowerWatts: f64(92)},
			{Number: 2, Name: "node1-b", State: power.Off, Pending: true},
			{Number: 3, State: power.Unknown},
		},
		Meter: power.Meter{CurrentAmperes: []float64{1.5, 0.25}, PowerWatts: f64(345), EnergyJoules: f64(7.2e9)},
	}}})
	rack2 := power.NewPDU(power.PDUConfig{Name: "rack2", Driver: goldenDriver{err: errors.New("reading rack2 at 127.0.0.1:1161: request timeout")}})
	t.Cleanup(func() { rack1.Close(); rack2.Close() })
	return &goldenFleet{pduFleet{pdus: []*power.PDU{rack1, rack2}}}
}

func (f *goldenFleet) Machines() []power.Machine {
	return []power.Machine{
		{Name: "node1", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 1}, {PDU: "rack1", Outlet: 2}}, Graceful: goldenGraceful{}},
		{Name: "node2", Outlets: []power.OutletRef{{PDU: "rack2", Outlet: 4}}},
	}
}
func (f *goldenFleet) Status(_ context.Context, m string) (power.MachineStatus, error) {
	switch m {
	case "node1":
		return power.MachineStatus{Machine: m, State: power.Off, Power: power.On, Halted: true, ShuttingDown: true, Outlets: []power.OutletStatus{
			{PDU: "rack1", Outlet: 1, Name: "node1-a", State: power.On},
			{PDU: "rack1", Outlet: 2, State: power.Off},
		}}, nil
	case "node2":
		return power.MachineStatus{}, fmt.Errorf("reading PDU rack2: %w", context.DeadlineExceeded)
	}
	return power.MachineStatus{}, fmt.Errorf("%w %q", power.ErrUnknownMachine, m)
}
func (f *goldenFleet) On(_ context.Context, m string) (power.Result, error) {
	return power.Result{Machine: m, Action: power.ActionOn, State: power.On, Changed: false, Duration: 125 * time.Millisecond}, nil
}
func (f *goldenFleet) Off(_ context.Context, m string) (power.Result, error) {
	return power.Result{Machine: m, Action: power.ActionOff, State: power.Off, Changed: true, Shutdown: "cut", Reason: "ssh: connection refused",
		Phases: []power.Phase{
			{Name: "connect", Duration: 1500 * time.Millisecond, Outcome: "refused"},
			{Name: "wait-down", Duration: 0, Outcome: "skipped"},
		},
		Notes: []string{"rack1/2 answered genErr to a switch it carried out"}, Duration: 2750 * time.Millisecond}, nil
}
func (f *goldenFleet) Cycle(_ context.Context, m string) (power.Result, error) {
	return power.Result{Machine: m, Action: power.ActionCycle, State: power.On, Changed: true, Duration: 5 * time.Second}, nil
}
func (f *goldenFleet) SwitchOutlet(_ context.Context, pdu string, n int, a power.Action) (power.OutletResult, error) {
	res := power.OutletResult{PDU: pdu, Outlet: n, Action: a, State: power.On, Changed: true, Duration: 1500 * time.Millisecond,
		Notes: []string{pdu + "/2: the card answered genErr; the read-back shows it " + string(a)}}
	if m, ok := f.MachineOf(power.OutletRef{PDU: pdu, Outlet: n}); ok && a == power.ActionOff {
		res.State, res.Machine, res.CutWithoutShutdown = power.Off, m, true
	}
	return res, nil
}
func (f *goldenFleet) MachineOf(ref power.OutletRef) (string, bool) {
	if ref.PDU == "rack1" && (ref.Outlet == 1 || ref.Outlet == 2) {
		return "node1", true
	}
	return "", false
}
func (f *goldenFleet) ForgetHostKey(m string) error {
	if m != "node1" {
		return fmt.Errorf("%w %q", power.ErrUnknownMachine, m)
	}
	return nil
}

type goldenGraceful struct{}

func (goldenGraceful) Shutdown(context.Context) power.ShutdownReport { return power.ShutdownReport{} }
func (goldenGraceful) ForgetHostKey() error                          { return nil }

// TestRouteAnswersGolden pins every route's status code and body, byte for
// byte, on a fixed fleet: the answers are the API, and a change to one
// must be deliberate (go test ./server -run Golden -update rewrites them).
func TestRouteAnswersGolden(t *testing.T) {
	h := New(newGoldenFleet(t), Config{
		Auth:          NewAuthenticator([]Credential{{Name: "maas", Token: token}}),
		Reload:        func(context.Context) error { return nil },
		StatusTimeout: 5 * time.Second,
		ActionTimeout: 5 * time.Second,
	})
	var got bytes.Buffer
	for _, rq := range []struct {
		method, path string
		anonymous    bool
	}{
		{method: "GET", path: "/healthz", anonymous: true},
		{method: "GET", path: "/readyz", anonymous: true},
		{method: "GET", path: "/readyz"},
		{method: "GET", path: "/v1/machines"},
		{method: "GET", path: "/v1/machines/node1"},
		{method: "GET", path: "/v1/machines/node2"},
		{method: "GET", path: "/v1/machines/nope"},
		{method: "GET", path: "/v1/machines/node1/status"},
		{method: "POST", path: "/v1/machines/node1/on"},
		{method: "POST", path: "/v1/machines/node1/off"},
		{method: "POST", path: "/v1/machines/node1/cycle"},
		{method: "POST", path: "/v1/machines/node1/forget-host-key"},
		{method: "POST", path: "/v1/machines/nope/forget-host-key"},
		{method: "GET", path: "/v1/pdus"},
		{method: "GET", path: "/v1/pdus/rack1/outlets"},
		{method: "GET", path: "/v1/pdus/rack2/outlets"},
		{method: "POST", path: "/v1/pdus/rack1/outlets/2/off"},
		{method: "POST", path: "/v1/pdus/rack1/outlets/0/on"},
		{method: "POST", path: "/-/reload"},
		{method: "GET", path: "/v1/nothing"},
	} {
		r := maasRequest(rq.method, rq.path)
		if rq.anonymous {
			r.Header.Del("Authorization")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Fprintf(&got, "=== %s %s (anonymous=%v)\n%d %s\n%s", rq.method, rq.path, rq.anonymous, w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	golden := filepath.Join("testdata", "routes.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading %s (run with -update to write it): %v", golden, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("the answers differ from %s (run with -update if the change is meant):\n--- got\n%s--- want\n%s", golden, got.Bytes(), want)
	}
}
