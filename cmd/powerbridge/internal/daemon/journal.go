package daemon

import (
	"log/slog"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
)

// startJournal opens the journal in the config's state directory for the
// service, and returns what a previous process left unfinished. Without a
// config file (the demo) there is nothing to finish and no journal; a state
// directory that cannot be used is logged, and the service runs without.
func (s *service) startJournal(cfg *config.File) []power.Interrupted {
	if s.path == "" || s.openJournal == nil {
		return nil
	}
	j, pending, err := s.openJournal(cfg.StateDir)
	if err != nil {
		level := slog.LevelDebug // nothing would be written to it
		for _, m := range cfg.Machines {
			if len(m.Outlets) > 1 {
				level = slog.LevelError
			}
		}
		s.log.Log(s.runCtx, level, "journal: cannot use the state directory; a machine with two outlets left half switched by a crash will not be finished on restart",
			"state_dir", cfg.StateDir, "error", err.Error())
		return nil
	}
	s.journal = j
	return pending
}

// finishInterrupted completes, each in its own goroutine, the switches a
// previous process left unfinished; a MAAS request for the same action
// joins them. One that fails stays in the journal, and the next action on
// the machine completes it.
func (s *service) finishInterrupted(pending []power.Interrupted) {
	for _, in := range pending {
		go func() {
			g := s.acquire()
			defer g.release()
			ctx := power.WithPrincipal(s.runCtx, "powerbridge (restart)")
			if _, err := g.fleet.Finish(ctx, in); err != nil {
				s.log.Error("journal: could not finish an interrupted switch; the next action on the machine will", "machine", in.Machine, "error", err.Error())
			}
		}()
	}
}
