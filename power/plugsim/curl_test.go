package plugsim

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
)

// curl, an independent client, against each simulated plug: what it sends
// for Basic, SHA-256 digest and Tasmota's parameters is what the plugs take,
// and a wrong password is refused. This is what shows the simulator's
// digest is RFC 7616's, not only the driver's reading of it.
func TestCurlDrivesTheSimulatedPlugs(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed (test/run.sh installs it)")
	}
	const pass = "curl-pass-123"
	run := func(t *testing.T, args ...string) (string, string) {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-s", "-S", "--max-time", "20", "-w", "\n%{http_code}"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		// -w puts the status code on a line of its own after the body.
		i := strings.LastIndex(string(out), "\n")
		return strings.TrimSpace(string(out[:max(i, 0)])), strings.TrimSpace(string(out[i+1:]))
	}
	for _, tc := range []struct {
		model string
		right []string // curl arguments that switch relay 0 on
		wrong []string
		want  string // in the answer to the right request
	}{
		{ShellyGen1, []string{"-u", "admin:" + pass, "/relay/0?turn=on"}, []string{"-u", "admin:nope", "/relay/0?turn=on"}, `"ison":true`},
		{ShellyGen2, []string{"--digest", "-u", "admin:" + pass, "-H", "Content-Type: application/json",
			"-d", `{"id":1,"method":"Switch.Set","params":{"id":0,"on":true}}`, "/rpc"},
			[]string{"--digest", "-u", "admin:nope", "-d", `{"id":1,"method":"Switch.Set","params":{"id":0,"on":true}}`, "/rpc"}, `"was_on":false`},
		{Tasmota, []string{"/cm?cmnd=Power1%20On&user=admin&password=" + pass}, []string{"/cm?cmnd=Power1%20On&user=admin&password=nope"}, `"POWER":"ON"`},
	} {
		t.Run(tc.model, func(t *testing.T) {
			p, err := Start(tc.model, Options{Password: pass})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			withURL := func(args []string) []string {
				out := append([]string(nil), args...)
				out[len(out)-1] = p.URL() + out[len(out)-1]
				return out
			}
			body, code := run(t, withURL(tc.wrong)...)
			if code != "401" || p.State(1) != power.Off {
				t.Fatalf("wrong password: %s %s, relay %s", code, body, p.State(1))
			}
			body, code = run(t, withURL(tc.right)...)
			if code != "200" || !strings.Contains(body, tc.want) || p.State(1) != power.On || p.Commands(1) != 1 {
				t.Fatalf("right password: %s %s, relay %s after %d commands", code, body, p.State(1), p.Commands(1))
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("the answer is not JSON: %s", body)
			}
			// /shelly stays open on a Shelly with a password.
			if tc.model != Tasmota {
				if body, code := run(t, p.URL()+"/shelly"); code != "200" || !json.Valid([]byte(body)) {
					t.Errorf("GET /shelly: %s %s", code, body)
				}
			}
		})
	}
}
