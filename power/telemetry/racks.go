package telemetry

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/powerbridge/powerbridge/power"
)

// rackMetrics count what happens to a rack's power besides powerbridge's
// own actions.
type rackMetrics struct {
	unexpected *prometheus.CounterVec
}

func newRackMetrics(reg prometheus.Registerer) rackMetrics {
	r := rackMetrics{
		unexpected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_outlet_unexpected_changes_total",
			Help: "Outlets a read found in a state powerbridge did not switch them to (the PDU's buttons or web UI, another SNMP client, the PDU restarting into its default), by the state found.",
		}, []string{"pdu", "outlet", "machine", "to"}),
	}
	reg.MustRegister(r.unexpected)
	return r
}

var _ power.UnexpectedObserver = (*Metrics)(nil)

// UnexpectedChange counts an outlet found in a state nobody asked
// powerbridge for.
func (m *Metrics) UnexpectedChange(pdu string, outlet int, machine string, to power.State) {
	m.racks.unexpected.WithLabelValues(pdu, strconv.Itoa(outlet), machine, to.String()).Inc()
}
