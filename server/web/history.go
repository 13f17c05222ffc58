package web

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// maxSamples is how many samples each PDU keeps: the window in steps of
// window/maxSamples (30 s of the default 6 h), each the mean of the polls
// in its step. With maxPhases it bounds a PDU's history to about 30 kB, so
// that 200 PDUs cost a few megabytes.
const maxSamples = 720

// maxPhases is how many phases or banks of a PDU's load a sample keeps.
const maxPhases = 4

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
	pdus     map[string]*pduHistory
	machines map[string][]change
	last     map[string]Last // by machine name, or "pdu/N"
}

// pduHistory is one PDU's samples, oldest first.
type pduHistory struct {
	samples []sample
	polled  time.Time // the last poll taken in
	down    bool      // an outage is recorded and not yet over
}

// sample is the mean of a PDU's polls in one step, or an outage (no polls).
type sample struct {
	at     int64 // Unix ms: the step's last poll, or when the outage was seen
	polls  uint16
	phases uint8
	hasW   bool
	amps   [maxPhases]float32
	watts  float32
}

func (s sample) up() bool { return s.polls > 0 }

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
	return &History{window: window, started: time.Now(), pdus: map[string]*pduHistory{}, machines: map[string][]change{}, last: map[string]Last{}}
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
		h.samplePDU(name, poll, now)
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

// samplePDU takes in a PDU's last poll: a new one into its step, a failed
// one as one outage until a poll succeeds again.
func (h *History) samplePDU(name string, poll power.Poll, now time.Time) {
	ph := h.pdus[name]
	if ph == nil {
		ph = &pduHistory{}
		h.pdus[name] = ph
	}
	switch {
	case poll.Err != nil && !ph.down:
		ph.samples = append(ph.samples, sample{at: now.UnixMilli()})
		ph.down = true
	case poll.Err == nil && !poll.At.IsZero() && poll.At.After(ph.polled):
		ph.polled, ph.down = poll.At, false
		ph.add(poll.At, poll.Reading.Meter, h.window/maxSamples)
	}
	since, i := now.Add(-h.window).UnixMilli(), 0
	for i < len(ph.samples) && (ph.samples[i].at < since || len(ph.samples)-i > maxSamples) {
		i++
	}
	ph.samples = ph.samples[i:]
}

// add takes in one poll's meters: into the last sample when it is of the
// same step, else as a new one.
func (ph *pduHistory) add(at time.Time, m power.Meter, step time.Duration) {
	ms, per := at.UnixMilli(), max(step.Milliseconds(), 1)
	if n := len(ph.samples); n > 0 && ph.samples[n-1].up() && ph.samples[n-1].at/per == ms/per && ph.samples[n-1].polls < 1<<15 {
		s := &ph.samples[n-1]
		k := float32(s.polls)
		s.phases = uint8(min(int(s.phases), len(m.CurrentAmperes)))
		for i := range int(s.phases) {
			s.amps[i] = (s.amps[i]*k + float32(m.CurrentAmperes[i])) / (k + 1)
		}
		if s.hasW = s.hasW && m.PowerWatts != nil; s.hasW {
			s.watts = (s.watts*k + float32(*m.PowerWatts)) / (k + 1)
		}
		s.at, s.polls = ms, s.polls+1
		return
	}
	s := sample{at: ms, polls: 1, phases: uint8(min(len(m.CurrentAmperes), maxPhases)), hasW: m.PowerWatts != nil}
	for i := range int(s.phases) {
		s.amps[i] = float32(m.CurrentAmperes[i])
	}
	if s.hasW {
		s.watts = float32(*m.PowerWatts)
	}
	ph.samples = append(ph.samples, s)
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
