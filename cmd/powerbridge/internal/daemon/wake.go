package daemon

import (
	"fmt"
	"log/slog"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/wol"
)

// wakeFor builds the Wake-on-LAN of a configured machine, or nil when it has
// none. Its reboot, when configured, is the machine's shutdown with the
// reboot command in place of the shutdown command.
func wakeFor(m config.Machine, stateDir string, log *slog.Logger) (*power.Wake, error) {
	w := m.WakeOnLAN
	if w == nil {
		return nil, nil
	}
	mac, err := wol.ParseMAC(w.MAC)
	if err != nil {
		return nil, fmt.Errorf("machine %s: wake_on_lan.mac: %w", m.Name, err)
	}
	wake := &power.Wake{
		Waker: wol.Sender{MAC: mac, Broadcast: w.Broadcast, Port: w.Port, Interface: w.Interface},
	}
	if l := m.Liveness; l != nil {
		wake.ProbeInterval = l.Interval.Std()
	}
	if w.RebootCommand != "" && m.Shutdown != nil {
		sh := *m.Shutdown
		sh.Command, sh.OnFailure = w.RebootCommand, "fail"
		rm := m
		rm.Shutdown = &sh
		g, err := gracefulFor(rm, stateDir, log, nil)
		if err != nil {
			return nil, err
		}
		wake.Reboot = g
	}
	return wake, nil
}
