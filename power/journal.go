package power

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Journal keeps, somewhere that outlives the process, which machines have
// an action under way that a crash could leave half done, so that the next
// process finishes it rather than leave a machine with one supply off and
// the other on, an outlet of a cycle off for good, or an OS asked to shut
// down with its power never cut.
//
// A record lives exactly as long as the action that wrote it: it is written
// before the first step that changes anything and removed when the action
// ends, in success or failure. Only an action the process died in leaves
// one behind; an action that was answered never replays.
//
// What is journaled: the off of a machine with a graceful shutdown, from
// before the shutdown request; the switching of a machine with more than
// one outlet; any cycle. A plain on or off of one outlet is on or off
// whenever the process dies, and is not written.
type Journal interface {
	// Begin records that machine's outlets are about to be switched to
	// to (after a graceful shutdown when shutdown is true). It returns
	// once the record would survive a crash. A second Begin for the same
	// machine replaces the first.
	Begin(machine string, outlets []OutletRef, to State, shutdown bool) error
	// End records that the action has ended.
	End(machine string) error
}

// Interrupted is a machine whose action was under way when the process
// stopped, as the Journal recorded it.
type Interrupted struct {
	Machine string      `json:"machine"`
	Outlets []OutletRef `json:"-"`
	To      State       `json:"to"`
	// Shutdown is true when the action was an off whose graceful
	// shutdown may not have been requested, or not seen through, yet.
	Shutdown bool `json:"shutdown,omitempty"`
}

// OffTimes keeps when each outlet was last switched off, somewhere that
// outlives the process, so that a restart right after an off still keeps
// the outlet off for its PDU's power-on delay.
type OffTimes interface {
	// Load returns the off times recorded for the outlets of PDU pdu.
	Load(pdu string) map[int]time.Time
	// Record notes that outlet ref went off at. It returns once the
	// record would survive a crash.
	Record(ref OutletRef, at time.Time) error
}

// journalBegin records, when its action is one a crash could leave half
// done, that m's outlets are about to be switched to state to. A journal
// that cannot be written does not stop the action: powering a machine off
// matters more than being able to finish it after a crash.
func (f *Fleet) journalBegin(m *machine, outlets []OutletRef, to State, shutdown bool) {
	if f.journal == nil {
		return
	}
	m.journaled = true
	if err := f.journal.Begin(m.Name, outlets, to, shutdown); err != nil {
		f.log.Warn("journal: the action goes ahead unrecorded; a crash during it would not be finished on restart",
			"machine", m.Name, "to", to, "error", err.Error())
	}
}

// journalEnd removes the record of m's action, if it wrote one. It is
// called once the action has ended, however it ended.
func (f *Fleet) journalEnd(m *machine) {
	if f.journal == nil || !m.journaled {
		return
	}
	m.journaled = false
	if err := f.journal.End(m.Name); err != nil {
		f.log.Warn("journal: recording the end of an action; the next start would carry it out again",
			"machine", m.Name, "error", err.Error())
	}
}

// Finish completes an action that was under way when the process stopped,
// as an action of its own that a request for the same action joins:
//
//   - an off interrupted before power was cut (Shutdown) is done again as
//     an off: the graceful shutdown is asked again and the machine's
//     on_failure policy decides, as for any off, whether power is cut when
//     the OS cannot be seen going down (policy fail leaves it on);
//   - a switch interrupted between outlets switches every outlet of the
//     record to its state, with no shutdown: it was interrupted after its
//     shutdown, while power was being cut.
//
// Either way it runs once: its record is removed when it ends, whatever
// the outcome. A record that no longer fits the config (the machine is
// gone, or no longer has those outlets) is dropped, not carried out.
func (f *Fleet) Finish(ctx context.Context, in Interrupted) (Result, error) {
	m, err := f.machine(in.Machine)
	fits := err == nil && len(in.Outlets) > 0 && (in.To == On || in.To == Off) && !(in.Shutdown && in.To != Off)
	for _, ref := range in.Outlets {
		fits = fits && slices.Contains(m.Outlets, ref)
	}
	if fits && in.Shutdown {
		fits = slices.Equal(m.Outlets, in.Outlets)
	}
	if !fits {
		f.log.Warn("journal: an interrupted action no longer fits the config; dropped", "machine", in.Machine, "to", in.To)
		if f.journal != nil {
			return Result{}, f.journal.End(in.Machine)
		}
		return Result{}, fmt.Errorf("machine %s: the interrupted action does not fit the config", in.Machine)
	}
	action := ActionOff
	if in.To == On {
		action = ActionOn
	}
	f.log.Warn("finishing an action interrupted when powerbridge stopped", "machine", m.Name, "to", in.To, "shutdown", in.Shutdown)
	return f.act(ctx, m.Name, action, func(ctx context.Context, m *machine, res *Result) error {
		// The record on disk is this one until the action ends.
		m.journaled = f.journal != nil
		res.Notes = append(res.Notes, "finishing an action interrupted when powerbridge stopped")
		if in.Shutdown {
			return f.off(ctx, m, res)
		}
		if err := f.switchOutlets(ctx, m, in.Outlets, in.To, res); err != nil {
			return err
		}
		res.State = in.To
		return nil
	})
}
