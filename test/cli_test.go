package test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/server"
)

// The exit codes `powerbridge power --help` documents.
const (
	cliOK        = 0
	cliFail      = 1
	cliUsage     = 2
	cliOff       = 3
	cliNoMachine = 4
	cliAuth      = 5
)

// cli runs the powerbridge binary with args, in an environment without any
// POWERBRIDGE_ variable but those in env, and returns its exit code and
// outputs. A run that shows the MAAS token fails the test.
func cli(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POWERBRIDGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	if os.Getenv("GORACE") == "" {
		// The race-enabled binary otherwise sleeps a second before exiting 0.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running powerbridge %v: %v", args, err)
	}
	if strings.Contains(out.String()+errb.String(), maasToken) {
		t.Errorf("powerbridge %v printed the token:\n%s%s", args, out.String(), errb.String())
	}
	return code, out.String(), errb.String()
}

func tokenFile(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every exit code of `powerbridge power`, against the real server switching
// a simulated PDU over SNMP.
func TestPowerCLIExitCodes(t *testing.T) {
	dev, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	good := tokenFile(t, maasToken)
	env := []string{"POWERBRIDGE_URL=" + b.URL, "POWERBRIDGE_TOKEN=" + maasToken}

	steps := []struct {
		name string
		env  []string
		args []string
		code int
		out  string // a line of stdout, or "" for none
		err  string // in stderr
	}{
		{name: "status of an off machine is 3", env: env, args: []string{"status", "node1"},
			code: cliOff, out: "node1: off (rack1/1 off)\n"},
		{name: "on", env: env, args: []string{"on", "node1"},
			code: cliOK, out: "node1: on (switched on in "},
		{name: "status of an on machine is 0", env: env, args: []string{"status", "node1"},
			code: cliOK, out: "node1: on (rack1/1 on)\n"},
		{name: "on again changes nothing", env: env, args: []string{"on", "node1"},
			code: cliOK, out: "node1: on (already on)\n"},
		{name: "flags after the machine, token from a file", args: []string{"off", "node1", "--url", b.URL, "--token-file", good},
			code: cliOK, out: "node1: off (switched off in "},
		{name: "cycle", env: env, args: []string{"cycle", "bigboy"},
			code: cliOK, out: "bigboy: on (cycled in "},
		{name: "flags win over the environment", env: []string{"POWERBRIDGE_URL=http://192.0.2.1:1", "POWERBRIDGE_TOKEN=wrong"},
			args: []string{"--url", b.URL, "--token-file", good, "status", "bigboy"}, code: cliOK, out: "bigboy: on (rack1/3 on, rack1/4 on)\n"},
		{name: "unknown machine, status", env: env, args: []string{"status", "nosuch"},
			code: cliNoMachine, err: `has no machine "nosuch"; it has: node1, bigboy`},
		{name: "unknown machine, action", env: env, args: []string{"on", "nosuch"},
			code: cliNoMachine, err: `has no machine "nosuch"`},
		{name: "wrong token", env: []string{"POWERBRIDGE_URL=" + b.URL, "POWERBRIDGE_TOKEN=not-the-token"}, args: []string{"status", "node1"},
			code: cliAuth, err: "refused the token (401)"},
		{name: "no token", env: []string{"POWERBRIDGE_URL=" + b.URL}, args: []string{"on", "node1"},
			code: cliAuth, err: "wants credentials: give a token with --token-file or POWERBRIDGE_TOKEN"},
		{name: "no machine given", env: env, args: []string{"status"},
			code: cliUsage, err: "want an action and a machine"},
		{name: "unknown action", env: env, args: []string{"reboot", "node1"},
			code: cliUsage, err: `unknown action "reboot"`},
		{name: "unknown flag", env: env, args: []string{"on", "node1", "--frob"},
			code: cliUsage, err: "flag provided but not defined: -frob"},
		{name: "a URL that is not one", env: env, args: []string{"status", "node1", "--url", "192.168.23.1:8080"},
			code: cliUsage, err: "not http(s)://HOST:PORT"},
		{name: "a token file that is missing", env: env, args: []string{"status", "node1", "--token-file", "/nonexistent/token"},
			code: cliUsage, err: "--token-file: open /nonexistent/token"},
		{name: "server not running", env: []string{"POWERBRIDGE_URL=http://" + freePort(t), "POWERBRIDGE_TOKEN=" + maasToken}, args: []string{"status", "node1"},
			code: cliFail, err: "cannot reach http://127.0.0.1:"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out, errs := cli(t, s.env, append([]string{"power"}, s.args...)...)
			if code != s.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, s.code, out, errs)
			}
			if s.out != "" && !strings.HasPrefix(out, s.out) {
				t.Errorf("stdout:\n%s\nwant it to begin %q", out, s.out)
			}
			if s.err != "" && !strings.Contains(errs, s.err) {
				t.Errorf("stderr:\n%s\nwant %q", errs, s.err)
			}
		})
	}
	if dev.OutletState(1) != power.Off || dev.OutletState(3) != power.On || dev.OutletState(4) != power.On {
		t.Errorf("the PDU ends with outlets 1, 3, 4 %s, %s, %s; want off, on, on", dev.OutletState(1), dev.OutletState(3), dev.OutletState(4))
	}
	if n := dev.Switches(1); n != 2 {
		t.Errorf("outlet 1 was switched %d times, want 2 (on, off; the second on is no switch)", n)
	}
}

// A PDU that does not answer makes status and actions fail with 1.
func TestPowerCLIFailsWhenThePDUDoesNot(t *testing.T) {
	// A UDP port on loopback that nothing listens on.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	b := startBridge(t, maasConfig(`
  - name: rack1
    address: "`+dead+`"
    snmp: {version: "1", community: private, timeout: 200ms, retries: 0}
    switch_timeout: 1s
`))
	env := []string{"POWERBRIDGE_URL=" + b.URL, "POWERBRIDGE_TOKEN=" + maasToken}
	for _, action := range []string{"status", "on"} {
		code, out, errs := cli(t, env, "power", action, "node1")
		if code != cliFail || !strings.Contains(errs, "powerbridge power: node1: ") {
			t.Errorf("%s with a silent PDU: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", action, code, cliFail, out, errs)
		}
	}
}

// --json prints the server's answer as it is, with the same exit codes.
func TestPowerCLIJSON(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	env := []string{"POWERBRIDGE_URL=" + b.URL, "POWERBRIDGE_TOKEN=" + maasToken}

	code, out, errs := cli(t, env, "power", "--json", "status", "bigboy")
	var st server.MachineStatus
	if code != cliOff || json.Unmarshal([]byte(out), &st) != nil || st.State != power.Off || len(st.Outlets) != 2 {
		t.Errorf("status --json: exit %d, stdout %q, stderr %q; want 3 and the machine's JSON, off with two outlets", code, out, errs)
	}
	code, out, errs = cli(t, env, "power", "on", "bigboy", "--json")
	var res struct {
		Machine, Action, State string
		Changed                bool
	}
	if code != cliOK || json.Unmarshal([]byte(out), &res) != nil || res.Machine != "bigboy" || res.Action != "on" || res.State != "on" || !res.Changed {
		t.Errorf("on --json: exit %d, stdout %q, stderr %q; want 0 and the result's JSON", code, out, errs)
	}
	code, out, _ = cli(t, env, "power", "on", "nosuch", "--json")
	var e struct{ Error string }
	if code != cliNoMachine || json.Unmarshal([]byte(out), &e) != nil || !strings.Contains(e.Error, "nosuch") {
		t.Errorf("on nosuch --json: exit %d, stdout %q; want 4 and the server's error JSON", code, out)
	}
}

func TestPowerCLIHelpDocumentsTheExitCodes(t *testing.T) {
	code, out, errs := cli(t, nil, "power", "--help")
	if code != cliOK {
		t.Fatalf("power --help: exit %d", code)
	}
	help := out + errs
	for _, want := range []string{
		"  0  done; for status: the machine is on\n",
		"  1  failed:",
		"  2  usage error\n",
		"  3  status: the machine is off\n",
		"  4  the server has no such machine\n",
		"  5  the server refused the credentials",
		"POWERBRIDGE_URL", "POWERBRIDGE_TOKEN", "-token-file", "-json",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("power --help lacks %q:\n%s", want, help)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer sick.Close()

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"a running server", []string{"--url", b.URL + "/healthz"}, cliOK, "healthy: " + b.URL + "/healthz"},
		{"nothing listening", []string{"--url", "http://" + freePort(t) + "/healthz"}, cliFail, "not answering"},
		{"an unhealthy answer", []string{"--url", sick.URL + "/healthz"}, cliFail, "not healthy: 503 Service Unavailable"},
		{"a bad URL", []string{"--url", "127.0.0.1:8080"}, cliUsage, "want http://HOST:PORT/healthz"},
		{"an argument", []string{"now"}, cliUsage, `unexpected argument "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := cli(t, nil, append([]string{"healthcheck"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errs, tc.msg) {
				t.Errorf("exit %d, output:\n%s%s\nwant exit %d and %q", code, out, errs, tc.code, tc.msg)
			}
		})
	}
}
