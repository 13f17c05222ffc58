package telemetry_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/telemetry"
	"github.com/powerbridge/powerbridge/server"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden from what the code exports now")

// stubDriver is a PDU in memory: Read answers reading or err.
type stubDriver struct {
	mu      sync.Mutex
	reading power.Reading
	err     error
}

func (d *stubDriver) Read(context.Context) (power.Reading, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.reading
	r.Outlets = append([]power.Outlet(nil), r.Outlets...)
	return r, d.err
}

func (d *stubDriver) Switch(_ context.Context, n int, to power.State) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.reading.Outlets {
		if d.reading.Outlets[i].Number == n {
			d.reading.Outlets[i].State = to
			return nil
		}
	}
	return fmt.Errorf("no outlet %d", n)
}

func (d *stubDriver) Close() error { return nil }

func (d *stubDriver) fail(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
}

func ptr(f float64) *float64 { return &f }

// testFleet is a real power.Fleet over two stub PDUs, observed by m:
// rack1 like an AP7900 (one phase current, nothing per outlet), rack2 like a
// metered AP8941 (power, energy, per-outlet meters).
func testFleet(t *testing.T, m *telemetry.Metrics) (*power.Fleet, map[string]*stubDriver) {
	t.Helper()
	drivers := map[string]*stubDriver{
		"rack1": {reading: power.Reading{
			Info: power.Info{Vendor: "APC", Model: "AP7900", Firmware: "apc_hw02_rpdu_374.bin", Dialect: "rpdu"},
			Outlets: []power.Outlet{
				{Number: 1, Name: "Outlet 1", State: power.On},
				{Number: 2, Name: "Outlet 2", State: power.Off},
				{Number: 3, Name: "Outlet 3", State: power.Unknown},
			},
			Meter: power.Meter{CurrentAmperes: []float64{2.8}},
		}},
		"rack2": {reading: power.Reading{
			Info: power.Info{Vendor: "APC", Model: "AP8941", Firmware: "apc_hw05_rpdu2g_680.bin", Dialect: "rpdu2"},
			Outlets: []power.Outlet{
				{Number: 1, Name: "db\xe9", State: power.On, CurrentAmperes: ptr(0.4), PowerWatts: ptr(92)},
			},
			Meter: power.Meter{CurrentAmperes: []float64{8.4, 0}, PowerWatts: ptr(1930), EnergyJoules: ptr(1.735668e10)},
		}},
	}
	var pdus []*power.PDU
	for _, name := range []string{"rack1", "rack2"} {
		p := power.NewPDU(power.PDUConfig{Name: name, Driver: drivers[name], Observer: m, ReadTimeout: time.Second, MaxAmperes: map[string]float64{"rack2": 16}[name]})
		p.SetExpectedAmperes(map[int]float64{1: 0.5})
		pdus = append(pdus, p)
	}
	f, err := power.NewFleet(pdus, []power.Machine{
		{Name: "node1", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 1}}},
		{Name: "node2", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 2}}},
		{Name: "ghost", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 3}}},
		{Name: "bigboy", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 2}, {PDU: "rack2", Outlet: 1}}},
	}, power.FleetConfig{ActionTimeout: 5 * time.Second, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := m.CollectFleet(f); err != nil {
		t.Fatal(err)
	}
	m.StartCounters(f)
	return f, drivers
}

// poll reads every PDU once, as the pollers do.
func poll(t *testing.T, f *power.Fleet) {
	t.Helper()
	for _, p := range f.PDUs() {
		p.ReadFresh(t.Context())
	}
}

var liveNames = []string{
	"powerbridge_pdu_up", "powerbridge_pdu_info", "powerbridge_pdu_current_amperes",
	"powerbridge_pdu_power_watts", "powerbridge_pdu_energy_joules_total", "powerbridge_outlet_on",
	"powerbridge_outlet_current_amperes", "powerbridge_outlet_power_watts", "powerbridge_machine_on",
}

func TestFleetCollectorReadings(t *testing.T) {
	m := telemetry.New("test")
	f, _ := testFleet(t, m)
	before := time.Now()
	poll(t, f)

	// Outlet 3 reads unknown: no outlet_on series, and ghost, fed only by
	// it, has no machine_on. bigboy is on through its second supply.
	// rack2's outlet name is not UTF-8 (an APC card may hold Latin-1).
	want := `
# HELP powerbridge_pdu_up Whether the last read of the PDU succeeded (1) or failed (0); 0 before the first read.
# TYPE powerbridge_pdu_up gauge
powerbridge_pdu_up{pdu="rack1"} 1
powerbridge_pdu_up{pdu="rack2"} 1
# HELP powerbridge_pdu_info Always 1; the labels describe the device as it last told (its vendor, model and firmware), and the protocol dialect used to drive it.
# TYPE powerbridge_pdu_info gauge
powerbridge_pdu_info{dialect="rpdu",firmware="apc_hw02_rpdu_374.bin",model="AP7900",pdu="rack1",vendor="APC"} 1
powerbridge_pdu_info{dialect="rpdu2",firmware="apc_hw05_rpdu2g_680.bin",model="AP8941",pdu="rack2",vendor="APC"} 1
# HELP powerbridge_pdu_current_amperes Load current of the PDU per phase (or bank, numbered in the device's order), where the PDU reports it.
# TYPE powerbridge_pdu_current_amperes gauge
powerbridge_pdu_current_amperes{pdu="rack1",phase="1"} 2.8
powerbridge_pdu_current_amperes{pdu="rack2",phase="1"} 8.4
powerbridge_pdu_current_amperes{pdu="rack2",phase="2"} 0
# HELP powerbridge_pdu_power_watts Power drawn through the PDU, where the PDU reports it.
# TYPE powerbridge_pdu_power_watts gauge
powerbridge_pdu_power_watts{pdu="rack2"} 1930
# HELP powerbridge_pdu_energy_joules_total Energy delivered through the PDU since its meter was last reset, where the PDU reports it.
# TYPE powerbridge_pdu_energy_joules_total counter
powerbridge_pdu_energy_joules_total{pdu="rack2"} 1.735668e+10
# HELP powerbridge_outlet_on Whether the outlet is on (1) or off (0) as the PDU last said; absent while unknown or the PDU cannot be read.
# TYPE powerbridge_outlet_on gauge
powerbridge_outlet_on{machine="node1",name="Outlet 1",outlet="1",pdu="rack1"} 1
powerbridge_outlet_on{machine="node2",name="Outlet 2",outlet="2",pdu="rack1"} 0
powerbridge_outlet_on{machine="bigboy",name="db�",outlet="1",pdu="rack2"} 1
# HELP powerbridge_outlet_current_amperes Current drawn through the outlet, on PDUs metered by outlet.
# TYPE powerbridge_outlet_current_amperes gauge
powerbridge_outlet_current_amperes{machine="bigboy",name="db�",outlet="1",pdu="rack2"} 0.4
# HELP powerbridge_outlet_power_watts Power drawn through the outlet, on PDUs metered by outlet.
# TYPE powerbridge_outlet_power_watts gauge
powerbridge_outlet_power_watts{machine="bigboy",name="db�",outlet="1",pdu="rack2"} 92
# HELP powerbridge_machine_on Whether the machine is on (1: any of its outlets is on) or off (0: all are off); absent while unknown or one of its PDUs cannot be read.
# TYPE powerbridge_machine_on gauge
powerbridge_machine_on{machine="bigboy"} 1
powerbridge_machine_on{machine="node1"} 1
powerbridge_machine_on{machine="node2"} 0
`
	c := telemetry.NewFleetCollector(f)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), liveNames...); err != nil {
		t.Error(err)
	}
	for _, pdu := range []string{"rack1", "rack2"} {
		at := gaugeValue(t, m, "powerbridge_pdu_last_poll_success_timestamp_seconds", map[string]string{"pdu": pdu})
		if at < float64(before.Unix()) || at > float64(time.Now().Unix()+1) {
			t.Errorf("%s last poll at %v, want between %v and now", pdu, at, before.Unix())
		}
	}
}

func TestFleetCollectorDownPDU(t *testing.T) {
	m := telemetry.New("test")
	f, drivers := testFleet(t, m)

	// Before the first poll nothing is known but that.
	want := `
# HELP powerbridge_pdu_up Whether the last read of the PDU succeeded (1) or failed (0); 0 before the first read.
# TYPE powerbridge_pdu_up gauge
powerbridge_pdu_up{pdu="rack1"} 0
powerbridge_pdu_up{pdu="rack2"} 0
`
	if err := testutil.CollectAndCompare(telemetry.NewFleetCollector(f), strings.NewReader(want), append(liveNames, "powerbridge_pdu_last_poll_success_timestamp_seconds")...); err != nil {
		t.Errorf("before the first poll: %v", err)
	}

	poll(t, f)
	good := gaugeValue(t, m, "powerbridge_pdu_last_poll_success_timestamp_seconds", map[string]string{"pdu": "rack1"})
	drivers["rack1"].fail(errors.New("request timeout (after 1 retries): max retries exceeded"))
	poll(t, f)

	// rack1 is down: its outlets and meters, and the machines on it, are
	// gone rather than stale; the device it was and when it last answered
	// stay. bigboy has an outlet on rack1, so its state is unknown too.
	want = `
# HELP powerbridge_pdu_up Whether the last read of the PDU succeeded (1) or failed (0); 0 before the first read.
# TYPE powerbridge_pdu_up gauge
powerbridge_pdu_up{pdu="rack1"} 0
powerbridge_pdu_up{pdu="rack2"} 1
# HELP powerbridge_pdu_info Always 1; the labels describe the device as it last told (its vendor, model and firmware), and the protocol dialect used to drive it.
# TYPE powerbridge_pdu_info gauge
powerbridge_pdu_info{dialect="rpdu",firmware="apc_hw02_rpdu_374.bin",model="AP7900",pdu="rack1",vendor="APC"} 1
powerbridge_pdu_info{dialect="rpdu2",firmware="apc_hw05_rpdu2g_680.bin",model="AP8941",pdu="rack2",vendor="APC"} 1
# HELP powerbridge_outlet_on Whether the outlet is on (1) or off (0) as the PDU last said; absent while unknown or the PDU cannot be read.
# TYPE powerbridge_outlet_on gauge
powerbridge_outlet_on{machine="bigboy",name="db�",outlet="1",pdu="rack2"} 1
`
	if err := testutil.CollectAndCompare(telemetry.NewFleetCollector(f), strings.NewReader(want),
		"powerbridge_pdu_up", "powerbridge_pdu_info", "powerbridge_outlet_on", "powerbridge_machine_on"); err != nil {
		t.Errorf("rack1 down: %v", err)
	}
	if got := gaugeValue(t, m, "powerbridge_pdu_last_poll_success_timestamp_seconds", map[string]string{"pdu": "rack1"}); got != good {
		t.Errorf("rack1's last successful poll moved from %v to %v on a failed read", good, got)
	}
	if got := counterValue(t, m, "powerbridge_snmp_timeouts_total", map[string]string{"pdu": "rack1", "op": "read"}); got != 1 {
		t.Errorf("rack1 read timeouts = %v, want 1", got)
	}
}

func TestDeviceCallCountsErrorsAndTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name            string
		err             error
		errors, timeout float64
	}{
		{"ok", nil, 0, 0},
		{"deadline", fmt.Errorf("no answer from 10.0.0.5:161 before the deadline: %w", context.DeadlineExceeded), 1, 1},
		{"gosnmp retries", errors.New("no answer from 10.0.0.5:161 within 2s: request timeout (after 1 retries): max retries exceeded"), 1, 1},
		{"net timeout", &timeoutErr{}, 1, 1},
		{"agent error", errors.New("agent answered genErr for .1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.3"), 1, 0},
		{"refused", fmt.Errorf("agent answered noSuchName: %w", power.ErrRefused), 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := telemetry.New("test")
			m.DeviceCall("rack1", "switch", 120*time.Millisecond, tc.err)
			labels := map[string]string{"pdu": "rack1", "op": "switch"}
			if got := histogramCount(t, m, "powerbridge_snmp_request_duration_seconds", labels); got != 1 {
				t.Errorf("%d observations, want 1", got)
			}
			// A counter never incremented (and not started by CollectFleet)
			// has no series: that reads as 0 here.
			if got := metric(t, m, "powerbridge_snmp_errors_total", labels).GetCounter().GetValue(); got != tc.errors {
				t.Errorf("errors = %v, want %v", got, tc.errors)
			}
			if got := metric(t, m, "powerbridge_snmp_timeouts_total", labels).GetCounter().GetValue(); got != tc.timeout {
				t.Errorf("timeouts = %v, want %v", got, tc.timeout)
			}
		})
	}
}

// TestSNMPTimeoutGauge: the gauge shows the time the last request to each
// PDU was given, in seconds.
func TestSNMPTimeoutGauge(t *testing.T) {
	m := telemetry.New("test")
	m.SNMPTimeout("rack1", 2*time.Second)
	m.SNMPTimeout("rack2", 2*time.Second)
	m.SNMPTimeout("rack1", 3825*time.Millisecond)
	for pdu, want := range map[string]float64{"rack1": 3.825, "rack2": 2} {
		if got := gaugeValue(t, m, "powerbridge_snmp_timeout_seconds", map[string]string{"pdu": pdu}); got != want {
			t.Errorf("%s: powerbridge_snmp_timeout_seconds = %v, want %v", pdu, got, want)
		}
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string { return "i/o timeout" }
func (*timeoutErr) Timeout() bool { return true }

func TestActionAndShutdownCounters(t *testing.T) {
	m := telemetry.New("test")
	m.Action("bigboy", power.ActionOff, "ok", 30*time.Second)
	m.Action("bigboy", power.ActionOff, "ok", 10*time.Second)
	m.Action("node1", power.ActionOn, "error", time.Second)
	m.Shutdown("bigboy", "graceful", "", 25*time.Second)
	m.Shutdown("bigboy", "cut", "request unreachable in 3s: dial tcp 10.0.0.7:22: i/o timeout", 3*time.Second)
	m.Shutdown("node1", "refused", "ssh: handshake failed: ssh: unable to authenticate", time.Second)

	want := `
# HELP powerbridge_power_actions_total Finished power actions on machines, by action (on, off, cycle) and result (ok, error).
# TYPE powerbridge_power_actions_total counter
powerbridge_power_actions_total{action="off",machine="bigboy",result="ok"} 2
powerbridge_power_actions_total{action="on",machine="node1",result="error"} 1
# HELP powerbridge_graceful_shutdowns_total Graceful shutdowns that saw the OS go down before power was cut.
# TYPE powerbridge_graceful_shutdowns_total counter
powerbridge_graceful_shutdowns_total{machine="bigboy"} 1
# HELP powerbridge_forced_cuts_total Power cut without a confirmed OS shutdown (machine policy "cut"), by why the shutdown failed.
# TYPE powerbridge_forced_cuts_total counter
powerbridge_forced_cuts_total{machine="bigboy",reason="unreachable"} 1
# HELP powerbridge_refused_shutdowns_total Off actions that left power on because the OS shutdown failed and the machine's policy is "fail", by why it failed.
# TYPE powerbridge_refused_shutdowns_total counter
powerbridge_refused_shutdowns_total{machine="node1",reason="auth"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"powerbridge_power_actions_total", "powerbridge_graceful_shutdowns_total",
		"powerbridge_forced_cuts_total", "powerbridge_refused_shutdowns_total"); err != nil {
		t.Error(err)
	}
	for outcome, n := range map[string]uint64{"graceful": 1, "cut": 1, "refused": 1} {
		if got := histogramCount(t, m, "powerbridge_shutdown_duration_seconds", map[string]string{"outcome": outcome}); got != n {
			t.Errorf("shutdown duration {outcome=%q}: %d observations, want %d", outcome, got, n)
		}
	}
}

// Counters of the fleet start at zero, so that the first forced cut or
// failed read is an increase() an alert can see.
func TestStartCountersAtZero(t *testing.T) {
	m := telemetry.New("test")
	pdu := power.NewPDU(power.PDUConfig{Name: "rack1", Driver: &stubDriver{}})
	f, err := power.NewFleet([]*power.PDU{pdu}, []power.Machine{
		{Name: "node1", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 1}}},
		{Name: "bigboy", Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 2}}, Graceful: gracefulStub{}},
	}, power.FleetConfig{Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := m.CollectFleet(f); err != nil {
		t.Fatal(err)
	}
	m.StartCounters(f)
	for _, tc := range []struct {
		name   string
		labels map[string]string
	}{
		{"powerbridge_snmp_errors_total", map[string]string{"pdu": "rack1", "op": "read"}},
		{"powerbridge_snmp_timeouts_total", map[string]string{"pdu": "rack1", "op": "switch"}},
		{"powerbridge_power_actions_total", map[string]string{"machine": "node1", "action": "cycle", "result": "error"}},
		{"powerbridge_graceful_shutdowns_total", map[string]string{"machine": "bigboy"}},
		{"powerbridge_forced_cuts_total", map[string]string{"machine": "bigboy", "reason": "timeout"}},
		{"powerbridge_refused_shutdowns_total", map[string]string{"machine": "bigboy", "reason": "other"}},
	} {
		if got := counterValue(t, m, tc.name, tc.labels); got != 0 {
			t.Errorf("%s%v = %v, want 0", tc.name, tc.labels, got)
		}
	}
	if n := countSeries(t, m, "powerbridge_forced_cuts_total"); n != len(telemetry.ShutdownReasons) {
		t.Errorf("%d forced-cut series, want one per reason for bigboy alone (node1 has no graceful shutdown): %d", n, len(telemetry.ShutdownReasons))
	}
	if err := m.CollectFleet(f); err == nil {
		t.Error("a second CollectFleet registered the collector twice")
	}
}

// gracefulStub only marks a machine as shut down gracefully; nothing calls it.
type gracefulStub struct{ power.Graceful }

// Everything the registry serves passes client_golang's linter, the rules
// `promtool check metrics` applies.
func TestMetricsLint(t *testing.T) {
	m := telemetry.New("test")
	f, _ := testFleet(t, m)
	poll(t, f)
	if _, err := f.On(t.Context(), "node2"); err != nil {
		t.Fatal(err)
	}
	m.Shutdown("bigboy", "cut", "timeout", time.Second)
	server.NewHTTPMetrics(m.Registry()).Instrument(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))

	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if got := gaugeValue(t, m, "powerbridge_build_info", map[string]string{"version": "test"}); got != 1 {
		t.Errorf("build info = %v, want 1", got)
	}
	if got := countSeries(t, m, "powerbridge_outlet_on"); got != 3 {
		t.Errorf("%d outlet_on series, want 3", got)
	}
}

func TestConfigReloaded(t *testing.T) {
	m := telemetry.New("test")
	first := gaugeValue(t, m, "powerbridge_config_last_reload_success_timestamp_seconds", nil)
	if ok := gaugeValue(t, m, "powerbridge_config_last_reload_successful", nil); ok != 1 || first == 0 {
		t.Fatalf("at start: successful %v, timestamp %v; want 1 and now", ok, first)
	}
	m.ConfigReloaded(errors.New("line 3: unknown key"))
	if ok := gaugeValue(t, m, "powerbridge_config_last_reload_successful", nil); ok != 0 {
		t.Errorf("after a refused reload: successful %v, want 0", ok)
	}
	if at := gaugeValue(t, m, "powerbridge_config_last_reload_success_timestamp_seconds", nil); at != first {
		t.Errorf("a refused reload moved the success timestamp from %v to %v", first, at)
	}
	m.ConfigReloaded(nil)
	if ok := gaugeValue(t, m, "powerbridge_config_last_reload_successful", nil); ok != 1 {
		t.Errorf("after a good reload: successful %v, want 1", ok)
	}
}

// The alert rules and the dashboard in deploy/prometheus name only metrics
// that exist: a typo there is an alert that never fires.
func TestDeployFilesNameRealMetrics(t *testing.T) {
	families := everyFamily(t)
	known := map[string]bool{}
	for _, mf := range families {
		name := mf.GetName()
		known[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[name+s] = true
			}
		}
	}
	files, err := filepath.Glob("../../deploy/prometheus/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in deploy/prometheus: %v", err)
	}
	names := regexp.MustCompile(`powerbridge_[a-z_]+[a-z]`)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, name := range names.FindAllString(string(data), -1) {
			seen++
			if !known[name] {
				t.Errorf("%s names %s, which powerbridge does not export", filepath.Base(file), name)
			}
		}
		if seen == 0 && !strings.HasSuffix(file, "prometheus.yml") {
			t.Errorf("%s names no powerbridge metric", filepath.Base(file))
		}
	}
}

// everyFamily gathers the registry after giving every family a series, so
// that each shows in the gather.
func everyFamily(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	m := telemetry.New("test")
	f, _ := testFleet(t, m)
	poll(t, f)
	m.DeviceCall("rack1", "read", time.Millisecond, nil)
	m.SNMPTimeout("rack1", 2*time.Second)
	m.Action("node1", power.ActionOn, "ok", time.Second)
	m.Shutdown("bigboy", "graceful", "", time.Second)
	m.Shutdown("bigboy", "cut", "", time.Second)
	m.Shutdown("bigboy", "refused", "", time.Second)
	m.UnexpectedChange("rack1", 3, "bigboy", power.On)
	server.NewHTTPMetrics(m.Registry()).Instrument(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// TestMetricFamiliesGolden pins the name, type, help and label names of
// every powerbridge_ family, the HTTP face's included, as node_exporter's fixtures do: dashboards,
// alert rules and people's queries depend on them, so a rename must be a
// deliberate change (-update rewrites testdata/metrics.golden). The go_ and
// process_ families are client_golang's and vary with the Go version.
func TestMetricFamiliesGolden(t *testing.T) {
	var got strings.Builder
	for _, mf := range everyFamily(t) {
		if !strings.HasPrefix(mf.GetName(), "powerbridge_") {
			continue
		}
		labels := map[string]bool{}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				labels[lp.GetName()] = true
			}
		}
		fmt.Fprintf(&got, "# HELP %s %s\n# TYPE %s %s\n# LABELS %s %s\n",
			mf.GetName(), mf.GetHelp(), mf.GetName(), strings.ToLower(mf.GetType().String()), mf.GetName(), strings.Join(slices.Sorted(maps.Keys(labels)), ","))
	}
	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading %s (run with -update to write it): %v", golden, err)
	}
	if got.String() != string(want) {
		t.Errorf("the metric families differ from %s (run with -update if the change is meant):\n--- got\n%s--- want\n%s", golden, got.String(), want)
	}
}

// metric finds the first series of a family whose labels include labels.
func metric(t *testing.T, m *telemetry.Metrics, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, s := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range s.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			return s
		}
	}
	return nil
}

// mustMetric is metric, failing the test when there is no such series.
func mustMetric(t *testing.T, m *telemetry.Metrics, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	s := metric(t, m, name, labels)
	if s == nil {
		t.Fatalf("no series %s%v", name, labels)
	}
	return s
}

func gaugeValue(t *testing.T, m *telemetry.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	return mustMetric(t, m, name, labels).GetGauge().GetValue()
}

func counterValue(t *testing.T, m *telemetry.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	return mustMetric(t, m, name, labels).GetCounter().GetValue()
}

func histogramCount(t *testing.T, m *telemetry.Metrics, name string, labels map[string]string) uint64 {
	t.Helper()
	return mustMetric(t, m, name, labels).GetHistogram().GetSampleCount()
}

func countSeries(t *testing.T, m *telemetry.Metrics, name string) int {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
