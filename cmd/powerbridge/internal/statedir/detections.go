package statedir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
)

// DetectionsName is the file of what detection found of each PDU.
const DetectionsName = "detections.json"

// Detections keeps what the drivers detected of each PDU, by the key the
// driver gives (its address, SNMP version and a hash of its credentials),
// so that a restart costs each PDU one confirming request instead of a
// detection (apc.DetectionCache). It is a cache: a file that cannot be
// read is set aside (Corrupt says why) and rewritten, never an error.
type Detections struct {
	path string

	mu      sync.Mutex
	entries map[string]json.RawMessage
	// Corrupt is why the file found at open was ignored; nil if it was not.
	Corrupt error
}

// OpenDetections reads the detections file at path; a missing one is empty.
func OpenDetections(path string) *Detections {
	d := &Detections{path: path, entries: map[string]json.RawMessage{}}
	data, err := os.ReadFile(path)
	if err != nil {
		if !os.IsNotExist(err) {
			d.Corrupt = err
		}
		return d
	}
	if err := json.Unmarshal(data, &d.entries); err != nil {
		d.entries = map[string]json.RawMessage{}
		d.Corrupt = fmt.Errorf("%s: %w", path, err)
	}
	return d
}

// Load returns the detection stored under key.
func (d *Detections) Load(key string) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[key]
	return e, ok
}

// Store keeps data under key and rewrites the file whole, atomically.
func (d *Detections) Store(key string, data []byte) error {
	if !json.Valid(data) {
		return fmt.Errorf("storing the detection of %s: not JSON", key)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entries[key] = json.RawMessage(data)
	out, err := json.Marshal(d.entries)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(d.path, append(out, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(d.path), err)
	}
	return nil
}
