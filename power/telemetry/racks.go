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

// budgetCollector builds the power budgets of the current fleet's PDUs at
// scrape time, from their last readings, as fleetCollector builds the rest.
type budgetCollector struct {
	current func() PolledFleet
}

var (
	maxAmperesDesc = prometheus.NewDesc("powerbridge_pdu_max_amperes",
		"The PDU's power budget (max_amperes): a power-on that would take the load over it waits, then is refused.", []string{"pdu"}, nil)
	reservedAmperesDesc = prometheus.NewDesc("powerbridge_pdu_reserved_amperes",
		"Current expected of the PDU's outlets switched on in the last seconds, beyond what their meters show yet; counted on top of the load against the budget.", []string{"pdu"}, nil)
	phaseMaxAmperesDesc = prometheus.NewDesc("powerbridge_pdu_phase_max_amperes",
		"The power budget of each of the PDU's configured phases (max_amperes_per_phase): a power-on that would take its phase's current over it waits, then is refused.", []string{"pdu", "phase"}, nil)
	phaseReservedAmperesDesc = prometheus.NewDesc("powerbridge_pdu_phase_reserved_amperes",
		"Current expected of a phase's outlets switched on in the last seconds, beyond what their meters show yet; counted on top of the phase's current (powerbridge_pdu_current_amperes) against its budget.", []string{"pdu", "phase"}, nil)
	expectedAmperesDesc = prometheus.NewDesc("powerbridge_outlet_expected_amperes",
		"What an outlet is expected to draw once on, for its PDU's power budget: the machine's expected_amperes (split over its outlets), else learned from the outlet's meter after its last power-on.", []string{"pdu", "outlet", "machine"}, nil)
)

func (c budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- maxAmperesDesc
	ch <- reservedAmperesDesc
	ch <- phaseMaxAmperesDesc
	ch <- phaseReservedAmperesDesc
	ch <- expectedAmperesDesc
}

func (c budgetCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.current()
	if f == nil {
		return
	}
	for _, p := range f.PDUs() {
		b, ok := p.Budget()
		if !ok {
			continue
		}
		if b.MaxAmperes > 0 {
			ch <- gauge(maxAmperesDesc, b.MaxAmperes, p.Name())
		}
		ch <- gauge(reservedAmperesDesc, b.ReservedAmperes, p.Name())
		for _, ph := range b.Phases {
			ch <- gauge(phaseMaxAmperesDesc, ph.MaxAmperes, p.Name(), strconv.Itoa(ph.Phase))
			ch <- gauge(phaseReservedAmperesDesc, ph.ReservedAmperes, p.Name(), strconv.Itoa(ph.Phase))
		}
		for n, a := range b.Expected {
			machine, _ := f.MachineOf(power.OutletRef{PDU: p.Name(), Outlet: n})
			ch <- gauge(expectedAmperesDesc, a, p.Name(), strconv.Itoa(n), machine)
		}
	}
}
