package telemetry

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/powerbridge/powerbridge/power"
)

// PolledFleet is what the live-readings collector needs of the fleet;
// *power.Fleet is one.
type PolledFleet interface {
	PDUs() []*power.PDU
	Machines() []power.Machine
	MachineOf(ref power.OutletRef) (string, bool)
	// LastStatus is a machine's state from the last polls, as MAAS would
	// be told it (a halted OS reads off).
	LastStatus(machine string) (power.MachineStatus, bool)
}

// CollectFleet adds the fleet's live readings to the registry. Call it once.
func (m *Metrics) CollectFleet(f PolledFleet) error {
	return m.CollectCurrentFleet(func() PolledFleet { return f })
}

// CollectCurrentFleet adds the live readings of a fleet that is swapped on a
// reload: each scrape takes current's fleet once and is built from it alone.
// Call it once.
func (m *Metrics) CollectCurrentFleet(current func() PolledFleet) error {
	if err := m.reg.Register(budgetCollector{current}); err != nil {
		return err
	}
	return m.reg.Register(fleetCollector{current})
}

// StartCounters starts the counters of a (re)built fleet's PDUs and machines
// at zero, so that rate() and increase() see their first event.
func (m *Metrics) StartCounters(f PolledFleet) {
	for _, p := range f.PDUs() {
		for _, op := range []string{"read", "switch"} {
			m.snmpErrors.WithLabelValues(p.Name(), op)
			m.snmpTimeouts.WithLabelValues(p.Name(), op)
		}
		m.snmpRetries.WithLabelValues(p.Name())
		m.pduRestarts.WithLabelValues(p.Name())
	}
	for _, mc := range f.Machines() {
		for _, a := range []power.Action{power.ActionOn, power.ActionOff, power.ActionCycle} {
			for _, result := range []string{"ok", "error"} {
				m.actions.counter(mc.Name, string(a), result)
			}
		}
		if mc.Graceful == nil {
			continue
		}
		m.graceful.WithLabelValues(mc.Name)
		for _, reason := range shutdownReasons {
			m.cuts.WithLabelValues(mc.Name, reason)
			m.refused.WithLabelValues(mc.Name, reason)
		}
	}
}

// The live readings. Outlet and machine state are 1 (on) or 0 (off) and
// absent when unknown, rather than one series per state word: a 0/1 gauge
// graphs as a state timeline, sums to "outlets on", and changes() counts its
// flaps; an unknown state is no data, not a third value to filter out.
var (
	outletLabels = []string{"pdu", "outlet", "name", "machine"}

	pduUpDesc = prometheus.NewDesc("powerbridge_pdu_up",
		"Whether the last read of the PDU succeeded (1) or failed (0); 0 before the first read.",
		[]string{"pdu"}, nil)
	pduInfoDesc = prometheus.NewDesc("powerbridge_pdu_info",
		"Always 1; the labels describe the device as it last told (its vendor, model and firmware), and the protocol dialect used to drive it.",
		[]string{"pdu", "vendor", "model", "firmware", "dialect"}, nil)
	pduLastPollDesc = prometheus.NewDesc("powerbridge_pdu_last_poll_success_timestamp_seconds",
		"When the PDU was last read successfully, in seconds since the epoch.",
		[]string{"pdu"}, nil)
	pduCurrentDesc = prometheus.NewDesc("powerbridge_pdu_current_amperes",
		"Load current of the PDU per phase (or bank, numbered in the device's order), where the PDU reports it.",
		[]string{"pdu", "phase"}, nil)
	pduPowerDesc = prometheus.NewDesc("powerbridge_pdu_power_watts",
		"Power drawn through the PDU, where the PDU reports it.",
		[]string{"pdu"}, nil)
	pduEnergyDesc = prometheus.NewDesc("powerbridge_pdu_energy_joules_total",
		"Energy delivered through the PDU since its meter was last reset, where the PDU reports it.",
		[]string{"pdu"}, nil)
	outletOnDesc = prometheus.NewDesc("powerbridge_outlet_on",
		"Whether the outlet is on (1) or off (0) as the PDU last said; absent while unknown or the PDU cannot be read.",
		outletLabels, nil)
	outletCurrentDesc = prometheus.NewDesc("powerbridge_outlet_current_amperes",
		"Current drawn through the outlet, on PDUs metered by outlet.",
		outletLabels, nil)
	outletPowerDesc = prometheus.NewDesc("powerbridge_outlet_power_watts",
		"Power drawn through the outlet, on PDUs metered by outlet.",
		outletLabels, nil)
	machineOnDesc = prometheus.NewDesc("powerbridge_machine_on",
		"Whether the machine is on (1: any of its outlets is on) or off (0: all are off); absent while unknown or one of its PDUs cannot be read.",
		[]string{"machine"}, nil)
)

// fleetCollector builds the live readings at scrape time from each PDU's
// last poll. It never reads a PDU: the pollers do, through the PDU's worker,
// and a scrape only looks at what they found.
type fleetCollector struct {
	current func() PolledFleet
}

func (c fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pduUpDesc, pduInfoDesc, pduLastPollDesc, pduCurrentDesc, pduPowerDesc,
		pduEnergyDesc, outletOnDesc, outletCurrentDesc, outletPowerDesc, machineOnDesc} {
		ch <- d
	}
}

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	fleet := c.current()
	for _, p := range fleet.PDUs() {
		name, poll := p.Name(), p.LastPoll()
		up := poll.Err == nil && !poll.At.IsZero()
		ch <- gauge(pduUpDesc, bool01(up), name)
		if poll.At.IsZero() {
			continue // never read: nothing more is known
		}
		// The device and when it last answered stay true while it is down.
		info := poll.Reading.Info
		ch <- gauge(pduInfoDesc, 1, name, info.Vendor, info.Model, info.Firmware, info.Dialect)
		ch <- gauge(pduLastPollDesc, float64(poll.At.UnixMilli())/1e3, name)
		if !up {
			// The outlets and meters from before the failure would pass
			// for current ones.
			continue
		}
		c.collectReading(ch, fleet, name, poll.Reading)
	}

	for _, m := range fleet.Machines() {
		if st, ok := fleet.LastStatus(m.Name); ok && st.State != power.Unknown {
			ch <- gauge(machineOnDesc, bool01(st.State == power.On), m.Name)
		}
	}
}

func (c fleetCollector) collectReading(ch chan<- prometheus.Metric, fleet PolledFleet, pdu string, r power.Reading) {
	for i, a := range r.Meter.CurrentAmperes {
		ch <- gauge(pduCurrentDesc, a, pdu, strconv.Itoa(i+1))
	}
	if w := r.Meter.PowerWatts; w != nil {
		ch <- gauge(pduPowerDesc, *w, pdu)
	}
	if j := r.Meter.EnergyJoules; j != nil {
		ch <- constMetric(pduEnergyDesc, prometheus.CounterValue, *j, pdu)
	}
	for _, o := range r.Outlets {
		machine, _ := fleet.MachineOf(power.OutletRef{PDU: pdu, Outlet: o.Number})
		labels := []string{pdu, strconv.Itoa(o.Number), o.Name, machine}
		if o.State == power.On || o.State == power.Off {
			ch <- gauge(outletOnDesc, bool01(o.State == power.On), labels...)
		}
		if a := o.CurrentAmperes; a != nil {
			ch <- gauge(outletCurrentDesc, *a, labels...)
		}
		if w := o.PowerWatts; w != nil {
			ch <- gauge(outletPowerDesc, *w, labels...)
		}
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return constMetric(d, prometheus.GaugeValue, v, labels...)
}

// constMetric builds one reading. Outlet names, models and firmware come
// from the device, and an APC card may hold a name in Latin-1, which is not
// a valid label value: such bytes become U+FFFD rather than failing the scrape.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	for i, l := range labels {
		labels[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
