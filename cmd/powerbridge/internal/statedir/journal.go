package statedir

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
	"github.com/powerbridge/powerbridge/power"
)

// Journal is the power.Journal of a state directory: a JSON file naming the
// machines with an action under way, rewritten whole on every change.
type Journal struct {
	path string

	mu      sync.Mutex
	entries map[string]journalEntry
}

var _ power.Journal = (*Journal)(nil)

// journalDoc is the file's content.
type journalDoc struct {
	// Switching maps a machine to the action under way on it.
	Switching map[string]journalEntry `json:"switching"`
}

type journalEntry struct {
	To      power.State `json:"to"`
	Outlets []string    `json:"outlets"`
	// Shutdown is true while an off's graceful shutdown is under way.
	Shutdown bool      `json:"shutdown,omitempty"`
	Since    time.Time `json:"since"`
}

func openJournal(path string) (*Journal, []power.Interrupted, error) {
	j := &Journal{path: path, entries: map[string]journalEntry{}}
	var doc journalDoc
	if err := readJSON(path, &doc); err != nil {
		return nil, nil, err
	}
	var pending []power.Interrupted
	for name, e := range doc.Switching {
		in := power.Interrupted{Machine: name, To: e.To, Shutdown: e.Shutdown}
		for _, s := range e.Outlets {
			ref, ok := parseOutlet(s)
			if !ok {
				return nil, nil, fmt.Errorf("%s: machine %s: %q is not an outlet (pdu/N)", path, name, s)
			}
			in.Outlets = append(in.Outlets, ref)
		}
		j.entries[name] = e
		pending = append(pending, in)
	}
	sort.Slice(pending, func(a, b int) bool { return pending[a].Machine < pending[b].Machine })
	return j, pending, nil
}

func (j *Journal) Begin(machine string, outlets []power.OutletRef, to power.State, shutdown bool) error {
	e := journalEntry{To: to, Shutdown: shutdown, Since: time.Now().UTC()}
	for _, o := range outlets {
		e.Outlets = append(e.Outlets, o.String())
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries[machine] = e
	return j.save()
}

func (j *Journal) End(machine string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.entries[machine]; !ok {
		return nil
	}
	delete(j.entries, machine)
	return j.save()
}

// save writes the entries. j.mu is held.
func (j *Journal) save() error {
	data, err := json.MarshalIndent(journalDoc{Switching: j.entries}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(j.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the journal %s: %w", j.path, err)
	}
	return nil
}
