package power

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// phasedFake is a meteredFake that reports its load per phase: the sum
// of what the outlets of each of phases draw.
type phasedFake struct {
	*meteredFake
	phases [][]int
}

func (d *phasedFake) Read(ctx context.Context) (Reading, error) {
	r, err := d.meteredFake.Read(ctx)
	if err != nil {
		return r, err
	}
	r.Meter.CurrentAmperes = make([]float64, len(d.phases))
	for i, outlets := range d.phases {
		for _, n := range outlets {
			if o, ok := r.Outlet(n); ok && o.CurrentAmperes != nil {
				r.Meter.CurrentAmperes[i] += *o.CurrentAmperes
			}
		}
	}
	return r, nil
}

// A three-phase PDU, 3 A an outlet, 7 A a phase, no PDU-wide budget: with
// outlets 1 and 2 on, outlet 3's power-on would take phase 1 to 9 A and
// waits, while outlet 4's, on phase 2, goes through meanwhile; outlet 3's
// goes through once outlet 1 goes off.
func TestPhaseBudgetWaitsOnItsPhaseOnly(t *testing.T) {
	phases := [][]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
	d := &phasedFake{meteredFake: &meteredFake{fakeDriver: newFake(9), amps: map[int]float64{}}, phases: phases}
	for n := 1; n <= 9; n++ {
		d.amps[n] = 3
	}
	d.set(1, On)
	d.set(2, On)
	p := testPDU(t, "r", d.fakeDriver, func(c *PDUConfig) {
		c.Driver, c.CacheTTL, c.MaxAmperesPerPhase, c.Phases, c.BudgetWait = d, 0, 7, phases, 20*time.Second
	})
	p.SetExpectedAmperes(map[int]float64{3: 3, 4: 3})

	done := make(chan error, 1)
	go func() { _, err := p.Switch(t.Context(), 3, On); done <- err }()
	waitFor(t, func() bool { return d.reads.Load() >= 3 })
	if _, err := p.Switch(t.Context(), 4, On); err != nil {
		t.Fatalf("outlet 4's power-on, on phase 2 with room, while outlet 3 waits on phase 1: %v", err)
	}
	if d.state(3) != Off {
		t.Fatalf("outlet 3 was switched on over phase 1's budget")
	}
	b, _ := p.Budget()
	if len(b.Phases) != 3 || b.Phases[0].LoadAmperes == nil || *b.Phases[0].LoadAmperes != 6 || b.Phases[0].MaxAmperes != 7 ||
		*b.Phases[1].LoadAmperes != 3 || b.Phases[1].ReservedAmperes != 0 || b.MaxAmperes != 0 {
		t.Errorf("budget %+v, want phase 1 at 6 A of 7, phase 2 at 3 A, and no PDU-wide max", b)
	}
	if _, err := p.Switch(t.Context(), 1, Off); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("outlet 3's power-on once outlet 1 went off: %v", err)
	}
	if d.state(3) != On {
		t.Errorf("outlet 3 is %s, want on", d.state(3))
	}
}

// A power-on over its phase's budget is refused after budget_wait with an
// error that names the phase and gives its figures; a PDU-wide
// max_amperes is weighed too, and an outlet on no configured phase is held
// to the PDU-wide budget alone.
func TestPhaseBudgetRefusesNamingThePhase(t *testing.T) {
	// The config leaves outlets 5 and 6 out of its phases; the PDU meters
	// them on its second.
	phases := [][]int{{1, 2}, {3, 4}}
	d := &phasedFake{meteredFake: &meteredFake{fakeDriver: newFake(6), amps: map[int]float64{1: 4, 2: 4, 3: 1, 4: 1, 5: 4, 6: 4}}, phases: [][]int{{1, 2}, {3, 4, 5, 6}}}
	d.set(1, On)
	p := testPDU(t, "r", d.fakeDriver, func(c *PDUConfig) {
		c.Driver, c.CacheTTL, c.MaxAmperes, c.MaxAmperesPerPhase, c.Phases, c.BudgetWait = d, 0, 11, 6, phases, 0
	})
	p.SetExpectedAmperes(map[int]float64{2: 4, 3: 1, 5: 4, 6: 4})
	_, err := p.Switch(t.Context(), 2, On)
	if !errors.Is(err, ErrOverBudget) {
		t.Fatalf("outlet 2's power-on: err = %v, want ErrOverBudget", err)
	}
	want := "phase 1 draws 4.00 A (0.00 A more expected of its outlets just switched on), outlet 2 on it is expected to draw 4.00 A, and max_amperes_per_phase is 6"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
	if d.state(2) != Off {
		t.Errorf("outlet 2 was switched on over its phase's budget")
	}
	// Outlets 5 and 6 are on no configured phase: 4 + 4 fits max_amperes
	// 11, the next 4 does not.
	if _, err := p.Switch(t.Context(), 5, On); err != nil {
		t.Fatalf("outlet 5, on no phase, within max_amperes: %v", err)
	}
	_, err = p.Switch(t.Context(), 6, On)
	if !errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), "the PDU draws 8.00 A") || !strings.Contains(err.Error(), "max_amperes is 11") {
		t.Errorf("outlet 6 over max_amperes: err = %v, want the PDU-wide budget's refusal", err)
	}
	if _, err := p.Switch(t.Context(), 3, On); err != nil {
		t.Errorf("outlet 3, with room on phase 2 and in the PDU: %v", err)
	}
}

// A phase the PDU reports no current for cannot be weighed: its power-ons
// are refused at once, saying so, rather than let through unweighed.
func TestPhaseBudgetRefusesAPhaseWithoutReading(t *testing.T) {
	d := &phasedFake{meteredFake: &meteredFake{fakeDriver: newFake(4), amps: map[int]float64{}}, phases: [][]int{{1, 2}}}
	p := testPDU(t, "r", d.fakeDriver, func(c *PDUConfig) {
		c.Driver, c.CacheTTL, c.MaxAmperesPerPhase, c.Phases, c.BudgetWait = d, 0, 6, [][]int{{1, 2}, {3, 4}}, time.Minute
	})
	_, err := p.Switch(t.Context(), 3, On)
	if !errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), "reports no current for phase 2, outlet 3's") {
		t.Errorf("err = %v, want a refusal saying phase 2 has no reading", err)
	}
	if _, err := p.Switch(t.Context(), 1, On); err != nil {
		t.Errorf("outlet 1, on a phase with a reading and room: %v", err)
	}
}
