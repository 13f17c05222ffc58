package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/server"
	"github.com/powerbridge/powerbridge/test/sshd"
)

const wolMAC = "52:54:00:be:ef:01"

// wolPC is a PC with no PDU, woken by LAN, inside a network namespace of the
// test's own: a UDP listener there checks every datagram for the magic
// packet of its MAC (six 0xff, then the MAC sixteen times) and, on one, boots
// the machine, that is, starts its sshd, which answers the liveness probe
// and shuts the machine down when asked (sshd.GoesDown).
type wolPC struct {
	sshd   *sshd.Server
	bridge *bridge

	mu     sync.Mutex
	magic  int      // magic packets for wolMAC
	others [][]byte // anything else
	boots  int
}

// wolOptions shape a wolPC.
type wolOptions struct {
	wakes  bool          // a magic packet boots it
	action time.Duration // timeouts.action
	// dev, when set, is a simulated PDU whose outlet 1 feeds the machine
	// as well (an always-on outlet, with a BIOS that stays off on AC).
	dev *pdusim.Device
	pdu string // its config lines
	// wol holds more keys of wake_on_lan (", reboot_command: ...").
	wol string
}

// newWolPC starts the machine switched off and powerbridge driving it as
// "pc1".
func newWolPC(t *testing.T, o wolOptions) *wolPC {
	t.Helper()
	wakes, action := o.wakes, o.action
	srv := sshd.Start(t, sshd.Options{Behaviour: sshd.GoesDown, NetNS: true})
	srv.Stop(t) // the machine is off
	link := srv.Link(t)
	conn := srv.ListenUDP(t, 0)
	pc := &wolPC{sshd: srv}
	mac, _ := net.ParseMAC(wolMAC)
	want := append(bytes.Repeat([]byte{0xff}, 6), bytes.Repeat(mac, 16)...)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed at the end of the test
			}
			pc.mu.Lock()
			if !bytes.Equal(buf[:n], want) {
				pc.others = append(pc.others, bytes.Clone(buf[:n]))
				pc.mu.Unlock()
				continue
			}
			pc.magic++
			boot := wakes && !srv.Running()
			if boot {
				pc.boots++
			}
			pc.mu.Unlock()
			if boot {
				if err := srv.Boot(t); err != nil {
					t.Errorf("booting the machine: %v", err)
				}
			}
		}
	}()

	host, port, _ := net.SplitHostPort(srv.Addr)
	pdus, outlets := "", ""
	if o.pdu != "" {
		pdus, outlets = "pdus:"+o.pdu, `outlets: ["rack1/1"]`
	}
	cfg := fmt.Sprintf(`
auth:
  tokens: [{name: maas, token: %s}]
  users: [{name: admin, password: %s}]
timeouts: {status: 5s, action: %s}
%s
machines:
  - name: pc1
    %s
    wake_on_lan: {mac: %q, broadcast: %s, port: %d, interface: %s%s}
    shutdown:
      ssh: {host: %q, port: %s, user: %q, key_file: %q}
      timeout: %s
    liveness: {failures: 2, interval: 200ms, settle: 300ms, poll_interval: 200ms, boot_grace: 2m}
`, maasToken, adminPass, action, pdus, outlets, wolMAC, link.Broadcast, conn.LocalAddr().(*net.UDPAddr).Port, link.HostIf, o.wol,
		host, port, srv.User, srv.ClientKeyFile, action-20*time.Second)
	pc.bridge = startBridge(t, cfg)
	return pc
}

// packets returns the magic packets seen so far and how often the machine
// booted, and fails the test on any other datagram.
func (pc *wolPC) packets(t *testing.T) (magic, boots int) {
	t.Helper()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, p := range pc.others {
		t.Errorf("the listener got a datagram that is not the magic packet for %s: % x", wolMAC, p)
	}
	pc.others = nil
	return pc.magic, pc.boots
}

func (pc *wolPC) maas(t *testing.T, method, path string, within time.Duration) (int, string) {
	t.Helper()
	return pc.bridge.maas(t, maasCall{method: method, path: path, auth: bearer(maasToken), within: within})
}

func (pc *wolPC) status(t *testing.T) string {
	t.Helper()
	code, body := pc.maas(t, http.MethodGet, "/v1/machines/pc1/status", time.Minute)
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	return strings.TrimSpace(body)
}

const (
	wolRunning = `{"status":"running"}`
	wolStopped = `{"status":"stopped"}`
)

// MAAS's on / query / off flow on a machine that only Wake-on-LAN powers on:
// the packet reaches the machine's network and wakes it, its probe makes it
// read running, the clean shutdown makes it read stopped, and nothing but
// the on sends a packet.
func TestWakeOnLANMachineWithMAAS(t *testing.T) {
	pc := newWolPC(t, wolOptions{wakes: true, action: 60 * time.Second})
	if got := pc.status(t); got != wolStopped {
		t.Fatalf("status before the on: %s, want %s", got, wolStopped)
	}

	code, body := pc.maas(t, http.MethodPost, "/v1/machines/pc1/on", 2*time.Minute)
	if code != http.StatusOK {
		t.Fatalf("on: %d %s", code, body)
	}
	var res server.ActionResult
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.State != power.On || !res.Changed {
		t.Fatalf("on: %s (%v); want state on, changed", body, err)
	}
	magic, boots := pc.packets(t)
	if magic < 1 || boots != 1 || !pc.sshd.Running() {
		t.Fatalf("after the on: %d magic packets, %d boots, sshd running %v; want packets, one boot, running", magic, boots, pc.sshd.Running())
	}
	if got := pc.status(t); got != wolRunning {
		t.Fatalf("status after the on: %s, want %s", got, wolRunning)
	}

	// MAAS repeats its on: the machine answers its probe, nothing is sent.
	if code, body := pc.maas(t, http.MethodPost, "/v1/machines/pc1/on", 2*time.Minute); code != http.StatusOK || !strings.Contains(body, `"changed":false`) {
		t.Fatalf("second on: %d %s, want 200 and no change", code, body)
	}
	if again, _ := pc.packets(t); again != magic {
		t.Fatalf("an on of a machine that was up sent %d more packets", again-magic)
	}

	checkFaces(t, pc)

	code, body = pc.maas(t, http.MethodPost, "/v1/machines/pc1/off", 2*time.Minute)
	if code != http.StatusOK || !strings.Contains(body, `"shutdown":"graceful"`) {
		t.Fatalf("off: %d %s, want 200 and a graceful shutdown", code, body)
	}
	cmds := pc.sshd.Commands(t)
	if len(cmds) != 1 || cmds[0].Line != "sudo systemctl poweroff" {
		t.Fatalf("commands run on the machine: %+v, want one poweroff", cmds)
	}
	select {
	case <-pc.sshd.Exited():
	case <-time.After(time.Minute):
		t.Fatal("the machine's sshd still runs after the off")
	}
	if got := pc.status(t); got != wolStopped {
		t.Fatalf("status after the off: %s, want %s", got, wolStopped)
	}
	if after, boots := pc.packets(t); after != magic || boots != 1 {
		t.Fatalf("off and queries sent %d packets and booted it %d times; want none and still one boot", after-magic, boots-1)
	}
}

// checkFaces reads the outlet-less machine through the JSON API, the CLI and
// Redfish: no outlets, shown as an empty list, and its state.
func checkFaces(t *testing.T, pc *wolPC) {
	t.Helper()
	code, body := pc.bridge.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines", auth: bearer(maasToken)})
	var list server.MachineList
	if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list.Machines) != 1 {
		t.Fatalf("GET /v1/machines: %d %s", code, body)
	}
	if m := list.Machines[0]; !strings.Contains(body, `"outlets":[]`) || !m.WakeOnLAN || !m.Graceful {
		t.Errorf("GET /v1/machines: %s; want outlets [], wake_on_lan and graceful_shutdown true", body)
	}
	code, body = pc.bridge.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/pc1", auth: bearer(maasToken)})
	if code != http.StatusOK || !strings.Contains(body, `"outlets":[]`) || !strings.Contains(body, `"state":"on"`) {
		t.Errorf("GET /v1/machines/pc1: %d %s; want state on and outlets []", code, body)
	}

	env := []string{"POWERBRIDGE_URL=" + pc.bridge.URL, "POWERBRIDGE_TOKEN=" + maasToken}
	if code, out, errs := cli(t, env, "power", "status", "pc1"); code != 0 || !strings.Contains(out, "pc1: on (no outlets: state from the liveness probe)") {
		t.Errorf("powerbridge power status pc1: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}

	// The background probe feeds the machine's metric.
	waitUntil(t, time.Minute, "/metrics shows pc1 on", func() bool {
		_, body := pc.bridge.maas(t, maasCall{method: http.MethodGet, path: "/metrics"})
		return strings.Contains(body, `powerbridge_machine_on{machine="pc1"} 1`)
	})

	rf := &maasRedfish{t: t, base: pc.bridge.URL, nodeID: "pc1"}
	a := rf.get("pc1")
	oem, _ := a.body["Oem"].(map[string]any)["powerbridge"].(map[string]any)
	if a.body["PowerState"] != "On" || oem == nil || oem["WakeOnLAN"] != true || !strings.Contains(a.raw, `"Outlets":[]`) {
		t.Errorf("Redfish Systems/pc1: %s; want PowerState On, WakeOnLAN, Outlets []", a.raw)
	}
}

// A machine that never wakes (its NIC not armed, the wrong MAC) gives MAAS an
// error that says so, within the action timeout, and goes on reading
// stopped: never a hang, never a false running.
func TestWakeOnLANMachineThatNeverWakes(t *testing.T) {
	const action = 25 * time.Second
	pc := newWolPC(t, wolOptions{action: action})
	// A bound of twice the action timeout fails a hang; the answer must
	// come well within it.
	code, body := pc.maas(t, http.MethodPost, "/v1/machines/pc1/on", 2*action)
	if code == http.StatusOK || !strings.Contains(body, "no answer to the liveness probe") || !strings.Contains(body, "ethtool wol g") {
		t.Fatalf("on of a machine that does not wake: %d %s; want an error saying it did not answer", code, body)
	}
	if magic, boots := pc.packets(t); magic < 1 || boots != 0 {
		t.Fatalf("%d magic packets, %d boots; want packets sent and no boot", magic, boots)
	}
	if got := pc.status(t); got != wolStopped {
		t.Fatalf("status after the failed on: %s, want %s", got, wolStopped)
	}
}

// A machine on an always-on outlet whose BIOS stays off when AC returns:
// the on switches the outlet on, once, and then wakes the machine; the off
// shuts it down cleanly and then switches the outlet off, once.
func TestWakeOnLANAfterTheOutlet(t *testing.T) {
	dev, _, pdu := simPDU(t, "ap7900")
	pc := newWolPC(t, wolOptions{wakes: true, action: 60 * time.Second, dev: dev, pdu: pdu})
	if got := pc.status(t); got != wolStopped {
		t.Fatalf("status before the on: %s, want %s", got, wolStopped)
	}
	code, body := pc.maas(t, http.MethodPost, "/v1/machines/pc1/on", 2*time.Minute)
	if code != http.StatusOK || !strings.Contains(body, `"switched":["rack1/1"]`) {
		t.Fatalf("on: %d %s; want 200, rack1/1 switched", code, body)
	}
	magic, boots := pc.packets(t)
	if dev.OutletState(1) != power.On || dev.Switches(1) != 1 || magic < 1 || boots != 1 {
		t.Fatalf("after the on: outlet %s, switched %d times, %d packets, %d boots; want on, once, packets, one boot",
			dev.OutletState(1), dev.Switches(1), magic, boots)
	}
	if got := pc.status(t); got != wolRunning {
		t.Fatalf("status after the on: %s, want %s", got, wolRunning)
	}
	code, body = pc.maas(t, http.MethodPost, "/v1/machines/pc1/off", 2*time.Minute)
	if code != http.StatusOK || !strings.Contains(body, `"shutdown":"graceful"`) {
		t.Fatalf("off: %d %s; want 200, a graceful shutdown", code, body)
	}
	if cmds := pc.sshd.Commands(t); len(cmds) != 1 || cmds[0].Line != "sudo systemctl poweroff" {
		t.Fatalf("commands run on the machine: %+v, want one poweroff", cmds)
	}
	if dev.OutletState(1) != power.Off || dev.Switches(1) != 2 {
		t.Fatalf("after the off: outlet %s, switched %d times in all; want off, twice", dev.OutletState(1), dev.Switches(1))
	}
	if got := pc.status(t); got != wolStopped {
		t.Fatalf("status after the off: %s, want %s", got, wolStopped)
	}
	if after, _ := pc.packets(t); after != magic {
		t.Fatalf("the off sent %d packets", after-magic)
	}
}

// A cycle with reboot_command set reboots the machine over ssh and waits
// for it to come back: no packet, no shutdown.
func TestWakeOnLANCycleReboots(t *testing.T) {
	pc := newWolPC(t, wolOptions{wakes: true, action: 60 * time.Second, wol: `, reboot_command: "sudo systemctl reboot"`})
	if code, body := pc.maas(t, http.MethodPost, "/v1/machines/pc1/on", 2*time.Minute); code != http.StatusOK {
		t.Fatalf("on: %d %s", code, body)
	}
	magic, _ := pc.packets(t)
	// The machine comes back by itself after a reboot: its sshd is started
	// again once powerbridge has seen it go down (and logged so), when the
	// command it ran was the reboot.
	rebooted := make(chan struct{})
	go func() {
		defer close(rebooted)
		<-pc.sshd.Exited()
		cmds := pc.sshd.Commands(t)
		if len(cmds) != 1 || cmds[0].Line != "sudo systemctl reboot" {
			return
		}
		if !eventually(time.Minute, func() bool { return len(pc.bridge.logs.lines("down=true")) > 0 }) {
			t.Errorf("powerbridge never logged the machine down after its reboot")
			return
		}
		if err := pc.sshd.Boot(t); err != nil {
			t.Errorf("booting the machine again: %v", err)
		}
	}()
	code, body := pc.bridge.maas(t, maasCall{method: http.MethodPost, path: "/v1/machines/pc1/cycle", auth: basic("admin", adminPass), within: 2 * time.Minute})
	if code != http.StatusOK || !strings.Contains(body, `"shutdown":"reboot"`) || !strings.Contains(body, `"state":"on"`) {
		t.Fatalf("cycle: %d %s; want 200, a reboot, on", code, body)
	}
	<-rebooted
	if cmds := pc.sshd.Commands(t); len(cmds) != 1 || cmds[0].Line != "sudo systemctl reboot" {
		t.Fatalf("commands run on the machine: %+v, want one reboot", cmds)
	}
	if after, boots := pc.packets(t); after != magic || boots != 1 {
		t.Fatalf("the cycle sent %d packets and the listener booted it %d times more; want none", after-magic, boots-1)
	}
	if got := pc.status(t); got != wolRunning {
		t.Fatalf("status after the cycle: %s, want %s", got, wolRunning)
	}
}

// MAAS 3.8's redfish driver on the same machine: Reset On wakes it and
// PowerState reads On once it answers; ForceOff (a clean shutdown, the
// default) makes it read Off.
func TestWakeOnLANMachineWithMAASRedfish(t *testing.T) {
	pc := newWolPC(t, wolOptions{wakes: true, action: 60 * time.Second})
	rf := &maasRedfish{t: t, base: pc.bridge.URL, nodeID: "pc1"}
	rf.on38()
	magic, boots := pc.packets(t)
	if magic < 1 || boots != 1 || !pc.sshd.Running() {
		t.Fatalf("after Reset On: %d magic packets, %d boots, sshd running %v; want packets, one boot, running", magic, boots, pc.sshd.Running())
	}
	rf.off38()
	if _, state := rf.query(); state != "Off" {
		t.Fatalf("PowerState after ForceOff: %s, want Off", state)
	}
	if cmds := pc.sshd.Commands(t); len(cmds) != 1 || cmds[0].Line != "sudo systemctl poweroff" {
		t.Fatalf("commands run on the machine: %+v, want one poweroff", cmds)
	}
	if after, _ := pc.packets(t); after != magic {
		t.Fatalf("the off and the queries sent %d packets", after-magic)
	}
}
