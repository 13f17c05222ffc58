// Package test holds powerbridge's end-to-end tests: they build the real
// binary, start it with a config file, and talk to it the way MAAS, curl and
// Prometheus do, while a simulated APC PDU answers real SNMP on loopback.
package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the powerbridge binary built once for the whole run.
var binary string

func TestMain(m *testing.M) {
	// test/run.sh runs the tests that need root from a test binary built
	// beforehand, with a powerbridge built beforehand, so that Go itself
	// never runs as root.
	if binary = os.Getenv("POWERBRIDGE_TEST_BINARY"); binary != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "powerbridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "powerbridge")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/powerbridge")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building powerbridge:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bridge is a running powerbridge process.
type bridge struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	// Config is the config file's path, for tests that rewrite it.
	Config string
	// Quiet leaves the process's output out of a failed test's output, for
	// a test that prints the lines that explain its failure itself.
	Quiet bool
}

// startBridge writes config (with the listen address filled in) and starts
// `powerbridge serve` on it, returning once /healthz answers.
func startBridge(t *testing.T, config string) *bridge {
	t.Helper()
	addr := freePort(t)
	path := filepath.Join(t.TempDir(), "powerbridge.yaml")
	config = fmt.Sprintf("listen: %q\n%s", addr, config)
	if !strings.Contains(config, "\nstate_dir:") {
		// Each bridge its own state (journal, pinned host keys), never the
		// host's /var/lib/powerbridge.
		config += fmt.Sprintf("\nstate_dir: %q\n", t.TempDir())
	}
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startProcess(t, "http://"+addr, "serve", "--config", path, "--log-level", "debug")
	b.Config = path
	return b
}

func startProcess(t *testing.T, url string, args ...string) *bridge {
	t.Helper()
	b := &bridge{URL: url, logs: &syncBuffer{}}
	b.cmd = exec.Command(binary, args...)
	b.cmd.Stdout, b.cmd.Stderr = b.logs, b.logs
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { b.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		b.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			b.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() && !b.Quiet {
			t.Logf("powerbridge output:\n%s", b.logs.String())
		}
	})
	if b.URL == "" {
		return b
	}
	waitUntil(t, 20*time.Second, "powerbridge answers /healthz", func() bool {
		select {
		case <-exited:
			t.Fatalf("powerbridge exited before serving:\n%s", b.logs.String())
		default:
		}
		resp, err := http.Get(b.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return b
}

// maasCall sends a request shaped exactly like one from MAAS's webhook
// driver: POSTs with an empty body, Content-Length 0 and no Content-Type;
// Accept: application/json; Connection: close; the Authorization it was
// configured with; System_Id only when MAAS has one at hand.
type maasCall struct {
	method   string
	path     string
	auth     func(*http.Request)
	systemID string
	// within, when set, is how long the test waits for an answer at
	// all: a generous bound that fails a hang, not a measure of speed.
	within time.Duration
}

// maasClient is a new connection per request, with no redirects followed on
// POST (MAAS fails a redirected POST) and a 30 s connect timeout.
var maasClient = &http.Client{
	Transport: &http.Transport{
		DialContext:       (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		DisableKeepAlives: true,
	},
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		return fmt.Errorf("redirected to %s", req.URL)
	},
}

func (b *bridge) maas(t *testing.T, c maasCall) (int, string) {
	t.Helper()
	var body io.Reader
	if c.method == http.MethodPost {
		body = http.NoBody
	}
	ctx := context.Background()
	if c.within > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.within)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, b.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "MAAS 3.4.2")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Connection", "close")
	if c.systemID != "" {
		req.Header.Set("System_Id", c.systemID)
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := maasClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK && resp.ContentLength < 0 {
		t.Errorf("%s %s: a %d answer without Content-Length, which MAAS's client fails on", c.method, c.path, resp.StatusCode)
	}
	return resp.StatusCode, string(data)
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting until %s", within, what)
		case <-tick.C:
		}
	}
}

// syncBuffer collects a process's output for the test to read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the output's lines that contain substr.
func (s *syncBuffer) lines(substr string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	return out
}
