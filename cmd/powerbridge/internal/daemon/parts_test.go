package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
)

func TestReloads(t *testing.T) {
	dir := t.TempDir()
	ds := &drivers{}
	base := testConfig(t, dir, "1ms")
	r := startDaemon(t, base, ds, nil)

	// Unchanged PDU: carried over with its driver; the new machine known.
	r.rewrite(t, base+"  - {name: extra, outlets: [\"rack1/5\"]}\n")
	if code, body := r.call(t, http.MethodPost, "/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if code, body := r.call(t, http.MethodGet, "/v1/machines/extra/status"); code != 200 {
		t.Errorf("extra after the reload: %d %s", code, body)
	}
	if n := len(ds.of("rack1")); n != 1 || ds.of("rack1")[0].closed.Load() {
		t.Errorf("rack1 has %d drivers (the first closed: %v), want its one driver carried over", n, ds.of("rack1")[0].closed.Load())
	}

	// A bad file and a restart-only change are refused; the config stays.
	r.rewrite(t, base+"  - {name: typo, outlet: [\"rack1/6\"]}\n")
	if code, body := r.call(t, http.MethodPost, "/-/reload"); code != http.StatusBadRequest || !strings.Contains(body, "unknown key") {
		t.Errorf("reload of a bad file: %d %s", code, body)
	}
	r.rewrite(t, strings.Replace(base, "status: 2s", "status: 3s", 1))
	if code, body := r.call(t, http.MethodPost, "/-/reload"); code != http.StatusBadRequest || !strings.Contains(body, "timeouts can only change with a restart") {
		t.Errorf("reload changing the timeouts: %d %s", code, body)
	}
	if code, _ := r.call(t, http.MethodGet, "/v1/machines/extra/status"); code != 200 {
		t.Error("a refused reload dropped the config in force")
	}

	// SIGHUP reloads too.
	r.rewrite(t, base+"  - {name: hup, outlets: [\"rack1/7\"]}\n")
	r.hup <- nil
	waitFor(t, "the machine of the file reloaded by SIGHUP is known", func() bool {
		code, _ := r.call(t, http.MethodGet, "/v1/machines/hup/status")
		return code == 200
	})
	if code, _ := r.call(t, http.MethodGet, "/v1/machines/extra/status"); code == 200 {
		t.Error("extra, gone from the file, is still known")
	}
}

func TestRestartOnly(t *testing.T) {
	base := config.File{Listen: "127.0.0.1:1", Timeouts: config.Timeouts{Status: 1, Action: 2}}
	for _, tc := range []struct {
		name   string
		change func(*config.File)
		want   string
	}{
		{"nothing", func(*config.File) {}, ""},
		{"listen", func(f *config.File) { f.Listen = "127.0.0.1:2" }, "listen can only change"},
		{"tls", func(f *config.File) { f.TLS = &config.TLS{CertFile: "c", KeyFile: "k"} }, "tls can only change"},
		{"timeouts", func(f *config.File) { f.Timeouts.Action = 3 }, "timeouts can only change"},
		{"metrics token", func(f *config.File) { f.Auth.MetricsToken = "x" }, "auth.metrics_token can only change"},
		{"pdudaemon", func(f *config.File) { f.PDUDaemon = &config.PDUDaemon{Listen: "127.0.0.1:3"} }, "pdudaemon can only change"},
		{"redfish", func(f *config.File) { f.Redfish.ForceOff = "cut" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := base
			tc.change(&now)
			err := restartOnly(&base, &now)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("restartOnly: %v, want %q", err, tc.want)
			}
		})
	}
}

const simulatedConfig = `listen: "127.0.0.1:0"
auth:
  tokens: [{name: demo, token: ` + testToken + `}]
pdus:
  - name: rack1
    simulate: ap7900
    snmp: {version: "1", community: private}
    power_on_delay: 10ms
  - name: rack2
    simulate: ap8941
    snmp: {version: "3", user: pb, auth_protocol: SHA, auth_passphrase: demo-auth-pass, priv_protocol: AES, priv_passphrase: demo-priv-pass}
    power_on_delay: 10ms
machines:
  - {name: node1, outlets: ["rack1/1"]}
  - {name: bigboy, outlets: ["rack1/3", "rack2/1"]}
`

// Simulated PDUs are served on loopback and driven over real SNMP by
// power/apc; a built-in config cannot be reloaded.
func TestRunOnSimulatedPDUs(t *testing.T) {
	cfg, err := config.Parse([]byte(simulatedConfig), "test config")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Version: "test", Serving: func(a string, _ *config.File) { addr <- a }})
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	r := &running{base: base}
	if code, body := r.call(t, http.MethodPost, "/v1/machines/bigboy/on"); code != 200 || !strings.Contains(body, `"state":"on"`) {
		t.Errorf("on, over SNMP to the simulators: %d %s", code, body)
	}
	if code, body := r.call(t, http.MethodGet, "/v1/pdus"); code != 200 || !strings.Contains(body, "AP7900") || !strings.Contains(body, "AP8941") {
		t.Errorf("pdus: %d %s", code, body)
	}
	if code, body := r.call(t, http.MethodPost, "/-/reload"); code != http.StatusBadRequest || !strings.Contains(body, "built-in demo config cannot be reloaded") {
		t.Errorf("reload of the built-in config: %d %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A reload keeps a simulator whose PDU config did not change (its outlets
// stay as they were) and restarts one whose config did.
func TestSimulatorsAcrossAReload(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Parse([]byte(simulatedConfig), "test config")
	if err != nil {
		t.Fatal(err)
	}
	first, err := simulators(nil).start(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	next, err := config.Parse([]byte(strings.Replace(simulatedConfig, "auth_passphrase: demo-auth-pass", "auth_passphrase: other-auth-pass", 1)), "test config")
	if err != nil {
		t.Fatal(err)
	}
	second, err := first.start(next, log)
	if err != nil {
		t.Fatal(err)
	}
	if second["rack1"] != first["rack1"] || second["rack2"] == first["rack2"] {
		t.Errorf("rack1 kept: %v (want true), rack2 kept: %v (want false)", second["rack1"] == first["rack1"], second["rack2"] == first["rack2"])
	}
	if next.PDUs[0].Address != first["rack1"].agent.Addr() {
		t.Errorf("rack1's address %q is not its simulator's %q", next.PDUs[0].Address, first["rack1"].agent.Addr())
	}
	if err := first.closeUnless(second); err != nil {
		t.Error(err)
	}
	if err := second.closeUnless(nil); err != nil {
		t.Error(err)
	}

	bad := *next
	bad.PDUs = []config.PDU{{Name: "x", Simulate: "no-such-model"}}
	if _, err := simulators(nil).start(&bad, log); err == nil || !strings.Contains(err.Error(), "PDU x") {
		t.Errorf("an unknown model: %v", err)
	}
	bad.PDUs = []config.PDU{{Name: "x", Simulate: filepath.Join(t.TempDir(), "none.snmprec")}}
	if _, err := simulators(nil).start(&bad, log); err == nil || !strings.Contains(err.Error(), "PDU x") {
		t.Errorf("a missing recording: %v", err)
	}
}

func TestAuditFile(t *testing.T) {
	dir := t.TempDir()
	var logged bytes.Buffer
	a := &auditFile{log: slog.New(slog.NewTextHandler(&logged, nil))}
	a.Record(power.AuditRecord{Machine: "before"}) // no file yet: nothing
	one, two := filepath.Join(dir, "one.log"), filepath.Join(dir, "two.log")
	if err := a.open(one); err != nil {
		t.Fatal(err)
	}
	if err := a.open(one); err != nil { // unchanged: kept
		t.Fatal(err)
	}
	a.Record(power.AuditRecord{Principal: "maas", Machine: "node1", Action: power.ActionOff, Changed: true, State: power.Off})
	if err := a.open(two); err != nil {
		t.Fatal(err)
	}
	a.Record(power.AuditRecord{Principal: "maas", Outlet: "rack1/2", Action: power.ActionOn, Err: errors.New("no answer")})
	if err := a.open(filepath.Join(dir, "no-such-dir", "x.log")); err == nil || !strings.HasPrefix(err.Error(), "audit_log: ") {
		t.Errorf("an audit log that cannot be opened: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	for path, want := range map[string]string{
		one: `"principal":"maas","machine":"node1","action":"off","outcome":"ok","changed":true,"state":"off"`,
		two: `"outlet":"rack1/2","action":"on","outcome":"error","changed":false`,
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(data), "\n") != 1 || !strings.Contains(string(data), want) {
			t.Errorf("%s holds %q, want one line with %s", filepath.Base(path), data, want)
		}
	}
	if !strings.Contains(string(mustRead(t, two)), `"error":"no answer"`) {
		t.Error("the failed action's error is not in the audit line")
	}

	// A write that fails is logged: the trail has a gap.
	f, err := os.Open(one) // read-only: writes fail
	if err != nil {
		t.Fatal(err)
	}
	a.path, a.f = one, f
	a.Record(power.AuditRecord{Machine: "node1"})
	if !strings.Contains(logged.String(), "writing the audit log") {
		t.Errorf("a failed write is not logged: %q", logged.String())
	}
	a.Close()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type eventCounts struct {
	mu       sync.Mutex
	retries  int
	restarts int
}

func (c *eventCounts) SNMPRetries(_ string, n int)       { c.mu.Lock(); c.retries += n; c.mu.Unlock() }
func (c *eventCounts) SNMPTimeout(string, time.Duration) {}
func (c *eventCounts) PDURestarted(string)               { c.mu.Lock(); c.restarts++; c.mu.Unlock() }

func TestPDUEvents(t *testing.T) {
	var logged bytes.Buffer
	c := &eventCounts{}
	on := pduEvents("rack1", slog.New(slog.NewTextHandler(&logged, nil)), c)
	on(apc.Event{Kind: apc.EventRetry, Count: 2})
	on(apc.Event{Kind: apc.EventRetry, Count: 3}) // within retryLogEvery: counted, not logged
	on(apc.Event{Kind: apc.EventRestart, Count: 1, Detail: "engine boots 1 to 2"})
	on(apc.Event{Kind: apc.EventNewEngine, Count: 1, Detail: "engine 80001f88 to 80001f89"})
	if c.retries != 5 || c.restarts != 2 {
		t.Errorf("counted %d retries and %d restarts, want 5 and 2", c.retries, c.restarts)
	}
	out := logged.String()
	for _, want := range []string{"retries=2", "PDU restarted", "engine boots 1 to 2", "new SNMP engine", "pdu=rack1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "needed retries") != 1 {
		t.Errorf("retries logged %d times, want once per %s:\n%s", strings.Count(out, "needed retries"), retryLogEvery, out)
	}
	// Without a counter the events are still logged.
	pduEvents("rack2", slog.New(slog.DiscardHandler), nil)(apc.Event{Kind: apc.EventRestart, Count: 1})
}

// fakeJournal is a power.Journal in memory.
type fakeJournal struct {
	mu    sync.Mutex
	ended []string
}

func (j *fakeJournal) Begin(string, []power.OutletRef, power.State, bool) error { return nil }
func (j *fakeJournal) End(machine string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ended = append(j.ended, machine)
	return nil
}

// A switch a previous process left unfinished is finished at start.
func TestJournalFinishesAnInterruptedSwitch(t *testing.T) {
	dir := t.TempDir()
	ds := &drivers{}
	j := &fakeJournal{}
	var openedIn string
	r := startDaemon(t, testConfig(t, dir, "1ms"), ds, func(o *Options) {
		o.OpenState = func(d string) (StateDir, error) {
			openedIn = d
			return StateDir{Journal: j, Interrupted: []power.Interrupted{{Machine: "bigboy", To: power.On,
				Outlets: []power.OutletRef{{PDU: "rack1", Outlet: 3}, {PDU: "rack1", Outlet: 4}}}}}, nil
		}
	})
	if openedIn != dir {
		t.Errorf("the journal was opened in %q, want the state_dir %q", openedIn, dir)
	}
	d := ds.of("rack1")[0]
	waitFor(t, "bigboy's interrupted power-on is finished", func() bool {
		return d.state(3) == power.On && d.state(4) == power.On
	})
	waitFor(t, "the journal records the end of the switch", func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		return len(j.ended) > 0
	})
	_ = r
}

// A state directory that cannot hold the journal is an error in the log
// when a machine has two outlets, and the service runs without one.
func TestJournalThatCannotOpen(t *testing.T) {
	var logged syncLog
	ds := &drivers{}
	r := startDaemon(t, testConfig(t, t.TempDir(), "1ms"), ds, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logged, nil))
		o.OpenState = func(string) (StateDir, error) {
			return StateDir{}, errors.New("read-only file system")
		}
	})
	if code, body := r.call(t, http.MethodPost, "/v1/machines/bigboy/on"); code != 200 {
		t.Errorf("on without a journal: %d %s", code, body)
	}
	if s := logged.String(); !strings.Contains(s, "level=ERROR") || !strings.Contains(s, "read-only file system") {
		t.Errorf("the unusable state directory is not an error in the log:\n%s", s)
	}
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestStartFails(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(testConfig(t, dir, "1ms")), "test config")
	if err != nil {
		t.Fatal(err)
	}
	ds := &drivers{fail: errors.New("no such dialect")}
	if err := Run(context.Background(), Options{Config: cfg, newDriver: ds.new}); err == nil || !strings.Contains(err.Error(), "PDU rack1: no such dialect") {
		t.Errorf("a PDU whose driver cannot be made: %v", err)
	}

	cfg.AuditLog = filepath.Join(dir, "no-such-dir", "audit.log")
	if err := Run(context.Background(), Options{Config: cfg, newDriver: (&drivers{}).new}); err == nil || !strings.Contains(err.Error(), "audit_log") {
		t.Errorf("an audit log that cannot be opened: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg.AuditLog = ""
	cfg.Listen = ln.Addr().String()
	if err := Run(context.Background(), Options{Config: cfg, newDriver: (&drivers{}).new}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("a listen address in use: %v", err)
	}
}

// writeKey writes an unencrypted ed25519 private key in OpenSSH format.
func writeKey(t *testing.T, dir string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A machine with a shutdown whose host cannot be reached is cut at once
// (policy cut); its pinned host key can be forgotten.
func TestGracefulShutdownOfAnUnreachableHost(t *testing.T) {
	dir := t.TempDir()
	key := writeKey(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String() // nothing listens here once closed
	ln.Close()
	ds := &drivers{prepare: func(d *fakeDriver) { d.states[1] = power.On }}
	text := testConfig(t, dir, "1ms") + `  - name: shy
    outlets: ["rack1/1"]
    shutdown:
      ssh: {host: "` + closed + `", key_file: ` + key + `}
      timeout: 5s
    liveness: {interval: 100ms, power_below_watts: 10}
`
	text = strings.Replace(text, `  - {name: node1, outlets: ["rack1/1"]}`+"\n", "", 1)
	r := startDaemon(t, text, ds, nil)
	code, body := r.call(t, http.MethodPost, "/v1/machines/shy/off")
	if code != 200 || !strings.Contains(body, `"shutdown":"cut"`) {
		t.Errorf("off of a machine whose ssh is refused: %d %s, want it cut", code, body)
	}
	if ds.of("rack1")[0].state(1) != power.Off {
		t.Error("the outlet is still on")
	}
	if code, body := r.call(t, http.MethodPost, "/v1/machines/shy/forget-host-key"); code != 200 {
		t.Errorf("forget-host-key: %d %s", code, body)
	}
}

func TestGracefulFor(t *testing.T) {
	dir := t.TempDir()
	key := writeKey(t, dir)
	log := slog.New(slog.DiscardHandler)
	m := config.Machine{Name: "m", Shutdown: &config.Shutdown{
		SSH: config.SSH{Host: "127.0.0.1", Port: 22, User: "ubuntu", KeyFile: key}, Timeout: config.Duration(3e9), OnFailure: "fail"}}
	if g, err := gracefulFor(config.Machine{Name: "none"}, dir, log, nil); g != nil || err != nil {
		t.Errorf("a machine without shutdown: %v, %v", g, err)
	}
	for _, tc := range []struct {
		name   string
		ssh    func(*config.SSH)
		pinned bool
	}{
		{"pinned", func(*config.SSH) {}, true},
		{"known_hosts", func(s *config.SSH) { s.KnownHosts = filepath.Join(dir, "known_hosts") }, false},
		{"insecure", func(s *config.SSH) { s.InsecureIgnoreHostKey = true }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc := m
			sh := *m.Shutdown
			tc.ssh(&sh.SSH)
			mc.Shutdown = &sh
			g, err := gracefulFor(mc, dir, log, nil)
			if err != nil {
				t.Fatal(err)
			}
			if (g.PinDir != "") != tc.pinned {
				t.Errorf("pinned under %q, want pinned: %v", g.PinDir, tc.pinned)
			}
			if err := g.ForgetHostKey(); err != nil {
				t.Errorf("ForgetHostKey: %v", err)
			}
		})
	}
	bad := m
	badSh := *m.Shutdown
	badSh.SSH.KeyFile = filepath.Join(dir, "missing")
	bad.Shutdown = &badSh
	if _, err := gracefulFor(bad, dir, log, nil); err == nil || !strings.HasPrefix(err.Error(), "machine m: ") {
		t.Errorf("a missing key: %v", err)
	}
	if _, err := gracefulFor(m, filepath.Join(key, "sub"), log, nil); err == nil || !strings.Contains(err.Error(), "state_dir") {
		t.Errorf("a state_dir that cannot be made: %v", err)
	}
}
