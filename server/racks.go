package server

import (
	"maps"
	"slices"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// BudgetFleet is a Fleet whose PDUs may have a power budget (*power.Fleet
// is one); apart from Fleet so that a fleet without budgets serves the rest.
type BudgetFleet interface {
	PDUBudget(pdu string) (power.Budget, bool)
}

// Budget is a PDU's power budget in GET /v1/pdus, in amperes: the
// configured maximum, the measured load, the draw expected of outlets just
// switched on that the load does not show yet, what is left, and each
// outlet's expected draw where one is known (configured or learned).
type Budget struct {
	MaxAmperes      float64          `json:"max_amperes"`
	LoadAmperes     *float64         `json:"load_amperes,omitempty"`
	ReservedAmperes float64          `json:"reserved_amperes"`
	HeadroomAmperes *float64         `json:"headroom_amperes,omitempty"`
	Expected        []ExpectedOutlet `json:"expected,omitempty"`
	// Phases is each phase's budget, with max_amperes_per_phase; a PDU
	// with only those has no max_amperes (0) and no headroom of its own.
	Phases []PhaseBudget `json:"phases,omitempty"`
}

// PhaseBudget is one phase's power budget, in amperes, as Budget's.
type PhaseBudget struct {
	Phase           int      `json:"phase"`
	Outlets         []int    `json:"outlets"`
	MaxAmperes      float64  `json:"max_amperes"`
	LoadAmperes     *float64 `json:"load_amperes,omitempty"`
	ReservedAmperes float64  `json:"reserved_amperes"`
	HeadroomAmperes *float64 `json:"headroom_amperes,omitempty"`
}

// ExpectedOutlet is one outlet's expected draw.
type ExpectedOutlet struct {
	Outlet  int     `json:"outlet"`
	Amperes float64 `json:"amperes"`
}

// budgetOf is the budget of the PDU named pdu, or nil when it has none.
func budgetOf(f Fleet, pdu string) *Budget {
	bf, ok := f.(BudgetFleet)
	if !ok {
		return nil
	}
	b, ok := bf.PDUBudget(pdu)
	if !ok {
		return nil
	}
	out := &Budget{MaxAmperes: b.MaxAmperes, LoadAmperes: b.LoadAmperes, ReservedAmperes: b.ReservedAmperes}
	if b.LoadAmperes != nil && b.MaxAmperes > 0 {
		left := b.MaxAmperes - *b.LoadAmperes - b.ReservedAmperes
		out.HeadroomAmperes = &left
	}
	for _, n := range slices.Sorted(maps.Keys(b.Expected)) {
		out.Expected = append(out.Expected, ExpectedOutlet{Outlet: n, Amperes: b.Expected[n]})
	}
	for _, ph := range b.Phases {
		pb := PhaseBudget{Phase: ph.Phase, Outlets: ph.Outlets, MaxAmperes: ph.MaxAmperes, LoadAmperes: ph.LoadAmperes, ReservedAmperes: ph.ReservedAmperes}
		if ph.LoadAmperes != nil {
			left := ph.MaxAmperes - *ph.LoadAmperes - ph.ReservedAmperes
			pb.HeadroomAmperes = &left
		}
		out.Phases = append(out.Phases, pb)
	}
	return out
}

// UnexpectedFleet is a Fleet that tells of outlets found in a state nobody
// asked powerbridge for (*power.Fleet is one).
type UnexpectedFleet interface {
	UnexpectedChanges(pdu string) []power.UnexpectedChange
}

// UnexpectedChange is an outlet a read found switched behind powerbridge's
// back: at the PDU's buttons or web UI, by another client, or by the PDU
// restarting.
type UnexpectedChange struct {
	Outlet int         `json:"outlet"`
	From   power.State `json:"from"`
	To     power.State `json:"to"`
	At     time.Time   `json:"at"`
}

// unexpectedOf is the PDU's latest unexpected changes, or nil.
func unexpectedOf(f Fleet, pdu string) []UnexpectedChange {
	uf, ok := f.(UnexpectedFleet)
	if !ok {
		return nil
	}
	var out []UnexpectedChange
	for _, c := range uf.UnexpectedChanges(pdu) {
		out = append(out, UnexpectedChange{Outlet: c.Outlet, From: c.From, To: c.To, At: c.At.UTC()})
	}
	return out
}
