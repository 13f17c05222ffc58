package redfish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
)

// Boot is a machine's boot override as a client last set it. A PDU cannot
// choose a boot device: the override is kept and echoed (MAAS fails an
// action whose PXE PATCH fails), and machines must boot from the network
// first in their firmware.
type Boot struct {
	Enabled string `json:"enabled"`
	Target  string `json:"target"`
	Mode    string `json:"mode"`
	// Version counts the changes; the system's ETag is made from it.
	Version uint64 `json:"version"`
}

var (
	bootEnabled = []string{"Disabled", "Once", "Continuous"}
	bootTargets = []string{"None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup", "UefiHttp"}
	bootModes   = []string{"Legacy", "UEFI"}
)

func defaultBoot() Boot { return Boot{Enabled: "Disabled", Target: "None", Mode: "UEFI"} }

// etag is the system's entity tag. It changes with the boot override alone,
// never with the power state: MAAS 3.8 reads it just before its PATCH, and
// a power change in between must not fail the PATCH with 412.
func (b Boot) etag() string { return fmt.Sprintf(`"boot-%d"`, b.Version) }

// BootStore keeps the boot overrides of every machine across restarts.
type BootStore interface {
	Load() (map[string]Boot, error)
	Save(map[string]Boot) error
}

// FileStore keeps the overrides as JSON in one file, replaced whole by
// Write (an atomic file replacement).
type FileStore struct {
	Path  string
	Write func(path string, data []byte, mode fs.FileMode) error
}

// Load reads the file; a missing file is no overrides.
func (f FileStore) Load() (map[string]Boot, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Boot{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]Boot{}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("reading boot overrides from %s: %w", f.Path, err)
	}
	return out, nil
}

// Save replaces the file.
func (f FileStore) Save(m map[string]Boot) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := f.Write(f.Path, append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("writing boot overrides to %s: %w", f.Path, err)
	}
	return nil
}

type bootOverrides struct {
	store BootStore
	log   *slog.Logger

	mu sync.Mutex
	m  map[string]Boot
}

func newBootOverrides(store BootStore, log *slog.Logger) *bootOverrides {
	b := &bootOverrides{store: store, log: log, m: map[string]Boot{}}
	if store != nil {
		m, err := store.Load()
		if err != nil {
			log.Error("boot overrides not loaded; starting with none", "error", err.Error())
		} else {
			b.m = m
		}
	}
	return b
}

func (b *bootOverrides) get(machine string) Boot {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.m[machine]; ok {
		return o
	}
	return defaultBoot()
}

// set applies change to machine's override when ifMatch (an If-Match
// header's value, "" when none was sent) matches its ETag. It returns the
// override in force and whether the precondition held.
func (b *bootOverrides) set(machine, ifMatch string, change func(*Boot)) (Boot, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.m[machine]
	if !ok {
		cur = defaultBoot()
	}
	if ifMatch != "" && !etagMatches(ifMatch, cur.etag()) {
		return cur, false
	}
	next := cur
	change(&next)
	if next == cur {
		return cur, true
	}
	next.Version = cur.Version + 1
	b.m[machine] = next
	if b.store != nil {
		snapshot := make(map[string]Boot, len(b.m))
		for k, v := range b.m {
			snapshot[k] = v
		}
		if err := b.store.Save(snapshot); err != nil {
			// A PDU ignores the override anyway: failing the PATCH would
			// fail MAAS's power action for a setting nothing acts on.
			b.log.Error("boot override kept in memory only", "machine", machine, "error", err.Error())
		}
	}
	return next, true
}

// etagMatches reads an If-Match value: "*" or a comma-separated list.
func etagMatches(header, etag string) bool {
	for _, part := range splitList(header) {
		if part == "*" || part == etag {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	var out []string
	start := 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, trimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, trimSpace(s[start:]))
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
