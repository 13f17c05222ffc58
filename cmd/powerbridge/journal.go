package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
)

// journalName is the journal's file in the state directory.
const journalName = "switching.json"

// journalFile is serve's power.Journal: a small JSON file in the state
// directory naming the machines whose outlets are being switched. Every
// change rewrites it whole the way a crash cannot tear: written aside,
// synced, renamed over the old one, the directory synced.
type journalFile struct {
	path string

	mu      sync.Mutex
	entries map[string]journalEntry
}

// journalDoc is the file's content.
type journalDoc struct {
	// Switching maps a machine to the switch of its outlets under way.
	Switching map[string]journalEntry `json:"switching"`
}

type journalEntry struct {
	To      power.State `json:"to"`
	Outlets []string    `json:"outlets"`
	Since   time.Time   `json:"since"`
}

var _ power.Journal = (*journalFile)(nil)

// openJournal opens the journal in dir, creating dir if need be, and
// returns the switches a previous process left unfinished, in machine
// order. A journal it cannot make sense of is an error, not an empty one:
// it would hide a machine left half powered.
func openJournal(dir string) (*journalFile, []power.Interrupted, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	j := &journalFile{path: filepath.Join(dir, journalName), entries: map[string]journalEntry{}}
	data, err := os.ReadFile(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var doc journalDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", j.path, err)
	}
	var pending []power.Interrupted
	for name, e := range doc.Switching {
		in := power.Interrupted{Machine: name, To: e.To}
		for _, ref := range e.Outlets {
			pdu, n, ok := config.ParseOutlet(ref)
			if !ok {
				return nil, nil, fmt.Errorf("%s: machine %s: %q is not an outlet", j.path, name, ref)
			}
			in.Outlets = append(in.Outlets, power.OutletRef{PDU: pdu, Outlet: n})
		}
		j.entries[name] = e
		pending = append(pending, in)
	}
	sort.Slice(pending, func(a, b int) bool { return pending[a].Machine < pending[b].Machine })
	return j, pending, nil
}

func (j *journalFile) Begin(machine string, outlets []power.OutletRef, to power.State) error {
	e := journalEntry{To: to, Since: time.Now().UTC()}
	for _, o := range outlets {
		e.Outlets = append(e.Outlets, o.String())
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries[machine] = e
	return j.save()
}

func (j *journalFile) End(machine string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.entries[machine]; !ok {
		return nil
	}
	delete(j.entries, machine)
	return j.save()
}

// save writes the entries. j.mu is held.
func (j *journalFile) save() error {
	data, err := json.MarshalIndent(journalDoc{Switching: j.entries}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(j.path, append(data, '\n'), 0o600)
}

// startJournal opens the journal in the config's state directory for the
// service, and returns what a previous process left unfinished. Without a
// config file (the demo) there is nothing to finish and no journal; a state
// directory that cannot be used is logged, and the service runs without.
func (s *service) startJournal(cfg *config.File) []power.Interrupted {
	if s.path == "" {
		return nil
	}
	j, pending, err := openJournal(cfg.StateDir)
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

// journalOrNil is the journal for a fleet: nil, not a nil *journalFile.
func (s *service) journalOrNil() power.Journal {
	if s.journal == nil {
		return nil
	}
	return s.journal
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
