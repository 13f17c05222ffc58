package telemetry

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Only the series that were counted or created at zero are exported, with
// their values, whatever the action and result.
func TestActionCounts(t *testing.T) {
	c := newActionCounts("powerbridge_power_actions_total", "Actions.")
	c.counter("node1", "on", "ok").Add(2)
	c.counter("node1", "cycle", "error").Add(1)
	c.counter("node2", "off", "ok")
	c.counter("node2", "reboot", "ok").Add(5) // not a slot
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `
# HELP powerbridge_power_actions_total Actions.
# TYPE powerbridge_power_actions_total counter
powerbridge_power_actions_total{action="cycle",machine="node1",result="error"} 1
powerbridge_power_actions_total{action="off",machine="node2",result="ok"} 0
powerbridge_power_actions_total{action="on",machine="node1",result="ok"} 2
powerbridge_power_actions_total{action="reboot",machine="node2",result="ok"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
