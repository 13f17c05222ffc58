package daemon

import (
	"log/slog"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
)

// StateDir is what the service keeps in its state directory across a
// restart (cmd/powerbridge/internal/statedir is the real one).
type StateDir struct {
	Journal  power.Journal
	OffTimes power.OffTimes
	// Detections keeps what the SNMP drivers detected of each PDU; may be
	// nil. DetectionsIgnored is why the file held was ignored, if it was.
	Detections        apc.DetectionCache
	DetectionsIgnored error
	// Interrupted is what the journal held when it was opened: the actions
	// a previous process died in.
	Interrupted []power.Interrupted
}

// startJournal opens the config's state directory for the service (the
// journal and the outlets' off times), and returns what a previous process
// left unfinished. Without a config file (the demo) there is nothing to
// finish and nothing kept; a state directory that cannot be used is logged,
// and the service runs without.
func (s *service) startJournal(cfg *config.File) []power.Interrupted {
	if s.path == "" || s.openState == nil {
		return nil
	}
	d, err := s.openState(cfg.StateDir)
	if err != nil {
		s.log.Log(s.runCtx, slog.LevelError, "state directory cannot be used: an action a crash interrupts will not be finished on restart, and the power-on delay does not hold across one",
			"state_dir", cfg.StateDir, "error", err.Error())
		return nil
	}
	s.journal, s.offTimes, s.detections = d.Journal, d.OffTimes, d.Detections
	if d.DetectionsIgnored != nil {
		s.log.Warn("state directory: the cached PDU detections cannot be read and are ignored; every PDU is detected afresh",
			"state_dir", cfg.StateDir, "error", d.DetectionsIgnored.Error())
	}
	return d.Interrupted
}

// finishInterrupted completes, each in its own goroutine, the actions a
// previous process died in; a MAAS request for the same action joins them.
// Each runs once: its record is removed when it ends, however it ends.
func (s *service) finishInterrupted(pending []power.Interrupted) {
	for _, in := range pending {
		go func() {
			g := s.acquire()
			defer g.release()
			ctx := power.WithPrincipal(s.runCtx, "powerbridge (restart)")
			if _, err := g.fleet.Finish(ctx, in); err != nil {
				s.log.Error("journal: an interrupted action could not be finished", "machine", in.Machine, "error", err.Error())
			}
		}()
	}
}
