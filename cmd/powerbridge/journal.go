package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
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
			o, err := power.ParseOutletRef(ref)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: machine %s: %w", j.path, name, err)
			}
			in.Outlets = append(in.Outlets, o)
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
