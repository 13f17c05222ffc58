package test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// debianPython is Debian's python3, which has the clients' packages,
// whatever else is first on PATH.
const debianPython = "/usr/bin/python3"

func needPython(t *testing.T, module string) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import "+module).Run(); err != nil {
		t.Skipf("python3 module %s missing (test/run.sh installs it): %v", module, err)
	}
}

// OpenStack's sushy, as Ironic drives a BMC, with a session and with Basic.
func TestRedfishSushy(t *testing.T) {
	needPython(t, "sushy")
	for _, mode := range []string{"session", "basic"} {
		t.Run(mode, func(t *testing.T) {
			r := newRedfishRig(t, rfOptions{})
			cmd := exec.Command(debianPython, "clients/sushy_power.py")
			cmd.Env = append(cmd.Environ(), "RF_URL="+r.bridge.URL, "RF_USER="+redfishUser, "RF_PASS="+redfishPass,
				"RF_AUTH="+mode, "RF_SYSTEM=node1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("sushy: %v\n%s", err, out)
			}
			for _, want := range []string{"members /redfish/v1/Systems/bigboy /redfish/v1/Systems/node1", "power Off", "after on On", "after off Off", "boot Once Pxe"} {
				if !strings.Contains(string(out), want+"\n") {
					t.Errorf("sushy printed no %q:\n%s", want, out)
				}
			}
			r.switched(t, "sushy's on and off", power.Off, 2)
			created := len(r.bridge.logs.lines("redfish session created"))
			deleted := len(r.bridge.logs.lines("redfish session deleted"))
			if mode == "session" && (created != 1 || deleted != 1 || !strings.Contains(string(out), "session True")) {
				t.Errorf("sessions created %d, deleted %d; want 1, 1\n%s", created, deleted, out)
			}
			if mode == "basic" && created != 0 {
				t.Errorf("Basic auth created %d sessions", created)
			}
			if strings.Contains(r.bridge.logs.String(), redfishPass) {
				t.Error("the password is in the log")
			}
		})
	}
}

// DMTF's redfishtool, from the command line, with a session and with Basic.
func TestRedfishTool(t *testing.T) {
	if _, err := exec.LookPath("redfishtool"); err != nil {
		t.Skip("redfishtool missing (test/run.sh installs it)")
	}
	for _, mode := range []string{"Session", "Basic"} {
		t.Run(mode, func(t *testing.T) {
			r := newRedfishRig(t, rfOptions{})
			host := strings.TrimPrefix(r.bridge.URL, "http://")
			tool := func(pass string, args ...string) (string, error) {
				all := append([]string{"-r", host, "-S", "Never", "-A", mode, "-u", redfishUser, "-p", pass}, args...)
				out, err := exec.Command("redfishtool", all...).CombinedOutput()
				return string(out), err
			}
			run := func(args ...string) string {
				t.Helper()
				out, err := tool(redfishPass, args...)
				if err != nil {
					t.Fatalf("redfishtool %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			if out := run("Systems", "list"); !strings.Contains(out, `"/redfish/v1/Systems/node1"`) || !strings.Contains(out, `"/redfish/v1/Systems/bigboy"`) {
				t.Errorf("Systems list:\n%s", out)
			}
			powerState := func() string { return run("-P", "PowerState", "Systems", "-I", "node1", "get") }
			if out := powerState(); !strings.Contains(out, `"PowerState": "Off"`) {
				t.Errorf("PowerState at the start:\n%s", out)
			}
			run("Systems", "-I", "node1", "reset", "On")
			waitUntil(t, 20*time.Second, "node1 reads On", func() bool { return strings.Contains(powerState(), `"PowerState": "On"`) })
			run("Systems", "-I", "node1", "reset", "ForceOff")
			waitUntil(t, 20*time.Second, "node1 reads Off", func() bool { return strings.Contains(powerState(), `"PowerState": "Off"`) })
			run("Systems", "-I", "node1", "setBootOverride", "Once", "Pxe")
			out := run("Systems", "-I", "node1", "get")
			if !strings.Contains(out, `"BootSourceOverrideEnabled": "Once"`) || !strings.Contains(out, `"BootSourceOverrideTarget": "Pxe"`) {
				t.Errorf("the boot override after setBootOverride:\n%s", out)
			}
			r.switched(t, "redfishtool's on and off", power.Off, 2)
			if out, err := tool("not-the-password", "Systems", "list"); err == nil {
				t.Errorf("a wrong password was let in:\n%s", out)
			}
			if mode == "Session" && len(r.bridge.logs.lines("redfish session created")) == 0 {
				t.Error("no session was created")
			}
			if strings.Contains(r.bridge.logs.String(), redfishPass) {
				t.Error("the password is in the log")
			}
		})
	}
}

// labgrid's PDUDaemonDriver switches an outlet on, off and reboot through
// the pdudaemon listener; each switch is counted at the PDU. The listener
// answers as pdudaemon does, tells the state, and lets in only its
// allow-list.
func TestPDUDaemonLabgrid(t *testing.T) {
	needPython(t, "labgrid")
	listen := freePort(t)
	r := newRedfishRig(t, rfOptions{extra: fmt.Sprintf("pdudaemon: {listen: %q, allow: [127.0.0.1/32]}\n", listen)})
	cmd := exec.Command(debianPython, "clients/labgrid_pdudaemon.py")
	cmd.Env = append(cmd.Environ(), "PD_HOST="+listen, "PD_PDU=rack1", "PD_INDEX=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	for _, step := range []struct {
		name     string
		state    power.State
		switches int
	}{{"on", power.On, 1}, {"cycle", power.On, 3}, {"off", power.Off, 4}} {
		if !lines.Scan() || lines.Text() != step.name {
			cmd.Wait()
			t.Fatalf("labgrid did not report %s: %q\n%s", step.name, lines.Text(), stderr.String())
		}
		// A reboot is off, the delay, on: its on comes after labgrid's own wait.
		waitUntil(t, 20*time.Second, fmt.Sprintf("outlet 1 %s after %d switches", step.state, step.switches), func() bool {
			return r.dev.OutletState(1) == step.state && r.dev.Switches(1) == step.switches
		})
		io.WriteString(stdin, "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("labgrid: %v\n%s", err, stderr.String())
	}
	r.switched(t, "labgrid's on, reboot and off", power.Off, 4)

	get := func(c *http.Client, query string) (int, string) {
		t.Helper()
		resp, err := c.Get("http://" + listen + "/power/control/" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		query, body string
		code        int
	}{
		{"status?hostname=rack1&port=1", "off\n", 200},
		{"on?hostname=rack1&port=2", "200 OK - accepted request\n", 200},
		{"on?hostname=ghost&port=1", "500 Invalid request\n", 500},
		{"on?hostname=rack1&port=99", "500 Invalid request\n", 500},
		{"on?hostname=rack1", "500 Invalid request\n", 500},
		{"dance?hostname=rack1&port=1", "500 Invalid request\n", 500},
	} {
		if code, body := get(http.DefaultClient, tc.query); code != tc.code || body != tc.body {
			t.Errorf("GET %s: %d %q, want %d %q", tc.query, code, body, tc.code, tc.body)
		}
	}
	// The status is the bridge's reading, fresh once the switch is verified.
	waitUntil(t, 20*time.Second, "the status query reads outlet 2 on", func() bool {
		code, body := get(http.DefaultClient, "status?hostname=rack1&port=2")
		return code == 200 && body == "on\n"
	})
	if r.dev.OutletState(2) != power.On {
		t.Errorf("the status says on, the PDU shows outlet 2 %s", r.dev.OutletState(2))
	}
	if code, body := get(fromAddress("127.0.0.2"), "on?hostname=rack1&port=1"); code != 403 {
		t.Errorf("from 127.0.0.2, not in the allow-list: %d %q, want 403", code, body)
	}
	if r.dev.OutletState(1) != power.Off || r.dev.Switches(1) != 4 {
		t.Errorf("the refused and invalid requests switched outlet 1: %s, %d switches", r.dev.OutletState(1), r.dev.Switches(1))
	}
}
