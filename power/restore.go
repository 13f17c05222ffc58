package power

import (
	"context"
	"fmt"
)

// RestorePrincipal is the principal of the switches that put outlets back
// as they were after their PDU restarted (restore_after_pdu_restart).
const RestorePrincipal = "restore-after-pdu-restart"

// OutletRestore is an outlet to be put back in the state it was in before
// its PDU restarted.
type OutletRestore struct {
	PDU    string
	Outlet int
	To     State
}

// Restarted tells the PDU that its device restarted, as its driver noticed
// (an SNMPv3 engine's new boot). When the PDU restores after a restart,
// the first current reading after it finds the outlets whose state the
// restart changed, and the fleet switches them back. It must not block:
// the driver's worker calls it.
func (p *PDU) Restarted() {
	if !p.cfg.Restore {
		return
	}
	p.watch.markRestart()
}

// markRestart keeps the outlets' states from before a restart, for the
// next reading to compare with.
func (w *outletWatch) markRestart() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.before = map[int]State{}
	for n, s := range w.known {
		if s == On || s == Off {
			w.before[n] = s
		}
	}
}

// restoresLocked returns the outlets of r that a restart changed from
// their state before it, and forgets that state. Called with w.mu held,
// before r is taken into what is known.
func (w *outletWatch) restoresLocked(r Reading) []OutletRestore {
	if w.before == nil {
		return nil
	}
	var out []OutletRestore
	for _, o := range r.Outlets {
		was, ok := w.before[o.Number]
		if ok && w.switching[o.Number] == 0 && !o.Pending && o.State != Unknown && o.State != was {
			out = append(out, OutletRestore{PDU: w.pdu, Outlet: o.Number, To: was})
		}
	}
	w.before = nil
	return out
}

// restore puts outlets back as they were before their PDU restarted, one
// after another, each as an outlet action (the machine's lock, the inrush
// guard), under its own principal so that the log and the audit trail say
// why.
func (f *Fleet) restore(outlets []OutletRestore) {
	ctx := WithPrincipal(context.Background(), RestorePrincipal)
	for _, o := range outlets {
		action := ActionOn
		if o.To == Off {
			action = ActionOff
		}
		f.log.Warn("putting the outlet back as it was before the PDU restarted", "outlet", fmt.Sprintf("%s/%d", o.PDU, o.Outlet), "to", o.To)
		if _, err := f.SwitchOutlet(ctx, o.PDU, o.Outlet, action); err != nil {
			f.log.Error("putting the outlet back after the PDU restarted failed", "outlet", fmt.Sprintf("%s/%d", o.PDU, o.Outlet), "error", err.Error())
		}
	}
}
