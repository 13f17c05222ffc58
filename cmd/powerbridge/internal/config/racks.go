package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Group is a named list of machines switched together, in the order they
// are switched on: POST /v1/groups/{name}/on and powerbridge power on
// --group NAME.
type Group struct {
	Name     string   `yaml:"name"`
	Machines []string `yaml:"machines"`
}

const (
	// Inrush current lasts 20 to 40 ms (Raritan's and Legrand's manuals,
	// whose own guards default to 100 ms to 200 ms). powerbridge times the
	// SET, not the relay: an APC card carries a command out some hundreds
	// of milliseconds after it answers, more or less at random, so the
	// gap at the relays is the gap of the SETs give or take that. 1 s keeps
	// the inrushes of two outlets apart whatever the card does, and brings
	// a 24-outlet rack up in 23 s, well inside the action timeout.
	defaultInrushDelay = time.Second
	// maxInrushDelay bounds inrush_delay: each power-on waits this long per
	// one queued ahead of it, inside the action timeout.
	maxInrushDelay = time.Minute
	// A power-on over the budget waits this long for other machines to go
	// off (a group's off, a deployment's end) before it is refused.
	defaultBudgetWait = 30 * time.Second
)

// validateRacks checks the keys that describe a rack: how PDUs space
// their power-ons, and the groups.
func (f *File) validateRacks(s section) {
	f.validateGroups(s.field("groups"))
	pdus := s.field("pdus")
	for i := range f.PDUs {
		p := &f.PDUs[i]
		ps := pdus.index(i)
		if p.InrushDelay.Std() > maxInrushDelay {
			ps.field("inrush_delay").errorf("%s is more than %s: every power-on of the PDU would wait that long for each one before it", p.InrushDelay, maxInrushDelay)
		}
		p.validatePhases(ps.field("phases"))
		if p.MaxAmperes < 0 {
			ps.field("max_amperes").errorf("cannot be negative (leave it out for no power budget)")
		}
		p.validatePhaseBudget(ps.field("max_amperes_per_phase"))
		if (p.MaxAmperes > 0 || p.MaxAmperesPerPhase > 0) && p.BudgetWait >= f.Timeouts.Action {
			ps.field("budget_wait").errorf("%s leaves nothing of timeouts.action (%s) to switch the outlet in; use less", p.BudgetWait, f.Timeouts.Action)
		}
	}
	ms := s.field("machines")
	for i, m := range f.Machines {
		if m.ExpectedAmperes < 0 {
			ms.index(i).field("expected_amperes").errorf("cannot be negative")
		}
	}
}

// validateGroups checks each group's name and that it lists machines of the
// file, each once.
func (f *File) validateGroups(gs section) {
	machines := map[string]bool{}
	for _, m := range f.Machines {
		machines[m.Name] = true
	}
	names := map[string]bool{}
	for i, g := range f.Groups {
		s := gs.index(i)
		switch {
		case !nameRE.MatchString(g.Name):
			s.field("name").errorf("%q is not a group name (letters, digits, '.', '_', '-')", g.Name)
		case names[g.Name]:
			s.field("name").errorf("group %q is defined twice", g.Name)
		}
		names[g.Name] = true
		ms := s.field("machines")
		if len(g.Machines) == 0 {
			ms.errorf("group %q needs at least one machine", g.Name)
		}
		for j, m := range g.Machines {
			switch {
			case !machines[m]:
				ms.index(j).errorf("no machine is named %q", m)
			case slices.Contains(g.Machines[:j], m):
				ms.index(j).errorf("machine %q is listed twice", m)
			}
		}
	}
}

// PhaseOutlets is the outlets of each of the PDU's phases, in order.
func (p PDU) PhaseOutlets() [][]int {
	var out [][]int
	for _, ph := range p.Phases {
		outlets, _ := outletList(ph)
		out = append(out, outlets)
	}
	return out
}

// validatePhases checks that each phase lists outlets, and none twice.
func (p *PDU) validatePhases(s section) {
	phaseOf := map[int]int{}
	for i, ph := range p.Phases {
		outlets, err := outletList(ph)
		if err != nil {
			s.index(i).errorf("%q: %v", ph, err)
			continue
		}
		for _, n := range outlets {
			if j, dup := phaseOf[n]; dup {
				s.index(i).errorf("outlet %d is on phase %d already (%q)", n, j+1, p.Phases[j])
				break
			}
			phaseOf[n] = i
		}
	}
}

// validatePhaseBudget checks max_amperes_per_phase: a phase's budget needs
// the phases its outlets are on.
func (p *PDU) validatePhaseBudget(s section) {
	switch {
	case p.MaxAmperesPerPhase < 0:
		s.errorf("cannot be negative (leave it out for no budget per phase)")
	case p.MaxAmperesPerPhase > 0 && len(p.Phases) == 0:
		s.errorf("needs phases, the outlets of each phase in the PDU's order of them (phases: [\"1-8\", \"9-16\", \"17-24\"])")
	case p.MaxAmperesPerPhase > 0 && p.MaxAmperes > 0 && p.MaxAmperesPerPhase > p.MaxAmperes:
		s.errorf("%g is more than max_amperes (%g): no phase can draw more than the whole PDU", p.MaxAmperesPerPhase, p.MaxAmperes)
	}
}

// outletList reads outlets written as "1-8" or "1-4,9-12" or "3".
func outletList(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.Atoi(strings.TrimSpace(lo))
		b, errB := strconv.Atoi(strings.TrimSpace(hi))
		if errA != nil || errB != nil || a < 1 || b < a {
			return nil, fmt.Errorf("not outlets; write them as 1-8, or 1-4,9-12 (from 1)")
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, nil
}
