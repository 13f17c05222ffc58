package daemon

import (
	"log/slog"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power/shutdown"
	"github.com/powerbridge/powerbridge/power/wol"
)

func TestWakeFor(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	if w, err := wakeFor(config.Machine{Name: "m"}, dir, log); w != nil || err != nil {
		t.Fatalf("a machine without wake_on_lan: %v, %v; want nil, nil", w, err)
	}
	sh := &config.Shutdown{SSH: config.SSH{Host: "pc.maas", Port: 22, User: "ubuntu", KeyFile: writeKey(t, dir)},
		Command: "sudo systemctl poweroff", Timeout: config.Duration(60e9), OnFailure: "fail"}
	m := config.Machine{Name: "pc", Shutdown: sh, Liveness: &config.Liveness{TCP: "pc.maas:22", Interval: config.Duration(2e9)},
		WakeOnLAN: &config.WakeOnLAN{MAC: "52:54:00:be:ef:01", Broadcast: "192.168.23.255", Port: 7, Interface: "eth1"}}
	w, err := wakeFor(m, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := w.Waker.(wol.Sender)
	if !ok || s.MAC.String() != "52:54:00:be:ef:01" || s.Broadcast != "192.168.23.255" || s.Port != 7 || s.Interface != "eth1" {
		t.Errorf("sender %+v, want the configured MAC, broadcast, port and interface", w.Waker)
	}
	if w.ProbeInterval != 2e9 || w.Reboot != nil {
		t.Errorf("probe interval %s, reboot %v; want liveness.interval and no reboot", w.ProbeInterval, w.Reboot)
	}

	m.WakeOnLAN.RebootCommand = "sudo systemctl reboot"
	w, err = wakeFor(m, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := w.Reboot.(*shutdown.Machine)
	if !ok || r.Graceful.SSH.Command != "sudo systemctl reboot" || r.CutOnFailure {
		t.Fatalf("reboot %+v; want the reboot command over the machine's ssh, never a cut", w.Reboot)
	}
	if sh.Command != "sudo systemctl poweroff" {
		t.Errorf("building the reboot changed the machine's shutdown command to %q", sh.Command)
	}
}
