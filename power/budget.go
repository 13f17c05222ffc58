package power

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrOverBudget marks a power-on refused because the PDU's load plus the
// outlet's expected draw would pass its max_amperes.
var ErrOverBudget = errors.New("over the PDU's power budget")

// budgetSettle is how long after a power-on its expected draw is counted on
// top of the measured load: a PC's draw rises over its first seconds (fans
// at full speed through POST), and a reading taken sooner does not show it
// yet.
const budgetSettle = 10 * time.Second

// budgetRecheck is how often a power-on waiting for room reads the PDU again.
const budgetRecheck = 500 * time.Millisecond

// Budget is a PDU's power budget as it stands.
type Budget struct {
	MaxAmperes float64
	// LoadAmperes is the measured load of the last reading (the sum of its
	// phases or banks); nil when the PDU reports none.
	LoadAmperes *float64
	// ReservedAmperes is the expected draw of outlets switched on within
	// the last budgetSettle, beyond what their meters show yet.
	ReservedAmperes float64
	// Expected is each outlet's expected draw, where one is known:
	// configured, or learned from its meter after its last power-on.
	Expected map[int]float64
	// Phases is each phase's budget, with max_amperes_per_phase
	// (phasebudget.go); MaxAmperes is 0 when only the phases have one.
	Phases []PhaseBudget
}

// budget keeps what a PDU's power budget needs: each outlet's expected
// draw, learned or configured, and the power-ons too recent to show in a
// reading.
type budget struct {
	max  float64 // 0: only the phases have a budget
	wait time.Duration
	// perPhase, when more than 0, caps each of phases (their outlets);
	// phaseOf is each of their outlets' phase, from 0.
	perPhase float64
	phases   [][]int
	phaseOf  map[int]int
	// admitting is held from a power-on's admission to its SET's answer,
	// so that power-ons on different phases are admitted one at a time.
	admitting chan struct{} // holds one token while a power-on is admitted

	mu         sync.Mutex
	configured map[int]float64
	learned    map[int]float64   // the peak of the outlet's last on period
	peak       map[int]float64   // the peak since its latest power-on
	onAt       map[int]time.Time // its latest power-on by powerbridge
}

func newBudget(max float64, wait time.Duration) *budget {
	return &budget{max: max, wait: wait, admitting: make(chan struct{}, 1), configured: map[int]float64{}, learned: map[int]float64{}, peak: map[int]float64{}, onAt: map[int]time.Time{}, phaseOf: map[int]int{}}
}

// expected is outlet n's expected draw. Called with b.mu held.
func (b *budget) expected(n int) float64 {
	if a, ok := b.configured[n]; ok {
		return a
	}
	return max(b.learned[n], b.peak[n])
}

// learn takes the outlets' meters from a reading into their learned draw.
func (b *budget) learn(r Reading) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range r.Outlets {
		if o.State == On && o.CurrentAmperes != nil && *o.CurrentAmperes > b.peak[o.Number] {
			b.peak[o.Number] = *o.CurrentAmperes
		}
	}
}

// switchedOn notes a power-on of outlet n by powerbridge.
func (b *budget) switchedOn(n int, at time.Time) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peak[n] > 0 {
		b.learned[n] = b.peak[n]
	}
	b.peak[n] = 0
	b.onAt[n] = at
}

// state is the budget as r shows it.
func (b *budget) state(r Reading, now time.Time) Budget {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := Budget{MaxAmperes: b.max, Expected: map[int]float64{}}
	if len(r.Meter.CurrentAmperes) > 0 {
		sum := 0.0
		for _, a := range r.Meter.CurrentAmperes {
			sum += a
		}
		out.LoadAmperes = &sum
	}
	reserved := map[int]float64{}
	for n, at := range b.onAt {
		if now.Sub(at) >= budgetSettle {
			continue
		}
		shown := 0.0
		if o, ok := r.Outlet(n); ok && o.CurrentAmperes != nil {
			shown = *o.CurrentAmperes
		}
		reserved[n] = max(b.expected(n)-shown, 0)
		out.ReservedAmperes += reserved[n]
	}
	out.Phases = b.phaseStates(r, reserved)
	for _, o := range r.Outlets {
		if e := b.expected(o.Number); e > 0 {
			out.Expected[o.Number] = e
		}
	}
	return out
}

// SetExpectedAmperes configures the expected draw of outlets (from the
// machines they feed), which takes the place of what is learned.
func (p *PDU) SetExpectedAmperes(expected map[int]float64) {
	if p.budget == nil {
		return
	}
	p.budget.mu.Lock()
	defer p.budget.mu.Unlock()
	p.budget.configured = map[int]float64{}
	for n, a := range expected {
		p.budget.configured[n] = a
	}
}

// Budget returns the PDU's power budget from its last reading; ok is false
// when the PDU has none (no max_amperes).
func (p *PDU) Budget() (Budget, bool) {
	if p.budget == nil {
		return Budget{}, false
	}
	return p.budget.state(p.LastPoll().Reading, time.Now()), true
}

// admit waits until outlet n's power-on fits the PDU's budget, reading the
// PDU afresh, for at most the budget's wait (and ctx); then refuses it with
// ErrOverBudget. The power-ons of one PDU are weighed one at a time, each
// counting the last: one that fits holds the admission until its SET is
// answered (done lets the next in). One that does not fit lets it go while
// it waits, so that a power-on elsewhere on the PDU, on a phase with room,
// is not held up by it; those behind it at its inrush guard still are.
func (p *PDU) admit(ctx context.Context, n int) (func(), error) {
	b := p.budget
	if b == nil {
		return func() {}, nil
	}
	deadline := time.Now().Add(b.wait)
	logged := false
	for {
		select {
		case b.admitting <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another power-on's admission to the power budget: %w", ctx.Err())
		}
		release := func() { <-b.admitting }
		what, need, err := p.roomFor(ctx, n)
		if err == nil && what == "" {
			return release, nil
		}
		release()
		if err != nil {
			return nil, err
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w: %s; waited %s (budget_wait) for the load to drop", ErrOverBudget, what, b.wait)
		}
		if !logged {
			p.log.Warn("power-on waits for room in the power budget", "outlet", n, "over", what, "expected_amperes", need, "budget_wait", b.wait)
			logged = true
		}
		t := time.NewTimer(min(budgetRecheck, time.Until(deadline)))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w: %s; %w", ErrOverBudget, what, ctx.Err())
		}
	}
}

// roomFor reads the PDU afresh and weighs outlet n's power-on against the
// budget: what is over and the outlet's expected draw, or an error; what
// is empty when it fits.
func (p *PDU) roomFor(ctx context.Context, n int) (what string, need float64, err error) {
	b := p.budget
	r, err := p.ReadFresh(ctx)
	if err != nil {
		return "", 0, fmt.Errorf("reading the load for the power budget: %w", err)
	}
	st := b.state(r, time.Now())
	b.mu.Lock()
	need = b.expected(n)
	b.mu.Unlock()
	what, err = b.over(st, n, need)
	return what, need, err
}

// over says why outlet n's power-on, expected to draw need, does not fit
// the budget in st, the PDU's or its phase's: what is over, or an error
// when the PDU reports no load to weigh it against. Both are empty when it
// fits.
func (b *budget) over(st Budget, n int, need float64) (string, error) {
	if b.max > 0 {
		if st.LoadAmperes == nil {
			return "", fmt.Errorf("%w: max_amperes is set but the PDU reports no load", ErrOverBudget)
		}
		if *st.LoadAmperes+st.ReservedAmperes+need > b.max {
			return fmt.Sprintf("the PDU draws %.2f A (%.2f A more expected of outlets just switched on), outlet %d is expected to draw %.2f A, and max_amperes is %g",
				*st.LoadAmperes, st.ReservedAmperes, n, need, b.max), nil
		}
	}
	return b.overPhase(st, n, need)
}

// PDUBudget returns the power budget of the named PDU; ok is false when it
// has none, or no such PDU is configured.
func (f *Fleet) PDUBudget(pdu string) (Budget, bool) {
	p, err := f.PDU(pdu)
	if err != nil {
		return Budget{}, false
	}
	return p.Budget()
}
