package test

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// The PDU as Redfish power equipment: its outlets read as the PDU shows
// them, and #Outlet.PowerControl switches each through the JSON API's
// outlet path, counted at the simulated PDU: once per change, never for an
// outlet already in the state asked for.
func TestRedfishRackPDUOutlets(t *testing.T) {
	r := newRedfishRig(t, rfOptions{})
	m := r.maas(t, "node1", false)
	const pdu = "/redfish/v1/PowerEquipment/RackPDUs/rack1"
	outlet := func(n string) map[string]any {
		t.Helper()
		a := m.do("GET", pdu+"/Outlets/"+n, "", "")
		m.want(a, 200)
		return a.body
	}
	control := func(n, state string) {
		t.Helper()
		m.want(m.do("POST", pdu+"/Outlets/"+n+"/Actions/Outlet.PowerControl", `{"PowerState": "`+state+`"}`, ""), 204)
	}

	a := m.do("GET", "/redfish/v1/PowerEquipment/RackPDUs", "", "")
	m.want(a, 200)
	if members, _ := a.body["Members"].([]any); len(members) != 1 {
		t.Errorf("RackPDUs: %v", a.body)
	}
	a = m.do("GET", pdu+"/Outlets/", "", "")
	m.want(a, 200)
	if n := a.body["Members@odata.count"]; n != 8.0 {
		t.Errorf("an AP7900 has 8 outlets; the collection counts %v", n)
	}
	o2 := outlet("2")
	if o2["PowerState"] != "Off" || o2["PowerOnDelaySeconds"] != 0.2 {
		t.Errorf("outlet 2 at the start: %v; want Off, PowerOnDelaySeconds 0.2 (the PDU's power_on_delay)", o2)
	}

	for _, step := range []struct {
		state    string
		want     power.State
		switches int
	}{{"On", power.On, 1}, {"On", power.On, 1}, {"PowerCycle", power.On, 3}, {"Off", power.Off, 4}, {"Off", power.Off, 4}} {
		control("2", step.state)
		// The action is answered once the switch is verified.
		if got, n := r.dev.OutletState(2), r.dev.Switches(2); got != step.want || n != step.switches {
			t.Fatalf("after PowerControl %s the PDU shows outlet 2 %s, switched %d times; want %s, %d times", step.state, got, n, step.want, step.switches)
		}
		if got := outlet("2")["PowerState"]; got != map[power.State]string{power.On: "On", power.Off: "Off"}[step.want] {
			t.Errorf("after PowerControl %s outlet 2 reads %v", step.state, got)
		}
	}

	// A machine's outlet is the same outlet the system reads.
	control("1", "On")
	r.switched(t, "PowerControl On of outlet 1", power.On, 1)
	waitUntil(t, 10*time.Second, "node1 reads On", func() bool { return m.get("node1").body["PowerState"] == "On" })
	if links := outlet("1")["Links"]; links == nil {
		t.Error("outlet 1 does not link the system it feeds")
	}

	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{pdu + "/Outlets/9", "", 404},
		{"/redfish/v1/PowerEquipment/RackPDUs/ghost/Outlets/1", "", 404},
		{pdu + "/Outlets/3/Actions/Outlet.PowerControl", `{"PowerState": "ForceOff"}`, 400},
	} {
		method := "GET"
		if tc.body != "" {
			method = "POST"
		}
		a := m.do(method, tc.path, tc.body, "")
		if a.code != tc.code || redfishErrorCode(a.body) == "" {
			t.Errorf("%s %s: %d %s, want %d in Redfish's error format", method, tc.path, a.code, a.raw, tc.code)
		}
	}
	req, _ := http.NewRequest("POST", r.bridge.URL+pdu+"/Outlets/3/Actions/Outlet.PowerControl", nil)
	bearer(maasToken)(req)
	if resp, err := maasClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("PowerControl with the webhook's token: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	for n := 3; n <= 8; n++ {
		if c := r.dev.Commands(n); len(c) != 0 {
			t.Errorf("outlet %d, never asked for, was given %v", n, c)
		}
	}
}

// DMTF's redfishtool, from the command line, reads and switches an outlet
// through the power equipment's raw paths, with a session and with Basic;
// the switch is counted at the PDU.
func TestRedfishToolRackPDU(t *testing.T) {
	if _, err := exec.LookPath("redfishtool"); err != nil {
		t.Skip("redfishtool missing (test/run.sh installs it)")
	}
	for i, mode := range []string{"Session", "Basic"} {
		t.Run(mode, func(t *testing.T) {
			r := newRedfishRig(t, rfOptions{})
			n := 5 + i
			path := fmt.Sprintf("/redfish/v1/PowerEquipment/RackPDUs/rack1/Outlets/%d", n)
			run := func(args ...string) string {
				t.Helper()
				all := append([]string{"-r", strings.TrimPrefix(r.bridge.URL, "http://"), "-S", "Never", "-A", mode, "-u", redfishUser, "-p", redfishPass}, args...)
				out, err := exec.Command("redfishtool", all...).CombinedOutput()
				if err != nil {
					t.Fatalf("redfishtool %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			if out := run("raw", "GET", path); !strings.Contains(out, `"PowerState": "Off"`) {
				t.Errorf("outlet %d at the start:\n%s", n, out)
			}
			run("-d", `{"PowerState": "On"}`, "raw", "POST", path+"/Actions/Outlet.PowerControl")
			if got, switches := r.dev.OutletState(n), r.dev.Switches(n); got != power.On || switches != 1 {
				t.Errorf("after redfishtool's PowerControl On the PDU shows outlet %d %s, switched %d times; want on, once", n, got, switches)
			}
			if out := run("raw", "GET", path); !strings.Contains(out, `"PowerState": "On"`) {
				t.Errorf("outlet %d after the switch:\n%s", n, out)
			}
			if strings.Contains(r.bridge.logs.String(), redfishPass) {
				t.Error("the password is in the log")
			}
		})
	}
}
