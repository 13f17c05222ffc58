package statedir

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
	"github.com/powerbridge/powerbridge/power"
)

// OffTimes is the power.OffTimes of a state directory: a JSON file mapping
// "pdu/N" to when the outlet last went off, rewritten whole on every off.
//
// The times are wall-clock times: a restart loses the monotonic clock. A
// clock stepped back makes the delay longer, never shorter; one stepped
// forward by more than the delay shortens it.
type OffTimes struct {
	path string

	mu   sync.Mutex
	offs map[power.OutletRef]time.Time
}

var _ power.OffTimes = (*OffTimes)(nil)

func openOffTimes(path string) (*OffTimes, error) {
	o := &OffTimes{path: path, offs: map[power.OutletRef]time.Time{}}
	var doc map[string]time.Time
	if err := readJSON(path, &doc); err != nil {
		return nil, err
	}
	for s, at := range doc {
		ref, ok := parseOutlet(s)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not an outlet (pdu/N)", path, s)
		}
		o.offs[ref] = at
	}
	return o, nil
}

func (o *OffTimes) Load(pdu string) map[int]time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int]time.Time{}
	for ref, at := range o.offs {
		if ref.PDU == pdu {
			out[ref.Outlet] = at
		}
	}
	return out
}

func (o *OffTimes) Record(ref power.OutletRef, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.offs[ref] = at.UTC().Round(0)
	doc := make(map[string]time.Time, len(o.offs))
	for r, t := range o.offs {
		doc[r.String()] = t
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(o.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the off times %s: %w", o.path, err)
	}
	return nil
}
