package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

const scrapeToken = "scrape-token-0123456789"

// metricsFleet starts a simulated AP7900 as rack1 and a metered AP8941 as
// rack2, both read every second, and returns them with the bridge's config:
// /metrics behind scrapeToken.
func metricsFleet(t *testing.T) (rack1, rack2 *pdusim.Device, rack1Addr, rack2Addr, config string) {
	t.Helper()
	rack1, agent1, pdu1 := simPDU(t, "ap7900")
	rack2, agent2, pdu2 := simPDU(t, "ap8941")
	pdu2 = strings.Replace(pdu2, "name: rack1", "name: rack2", 1)
	const poll = "    poll_interval: 1s\n"
	config = `
auth:
  tokens: [{name: maas, token: ` + maasToken + `}]
  metrics_token: ` + scrapeToken + `
timeouts: {status: 2s, action: 30s}
pdus:` + pdu1 + poll + pdu2 + poll + `
machines:
  - {name: node1, outlets: ["rack1/1"]}
  - {name: bigboy, outlets: ["rack1/3", "rack2/1"]}
`
	return rack1, rack2, agent1.Addr(), agent2.Addr(), config
}

// A live scrape: promtool finds nothing to fault, and the readings are the
// simulated devices' own values with APC's units converted to base units.
func TestMetricsScrape(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	requireTool(t, "snmpget", "snmp")
	rack1, rack2, addr1, addr2, config := metricsFleet(t)
	// The simulated meters follow the outlets: 0.35 A for each one on.
	for n := 1; n <= rack1.Outlets(); n++ {
		rack1.SetOutletState(n, power.On)
	}
	for n := 1; n <= rack2.Outlets(); n++ {
		rack2.SetOutletState(n, power.On)
	}
	rack1.SetOutletState(2, power.Off)
	b := startBridge(t, config)

	if code, _ := get(t, b.URL+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the metrics token: %d, want 401", code)
	}
	if code, _ := get(t, b.URL+"/metrics", maasToken); code != http.StatusUnauthorized {
		t.Errorf("/metrics with MAAS's token: %d, want 401 (it has a token of its own)", code)
	}

	var body string
	waitUntil(t, 10*time.Second, "both PDUs have been polled", func() bool {
		_, body = get(t, b.URL+"/metrics", scrapeToken)
		up1, _ := sample(body, `powerbridge_pdu_up{pdu="rack1"}`)
		up2, _ := sample(body, `powerbridge_pdu_up{pdu="rack2"}`)
		return up1 == 1 && up2 == 1
	})
	// Once more, so that this scrape counts the one before it.
	_, body = get(t, b.URL+"/metrics", scrapeToken)

	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics on a live scrape: %v\n%s", err, out)
	}

	// The APC MIB's units, read with net-snmp from the devices themselves.
	for _, tc := range []struct {
		series string
		addr   string
		oid    string
		factor float64 // MIB unit → base unit
		want   float64 // the simulated devices' values, as a fixed point
	}{
		// rPDULoadStatusLoad.1: tenths of amperes; 7 of 8 outlets on.
		{`powerbridge_pdu_current_amperes{pdu="rack1",phase="1"}`, addr1, ".1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1", 0.1, 2.5},
		// rPDU2PhaseStatusCurrent.1: tenths of amperes; 24 outlets on.
		{`powerbridge_pdu_current_amperes{pdu="rack2",phase="1"}`, addr2, ".1.3.6.1.4.1.318.1.1.26.6.3.1.5.1", 0.1, 8.4},
		// rPDU2DeviceStatusPower.1: hundredths of kilowatts.
		{`powerbridge_pdu_power_watts{pdu="rack2"}`, addr2, ".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", 10, 1930},
		// rPDU2DeviceStatusEnergy.1: tenths of kilowatt-hours.
		{`powerbridge_pdu_energy_joules_total{pdu="rack2"}`, addr2, ".1.3.6.1.4.1.318.1.1.26.4.3.1.9.1", 360_000, 4821.3 * 3.6e6},
	} {
		got, ok := sample(body, tc.series)
		if !ok {
			t.Errorf("no %s in the scrape", tc.series)
			continue
		}
		raw := snmpGetInt(t, tc.addr, tc.oid)
		if !near(got, float64(raw)*tc.factor) || !near(got, tc.want) {
			t.Errorf("%s = %v; the device says %d (× %g = %v), want %v", tc.series, got, raw, tc.factor, float64(raw)*tc.factor, tc.want)
		}
	}

	for _, tc := range []struct {
		series string
		want   float64
	}{
		{`powerbridge_outlet_on{machine="node1",name="Outlet 1",outlet="1",pdu="rack1"}`, 1},
		{`powerbridge_outlet_on{machine="",name="Outlet 2",outlet="2",pdu="rack1"}`, 0},
		{`powerbridge_outlet_on{machine="bigboy",name="Outlet 1",outlet="1",pdu="rack2"}`, 1},
		{`powerbridge_machine_on{machine="node1"}`, 1},
		{`powerbridge_machine_on{machine="bigboy"}`, 1},
		{`powerbridge_pdu_info{dialect="rpdu",firmware="apc_hw02_rpdu_374.bin",model="AP7900",pdu="rack1",vendor="APC"}`, 1},
		{`powerbridge_pdu_info{dialect="rpdu2",firmware="apc_hw05_rpdu2g_680.bin",model="AP8941",pdu="rack2",vendor="APC"}`, 1},
		{`powerbridge_config_last_reload_successful`, 1},
		{`powerbridge_snmp_timeouts_total{op="read",pdu="rack1"}`, 0},
	} {
		if got, ok := sample(body, tc.series); !ok || got != tc.want {
			t.Errorf("%s = %v (present %v), want %v", tc.series, got, ok, tc.want)
		}
	}
	if at, ok := sample(body, `powerbridge_pdu_last_poll_success_timestamp_seconds{pdu="rack1"}`); !ok || math.Abs(float64(time.Now().Unix())-at) > 30 {
		t.Errorf("rack1's last successful poll at %v (present %v), want about now", at, ok)
	}
	if !strings.Contains(body, `powerbridge_build_info{goversion="go`) {
		t.Errorf("no powerbridge_build_info in the scrape")
	}
	// The scrape before this one was counted under its route pattern.
	if got, ok := sample(body, `powerbridge_http_requests_total{code="200",route="/metrics"}`); !ok || got < 1 {
		t.Errorf("http_requests_total for /metrics = %v (present %v), want at least 1", got, ok)
	}
}

// A real Prometheus scrapes the bridge, with the metrics token, and sees an
// outlet switched through the API.
func TestPrometheusSeesAnOutletSwitch(t *testing.T) {
	requireTool(t, "prometheus", "prometheus")
	_, _, _, _, config := metricsFleet(t)
	b := startBridge(t, config)
	prom := startPrometheus(t, strings.TrimPrefix(b.URL, "http://"), scrapeToken)

	outlet := `powerbridge_outlet_on{pdu="rack1",outlet="1",machine="node1"}`
	waitUntil(t, 30*time.Second, "Prometheus has scraped outlet rack1/1 as off", func() bool {
		return promQuery(t, prom, `up{job="powerbridge"}`) == "1" && promQuery(t, prom, outlet) == "0"
	})

	req, err := http.NewRequest(http.MethodPost, b.URL+"/v1/pdus/rack1/outlets/1/on", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+maasToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("switching rack1/1 on: %d %s", resp.StatusCode, answer)
	}

	waitUntil(t, 30*time.Second, "Prometheus shows rack1/1 and node1 on", func() bool {
		return promQuery(t, prom, outlet) == "1" && promQuery(t, prom, `powerbridge_machine_on{machine="node1"}`) == "1"
	})
	if got := promQuery(t, prom, `sum(powerbridge_http_requests_total{route="/v1/pdus/{pdu}/outlets/{n}/{action:on|off|cycle}",code="200"})`); got != "1" {
		t.Errorf("Prometheus counts %q switch requests, want 1", got)
	}

	// Every query of the Grafana dashboard is PromQL this Prometheus runs.
	data, err := os.ReadFile("../deploy/prometheus/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	grafana := strings.NewReplacer("$__rate_interval", "1m", "$__range", "5m", "$pdu", ".*")
	for _, expr := range dashboardQueries(t, data) {
		code, body := get(t, prom+"/api/v1/query?query="+url.QueryEscape(grafana.Replace(expr)), "")
		if code != http.StatusOK {
			t.Errorf("the dashboard's query %s: %d %s", expr, code, body)
		}
	}
}

// dashboardQueries returns the PromQL of every panel of a Grafana dashboard.
// (Its variables use Grafana's label_values(), which is not PromQL.)
func dashboardQueries(t *testing.T, dashboard []byte) []string {
	t.Helper()
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("the dashboard has %d queries; did its layout change?", len(exprs))
	}
	return exprs
}

// startPrometheus runs Debian's prometheus on loopback, scraping target
// every second with a bearer token, and returns its base URL once it is
// ready. It is killed when the test ends.
func startPrometheus(t *testing.T, target, token string) string {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: powerbridge
    authorization: {credentials: %q}
    static_configs:
      - targets: [%q]
`, token, target)
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	logs := &syncBuffer{}
	cmd := exec.Command("prometheus",
		"--config.file="+path,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	waitUntil(t, 30*time.Second, "prometheus is ready", func() bool {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", logs.String())
		default:
		}
		code, _ := get(t, base+"/-/ready", "")
		return code == http.StatusOK
	})
	return base
}

// promQuery runs an instant query and returns the value of its single
// result, or "" when it has none.
func promQuery(t *testing.T, base, query string) string {
	t.Helper()
	code, body := get(t, base+"/api/v1/query?query="+url.QueryEscape(query), "")
	if code != http.StatusOK {
		t.Fatalf("query %s: %d %s", query, code, body)
	}
	var answer struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.Status != "success" {
		t.Fatalf("query %s: %v: %s", query, err, body)
	}
	switch len(answer.Data.Result) {
	case 0:
		return ""
	case 1:
		v, _ := answer.Data.Result[0].Value[1].(string)
		return v
	}
	t.Fatalf("query %s: %d results, want one: %s", query, len(answer.Data.Result), body)
	return ""
}

// get fetches url, with a bearer token when one is given.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(body)
}

// sample finds a series in a text-format scrape, written as the scrape
// writes it (labels in name order), and returns its value.
func sample(scrape, series string) (float64, bool) {
	for line := range strings.Lines(scrape) {
		rest, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

// snmpGetInt reads one integer with net-snmp's snmpget (v1, community
// public): an independent client of the simulated PDU.
func snmpGetInt(t *testing.T, addr, oid string) int64 {
	t.Helper()
	// An empty config and persistent directory keeps the user's and the
	// system's snmp.conf out of it.
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "snmpget", "-v1", "-c", "public", "-On", "-Oqv", "-t", "1", "-r", "1", addr, oid)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS="+dir, "SNMPCONFPATH="+dir, "SNMP_PERSISTENT_DIR="+dir, "HOME="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("snmpget %s %s: %v", addr, oid, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("snmpget %s %s: %q is not an integer", addr, oid, out)
	}
	return n
}

// requireTool returns the path of a command the test needs, failing the
// test (not skipping it) when it is missing: CI installs it.
func requireTool(t *testing.T, command, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(command)
	if err != nil {
		t.Fatalf("%s is not installed: install Debian's %s package (test/run.sh does)", command, debianPackage)
	}
	return path
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }
