package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A deadline for a process that should end by itself at once; it is there
// to turn a hang into a failure, not to measure anything.
const exitDeadline = time.Minute

// exitOf runs powerbridge with args until it exits or the deadline passes,
// when it is killed and exited is false.
func exitOf(t *testing.T, args ...string) (code int, stderr string, exited bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exitDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, errb.String(), false
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running powerbridge %v: %v", args, err)
	}
	return code, errb.String(), true
}

// refusedBoth checks that check-config and serve both refuse the config in
// file (serve before it listens), each printing every line of want.
func refusedBoth(t *testing.T, file string, want []string, secrets ...string) {
	t.Helper()
	for _, args := range [][]string{{"check-config", file}, {"serve", "--config", file}} {
		code, errs, exited := exitOf(t, args...)
		switch {
		case !exited:
			t.Errorf("powerbridge %s: still running after %s (it should refuse the file at once)", args[0], exitDeadline)
			continue
		case code != 1:
			t.Errorf("powerbridge %s: exit %d, want 1\n%s", args[0], code, errs)
		}
		for _, line := range want {
			if !strings.Contains(errs, line) {
				t.Errorf("powerbridge %s: no line %q in\n%s", args[0], line, errs)
			}
		}
		for _, s := range secrets {
			if strings.Contains(errs, s) {
				t.Errorf("powerbridge %s shows a secret:\n%s", args[0], errs)
			}
		}
		if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "runtime.") {
			t.Errorf("powerbridge %s: a Go runtime dump\n%s", args[0], errs)
		}
	}
}

// configFile writes a config with a free loopback listen address and a
// state directory of its own (unless it has one), and returns its path.
func configFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	if !strings.Contains(body, "state_dir:") {
		body += fmt.Sprintf("state_dir: %q\n", t.TempDir())
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(fmt.Sprintf("listen: %q\n", freePort(t))+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue 12 item 3: a config that opens the API by accident, or holds a
// token that is weak or can never authenticate, is refused by check-config
// and by serve, with the line, and without the token.
func TestConfigCannotOpenTheAPIByAccident(t *testing.T) {
	dir := t.TempDir()
	tokenFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const spaced, twoLines = "S3CRET-spaced-token-4242", "S3CRET-first-line-7777"
	howTo := "make a token with: openssl rand -hex 32"
	for _, tc := range []struct {
		name, body string
		want       []string // lines 2 and on: line 1 is listen
	}{
		{"second auth block", `auth:
  tokens: [{name: maas, token: ` + maasToken + `}]
pdus: []
auth:
  insecure_no_auth: true
`, []string{":5: auth: given twice, at lines 2 and 5: write each key once"}},
		{"insecure_no_auth beside tokens", `auth:
  tokens: [{name: maas, token: ` + maasToken + `}]
  insecure_no_auth: true
`, []string{":4: auth.insecure_no_auth: cannot be set with auth.tokens or auth.users: it would let anyone switch power and leave them unused; remove it, or remove them"}},
		{"short token", `auth:
  tokens: [{name: maas, token: "x"}]
`, []string{":3: auth.tokens[0].token: is shorter than 16 characters, too easy to guess; " + howTo}},
		{"whitespace around and a line break", `auth:
  tokens:
    - {name: spaced, token_file: ` + tokenFile("spaced", " "+spaced+" \n") + `}
    - {name: lines, token_file: ` + tokenFile("lines", twoLines+"\nsecond-line-0123456789\n") + `}
`, []string{
			":4: auth.tokens[0].token_file: has whitespace or a line break in it, which no request can carry; " + howTo,
			":5: auth.tokens[1].token_file: " + filepath.Join(dir, "lines") + " holds more than one line; it should hold the secret alone",
		}},
		{"metrics token reused", `auth:
  tokens: [{name: maas, token: ` + maasToken + `}]
  metrics_token: ` + maasToken + `
`, []string{":4: auth.metrics_token: is the same as auth.tokens[0].token: a scraper's token must not be able to switch power; make one of its own with: openssl rand -hex 32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := configFile(t, t.TempDir(), "powerbridge.yaml", tc.body)
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = file + w
			}
			refusedBoth(t, file, want, maasToken, spaced, twoLines)
		})
	}

	// The same file with good tokens is fine.
	good := configFile(t, dir, "good.yaml", `auth:
  tokens: [{name: maas, token: `+maasToken+`}]
  metrics_token: `+scrapeToken+`
`)
	if code, errs, _ := exitOf(t, "check-config", good); code != 0 {
		t.Errorf("check-config of a good file: exit %d\n%s", code, errs)
	}
}

// Issue 12 item 8: check-config answers a FIFO, /dev/zero and a file over
// 8 MiB with an error at once: no read that waits for a writer, no read
// that fills memory, no runtime dump.
func TestCheckConfigRefusesFIFOAndHugeFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	body := "auth: {tokens: [{name: maas, token: " + maasToken + "}]}\n" + strings.Repeat("# padding\n", 8<<20/10+1)
	if err := os.WriteFile(huge, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, is string }{
		{"fifo", fifo, "a named pipe (FIFO)"},
		{"dev-zero", "/dev/zero", "a character device"},
		{"over-8MiB", huge, "larger than 8 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, errs, exited := exitOf(t, "check-config", tc.path)
			want := "reading config: " + tc.path + " is " + tc.is + "; want a regular file of at most 8 MiB\n"
			switch {
			case !exited:
				t.Errorf("check-config %s: still running after %s", tc.path, exitDeadline)
			case code != 1 || errs != want:
				t.Errorf("check-config %s: exit %d\n%s\nwant exit 1 and\n%s", tc.path, code, errs, want)
			}
		})
	}
}

// Issue 12 item 8: with a FIFO in place of the config file, SIGHUP and
// POST /-/reload answer an error instead of hanging, and SIGTERM still ends
// serve.
func TestFIFOConfigDoesNotHangReloadOrStop(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	path := filepath.Join(dir, "powerbridge.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("listen: %q\nstate_dir: %q\nauth: {tokens: [{name: maas, token: %s}]}\n", addr, t.TempDir(), maasToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(binary, "serve", "--config", path)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("powerbridge output:\n%s", logs.String())
		}
	})
	waitUntil(t, 20*time.Second, "powerbridge answers /healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	refusal := "reading config: " + path + " is a named pipe (FIFO); want a regular file of at most 8 MiB"

	// SIGHUP: the reload is refused and logged.
	cmd.Process.Signal(syscall.SIGHUP)
	if !eventually(30*time.Second, func() bool { return len(logs.lines("config reload refused")) > 0 }) {
		t.Error("no reload refusal logged within 30s of SIGHUP")
	} else if line := logs.lines("config reload refused")[0]; !strings.Contains(line, "named pipe (FIFO)") {
		t.Errorf("the refusal does not say the file is a FIFO: %s", line)
	}

	// POST /-/reload: an error answer.
	client := &http.Client{Timeout: exitDeadline}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/-/reload", http.NoBody)
	req.Header.Set("Authorization", "Bearer "+maasToken)
	if resp, err := client.Do(req); err != nil {
		t.Errorf("POST /-/reload: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), refusal) {
			t.Errorf("POST /-/reload: %d %s\nwant 400 saying %s", resp.StatusCode, body, refusal)
		}
	}

	t.Logf("refused: %q", logs.lines("config reload refused"))

	// SIGTERM ends it, well within its stop timeout.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
		exited <- err // for the cleanup
	case <-time.After(exitDeadline):
		t.Errorf("serve still running %s after SIGTERM", exitDeadline)
	}
}

// eventually polls cond until it holds or the deadline passes, and says
// which; unlike waitUntil it lets the test go on.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.After(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			return false
		case <-tick.C:
		}
	}
	return true
}

// Issue 12 item 9: check-config lists every problem, type errors among
// them; it refuses a state_dir or audit_log that serve would refuse or run
// without; it names the line of a tab in the indentation; it refuses a
// second YAML document. serve refuses the same files with the same lines.
func TestCheckConfigListsEveryProblemServeRefusesTheSame(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(notADir, []byte("a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auditFIFO := filepath.Join(dir, "audit.fifo")
	if err := syscall.Mkfifo(auditFIFO, 0o600); err != nil {
		t.Fatal(err)
	}
	auth := "auth: {tokens: [{name: maas, token: " + maasToken + "}]}\n"
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"type errors and the rest", auth + `timeouts: {status: 5, action: 6m}
pdus:
  - {name: rack1, address: 192.0.2.10, snmp: {community: private, retries: many}}
machines:
  - {name: m1, outlets: ["rack9/1"]}
`, []string{
			`:3: timeouts.status: "5" is not a duration (use a number with a unit: 500ms, 5s, 2m)`,
			`:3: timeouts.action: 6m0s is too long: MAAS gives up on a power action after 5 minutes; use at most 4m30s`,
			`:5: pdus[0].snmp.retries: "many" is not a whole number`,
			`:7: machines[0].outlets[0]: no PDU is named "rack9"`,
		}},
		{"state_dir is a file", auth + "state_dir: " + notADir + "\n", []string{":3: state_dir: " + notADir + " is not a directory"}},
		{"state_dir under a file", auth + "state_dir: " + notADir + "/state\n", []string{":3: state_dir: " + notADir + "/state cannot be created: " + notADir + " is not a directory"}},
		{"audit_log in no directory", auth + "audit_log: " + dir + "/none/audit.log\n", []string{":3: audit_log: " + dir + "/none/audit.log cannot be created: the directory " + dir + "/none does not exist"}},
		{"audit_log is a FIFO", auth + "audit_log: " + auditFIFO + "\n", []string{":3: audit_log: " + auditFIFO + " is a named pipe (FIFO); want a regular file to append to"}},
		{"tab in the indentation", "auth:\n  tokens: [{name: maas, token: " + maasToken + "}]\npdus:\n  - name: rack1\n\t  address: 192.0.2.10\n", []string{":6: a tab in the indentation: YAML indents with spaces only"}},
		{"second document", auth + "---\nauth: {insecure_no_auth: true}\n", []string{":3: a second YAML document (after ---): the file must hold one config, not several"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := configFile(t, t.TempDir(), "powerbridge.yaml", tc.body)
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = file + w
			}
			refusedBoth(t, file, want)
			// Every problem and nothing else: the lines after the heading.
			_, errs, _ := exitOf(t, "check-config", file)
			if got := strings.Count(errs, "\n  "+file+":"); got != len(want) {
				t.Errorf("check-config lists %d problems, want %d:\n%s", got, len(want), errs)
			}
		})
	}
}
