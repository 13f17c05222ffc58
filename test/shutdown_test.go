package test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/server"
	"github.com/powerbridge/powerbridge/test/sshd"
)

// shutdownRig is a machine ("node1", outlet rack1/1 of a simulated PDU, on)
// whose OS is a real sshd on loopback, driven through the real binary.
type shutdownRig struct {
	dev    *pdusim.Device
	sshd   *sshd.Server
	bridge *bridge
}

type rigOptions struct {
	server     *sshd.Server // the machine's sshd; a new one if nil
	behaviour  sshd.Behaviour
	netns      bool
	knownHosts string // strict known_hosts content; "" pins on first use
	onFailure  string // cut | fail
	timeout    time.Duration
	sshAddr    string // overrides the sshd's address (a closed port)
	liveness   string // extra liveness keys
	extra      string // more config lines (the redfish section)
}

func newShutdownRig(t *testing.T, o rigOptions) *shutdownRig {
	t.Helper()
	dev, _, pdu := simPDU(t, "ap7900")
	dev.SetOutletState(1, power.On)
	srv := o.server
	if srv == nil {
		srv = sshd.Start(t, sshd.Options{Behaviour: o.behaviour, NetNS: o.netns})
	}
	addr := srv.Addr
	if o.sshAddr != "" {
		addr = o.sshAddr
	}
	host, port, _ := net.SplitHostPort(addr)
	ssh := fmt.Sprintf("{host: %q, port: %s, user: %q, key_file: %q", host, port, srv.User, srv.ClientKeyFile)
	if o.knownHosts != "" {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(kh, []byte(o.knownHosts), 0o600); err != nil {
			t.Fatal(err)
		}
		ssh += fmt.Sprintf(", known_hosts: %q", kh)
	}
	ssh += "}"
	if o.onFailure == "" {
		o.onFailure = "cut"
	}
	if o.timeout == 0 {
		// A shutdown that works ends when the host goes down, so a
		// generous bound costs those tests nothing; 8 s once failed one
		// on a loaded machine (its forced command stalled past the
		// request's third of the timeout). Tests of a timeout set theirs.
		o.timeout = 30 * time.Second
	}
	cfg := fmt.Sprintf(`
auth:
  tokens: [{name: maas, token: %s}]
  users: [{name: admin, password: %s}]
timeouts: {status: 2s, action: 60s}
state_dir: %q
pdus:%s
machines:
  - name: node1
    outlets: ["rack1/1"]
    shutdown:
      ssh: %s
      timeout: %s
      on_failure: %s
    liveness: {failures: 2, interval: 200ms, settle: 300ms, poll_interval: 200ms%s}
%s`, maasToken, adminPass, t.TempDir(), pdu, ssh, o.timeout, o.onFailure, o.liveness, o.extra)
	return &shutdownRig{dev: dev, sshd: srv, bridge: startBridge(t, cfg)}
}

type offAnswer struct {
	server.ActionResult
	Error string `json:"error"`
}

func (r *shutdownRig) post(t *testing.T, action string) (int, offAnswer) {
	t.Helper()
	code, body := r.bridge.maas(t, maasCall{method: http.MethodPost, path: "/v1/machines/node1/" + action, auth: bearer(maasToken)})
	var a offAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("POST %s: %d %q is not JSON: %v", action, code, body, err)
	}
	return code, a
}

// switchBehindItsBack turns the outlet on at the PDU, as a person at the
// PDU's web page would, and waits until powerbridge's cached reading sees it.
func (r *shutdownRig) switchBehindItsBack(t *testing.T) {
	t.Helper()
	r.dev.SetOutletState(1, power.On)
	waitUntil(t, 10*time.Second, "powerbridge reads the machine running", func() bool {
		_, body := r.bridge.maas(t, maasCall{method: "GET", path: "/v1/machines/node1/status", auth: bearer(maasToken)})
		return body == `{"status":"running"}`+"\n"
	})
}

// watchOutlet records when the simulated PDU first shows outlet n off.
func watchOutlet(t *testing.T, dev *pdusim.Device, n int) func() time.Time {
	var mu sync.Mutex
	var at time.Time
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if dev.OutletState(n) == power.Off {
				mu.Lock()
				at = time.Now()
				mu.Unlock()
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at
	}
}

// The order that matters: the command reaches the machine, the machine goes
// down, and only then is the outlet switched off.
func TestGracefulShutdownHappyPath(t *testing.T) {
	r := newShutdownRig(t, rigOptions{})
	offAt := watchOutlet(t, r.dev, 1)
	down := make(chan time.Time, 1)
	go func() { <-r.sshd.Exited(); down <- time.Now() }()

	code, a := r.post(t, "off")
	if code != 200 || a.Shutdown != "graceful" {
		t.Fatalf("off: %d %+v, want 200 graceful", code, a)
	}
	cmds := r.sshd.Commands(t)
	if len(cmds) != 1 || cmds[0].Line != "sudo systemctl poweroff" {
		t.Fatalf("commands run on the machine: %+v, want one sudo systemctl poweroff", cmds)
	}
	var downAt time.Time
	select {
	case downAt = <-down:
	case <-time.After(time.Second):
		t.Fatal("the outlet is off but the machine's sshd never went down")
	}
	if r.dev.OutletState(1) != power.Off {
		t.Fatalf("outlet 1 is %s after off", r.dev.OutletState(1))
	}
	waitUntil(t, time.Second, "the outlet watcher saw the switch", func() bool { return !offAt().IsZero() })
	if !(cmds[0].At.Before(downAt) && downAt.Before(offAt())) {
		t.Errorf("order: command %s, host down %s, outlet off %s; want command < down < off",
			cmds[0].At.Format(time.StampMicro), downAt.Format(time.StampMicro), offAt().Format(time.StampMicro))
	}
	if len(a.Phases) != 2 || a.Phases[0].Outcome != "requested" || a.Phases[1].Outcome != "down" {
		t.Errorf("phases = %+v", a.Phases)
	}
	waitUntil(t, 5*time.Second, "the shutdown is logged", func() bool { return len(r.bridge.logs.lines(`msg="graceful shutdown"`)) > 0 })
	if lines := r.bridge.logs.lines(`msg="graceful shutdown"`); len(lines) != 1 || !strings.Contains(lines[0], "request_took") {
		t.Errorf("want one log line for the shutdown with its phases, got %q", lines)
	}
	if code, body := r.bridge.maas(t, maasCall{method: "GET", path: "/v1/machines/node1/status", auth: bearer(maasToken)}); body != `{"status":"stopped"}`+"\n" {
		t.Errorf("status after off: %d %s", code, body)
	}
}

func TestHostKeyRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    string
		wantCode  int
		wantState power.State
	}{
		{"unknown key, policy cut", "cut", 200, power.Off},
		{"unknown key, policy fail", "fail", http.StatusBadGateway, power.On},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sshd.Start(t, sshd.Options{})
			other := sshd.Start(t, sshd.Options{})
			// known_hosts lists another host only: the machine is unknown.
			known := string(other.KnownHosts())
			r := newShutdownRig(t, rigOptions{server: srv, onFailure: tc.policy, knownHosts: known})
			code, a := r.post(t, "off")
			if code != tc.wantCode || r.dev.OutletState(1) != tc.wantState {
				t.Fatalf("off: %d %+v, outlet %s; want %d and %s", code, a, r.dev.OutletState(1), tc.wantCode, tc.wantState)
			}
			msg := a.Reason + a.Error
			if !strings.Contains(msg, "host key") {
				t.Errorf("the answer does not say the host key was refused: %q", msg)
			}
			if n := len(r.sshd.Commands(t)); n != 0 {
				t.Errorf("%d commands ran on a host whose key was refused", n)
			}
		})
	}
}

func TestChangedHostKeyIsRefused(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.StaysUp})
	known := string(srv.KnownHosts())
	srv.RegenerateHostKeys(t)
	srv.Restart(t)
	r := newShutdownRig(t, rigOptions{server: srv, knownHosts: known, onFailure: "fail"})
	code, a := r.post(t, "off")
	if code != http.StatusBadGateway || !strings.Contains(a.Error, "mismatch") {
		t.Errorf("off: %d %q; want 502 saying the key does not match", code, a.Error)
	}
	if r.dev.OutletState(1) != power.On {
		t.Error("power was cut under policy fail")
	}
}

// A pinned key guards later shutdowns; a power-on from off (a redeployment,
// with new host keys) and the forget-host-key route both drop it.
func TestPinnedHostKey(t *testing.T) {
	r := newShutdownRig(t, rigOptions{onFailure: "fail"})
	if code, a := r.post(t, "off"); code != 200 || a.Shutdown != "graceful" {
		t.Fatalf("first off (pins the key): %d %+v", code, a)
	}

	// New keys, outlet back on behind powerbridge's back: the pin refuses.
	r.sshd.RegenerateHostKeys(t)
	r.sshd.Restart(t)
	r.switchBehindItsBack(t)
	code, a := r.post(t, "off")
	if code != http.StatusBadGateway || !strings.Contains(a.Error, "mismatch") {
		t.Fatalf("off after the key changed: %d %q; want 502 with a mismatch", code, a.Error)
	}

	if code, body := r.bridge.maas(t, maasCall{method: "POST", path: "/v1/machines/node1/forget-host-key", auth: bearer(maasToken)}); code != 200 {
		t.Fatalf("forget-host-key: %d %s", code, body)
	}
	if code, a := r.post(t, "off"); code != 200 || a.Shutdown != "graceful" {
		t.Fatalf("off after forget-host-key: %d %+v", code, a)
	}
	r.sshd.Restart(t) // the machine comes back up

	// A power-on from off forgets the pin by itself.
	r.sshd.RegenerateHostKeys(t)
	r.sshd.Restart(t)
	if code, a := r.post(t, "on"); code != 200 {
		t.Fatalf("on: %d %+v", code, a)
	}
	if code, a := r.post(t, "off"); code != 200 || a.Shutdown != "graceful" {
		t.Fatalf("off after a power-on from off: %d %+v; the pin should have been forgotten", code, a)
	}
}

func TestHostThatNeverGoesDown(t *testing.T) {
	for _, policy := range []string{"cut", "fail"} {
		t.Run(policy, func(t *testing.T) {
			const timeout = 3 * time.Second
			r := newShutdownRig(t, rigOptions{behaviour: sshd.StaysUp, onFailure: policy, timeout: timeout})
			code, a := r.post(t, "off")
			// It gave up because the deadline came, the host still up;
			// how long that took is not asserted.
			if msg := a.Reason + a.Error; !strings.Contains(msg, "timeout") && !strings.Contains(msg, "deadline") && !strings.Contains(msg, "still up") {
				t.Errorf("the answer does not say the shutdown timed out: %q", msg)
			}
			select {
			case <-r.sshd.Exited():
				t.Error("the host went down after all")
			default:
			}
			switch policy {
			case "cut":
				if code != 200 || a.Shutdown != "cut" || r.dev.OutletState(1) != power.Off {
					t.Errorf("policy cut: %d %+v outlet %s", code, a, r.dev.OutletState(1))
				}
			case "fail":
				if code != http.StatusBadGateway || r.dev.OutletState(1) != power.On {
					t.Errorf("policy fail: %d %+v outlet %s", code, a, r.dev.OutletState(1))
				}
			}
			if n := len(r.sshd.Commands(t)); n != 1 {
				t.Errorf("%d shutdown commands, want 1", n)
			}
		})
	}
}

// A machine that cannot be reached at all (commissioning, no sshd) is cut at
// once, not after the shutdown deadline.
func TestClosedPortIsCutAtOnce(t *testing.T) {
	const timeout = 20 * time.Second
	r := newShutdownRig(t, rigOptions{sshAddr: freePort(t), timeout: timeout})
	code, a := r.post(t, "off")
	if code != 200 || a.Shutdown != "cut" || !strings.Contains(a.Reason, "unreachable") || r.dev.OutletState(1) != power.Off {
		t.Fatalf("off: %d %+v outlet %s; want 200, cut because unreachable, outlet off", code, a, r.dev.OutletState(1))
	}
	// Cut for being unreachable, not for the deadline: it did not wait.
	if strings.Contains(a.Reason, "timeout") || strings.Contains(a.Reason, "deadline") {
		t.Errorf("reason %q: an unreachable host waited for the deadline", a.Reason)
	}
}

// The network vanishing mid-command, with no FIN, must not hang the off.
func TestNetworkVanishesMidCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	const timeout = 6 * time.Second
	r := newShutdownRig(t, rigOptions{behaviour: sshd.Hangs, netns: true, timeout: timeout})
	go func() {
		r.sshd.WaitCommand(t, 10*time.Second)
		r.sshd.CutLink(t)
	}()
	// Answered at all, and the power cut: the off did not hang on the
	// vanished connection (a hang would last as long as TCP's minutes).
	code, a := r.post(t, "off")
	if code != 200 || r.dev.OutletState(1) != power.Off {
		t.Errorf("off: %d %+v outlet %s; want power cut (policy cut)", code, a, r.dev.OutletState(1))
	}
}

// After commissioning MAAS makes the machine halt itself with the outlet
// live: it must read stopped, and a power-on must cycle the outlet.
func TestHaltedMachineReadsStoppedAndIsCycled(t *testing.T) {
	r := newShutdownRig(t, rigOptions{sshAddr: freePort(t), liveness: ", boot_grace: 1s"})
	status := func() string {
		_, body := r.bridge.maas(t, maasCall{method: "GET", path: "/v1/machines/node1/status", auth: bearer(maasToken)})
		return body
	}
	waitUntil(t, 10*time.Second, "the halted machine reads stopped", func() bool { return status() == `{"status":"stopped"}`+"\n" })
	if r.dev.OutletState(1) != power.On {
		t.Fatal("the outlet should still be live")
	}
	code, a := r.post(t, "on")
	if code != 200 || r.dev.OutletState(1) != power.On {
		t.Fatalf("on: %d %+v outlet %s", code, a, r.dev.OutletState(1))
	}
	if n := r.dev.Switches(1); n != 2 {
		t.Errorf("outlet switched %d times, want 2 (off, on: a cycle)", n)
	}
	if got := status(); got != `{"status":"running"}`+"\n" {
		t.Errorf("right after power-on (inside the boot grace): %q, want running", got)
	}
}
