// Package statedir keeps what powerbridge must remember across a restart in
// its state directory: the journal of actions under way (power.Journal),
// when each outlet last went off (power.OffTimes) and what was detected of
// each PDU (apc.DetectionCache). Each is a small JSON file
// rewritten whole the way a crash cannot tear (internal/atomicfile).
//
// It knows the power domain's interfaces and nothing of the config, HTTP or
// SNMP; what the records mean is power's business.
package statedir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/powerbridge/powerbridge/power"
)

// The files in the state directory.
const (
	JournalName  = "switching.json"
	OffTimesName = "off-times.json"
)

// Dir is an opened state directory.
type Dir struct {
	Journal  *Journal
	OffTimes *OffTimes
	// Detections is what the drivers detected of each PDU.
	Detections *Detections
	// Interrupted is what the journal held when the directory was opened:
	// the actions a previous process died in, in machine order.
	Interrupted []power.Interrupted
}

// Open opens the state directory dir, creating it if need be. A file in it
// that cannot be made sense of is an error, not an empty record: it would
// hide a machine left half powered or an outlet just switched off. The
// detections file is the exception: it is a cache (Detections.Corrupt).
func Open(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	j, pending, err := openJournal(filepath.Join(dir, JournalName))
	if err != nil {
		return nil, err
	}
	o, err := openOffTimes(filepath.Join(dir, OffTimesName))
	if err != nil {
		return nil, err
	}
	return &Dir{Journal: j, OffTimes: o, Detections: OpenDetections(filepath.Join(dir, DetectionsName)), Interrupted: pending}, nil
}

// readJSON reads the JSON file at path into v; a missing file leaves v as
// it is.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// parseOutlet reads "pdu/N".
func parseOutlet(s string) (power.OutletRef, bool) {
	i := strings.LastIndexByte(s, '/')
	if i <= 0 {
		return power.OutletRef{}, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 {
		return power.OutletRef{}, false
	}
	return power.OutletRef{PDU: s[:i], Outlet: n}, true
}
