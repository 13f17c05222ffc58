package power

import (
	"context"
	"fmt"
	"slices"
)

// Journal keeps, somewhere that outlives the process, which machines have
// their outlets being switched, so that a powerbridge killed between the
// outlets of a machine with two power supplies finishes the job when it
// starts again, rather than leave one supply off and the other on.
//
// Only machines with more than one outlet are written to it: one outlet is
// on or off whenever the process dies.
type Journal interface {
	// Begin records that machine's outlets are about to be switched to
	// state to. It returns once the record would survive a crash.
	Begin(machine string, outlets []OutletRef, to State) error
	// End records that they all have been.
	End(machine string) error
}

// Interrupted is a machine whose outlets were being switched when the
// process stopped, as the Journal recorded it.
type Interrupted struct {
	Machine string      `json:"machine"`
	Outlets []OutletRef `json:"-"`
	To      State       `json:"to"`
}

// journalBegin records the switch of m's outlets to state to, when m has
// more than one outlet. A journal that cannot be written does not stop the
// switch: powering a machine off matters more than being able to finish
// it after a crash.
func (f *Fleet) journalBegin(m *machine, to State) {
	if f.journal == nil || len(m.Outlets) < 2 {
		return
	}
	if err := f.journal.Begin(m.Name, m.Outlets, to); err != nil {
		f.log.Warn("journal: the switch goes ahead unrecorded; a crash during it would not be finished on restart",
			"machine", m.Name, "to", to, "error", err.Error())
	}
}

// journalEnd records that m's outlets are all in the state the last Begin
// asked for.
func (f *Fleet) journalEnd(m *machine) {
	if f.journal == nil || len(m.Outlets) < 2 {
		return
	}
	if err := f.journal.End(m.Name); err != nil {
		f.log.Warn("journal: recording the end of a switch", "machine", m.Name, "error", err.Error())
	}
}

// Finish completes a switch that was interrupted when the process stopped:
// every outlet of the machine is switched to the state the journal
// recorded, as an action of its own that a request for the same action
// joins. Nothing is shut down first: an off was interrupted after its
// shutdown, while power was being cut.
//
// A record that no longer fits the config (the machine is gone, or has
// other outlets) is dropped, not carried out.
func (f *Fleet) Finish(ctx context.Context, in Interrupted) (Result, error) {
	m, err := f.machine(in.Machine)
	if err != nil || !slices.Equal(m.Outlets, in.Outlets) || (in.To != On && in.To != Off) {
		f.log.Warn("journal: an interrupted switch no longer fits the config; dropped", "machine", in.Machine, "to", in.To)
		if f.journal != nil {
			return Result{}, f.journal.End(in.Machine)
		}
		return Result{}, fmt.Errorf("machine %s: the interrupted switch does not fit the config", in.Machine)
	}
	action := ActionOff
	if in.To == On {
		action = ActionOn
	}
	f.log.Warn("finishing a switch interrupted when powerbridge stopped", "machine", m.Name, "to", in.To)
	return f.act(ctx, m.Name, action, func(ctx context.Context, m *machine, res *Result) error {
		if err := f.switchAll(ctx, m, in.To, res); err != nil {
			return err
		}
		res.State = in.To
		res.Notes = append(res.Notes, "finished a switch interrupted when powerbridge stopped")
		return nil
	})
}
