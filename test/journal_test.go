package test

// What must hold across a restart and for the outlet routes: nothing an
// answered action did is carried out again by the next start, an outlet
// action outlives its caller and joins an identical one, and the power-on
// delay is kept in state_dir. Everything is counted at the simulated PDU:
// the commands it carried out (pdusim's Device.Commands), with its own
// timestamps.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// journalRig is two simulated AP7900s, rack1 and rack2, behind a bridge
// whose state directory and audit log outlive it: the test stops it and
// starts it again on the same config. Machines: bigboy on rack1/3 and
// rack1/4, split on rack1/1 and rack2/1, node5 on rack1/5 with a graceful
// shutdown (to a closed port: it is never run here).
type journalRig struct {
	rack1, rack2   *pdusim.Device
	agent1, agent2 *pdusim.Agent
	stateDir       string
	audit          string
	config, listen string
	b              *bridge
}

type journalSetup struct {
	powerOnDelay time.Duration
	// rack2Delay is how long rack2's outlet commands stay pending.
	rack2Delay time.Duration
	// on are the outlets ("rackN/M") on when the bridge starts; the rest
	// are off. (Set before the start: the bridge caches what it reads.)
	on []string
}

func newJournalRig(t *testing.T, s journalSetup) *journalRig {
	t.Helper()
	if s.powerOnDelay == 0 {
		s.powerOnDelay = 200 * time.Millisecond
	}
	if s.rack2Delay == 0 {
		s.rack2Delay = 50 * time.Millisecond
	}
	r := &journalRig{stateDir: t.TempDir(), listen: freePort(t)}
	r.audit = filepath.Join(t.TempDir(), "audit.log")
	var pdus string
	for i, delay := range []time.Duration{50 * time.Millisecond, s.rack2Delay} {
		dev, err := pdusim.New("ap7900", pdusim.Options{SwitchDelay: delay})
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= dev.Outlets(); n++ {
			dev.SetOutletState(n, power.Off)
		}
		agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { agent.Close() })
		if i == 0 {
			r.rack1, r.agent1 = dev, agent
		} else {
			r.rack2, r.agent2 = dev, agent
		}
		// Polled once at the start and then not for an hour, so that what
		// the PDUs see is what the test's requests cause.
		pdus += fmt.Sprintf(`
  - name: rack%d
    address: %q
    snmp: {version: "1", community: private, read_community: public, timeout: 500ms, retries: 1}
    power_on_delay: %s
    switch_timeout: 2s
    poll_interval: 1h`, i+1, agent.Addr(), s.powerOnDelay)
	}
	for _, ref := range s.on {
		r.device(ref).SetOutletState(r.number(ref), power.On)
	}
	cfg := fmt.Sprintf(`listen: %q
state_dir: %q
audit_log: %q
auth:
  tokens: [{name: maas, token: %s}]
  users: [{name: admin, password: %s}]
timeouts: {status: 2s, action: 30s}
pdus:%s
machines:
  - {name: bigboy, outlets: ["rack1/3", "rack1/4"]}
  - {name: split, outlets: ["rack1/1", "rack2/1"]}
  - name: node5
    outlets: ["rack1/5"]
    shutdown:
      ssh: {host: 127.0.0.1, port: %s, user: root, agent: true}
      timeout: 5s
`, r.listen, r.stateDir, r.audit, maasToken, adminPass, pdus, strings.Split(freePort(t), ":")[1])
	r.config = filepath.Join(t.TempDir(), "powerbridge.yaml")
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	return r
}

func (r *journalRig) start(t *testing.T) {
	t.Helper()
	r.b = startProcess(t, "http://"+r.listen, "serve", "--config", r.config, "--log-level", "debug")
}

// stop ends the bridge with sig and waits until the process is gone.
func (r *journalRig) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	pid := r.b.cmd.Process.Pid
	if err := r.b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the bridge has exited", func() bool {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	})
}

func (r *journalRig) post(t *testing.T, path string) (int, string) {
	t.Helper()
	return r.b.maas(t, maasCall{method: http.MethodPost, path: path, auth: bearer(maasToken)})
}

// machineOutlets are the rig's machines' outlets, in config order.
var machineOutlets = map[string][]string{"bigboy": {"rack1/3", "rack1/4"}, "split": {"rack1/1", "rack2/1"}}

// device is the simulated PDU of outlet ref ("rackN/M"), number its number.
func (r *journalRig) device(ref string) *pdusim.Device {
	if strings.HasPrefix(ref, "rack2/") {
		return r.rack2
	}
	return r.rack1
}

func (r *journalRig) number(ref string) int {
	n, _ := strconv.Atoi(ref[strings.IndexByte(ref, '/')+1:])
	return n
}

// state reads outlet ref at its simulated PDU.
func (r *journalRig) state(ref string) power.State { return r.device(ref).OutletState(r.number(ref)) }

// commands is what outlet n of dev carried out, as words.
func commands(dev *pdusim.Device, n int) []string {
	var out []string
	for _, c := range dev.Commands(n) {
		out = append(out, c.Word)
	}
	return out
}

// journaled is the machines the journal in the state directory names.
func (r *journalRig) journaled(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.stateDir, "switching.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Switching map[string]json.RawMessage }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("switching.json: %v", err)
	}
	var out []string
	for m := range doc.Switching {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

type auditEntry struct {
	Machine, Outlet, Action, Outcome string
	Changed                          bool
	Switched                         []string
}

// lastAudit is the last line of the audit log.
func (r *journalRig) lastAudit(t *testing.T) auditEntry {
	t.Helper()
	data, err := os.ReadFile(r.audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var e auditEntry
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil {
		t.Fatalf("audit line %q: %v", lines[len(lines)-1], err)
	}
	return e
}

// A switch that failed and was answered is not carried out by the next
// start (issue 12, item 1). For each way of failing, the test records what
// the PDUs carried out by the answer, lets the PDU recover, restarts the
// bridge the way systemctl restart does, and finds that nothing more was
// carried out; the audit log says what was seen to switch.
func TestRestartAfterAFailedSwitchSwitchesNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		machine string
		action  string
		setup   journalSetup
		before  func(t *testing.T, r *journalRig) // the outlets, and the fault
		recover func(r *journalRig)
	}{{
		// As the issue found it: the PDU loses every 2nd request.
		name: "lost requests", machine: "bigboy", action: "off",
		setup: journalSetup{on: []string{"rack1/3", "rack1/4"}},
		before: func(t *testing.T, r *journalRig) {
			// MAAS has seen it running: the PDU is detected and read.
			if code, body := r.b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/bigboy/status", auth: bearer(maasToken)}); code != 200 || body != running {
				t.Fatalf("status before the fault: %d %s", code, body)
			}
			r.agent1.DropEveryNthRequest(2)
		},
		recover: func(r *journalRig) { r.agent1.DropEveryNthRequest(0) },
	}, {
		// rack2's relay takes longer than switch_timeout: the off of
		// split fails after rack1/1 went off.
		name: "off failing between two outlets", machine: "split", action: "off",
		setup:   journalSetup{rack2Delay: time.Hour, on: []string{"rack1/1", "rack2/1"}},
		before:  func(*testing.T, *journalRig) {},
		recover: func(r *journalRig) { r.rack2.SetOutletState(1, power.On) },
	}, {
		// The same for an on: a failed on must not replay as a power-on.
		name: "on failing between two outlets", machine: "split", action: "on",
		setup:   journalSetup{rack2Delay: time.Hour},
		before:  func(*testing.T, *journalRig) {},
		recover: func(r *journalRig) { r.rack2.SetOutletState(1, power.Off) },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newJournalRig(t, tc.setup)
			outlets := map[string]func() []string{
				"rack1/1": func() []string { return commands(r.rack1, 1) },
				"rack1/3": func() []string { return commands(r.rack1, 3) },
				"rack1/4": func() []string { return commands(r.rack1, 4) },
				"rack2/1": func() []string { return commands(r.rack2, 1) },
			}
			states := func() string {
				return fmt.Sprintf("rack1/1 %v, rack1/3 %v, rack1/4 %v, rack2/1 %v",
					r.rack1.OutletState(1), r.rack1.OutletState(3), r.rack1.OutletState(4), r.rack2.OutletState(1))
			}
			tc.before(t, r)
			before := states()
			code, body := r.post(t, "/v1/machines/"+tc.machine+"/"+tc.action)
			t.Logf("POST %s %s: %d %s", tc.machine, tc.action, code, strings.TrimSpace(body))
			tc.recover(r)
			if tc.setup.rack2Delay > 0 && code != http.StatusBadGateway {
				t.Fatalf("POST %s: %d, want 502 (rack2/1 never reads switched)", tc.action, code)
			}
			answered := map[string][]string{}
			for ref, cmds := range outlets {
				answered[ref] = cmds()
			}
			after := states()
			t.Logf("the PDUs before: %s; after the answer: %s", before, after)

			if j := r.journaled(t); len(j) != 0 {
				t.Errorf("the answered %s left %v in the journal, for the next start to carry out", tc.action, j)
			}
			// The audit names the outlets seen switched: those that carried
			// out a command and read the state asked for.
			a := r.lastAudit(t)
			want := power.On
			if tc.action == "off" {
				want = power.Off
			}
			var switched []string
			for _, ref := range machineOutlets[tc.machine] {
				if len(answered[ref]) > 0 && r.state(ref) == want {
					switched = append(switched, ref)
				}
			}
			if a.Machine != tc.machine || a.Changed != (len(switched) > 0) || !slices.Equal(a.Switched, switched) {
				t.Errorf("audit: %+v, want changed %v and switched %v", a, len(switched) > 0, switched)
			}

			r.stop(t, syscall.SIGTERM)
			r.start(t)
			if code, _ := r.b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/" + tc.machine + "/status", auth: bearer(maasToken)}); code != 200 {
				t.Errorf("status after the restart: %d", code)
			}
			// split's status reads both PDUs: the restarted bridge is up
			// and talking to them.
			if code, _ := r.b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/split/status", auth: bearer(maasToken)}); code != 200 {
				t.Errorf("status of split after the restart: %d", code)
			}
			for ref, cmds := range outlets {
				if got := cmds(); !slices.Equal(got, answered[ref]) {
					t.Errorf("%s carried out %v by the answer and %v after the restart: the restart switched it", ref, answered[ref], got)
				}
			}
			if got := states(); got != after {
				t.Errorf("the PDUs after the restart: %s; before it: %s", got, after)
			}
			if lines := r.b.logs.lines("interrupted when powerbridge stopped"); len(lines) != 0 {
				t.Errorf("the restart finished an action:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}

// curl, killed after 1.5 s by its own timeout, asks for a cycle that takes
// longer (a 3 s power-on delay): the cycle still ends with the outlet on,
// one off and one on at the PDU (issue 12, item 2).
func TestOutletCycleOutlivesAClientThatGoesAway(t *testing.T) {
	curl := requireTool(t, "curl", "curl")
	r := newJournalRig(t, journalSetup{powerOnDelay: 3 * time.Second, on: []string{"rack1/8"}})
	out, err := exec.Command(curl, "-sS", "-m", "1.5", "-X", "POST", "-u", "admin:"+adminPass, r.b.URL+"/v1/pdus/rack1/outlets/8/cycle").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 28 {
		t.Fatalf("curl -m 1.5: %v %s, want it to give up (exit 28)", err, out)
	}
	waitUntil(t, 20*time.Second, "the cycle has ended", func() bool { return len(r.b.logs.lines(`msg="outlet action`)) == 1 })
	if got := commands(r.rack1, 8); !slices.Equal(got, []string{"off", "on"}) || r.rack1.OutletState(8) != power.On {
		t.Fatalf("outlet 8: %v carried out, now %v; want off, on and on", got, r.rack1.OutletState(8))
	}
	cmds := r.rack1.Commands(8)
	t.Logf("outlet 8: off, then on %s later at the PDU", cmds[1].At.Sub(cmds[0].At).Round(time.Millisecond))
	if gap := cmds[1].At.Sub(cmds[0].At); gap < 3*time.Second {
		t.Errorf("the PDU switched outlet 8 on %s after the off, within the power-on delay", gap)
	}
	if lines := r.b.logs.lines("outlet action failed"); len(lines) != 0 {
		t.Errorf("the cycle failed:\n%s", strings.Join(lines, "\n"))
	}
}

// Identical outlet requests at once join the one under way: seven offs
// are one SET, three cycles one off and one on (issue 12, item 2).
func TestConcurrentOutletRequestsSwitchOnce(t *testing.T) {
	r := newJournalRig(t, journalSetup{powerOnDelay: time.Second, on: []string{"rack1/6", "rack1/7"}})
	for _, tc := range []struct {
		outlet   int
		action   string
		requests int
		want     []string
	}{
		{6, "off", 7, []string{"off"}},
		{7, "cycle", 3, []string{"off", "on"}},
	} {
		var wg sync.WaitGroup
		start := make(chan struct{})
		codes := make(chan int, tc.requests)
		for range tc.requests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/v1/pdus/rack1/outlets/%d/%s", r.b.URL, tc.outlet, tc.action), http.NoBody)
				req.SetBasicAuth("admin", adminPass)
				resp, err := maasClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != 200 {
				t.Errorf("%s of outlet %d: %d", tc.action, tc.outlet, c)
			}
		}
		if got := commands(r.rack1, tc.outlet); !slices.Equal(got, tc.want) {
			t.Errorf("%d concurrent %ss of outlet %d: the PDU carried out %v, want %v", tc.requests, tc.action, tc.outlet, got, tc.want)
		}
	}
	// On and off are idempotent: an outlet already off is not switched.
	if code, body := r.b.maas(t, maasCall{method: http.MethodPost, path: "/v1/pdus/rack1/outlets/6/off", auth: basic("admin", adminPass)}); code != 200 || !strings.Contains(body, `"changed":false`) {
		t.Errorf("off of an outlet already off: %d %s", code, body)
	}
	if got := commands(r.rack1, 6); len(got) != 1 {
		t.Errorf("outlet 6 carried out %v, want one off", got)
	}
}

// The outlet of a machine with a graceful shutdown, switched off by its
// outlet route: it is cut, and the answer says it was cut without the
// machine's shutdown (issue 12, item 2).
func TestOutletOfAMachineCutWithoutItsShutdownIsSaid(t *testing.T) {
	r := newJournalRig(t, journalSetup{on: []string{"rack1/5"}})
	code, body := r.b.maas(t, maasCall{method: http.MethodPost, path: "/v1/pdus/rack1/outlets/5/off", auth: basic("admin", adminPass)})
	var res struct {
		Machine            string
		CutWithoutShutdown bool `json:"cut_without_shutdown"`
		Changed            bool
		State              power.State
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || code != 200 {
		t.Fatalf("off of rack1/5: %d %s (%v)", code, body, err)
	}
	if res.Machine != "node5" || !res.CutWithoutShutdown || !res.Changed || res.State != power.Off {
		t.Errorf("off of node5's outlet: %s; want it said that node5 was cut without its shutdown", body)
	}
	if got := commands(r.rack1, 5); !slices.Equal(got, []string{"off"}) {
		t.Errorf("rack1/5 carried out %v, want one off", got)
	}
}

// An outlet switched off right before a restart (SIGKILL, as a crash) is
// not switched on by the restarted bridge before its power-on delay has
// passed since the off, as the PDU timed them (issue 12, item 10).
func TestPowerOnDelayHoldsAcrossARestart(t *testing.T) {
	const delay = 5 * time.Second
	r := newJournalRig(t, journalSetup{powerOnDelay: delay, on: []string{"rack1/2"}})
	if code, body := r.b.maas(t, maasCall{method: http.MethodPost, path: "/v1/pdus/rack1/outlets/2/off", auth: basic("admin", adminPass)}); code != 200 {
		t.Fatalf("off: %d %s", code, body)
	}
	r.stop(t, syscall.SIGKILL)
	r.start(t)
	if code, body := r.b.maas(t, maasCall{method: http.MethodPost, path: "/v1/pdus/rack1/outlets/2/on", auth: basic("admin", adminPass)}); code != 200 {
		t.Fatalf("on after the restart: %d %s", code, body)
	}
	cmds := r.rack1.Commands(2)
	if len(cmds) != 2 || cmds[0].Word != "off" || cmds[1].Word != "on" {
		t.Fatalf("rack1/2 carried out %+v, want an off and an on", cmds)
	}
	t.Logf("rack1/2: off, SIGKILL, restart, on %s after the off at the PDU", cmds[1].At.Sub(cmds[0].At).Round(time.Millisecond))
	if gap := cmds[1].At.Sub(cmds[0].At); gap < delay {
		t.Errorf("the PDU switched rack1/2 on %s after the off, across a restart; power_on_delay is %s", gap.Round(time.Millisecond), delay)
	}
}
