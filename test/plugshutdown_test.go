package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/plugsim"
	"github.com/powerbridge/powerbridge/test/sshd"
)

// MAAS's webhook flow to a machine on a Shelly Gen2 plug (digest auth), whose
// OS is a real sshd that stays up after the shutdown command: only the
// plug's meter falling under power_below_watts can tell powerbridge the
// machine is down. The order at the device: the command reaches the
// machine, its draw falls, and only then is the relay switched off.
func TestMAASShutdownOnAShellyGen2Plug(t *testing.T) {
	sim := startPlug(t, plugsim.ShellyGen2, plugsim.Options{Password: plugPass, Watts: 85, On: true})
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	host, port, _ := net.SplitHostPort(srv.Addr)
	b := startBridge(t, fmt.Sprintf(`
auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 3s, action: 60s}
state_dir: %q
pdus:
  - name: plug
    vendor: shelly
    address: %q
    http: {password: %q}
    power_on_delay: 500ms
machines:
  - name: node1
    outlets: ["plug/1"]
    shutdown:
      ssh: {host: %q, port: %s, user: %q, key_file: %q}
      timeout: 30s
      on_failure: cut
    liveness: {failures: 1000, interval: 200ms, settle: 300ms, poll_interval: 200ms, power_below_watts: 10}
`, maasToken, filepath.Join(t.TempDir(), "state"), sim.URL(), plugPass, host, port, srv.User, srv.ClientKeyFile))

	if code, body := b.maasStatus(t, "node1"); code != 200 || !onRegex.MatchString(body) {
		t.Fatalf("status before: %d %s", code, body)
	}
	type answer struct {
		code int
		body string
		at   time.Time
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, b.URL+"/v1/machines/node1/off", http.NoBody)
		req.Header.Set("Authorization", "Bearer "+maasToken)
		resp, err := maasClient.Do(req)
		if err != nil {
			done <- answer{0, err.Error(), time.Now()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, string(body), time.Now()}
	}()
	cmd := srv.WaitCommand(t, 30*time.Second)
	if sim.State(1) != power.On {
		t.Fatal("the relay went off before the machine was seen down")
	}
	// The machine halts: the plug's meter shows only its standby draw.
	sim.SetWatts(1, 3)
	fellAt := time.Now()
	var a answer
	select {
	case a = <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("no answer to MAAS's off")
	}
	var res offAnswer
	if err := json.Unmarshal([]byte(a.body), &res); err != nil || a.code != 200 {
		t.Fatalf("off: %d %s (%v)", a.code, a.body, err)
	}
	if res.Shutdown != "graceful" {
		t.Fatalf("shutdown %q (%s), want graceful: the fall under power_below_watts was not seen", res.Shutdown, res.Reason)
	}
	if sim.State(1) != power.Off || sim.Commands(1) != 1 {
		t.Fatalf("after off the relay is %s after %d switch requests, want off after 1", sim.State(1), sim.Commands(1))
	}
	if cmd.Line != "sudo systemctl poweroff" || !cmd.At.Before(fellAt) {
		t.Errorf("command %+v, the draw fell at %s", cmd, fellAt.Format(time.StampMicro))
	}
	if code, body := b.maasStatus(t, "node1"); code != 200 || !offRegex.MatchString(body) {
		t.Errorf("status after off: %d %s", code, body)
	}

	// And back on, as MAAS deploys it again.
	sim.SetWatts(1, 85)
	if code, body := b.maasPost(t, "node1", "on"); code != 200 {
		t.Fatalf("on: %d %s", code, body)
	}
	if sim.State(1) != power.On || sim.Commands(1) != 2 {
		t.Errorf("after on the relay is %s after %d switch requests, want on after 2", sim.State(1), sim.Commands(1))
	}
	if len(srv.Commands(t)) != 1 {
		t.Errorf("commands on the machine: %+v, want the one shutdown", srv.Commands(t))
	}
}
