package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Each rack file breaks one rule of the rack keys; its exact messages are
// part of the interface.
func TestRackProblems(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"rack-inrush", []string{
			`testdata/rack-inrush.yaml:3: pdus[0].inrush_delay: 2m0s is more than 1m0s: every power-on of the PDU would wait that long for each one before it`,
			`testdata/rack-inrush.yaml:4: pdus[1].inrush_delay: "-1s" is not a duration (use a number with a unit: 500ms, 5s, 2m)`,
		}},
		{"rack-groups", []string{
			`testdata/rack-groups.yaml:9: groups[1].name: group "rack-a" is defined twice`,
			`testdata/rack-groups.yaml:10: groups[2].name: "bad name" is not a group name (letters, digits, '.', '_', '-')`,
			`testdata/rack-groups.yaml:10: groups[2].machines: group "bad name" needs at least one machine`,
			`testdata/rack-groups.yaml:12: groups[3].machines[1]: no machine is named "m3"`,
			`testdata/rack-groups.yaml:12: groups[3].machines[2]: machine "m1" is listed twice`,
		}},
		{"rack-budget", []string{
			`testdata/rack-budget.yaml:4: pdus[0].max_amperes: cannot be negative (leave it out for no power budget)`,
			`testdata/rack-budget.yaml:5: pdus[1].budget_wait: 1m0s leaves nothing of timeouts.action (1m0s) to switch the outlet in; use less`,
			`testdata/rack-budget.yaml:7: pdus[3].max_amperes_per_phase: needs phases, the outlets of each phase in the PDU's order of them (phases: ["1-8", "9-16", "17-24"])`,
			`testdata/rack-budget.yaml:8: pdus[4].max_amperes_per_phase: cannot be negative (leave it out for no budget per phase)`,
			`testdata/rack-budget.yaml:9: pdus[5].max_amperes_per_phase: 20 is more than max_amperes (16): no phase can draw more than the whole PDU`,
			`testdata/rack-budget.yaml:10: pdus[6].budget_wait: 1m0s leaves nothing of timeouts.action (1m0s) to switch the outlet in; use less`,
			`testdata/rack-budget.yaml:12: machines[0].expected_amperes: cannot be negative`,
		}},
		{"rack-phases", []string{
			`testdata/rack-phases.yaml:6: pdus[0].phases[2]: outlet 8 is on phase 1 already ("1-8")`,
			`testdata/rack-phases.yaml:6: pdus[0].phases[3]: "x": not outlets; write them as 1-8, or 1-4,9-12 (from 1)`,
			`testdata/rack-phases.yaml:6: pdus[0].phases[4]: "5-2": not outlets; write them as 1-8, or 1-4,9-12 (from 1)`,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load("testdata/" + tc.file + ".yaml")
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			got := strings.Split(ps.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// inrush_delay defaults to 1 s, and 0s turns the guard off; there is no
// power budget unless max_amperes is given, and budget_wait is 30 s.
func TestRackDefaults(t *testing.T) {
	f, err := Parse([]byte(`auth: {tokens: [{name: maas, token: a-token-of-16-chars-or-more}]}
pdus:
  - {name: rack1, address: 192.0.2.10, snmp: {community: private}}
  - {name: rack2, address: 192.0.2.11, snmp: {community: private}, inrush_delay: 0s}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.PDUs[0].InrushDelay.Std(); got != time.Second {
		t.Errorf("rack1 inrush_delay = %s, want the default 1s", got)
	}
	if got := f.PDUs[1].InrushDelay.Std(); got != 0 {
		t.Errorf("rack2 inrush_delay = %s, want 0s as given", got)
	}
	if got := f.PDUs[0].BudgetWait.Std(); got != 30*time.Second || f.PDUs[0].MaxAmperes != 0 {
		t.Errorf("rack1 budget_wait = %s, max_amperes = %v; want the defaults 30s and 0 (no budget)", got, f.PDUs[0].MaxAmperes)
	}
}

// Phases are read as outlet lists.
func TestRackPhaseOutlets(t *testing.T) {
	p := PDU{Phases: []string{"1-3", "4, 6-7"}}
	if got := fmt.Sprint(p.PhaseOutlets()); got != "[[1 2 3] [4 6 7]]" {
		t.Errorf("PhaseOutlets() = %s, want [[1 2 3] [4 6 7]]", got)
	}
}
