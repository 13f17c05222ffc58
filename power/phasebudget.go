package power

import (
	"fmt"
	"slices"
)

// A PDU on three phases (or with banks behind breakers of their own) trips
// a phase's breaker long before its total reaches the sum of the ratings:
// max_amperes_per_phase caps each phase's load. The config's phases say
// which outlets each phase feeds (the list the inrush guard takes), and
// the i-th of them is the i-th current the PDU reports, in the device's
// order: phase i of powerbridge_pdu_current_amperes.

// PhaseBudget is one phase's part of a PDU's power budget.
type PhaseBudget struct {
	// Phase counts from 1, in the order of the config's phases.
	Phase      int
	Outlets    []int
	MaxAmperes float64
	// LoadAmperes is the phase's current in the last reading; nil when
	// the PDU reports fewer phases or banks than the config names.
	LoadAmperes *float64
	// ReservedAmperes is the expected draw of the phase's outlets
	// switched on within the last budgetSettle, beyond what their meters
	// show yet.
	ReservedAmperes float64
}

// budgeted says whether cfg gives the PDU a power budget, of the whole PDU
// or of its phases.
func (cfg PDUConfig) budgeted() bool { return cfg.MaxAmperes > 0 || cfg.MaxAmperesPerPhase > 0 }

// newPDUBudget is the budget cfg asks for, or nil.
func newPDUBudget(cfg PDUConfig) *budget {
	if !cfg.budgeted() {
		return nil
	}
	b := newBudget(cfg.MaxAmperes, cfg.BudgetWait)
	if cfg.MaxAmperesPerPhase > 0 {
		b.perPhase = cfg.MaxAmperesPerPhase
		b.phases = cfg.Phases
		for i, outlets := range cfg.Phases {
			for _, n := range outlets {
				b.phaseOf[n] = i
			}
		}
	}
	return b
}

// phaseStates is each phase's budget as r shows it; reserved is the
// reservation of each outlet just switched on. Called with b.mu held.
func (b *budget) phaseStates(r Reading, reserved map[int]float64) []PhaseBudget {
	if b.perPhase <= 0 {
		return nil
	}
	out := make([]PhaseBudget, len(b.phases))
	for i, outlets := range b.phases {
		out[i] = PhaseBudget{Phase: i + 1, Outlets: slices.Clone(outlets), MaxAmperes: b.perPhase}
		if i < len(r.Meter.CurrentAmperes) {
			a := r.Meter.CurrentAmperes[i]
			out[i].LoadAmperes = &a
		}
	}
	for n, a := range reserved {
		if i, ok := b.phaseOf[n]; ok {
			out[i].ReservedAmperes += a
		}
	}
	return out
}

// overPhase says why outlet n's power-on, expected to draw need, does not
// fit its phase's budget in st: what is over, or an error when the PDU
// reports no current for the phase, which no wait mends. Both are empty
// when it fits, or the outlet is on no phase the config names.
func (b *budget) overPhase(st Budget, n int, need float64) (string, error) {
	i, ok := b.phaseOf[n]
	if !ok || i >= len(st.Phases) {
		return "", nil
	}
	ph := st.Phases[i]
	if ph.LoadAmperes == nil {
		return "", fmt.Errorf("%w: max_amperes_per_phase is set but the PDU reports no current for phase %d, outlet %d's (the config's phases are the PDU's phase or bank currents, in order)",
			ErrOverBudget, ph.Phase, n)
	}
	if *ph.LoadAmperes+ph.ReservedAmperes+need <= ph.MaxAmperes {
		return "", nil
	}
	return fmt.Sprintf("phase %d draws %.2f A (%.2f A more expected of its outlets just switched on), outlet %d on it is expected to draw %.2f A, and max_amperes_per_phase is %g",
		ph.Phase, *ph.LoadAmperes, ph.ReservedAmperes, n, need, ph.MaxAmperes), nil
}
