package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
)

const testToken = "daemon-test-token-0123456789"

// fakeDriver is an in-memory PDU of 8 outlets, all off.
type fakeDriver struct {
	name string

	mu     sync.Mutex
	states map[int]power.State
	sets   int

	// gate, when set, holds every Read until it is closed (or ctx ends);
	// entered is told of each Read that waits on it.
	gate    chan struct{}
	entered chan struct{}
	closed  atomic.Bool
	onEvent func(apc.Event)
}

func newFakeDriver(name string) *fakeDriver {
	d := &fakeDriver{name: name, states: map[int]power.State{}}
	for n := 1; n <= 8; n++ {
		d.states[n] = power.Off
	}
	return d
}

func (d *fakeDriver) Read(ctx context.Context) (power.Reading, error) {
	if d.closed.Load() {
		return power.Reading{}, errors.New("read on a closed driver")
	}
	if d.gate != nil {
		if d.entered != nil {
			d.entered <- struct{}{}
		}
		select {
		case <-d.gate:
		case <-ctx.Done():
			return power.Reading{}, ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r := power.Reading{Info: power.Info{Vendor: "APC", Model: "fake", Dialect: "fake"}}
	for n := 1; n <= 8; n++ {
		r.Outlets = append(r.Outlets, power.Outlet{Number: n, State: d.states[n]})
	}
	return r, nil
}

func (d *fakeDriver) Switch(_ context.Context, outlet int, to power.State) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sets++
	d.states[outlet] = to
	return nil
}

func (d *fakeDriver) Close() error {
	d.closed.Store(true)
	return nil
}

func (d *fakeDriver) state(n int) power.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.states[n]
}

// drivers hands out fake drivers and remembers each one made, by PDU name.
type drivers struct {
	mu   sync.Mutex
	made map[string][]*fakeDriver
	// prepare, when set, is applied to each new driver.
	prepare func(*fakeDriver)
	fail    error
}

func (ds *drivers) new(p config.PDU, onEvent func(apc.Event)) (power.Driver, error) {
	if ds.fail != nil {
		return nil, ds.fail
	}
	d := newFakeDriver(p.Name)
	d.onEvent = onEvent
	if ds.prepare != nil {
		ds.prepare(d)
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.made == nil {
		ds.made = map[string][]*fakeDriver{}
	}
	ds.made[p.Name] = append(ds.made[p.Name], d)
	return d, nil
}

func (ds *drivers) of(pdu string) []*fakeDriver {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return append([]*fakeDriver(nil), ds.made[pdu]...)
}

// testConfig is a config with rack1 (node1 on outlet 1, bigboy on 3 and 4),
// its state and audit log in dir.
func testConfig(t *testing.T, dir string, powerOnDelay string) string {
	t.Helper()
	return fmt.Sprintf(`listen: "127.0.0.1:0"
auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 2s, action: 30s}
state_dir: %q
audit_log: %q
pdus:
  - name: rack1
    address: 192.0.2.10
    snmp: {version: "1", community: private}
    power_on_delay: %s
    switch_timeout: 5s
    poll_interval: 1h
machines:
  - {name: node1, outlets: ["rack1/1"]}
  - {name: bigboy, outlets: ["rack1/3", "rack1/4"]}
`, testToken, dir, filepath.Join(dir, "audit.log"), powerOnDelay)
}

// running is a daemon under test.
type running struct {
	base   string
	path   string
	hup    chan os.Signal
	cancel context.CancelFunc
	done   chan error
	svc    *service
}

func load(path string) (*config.File, error) { return config.Load(path) }

// startDaemon runs a daemon on the config text, written to a file of its
// own, until the test ends.
func startDaemon(t *testing.T, text string, ds *drivers, tweak func(*Options)) *running {
	t.Helper()
	path := filepath.Join(t.TempDir(), "powerbridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{path: path, hup: make(chan os.Signal, 1), cancel: cancel, done: make(chan error, 1)}
	addr := make(chan string, 1)
	o := Options{
		Config:     cfg,
		ConfigPath: path,
		Load:       load,
		Version:    "test",
		Reload:     r.hup,
		Serving:    func(a string, _ *config.File) { addr <- a },
		newDriver:  ds.new,
	}
	if tweak != nil {
		tweak(&o)
	}
	s, err := newService(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r.svc = s
	go func() {
		err := s.serve(ctx, o)
		s.close()
		r.done <- err
	}()
	select {
	case a := <-addr:
		r.base = "http://" + a
	case err := <-r.done:
		t.Fatalf("Run ended before serving: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon is not serving after 20s")
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("Run did not end within 30s of its context")
	}
}

func (r *running) call(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// rewrite writes a new config file for the next reload.
func (r *running) rewrite(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(r.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising
	}
}

func TestRunServesTheFleetAndAuditsActions(t *testing.T) {
	dir := t.TempDir()
	ds := &drivers{}
	r := startDaemon(t, testConfig(t, dir, "1ms"), ds, nil)

	if code, body := r.call(t, http.MethodGet, "/v1/machines/node1/status"); code != 200 || !strings.Contains(body, "stopped") {
		t.Fatalf("status: %d %s", code, body)
	}
	if code, body := r.call(t, http.MethodPost, "/v1/machines/bigboy/on"); code != 200 {
		t.Fatalf("on: %d %s", code, body)
	}
	d := ds.of("rack1")[0]
	if d.state(3) != power.On || d.state(4) != power.On {
		t.Errorf("bigboy's outlets are %v and %v, want on", d.state(3), d.state(4))
	}
	if code, body := r.call(t, http.MethodGet, "/v1/pdus/rack1/outlets"); code != 200 || !strings.Contains(body, `"machine":"bigboy"`) {
		t.Errorf("outlets: %d %s", code, body)
	}
	if code, _ := r.call(t, http.MethodGet, "/readyz"); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, r.base+"/v1/machines", nil)
	req.Header.Set("Authorization", "Bearer wrong-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", resp.StatusCode)
	}
	if code, body := r.call(t, http.MethodGet, "/metrics"); code != 200 || !strings.Contains(body, `powerbridge_pdu_up{pdu="rack1"} 1`) {
		t.Errorf("metrics: %d, want powerbridge_pdu_up of rack1 at 1 in:\n%s", code, body)
	}

	r.stop(t)
	if !d.closed.Load() {
		t.Error("the PDU's driver is still open after Run ended")
	}
	data, err := os.ReadFile(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	var line auditLine
	if err := json.Unmarshal(data, &line); err != nil {
		t.Fatalf("audit log %q: %v", data, err)
	}
	if line.Machine != "bigboy" || line.Action != "on" || line.Outcome != "ok" || !line.Changed || line.Principal != "maas" {
		t.Errorf("audit line %+v, want maas switching bigboy on", line)
	}
}

// A request holds the generation it started on: a reload that retires its
// PDU closes the PDU only once the request is answered, and the request
// reads the PDU it started with.
func TestRequestKeepsItsGenerationAcrossAReload(t *testing.T) {
	dir := t.TempDir()
	gate := make(chan struct{})
	entered := make(chan struct{}, 16)
	var gated atomic.Bool
	gated.Store(true)
	ds := &drivers{prepare: func(d *fakeDriver) {
		if gated.Load() {
			d.gate, d.entered = gate, entered
		}
	}}
	r := startDaemon(t, testConfig(t, dir, "1ms"), ds, nil)
	gated.Store(false) // the PDUs of later generations answer at once
	old := ds.of("rack1")[0]
	<-entered // the first generation's poller is reading

	answer := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, r.base+"/v1/pdus", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	// The request is under way on the first generation: it reads rack1,
	// whose read is held at the gate.
	waitFor(t, "the request holds the first generation", func() bool {
		return r.svc.cur.Load().refs.Load() > 0
	})

	// A reload that changes rack1: a new PDU, and the old one retired.
	r.rewrite(t, testConfig(t, dir, "2ms"))
	if code, body := r.call(t, http.MethodPost, "/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if n := len(ds.of("rack1")); n != 2 {
		t.Fatalf("%d drivers made for rack1, want a new one on the reload", n)
	}
	if old.closed.Load() {
		t.Fatal("the retired PDU was closed while a request still held its generation")
	}
	close(gate)
	if got := <-answer; !strings.HasPrefix(got, "200 ") || strings.Contains(got, "error") {
		t.Errorf("the request that straddled the reload got %s", got)
	}
	waitFor(t, "the retired PDU is closed once its last request is done", old.closed.Load)
	if ds.of("rack1")[1].closed.Load() {
		t.Error("the PDU in force was closed")
	}
}
