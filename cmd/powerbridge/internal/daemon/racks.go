package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
)

// setRacks gives a new fleet what the config says of its racks: the
// groups, and the machines' expected draw for the power budgets.
func setRacks(cfg *config.File, fleet *power.Fleet) error {
	setExpectedAmperes(cfg, fleet)
	return fleet.SetGroups(groupsOf(cfg))
}

// groupsOf is the config's groups, for the fleet.
func groupsOf(cfg *config.File) []power.Group {
	var out []power.Group
	for _, g := range cfg.Groups {
		out = append(out, power.Group{Name: g.Name, Machines: g.Machines})
	}
	return out
}

// setExpectedAmperes gives each PDU the expected draw of its outlets from
// the machines' expected_amperes, split evenly over a machine's outlets (a
// machine with two supplies shares its load between them).
func setExpectedAmperes(cfg *config.File, fleet *power.Fleet) {
	by := map[string]map[int]float64{}
	for _, m := range cfg.Machines {
		if m.ExpectedAmperes <= 0 {
			continue
		}
		for _, ref := range m.Outlets {
			if by[ref.PDU] == nil {
				by[ref.PDU] = map[int]float64{}
			}
			by[ref.PDU][ref.Outlet] = m.ExpectedAmperes / float64(len(m.Outlets))
		}
	}
	for _, p := range fleet.PDUs() {
		p.SetExpectedAmperes(by[p.Name()])
	}
}

// startNameSync writes the machines' names into their outlets' names on
// each PDU with sync_outlet_names, once per generation (at the start and
// after each reload), trying again every poll_interval while the PDU
// cannot be read.
func startNameSync(ctx context.Context, cfg *config.File, fleet *power.Fleet, log *slog.Logger) {
	for _, p := range cfg.PDUs {
		if !p.SyncOutletNames {
			continue
		}
		go func() {
			for {
				changes, err := fleet.SyncOutletNames(ctx, p.Name)
				if err == nil {
					log.Info("outlet names synced", "pdu", p.Name, "written", len(changes))
				}
				if err == nil || errors.Is(err, power.ErrCannotName) || ctx.Err() != nil {
					if err != nil && ctx.Err() == nil {
						log.Warn("sync_outlet_names is set, but the PDU's names cannot be written", "pdu", p.Name, "error", err.Error())
					}
					return
				}
				select {
				case <-time.After(p.PollInterval.Std()):
				case <-ctx.Done():
					return
				}
			}
		}()
	}
}

// restartHook passes a PDU driver's events on to onEvent, and tells the PDU
// attached to it of a restart of its device, for restore_after_pdu_restart.
// The driver is made before its PDU: attach completes the hook.
func restartHook(onEvent func(apc.Event)) (events func(apc.Event), attach func(*power.PDU) *power.PDU) {
	var pdu atomic.Pointer[power.PDU]
	events = func(e apc.Event) {
		onEvent(e)
		if p := pdu.Load(); p != nil && (e.Kind == apc.EventRestart || e.Kind == apc.EventNewEngine) {
			p.Restarted()
		}
	}
	attach = func(p *power.PDU) *power.PDU {
		pdu.Store(p)
		return p
	}
	return events, attach
}
