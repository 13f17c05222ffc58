package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// The page's state, GET /ui/api/state: the whole fleet as the pollers last
// read it. Times are Unix milliseconds, what the page's script counts in.
type stateView struct {
	Principal string  `json:"principal"`
	ReadOnly  bool    `json:"read_only"`
	CSRF      string  `json:"csrf"`
	Refresh   float64 `json:"refresh_seconds"`
	Now       int64   `json:"now"`
	Window    float64 `json:"window_seconds"`
	Since     int64   `json:"since,omitempty"` // where the charts begin

	Machines []machineView `json:"machines"`
	PDUs     []pduView     `json:"pdus"`
}

type machineView struct {
	Name string `json:"name"`
	// State is on, off, unknown, unreachable (a PDU behind it cannot be
	// read) or shutting down; Detail says more in words.
	State    string       `json:"state"`
	Detail   string       `json:"detail,omitempty"`
	Graceful bool         `json:"graceful"`
	Underway string       `json:"underway,omitempty"`
	Outlets  []machineOut `json:"outlets"`
	Last     *Last        `json:"last,omitempty"`
	Timeline []span       `json:"timeline,omitempty"`
}

type machineOut struct {
	PDU    string `json:"pdu"`
	Outlet int    `json:"outlet"`
	State  string `json:"state"`
}

// span is a state from From to To; the last span has no To: it lasts to
// now, so that the state answers the same until something changes.
type span struct {
	From  int64  `json:"from"`
	To    int64  `json:"to,omitempty"`
	State string `json:"state"`
}

type pduView struct {
	Name        string       `json:"name"`
	Up          bool         `json:"up"`
	Error       string       `json:"error,omitempty"`
	Vendor      string       `json:"vendor,omitempty"`
	Model       string       `json:"model,omitempty"`
	Firmware    string       `json:"firmware,omitempty"`
	Dialect     string       `json:"dialect,omitempty"`
	LastRead    int64        `json:"last_read,omitempty"`
	LoadAmperes []float64    `json:"load_amperes,omitempty"`
	Watts       *float64     `json:"watts,omitempty"`
	Outlets     []outletView `json:"outlets"`
	Chart       []point      `json:"chart,omitempty"`
	Budget      *budgetView  `json:"budget,omitempty"`
	// Unexpected are the PDU's latest outlets found in a state nobody
	// asked powerbridge for, oldest first.
	Unexpected []unexpectedView `json:"unexpected,omitempty"`
}

// budgetView is a PDU's power budget in amperes: its max_amperes, the
// measured load, and what is left once the draw expected of outlets just
// switched on is counted too (no load or headroom when the PDU reports no
// load).
type budgetView struct {
	Max      float64  `json:"max"`
	Load     *float64 `json:"load,omitempty"`
	Reserved float64  `json:"reserved,omitempty"`
	Headroom *float64 `json:"headroom,omitempty"`
}

// unexpectedView is one outlet a read found switched behind powerbridge's
// back.
type unexpectedView struct {
	Outlet  int    `json:"outlet"`
	Machine string `json:"machine,omitempty"`
	From    string `json:"from"`
	To      string `json:"to"`
	At      int64  `json:"at"`
}

type outletView struct {
	Number  int      `json:"number"`
	Name    string   `json:"name,omitempty"`
	Machine string   `json:"machine,omitempty"`
	State   string   `json:"state"` // on, off, unknown, unreachable
	Pending bool     `json:"pending,omitempty"`
	Amperes *float64 `json:"amperes,omitempty"`
	Watts   *float64 `json:"watts,omitempty"`
	Last    *Last    `json:"last,omitempty"`
}

type point struct {
	T  int64     `json:"t"`
	Up bool      `json:"up"`
	A  []float64 `json:"a,omitempty"`
	W  *float64  `json:"w,omitempty"`
}

// maxPoints is how many points a chart is drawn with at most.
const maxPoints = 120

// unreachable is the word for the state of what cannot be read: never off.
const unreachable = "unreachable"

func (f *face) state(w http.ResponseWriter, r *http.Request) {
	sess := current(r)
	fleet := f.cfg.Fleet(r)
	now := time.Now()
	out := stateView{Principal: sess.principal, ReadOnly: f.readOnly(r, sess.principal), CSRF: sess.csrf,
		Refresh: f.cfg.Refresh.Seconds(), Now: now.UnixMilli(), Machines: []machineView{}, PDUs: []pduView{}}
	h := f.cfg.History
	if h != nil {
		out.Window, out.Since = h.window.Seconds(), h.since(now).UnixMilli()
	}
	polls := map[string]power.Poll{}
	for _, name := range fleet.PDUNames() {
		poll, _ := fleet.LastPoll(name)
		polls[name] = poll
		out.PDUs = append(out.PDUs, pduState(fleet, h, name, poll))
	}
	for _, m := range fleet.Machines() {
		word, detail := machineState(fleet, m)
		mv := machineView{Name: m.Name, State: word, Detail: detail, Graceful: m.Graceful != nil, Outlets: []machineOut{}}
		if a, ok := fleet.Underway(m.Name); ok {
			mv.Underway = string(a)
		}
		keys := []string{m.Name}
		for _, ref := range m.Outlets {
			mv.Outlets = append(mv.Outlets, machineOut{PDU: ref.PDU, Outlet: ref.Outlet, State: outletState(polls[ref.PDU], ref.Outlet)})
			keys = append(keys, ref.String())
		}
		if h != nil {
			mv.Last = h.lastOf(keys...)
			mv.Timeline = h.timeline(m.Name, now)
		}
		out.Machines = append(out.Machines, mv)
	}
	writeJSON(w, http.StatusOK, out)
}

// pduState is one PDU as last polled. A PDU that cannot be read keeps its
// outlets on the page, each unreachable.
func pduState(fleet Polled, h *History, name string, poll power.Poll) pduView {
	v := pduView{Name: name, Up: poll.Err == nil && !poll.At.IsZero(), Outlets: []outletView{}}
	if !poll.At.IsZero() {
		v.LastRead = poll.At.UnixMilli()
	}
	rd := poll.Reading
	switch {
	case poll.Err != nil:
		v.Error = poll.Err.Error()
	case poll.At.IsZero():
		v.Error = "not read yet"
	default:
		v.LoadAmperes, v.Watts = rd.Meter.CurrentAmperes, rd.Meter.PowerWatts
	}
	v.Vendor, v.Model, v.Firmware, v.Dialect = rd.Info.Vendor, rd.Info.Model, rd.Info.Firmware, rd.Info.Dialect
	outlets := rd.Outlets
	if len(outlets) == 0 {
		// Never read: list the outlets the machines are mapped to.
		for _, m := range fleet.Machines() {
			for _, ref := range m.Outlets {
				if ref.PDU == name {
					outlets = append(outlets, power.Outlet{Number: ref.Outlet})
				}
			}
		}
	}
	for _, o := range outlets {
		ov := outletView{Number: o.Number, Name: o.Name, State: o.State.String(), Pending: o.Pending}
		if v.Up {
			ov.Amperes, ov.Watts = o.CurrentAmperes, o.PowerWatts
		} else {
			ov.State, ov.Pending = unreachable, false
		}
		ov.Machine, _ = fleet.MachineOf(power.OutletRef{PDU: name, Outlet: o.Number})
		if h != nil {
			ov.Last = h.lastOf(fmt.Sprintf("%s/%d", name, o.Number))
		}
		v.Outlets = append(v.Outlets, ov)
	}
	if h != nil {
		v.Chart = h.chart(name)
	}
	v.Budget = budgetOf(fleet, name)
	if uf, ok := fleet.(unexpectedFleet); ok {
		for _, c := range uf.UnexpectedChanges(name) {
			m, _ := fleet.MachineOf(power.OutletRef{PDU: name, Outlet: c.Outlet})
			v.Unexpected = append(v.Unexpected, unexpectedView{Outlet: c.Outlet, Machine: m, From: c.From.String(), To: c.To.String(), At: c.At.UnixMilli()})
		}
	}
	return v
}

// budgetFleet is a fleet whose PDUs may have a power budget (*power.Fleet
// is one); a fleet that is not shows none.
type budgetFleet interface {
	PDUBudget(pdu string) (power.Budget, bool)
}

// unexpectedFleet is a fleet that tells of outlets switched behind
// powerbridge's back (*power.Fleet is one); a fleet that is not shows none.
type unexpectedFleet interface {
	UnexpectedChanges(pdu string) []power.UnexpectedChange
}

func budgetOf(fleet Polled, name string) *budgetView {
	bf, ok := fleet.(budgetFleet)
	if !ok {
		return nil
	}
	b, ok := bf.PDUBudget(name)
	if !ok || b.MaxAmperes <= 0 { // 0: a budget per phase only, not shown here
		return nil
	}
	out := &budgetView{Max: b.MaxAmperes, Load: b.LoadAmperes, Reserved: b.ReservedAmperes}
	if b.LoadAmperes != nil {
		left := b.MaxAmperes - *b.LoadAmperes - b.ReservedAmperes
		out.Headroom = &left
	}
	return out
}

func outletState(poll power.Poll, n int) string {
	if poll.Err != nil || poll.At.IsZero() {
		return unreachable
	}
	if o, ok := poll.Reading.Outlet(n); ok {
		return o.State.String()
	}
	return power.Unknown.String()
}

// machineState is a machine's state from the last polls, in one word and
// in words: a PDU that cannot be read makes it unreachable, never off.
func machineState(f Polled, m power.Machine) (word, detail string) {
	st, ok := f.LastStatus(m.Name)
	if !ok {
		for _, ref := range m.Outlets {
			poll, _ := f.LastPoll(ref.PDU)
			if poll.Err != nil {
				return unreachable, fmt.Sprintf("PDU %s cannot be read: %v", ref.PDU, poll.Err)
			}
			if poll.At.IsZero() {
				return power.Unknown.String(), fmt.Sprintf("PDU %s has not been read yet", ref.PDU)
			}
		}
		return power.Unknown.String(), "its outlets cannot be read"
	}
	switch {
	case st.ShuttingDown:
		return "shutting down", shutdownWords[st.Phase]
	case st.Halted:
		return power.Off.String(), "the OS has halted; its outlets are still live"
	}
	if a, under := f.Underway(m.Name); under {
		return st.State.String(), "switching " + string(a) + " under way"
	}
	return st.State.String(), ""
}

// shutdownWords say what each step of a clean shutdown is doing.
var shutdownWords = map[string]string{
	"":          "switching off",
	"request":   "clean shutdown: asking the OS over ssh to shut down",
	"wait-down": "clean shutdown: waiting for the host to go down; power is cut then",
}

func (h *History) lastOf(keys ...string) *Last {
	h.mu.Lock()
	defer h.mu.Unlock()
	var best *Last
	for _, k := range keys {
		if l, ok := h.last[k]; ok && (best == nil || l.At.After(best.At)) {
			best = &l
		}
	}
	return best
}

func (h *History) timeline(machine string, now time.Time) []span {
	h.mu.Lock()
	defer h.mu.Unlock()
	tl := h.machines[machine]
	since := h.since(now)
	out := make([]span, 0, len(tl))
	for i, c := range tl {
		sp := span{From: max(c.at.UnixMilli(), since.UnixMilli()), State: c.state}
		if i+1 < len(tl) {
			sp.To = tl[i+1].at.UnixMilli()
		}
		out = append(out, sp)
	}
	return out
}

// chart is a PDU's samples in at most maxPoints points, each the mean of
// the samples it stands for; a point with an outage in it is not up.
func (h *History) chart(pdu string) []point {
	h.mu.Lock()
	defer h.mu.Unlock()
	ph := h.pdus[pdu]
	if ph == nil {
		return nil
	}
	ring := ph.samples
	per := (len(ring) + maxPoints - 1) / maxPoints
	var out []point
	for i := 0; i < len(ring); i += per {
		bucket := ring[i:min(i+per, len(ring))]
		p := point{T: bucket[len(bucket)-1].at, Up: true}
		var watts float64
		nw, na, phases := 0, 0, maxPhases
		for _, s := range bucket {
			if !s.up() {
				p.Up = false
				continue
			}
			phases = min(phases, int(s.phases))
			if s.hasW {
				watts += float64(s.watts)
				nw++
			}
			na++
		}
		if na > 0 && phases > 0 {
			p.A = make([]float64, phases)
			for _, s := range bucket {
				for j := range phases {
					if s.up() {
						p.A[j] += float64(s.amps[j]) / float64(na)
					}
				}
			}
		}
		if nw > 0 {
			watts /= float64(nw)
			p.W = &watts
		}
		out = append(out, p)
	}
	return out
}
