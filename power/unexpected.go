package power

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// NotPowerbridge is the principal of an audit record of a change nobody
// asked powerbridge for: someone at the PDU's buttons or web UI, another
// SNMP client, or the PDU restarting into its own default.
const NotPowerbridge = "not-powerbridge"

// UnexpectedChange is an outlet that a read found in a state powerbridge
// did not switch it to.
type UnexpectedChange struct {
	PDU      string
	Outlet   int
	From, To State
	At       time.Time
}

// UnexpectedObserver is an Observer that also counts unexpected changes.
// It is optional, so that an Observer need not know of them.
type UnexpectedObserver interface {
	UnexpectedChange(pdu string, outlet int, machine string, to State)
}

// outletWatch knows the state each outlet of a PDU was last seen in or
// switched to, and tells of an outlet a read finds otherwise. An outlet
// being switched is left out of the comparison until its switch ends, and
// the first read after a start (or after a switch that failed) only
// learns the state: what happened before it is nobody's to tell.
type outletWatch struct {
	pdu     string
	handler atomic.Pointer[func(UnexpectedChange)]

	mu        sync.Mutex
	known     map[int]State
	switching map[int]int
	recent    []UnexpectedChange // the latest few, newest last
	before    map[int]State      // the states before a restart, until a reading after it
	restorer  atomic.Pointer[func([]OutletRestore)]
}

// keptUnexpected is how many of a PDU's unexpected changes are kept to show.
const keptUnexpected = 10

func newOutletWatch(pdu string) *outletWatch {
	return &outletWatch{pdu: pdu, known: map[int]State{}, switching: map[int]int{}}
}

// begin notes that powerbridge is switching outlet n.
func (w *outletWatch) begin(n int) {
	w.mu.Lock()
	w.switching[n]++
	w.mu.Unlock()
}

// end notes that the switch of outlet n ended with the outlet in state
// (Unknown when that is not known, after a failure).
func (w *outletWatch) end(n int, state State) {
	w.mu.Lock()
	if w.switching[n]--; w.switching[n] <= 0 {
		delete(w.switching, n)
	}
	w.known[n] = state
	w.mu.Unlock()
}

// observe compares a current reading (none of its outlets switched by
// powerbridge since it was taken) with what is known, and tells the
// handler of each outlet found changed.
func (w *outletWatch) observe(r Reading, at time.Time) {
	var found []UnexpectedChange
	w.mu.Lock()
	back := w.restoresLocked(r)
	for _, o := range r.Outlets {
		if w.switching[o.Number] > 0 || o.Pending || o.State == Unknown {
			continue
		}
		was, ok := w.known[o.Number]
		w.known[o.Number] = o.State
		if ok && was != Unknown && was != o.State {
			found = append(found, UnexpectedChange{PDU: w.pdu, Outlet: o.Number, From: was, To: o.State, At: at})
		}
	}
	w.recent = append(w.recent, found...)
	if extra := len(w.recent) - keptUnexpected; extra > 0 {
		w.recent = append([]UnexpectedChange(nil), w.recent[extra:]...)
	}
	w.mu.Unlock()
	if h := w.handler.Load(); h != nil {
		for _, c := range found {
			(*h)(c)
		}
	}
	if h := w.restorer.Load(); h != nil && len(back) > 0 {
		go (*h)(back)
	}
}

// UnexpectedChanges returns the PDU's latest changes nobody asked
// powerbridge for, oldest first.
func (p *PDU) UnexpectedChanges() []UnexpectedChange {
	p.watch.mu.Lock()
	defer p.watch.mu.Unlock()
	return append([]UnexpectedChange(nil), p.watch.recent...)
}

// UnexpectedChanges returns the latest changes nobody asked powerbridge
// for of the named PDU, oldest first; none for a PDU not configured.
func (f *Fleet) UnexpectedChanges(pdu string) []UnexpectedChange {
	p, err := f.PDU(pdu)
	if err != nil {
		return nil
	}
	return p.UnexpectedChanges()
}

// watchUnexpected makes f the one told of its PDUs' unexpected changes: the
// fleet in service, since a PDU a reload keeps serves the next fleet.
func (f *Fleet) watchUnexpected() {
	h, r := f.unexpected, f.restore
	for _, p := range f.pdus {
		p.watch.handler.Store(&h)
		p.watch.restorer.Store(&r)
	}
}

// unexpected logs, audits and counts a change nobody asked powerbridge
// for, once: the next reads find the outlet as this one did.
func (f *Fleet) unexpected(c UnexpectedChange) {
	ref := OutletRef{PDU: c.PDU, Outlet: c.Outlet}
	machine, _ := f.MachineOf(ref)
	reason := fmt.Sprintf("a read found the outlet %s where powerbridge had left it %s: switched at the PDU (its buttons or web UI), by another client, or by the PDU restarting", c.To, c.From)
	attrs := []any{"outlet", ref.String(), "from", c.From, "to", c.To}
	if machine != "" {
		attrs = append(attrs, "machine", machine)
	}
	f.log.Warn("outlet changed state without powerbridge", attrs...)
	action := ActionOn
	if c.To == Off {
		action = ActionOff
	}
	f.audit.Record(AuditRecord{Principal: NotPowerbridge, Machine: machine, Outlet: ref.String(), Action: action,
		Changed: true, Switched: []string{ref.String()}, State: c.To, Reason: reason})
	if o, ok := f.obs.(UnexpectedObserver); ok {
		o.UnexpectedChange(c.PDU, c.Outlet, machine, c.To)
	}
}
