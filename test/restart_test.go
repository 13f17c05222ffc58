package test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/test/sshd"
)

// restartRig is bigboy, a machine with two power supplies on two PDUs
// (rack1/1 and rack2/1, both on) whose OS is a real sshd, behind a bridge
// that the test kills with SIGKILL and starts again on the same config and
// state directory.
type restartRig struct {
	rack1, rack2   *pdusim.Device
	agent2         *pdusim.Agent
	sshd           *sshd.Server
	config, listen string
	stateDir       string
	b              *bridge
}

func newRestartRig(t *testing.T) *restartRig { return newRestartRigPolicy(t, "cut") }

// newRestartRigPolicy is newRestartRig with bigboy's shutdown on_failure
// policy.
func newRestartRigPolicy(t *testing.T, onFailure string) *restartRig {
	t.Helper()
	r := &restartRig{sshd: sshd.Start(t, sshd.Options{}), stateDir: t.TempDir()}
	var pdu1, pdu2 string
	r.rack1, _, pdu1 = simPDU(t, "ap7900")
	r.rack2, r.agent2, pdu2 = simPDU(t, "ap7900")
	pdu2 = replaceOnce(t, pdu2, "name: rack1", "name: rack2")
	r.rack1.SetOutletState(1, power.On)
	r.rack2.SetOutletState(1, power.On)
	host, port, _ := net.SplitHostPort(r.sshd.Addr)
	r.listen = freePort(t)
	cfg := fmt.Sprintf(`listen: %q
state_dir: %q
auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 2s, action: 60s}
pdus:%s%s
machines:
  - name: bigboy
    outlets: ["rack1/1", "rack2/1"]
    shutdown:
      ssh: {host: %q, port: %s, user: %q, key_file: %q}
      timeout: 10s
      on_failure: %s
    liveness: {failures: 2, interval: 200ms, settle: 300ms, poll_interval: 200ms}
`, r.listen, r.stateDir, maasToken, pdu1, pdu2, host, port, r.sshd.User, r.sshd.ClientKeyFile, onFailure)
	r.config = filepath.Join(t.TempDir(), "powerbridge.yaml")
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	return r
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	i := len(s)
	for j := 0; j+len(old) <= len(s); j++ {
		if s[j:j+len(old)] == old {
			i = j
			break
		}
	}
	if i == len(s) {
		t.Fatalf("%q is not in %q", old, s)
	}
	return s[:i] + new + s[i+len(old):]
}

func (r *restartRig) start(t *testing.T) {
	t.Helper()
	r.b = startProcess(t, "http://"+r.listen, "serve", "--config", r.config, "--log-level", "debug")
}

// kill ends the bridge with SIGKILL, as an OOM killer or a power loss of
// the host would: nothing of it runs after this returns.
func (r *restartRig) kill(t *testing.T) {
	t.Helper()
	if err := r.b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the killed bridge stops listening", func() bool {
		c, err := net.DialTimeout("tcp", r.listen, 100*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
}

// offInBackground starts MAAS's POST off, whose answer the kill will cut.
func (r *restartRig) offInBackground() {
	go func() {
		req, _ := http.NewRequest(http.MethodPost, r.b.URL+"/v1/machines/bigboy/off", http.NoBody)
		req.Header.Set("Authorization", "Bearer "+maasToken)
		if resp, err := maasClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

// split reports whether bigboy has one supply on and the other off.
func (r *restartRig) split() bool { return r.rack1.OutletState(1) != r.rack2.OutletState(1) }

// watchSplit records whether the outlets are seen split from now until
// the returned stop is called.
func (r *restartRig) watchSplit(t *testing.T) (split func() bool) {
	seen := &atomic.Bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if r.split() {
				seen.Store(true)
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	var once sync.Once
	end := func() { once.Do(func() { close(stop); <-done }) }
	t.Cleanup(end)
	return func() bool { end(); return seen.Load() }
}

// killMidShutdown starts MAAS's off of bigboy and kills the bridge once
// the OS has been asked to shut down, before any outlet was switched; it
// returns once the OS (the sshd) is down.
func (r *restartRig) killMidShutdown(t *testing.T) {
	t.Helper()
	r.offInBackground()
	r.sshd.WaitCommand(t, 10*time.Second)
	r.kill(t)
	if r.rack1.OutletState(1) != power.On || r.rack2.OutletState(1) != power.On {
		t.Fatalf("killed mid-shutdown: rack1/1 %v, rack2/1 %v; want both still on", r.rack1.OutletState(1), r.rack2.OutletState(1))
	}
	// The OS goes down. The sshd's forced command would take its listener
	// down a second after the command, but the kill may have cut the
	// session first, and sshd ends a cut session's processes with it: so
	// the test takes it down, as the OS would.
	r.sshd.Stop(t)
}

// Killed during the graceful shutdown, before any outlet was switched
// (issue 12, item 10): the journal held the off from before the shutdown
// request, so the restarted bridge finishes it by itself, under the
// machine's policy: on_failure cut, and the OS is down (unreachable), so
// power is cut, once per outlet, with no request from MAAS.
func TestKilledDuringShutdownIsFinishedOnRestart(t *testing.T) {
	r := newRestartRig(t)
	r.killMidShutdown(t)

	r.start(t)
	waitUntil(t, 20*time.Second, "the restarted bridge cuts both supplies by itself", func() bool {
		return r.rack1.OutletState(1) == power.Off && r.rack2.OutletState(1) == power.Off
	})
	if lines := r.b.logs.lines(`msg="finishing an action interrupted when powerbridge stopped"`); len(lines) != 1 || !strings.Contains(lines[0], "shutdown=true") {
		t.Errorf("log lines about finishing the off: %q, want one with shutdown=true", lines)
	}
	waitUntil(t, 10*time.Second, "the finished off is logged", func() bool { return len(r.b.logs.lines(`msg="power action"`)) == 1 })
	if line := r.b.logs.lines(`msg="power action"`)[0]; !strings.Contains(line, "shutdown=cut") || !strings.Contains(line, `principal="powerbridge (restart)"`) {
		t.Errorf("the finished off: %s, want it cut under the cut policy, by the restart", line)
	}
	if r.rack1.Switches(1) != 1 || r.rack2.Switches(1) != 1 {
		t.Errorf("switches: rack1/1 %d, rack2/1 %d; want one each", r.rack1.Switches(1), r.rack2.Switches(1))
	}
	if n := len(r.sshd.Commands(t)); n != 1 {
		t.Errorf("the OS was asked to shut down %d times, want once (it was down when the restart asked again)", n)
	}
	code, body := r.b.maas(t, maasCall{method: "POST", path: "/v1/machines/bigboy/off", auth: bearer(maasToken)})
	if code != 200 {
		t.Fatalf("MAAS's next off: %d %s", code, body)
	}
	if code, body := r.b.maas(t, maasCall{method: "GET", path: "/v1/machines/bigboy/status", auth: bearer(maasToken)}); code != 200 || body != stopped {
		t.Errorf("status: %d %q, want stopped", code, body)
	}
	if r.rack1.Switches(1) != 1 || r.rack2.Switches(1) != 1 {
		t.Errorf("switches after MAAS's off: rack1/1 %d, rack2/1 %d; want one each", r.rack1.Switches(1), r.rack2.Switches(1))
	}
	if data, _ := os.ReadFile(filepath.Join(r.stateDir, "switching.json")); strings.Contains(string(data), "bigboy") {
		t.Errorf("the journal still holds bigboy after the off was finished:\n%s", data)
	}
}

// The same crash under on_failure: fail. The restart asks the OS again; it
// cannot be reached, which under that policy is no proof that it is down,
// so power is not cut blindly: both supplies stay on, never split, and the
// record is gone (the next action is MAAS's to ask, and it is answered by
// the policy as any off is).
func TestKilledDuringShutdownWithPolicyFailLeavesPowerOn(t *testing.T) {
	r := newRestartRigPolicy(t, "fail")
	split := r.watchSplit(t)
	r.killMidShutdown(t)

	r.start(t)
	waitUntil(t, 20*time.Second, "the restarted bridge has tried the off again", func() bool {
		return len(r.b.logs.lines(`msg="power action failed"`)) == 1
	})
	if line := r.b.logs.lines(`msg="power action failed"`)[0]; !strings.Contains(line, "shutdown=refused") || !strings.Contains(line, "policy leaves power on") {
		t.Errorf("the finished off: %s, want it refused by the fail policy", line)
	}
	if r.rack1.OutletState(1) != power.On || r.rack2.OutletState(1) != power.On || r.rack1.Switches(1)+r.rack2.Switches(1) != 0 {
		t.Errorf("rack1/1 %v, rack2/1 %v after %d switches; want both on, none switched",
			r.rack1.OutletState(1), r.rack2.OutletState(1), r.rack1.Switches(1)+r.rack2.Switches(1))
	}
	if split() {
		t.Error("the machine was seen with one supply off and the other on")
	}
	if data, _ := os.ReadFile(filepath.Join(r.stateDir, "switching.json")); strings.Contains(string(data), "bigboy") {
		t.Errorf("the journal still holds bigboy after the restart's attempt:\n%s", data)
	}
}

// Killed between the two supplies: rack1/1 is off and rack2's SET never
// got through (rack2 was not answering). The restarted bridge finds the
// switch in its journal and finishes it by itself, with no request from
// MAAS; MAAS's next off then finds the machine off.
func TestKilledBetweenTwoOutletsIsFinishedOnRestart(t *testing.T) {
	r := newRestartRig(t)
	r.offInBackground()
	r.sshd.WaitCommand(t, 10*time.Second)
	// The OS is going down; rack2 stops answering before its outlet is
	// switched.
	r.agent2.SetSilent(true)
	waitUntil(t, 20*time.Second, "rack1/1 is switched off", func() bool { return r.rack1.OutletState(1) == power.Off })
	r.kill(t)
	if !r.split() {
		t.Fatalf("rack1/1 %v, rack2/1 %v: the kill did not land between the two outlets", r.rack1.OutletState(1), r.rack2.OutletState(1))
	}

	r.agent2.SetSilent(false)
	r.start(t)
	waitUntil(t, 20*time.Second, "the restarted bridge switches rack2/1 off by itself", func() bool { return r.rack2.OutletState(1) == power.Off })
	lines := r.b.logs.lines(`msg="finishing an action interrupted when powerbridge stopped"`)
	if len(lines) != 1 {
		t.Errorf("%d log lines about finishing the switch, want 1", len(lines))
	}
	code, body := r.b.maas(t, maasCall{method: "POST", path: "/v1/machines/bigboy/off", auth: bearer(maasToken)})
	if code != 200 {
		t.Fatalf("MAAS's next off: %d %s", code, body)
	}
	if code, body := r.b.maas(t, maasCall{method: "GET", path: "/v1/machines/bigboy/status", auth: bearer(maasToken)}); code != 200 || body != stopped {
		t.Errorf("status: %d %q, want stopped", code, body)
	}
	if r.rack1.Switches(1) != 1 || r.rack2.Switches(1) != 1 {
		t.Errorf("switches: rack1/1 %d, rack2/1 %d; want one each", r.rack1.Switches(1), r.rack2.Switches(1))
	}
	// The journal is empty again: a third start has nothing to finish.
	r.kill(t)
	r.start(t)
	if code, _ := r.b.maas(t, maasCall{method: "GET", path: "/v1/machines/bigboy/status", auth: bearer(maasToken)}); code != 200 {
		t.Errorf("status after a third start: %d", code)
	}
	if n := len(r.b.logs.lines("finishing an action")); n != 0 {
		t.Errorf("a third start finished a switch again (%d lines)", n)
	}
}
