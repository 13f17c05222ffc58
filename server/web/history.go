package web

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// maxSamples bounds each PDU's ring: six hours at the default 15 s poll.
const maxSamples = 1440

// maxChanges bounds each machine's timeline.
const maxChanges = 500

// History keeps what the charts show, in memory only: each PDU's polled load
// and power, each machine's state, over the last Window; and the last action
// on each machine and outlet, from the audit trail. It only ever reads what
// the pollers read, never a device.
type History struct {
	window   time.Duration
	started  time.Time // the charts begin here until the window is full
	mu       sync.Mutex
	pdus     map[string][]sample
	machines map[string][]change
	last     map[string]Last // by machine name, or "pdu/N"
}

// sample is one poll of a PDU: its meters, or that it could not be read.
type sample struct {
	at    time.Time
	up    bool
	amps  []float64
	watts *float64
}

// change is a machine's state from at on.
type change struct {
	at    time.Time
	state string
}

// Last is the last action on a machine or an outlet, and how it ended.
type Last struct {
	At        time.Time `json:"at"`
	Principal string    `json:"principal"`
	Action    string    `json:"action"`
	OK        bool      `json:"ok"`
	Words     string    `json:"words"`
}

// NewHistory keeps the last window of readings (default 6h).
func NewHistory(window time.Duration) *History {
	if window <= 0 {
		window = 6 * time.Hour
	}
	return &History{window: window, started: time.Now(), pdus: map[string][]sample{}, machines: map[string][]change{}, last: map[string]Last{}}
}

// Run samples the fleet current returns every interval until ctx ends.
func (h *History) Run(ctx context.Context, interval time.Duration, current func() Polled) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		h.Sample(current(), time.Now())
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// Sample takes what the pollers last read: a new poll of a PDU is added to
// its ring, a failed one once per outage (a gap in the chart), and a
// machine's state when it changed. PDUs and machines no longer in the fleet
// are forgotten.
func (h *History) Sample(f Polled, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	for _, name := range f.PDUNames() {
		seen[name] = true
		poll, err := f.LastPoll(name)
		if err != nil {
			continue
		}
		ring := h.pdus[name]
		down := len(ring) > 0 && !ring[len(ring)-1].up
		var lastUp time.Time
		for i := len(ring) - 1; i >= 0 && lastUp.IsZero(); i-- {
			if ring[i].up {
				lastUp = ring[i].at
			}
		}
		switch {
		case poll.Err != nil && !down:
			ring = append(ring, sample{at: now})
		case poll.Err == nil && !poll.At.IsZero() && poll.At.After(lastUp):
			m := poll.Reading.Meter
			s := sample{at: poll.At, up: true, amps: append([]float64(nil), m.CurrentAmperes...)}
			if m.PowerWatts != nil {
				w := *m.PowerWatts
				s.watts = &w
			}
			ring = append(ring, s)
		}
		h.pdus[name] = trimSamples(ring, now.Add(-h.window))
	}
	for name := range h.pdus {
		if !seen[name] {
			delete(h.pdus, name)
		}
	}
	clear(seen)
	for _, m := range f.Machines() {
		seen[m.Name] = true
		if !everRead(f, m) {
			continue // its timeline starts with the first reading
		}
		word, _ := machineState(f, m)
		tl := h.machines[m.Name]
		if len(tl) == 0 || tl[len(tl)-1].state != word {
			tl = append(tl, change{at: now, state: word})
		}
		h.machines[m.Name] = trimChanges(tl, now.Add(-h.window))
	}
	for name := range h.machines {
		if !seen[name] {
			delete(h.machines, name)
		}
	}
}

// everRead tells whether every PDU behind m has been read, or tried.
func everRead(f Polled, m power.Machine) bool {
	for _, ref := range m.Outlets {
		if poll, err := f.LastPoll(ref.PDU); err != nil || (poll.At.IsZero() && poll.Err == nil) {
			return false
		}
	}
	return true
}

func trimSamples(s []sample, since time.Time) []sample {
	i := 0
	for i < len(s) && (s[i].at.Before(since) || len(s)-i > maxSamples) {
		i++
	}
	return s[i:]
}

// trimChanges keeps the changes since since, and the one in force then.
func trimChanges(c []change, since time.Time) []change {
	i := 0
	for i+1 < len(c) && (!c[i+1].at.After(since) || len(c)-i > maxChanges) {
		i++
	}
	return c[i:]
}

// since is where the charts begin: the window back from now, or when the
// history began if that is later (a fresh start draws its first minutes
// across the whole chart, not as a sliver at its end).
func (h *History) since(now time.Time) time.Time {
	if from := now.Add(-h.window); from.After(h.started) {
		return from
	}
	return h.started
}

// Record implements power.Auditor: the last action on each machine and
// outlet, whichever face asked for it.
func (h *History) Record(rec power.AuditRecord) {
	key := rec.Machine
	if key == "" {
		key = rec.Outlet
	}
	l := Last{At: time.Now(), Principal: rec.Principal, Action: string(rec.Action), OK: rec.Err == nil, Words: auditWords(rec)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last[key] = l
}

func auditWords(rec power.AuditRecord) string {
	if rec.Err != nil {
		return "failed: " + rec.Err.Error()
	}
	switch rec.Shutdown {
	case "graceful":
		return "clean shutdown over ssh, then cut"
	case "cut":
		return "cut without a confirmed clean shutdown: " + rec.Reason
	case "refused":
		return "clean shutdown failed, power left on: " + rec.Reason
	}
	if !rec.Changed && rec.Machine != "" {
		return fmt.Sprintf("nothing to switch: it was %s already", rec.State)
	} else if !rec.Changed {
		return "nothing to switch"
	}
	return "switched " + strings.Join(rec.Switched, ", ")
}
