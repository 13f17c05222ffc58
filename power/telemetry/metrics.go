// Package telemetry is powerbridge's Prometheus instrumentation of what it
// does to power: the registry, the counters of PDU calls, actions and
// shutdowns (kept as a power.Observer), and the collector of the PDUs' live
// readings, as snmp_exporter keeps its collector apart from its handler.
//
// It knows the power domain and Prometheus, and nothing of HTTP, SNMP or
// ssh: a face that serves the registry adds its own request metrics to it.
package telemetry

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics owns the registry that /metrics serves: the bridge's own counters
// and histograms, and the live PDU readings, which a collector builds from
// the pollers' last results at scrape time (see CollectFleet), so that a
// scrape never waits on a PDU.
type Metrics struct {
	reg *prometheus.Registry

	snmpDuration *prometheus.HistogramVec
	snmpErrors   *prometheus.CounterVec
	snmpTimeouts *prometheus.CounterVec
	snmpRetries  *prometheus.CounterVec
	pduRestarts  *prometheus.CounterVec
	snmpTimeout  *prometheus.GaugeVec

	actions        *actionCounts
	actionDuration *prometheus.HistogramVec

	graceful         *prometheus.CounterVec
	cuts             *prometheus.CounterVec
	refused          *prometheus.CounterVec
	shutdownDuration *prometheus.HistogramVec

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge

	racks rackMetrics
}

// Buckets. An APC card answers in tens to hundreds of milliseconds and a read
// gives up after the status timeout (seconds); an action can take the whole
// action timeout (150 s by default, 270 s at most), graceful shutdown
// included; a graceful shutdown waits up to its own timeout (120 s typical).
var (
	snmpBuckets = prometheus.DefBuckets
	// ActionBuckets suit anything that lasts as long as a power action, an
	// HTTP request that waits on one among them.
	ActionBuckets   = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	shutdownBuckets = []float64{1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300}
)

// shutdownReasons is every value of the reason label of the shutdown
// counters; see shutdownReason.
var shutdownReasons = []string{"unreachable", "host-key", "auth", "timeout", "cancelled", "other"}

// New returns the bridge's metrics; version is the build's version for
// powerbridge_build_info. The config counts as loaded successfully now.
// Over 60 lines, it is a table of the metrics' definitions, which reads
// better whole.
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		snmpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "powerbridge_snmp_request_duration_seconds",
			Help:    "Time taken by one call to a PDU over SNMP: op=read (every outlet and meter, one request on most PDUs) or op=switch (one SET, never retried).",
			Buckets: snmpBuckets,
		}, []string{"pdu", "op"}),
		snmpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_snmp_errors_total",
			Help: "Calls to a PDU over SNMP that failed, timeouts included.",
		}, []string{"pdu", "op"}),
		snmpTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_snmp_timeouts_total",
			Help: "Calls to a PDU over SNMP that got no answer in time (also counted in powerbridge_snmp_errors_total). A wrong community looks like this too: agents do not answer one.",
		}, []string{"pdu", "op"}),
		snmpRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_snmp_retries_total",
			Help: "Reads of a PDU sent again after no answer in time (snmp.retries); a switch is never sent again. A lossy network or an overloaded card shows here first.",
		}, []string{"pdu"}),
		snmpTimeout: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "powerbridge_snmp_timeout_seconds",
			Help: "Time the last SNMP request to a PDU was given before it counted as unanswered: snmp.timeout at least, more as the PDU's answers for a request of its size have been slower, snmp.max_timeout at most.",
		}, []string{"pdu"}),
		pduRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_pdu_restarts_total",
			Help: "Times a PDU's management card was seen to restart (its SNMPv3 engine's boots rose) or to be replaced (its engine ID changed); SNMPv3 only.",
		}, []string{"pdu"}),
		actions: newActionCounts("powerbridge_power_actions_total",
			"Finished power actions on machines, by action (on, off, cycle) and result (ok, error)."),
		actionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "powerbridge_power_action_duration_seconds",
			Help:    "Time taken by a power action on a machine, graceful shutdown included.",
			Buckets: ActionBuckets,
		}, []string{"action"}),
		graceful: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_graceful_shutdowns_total",
			Help: "Graceful shutdowns that saw the OS go down before power was cut.",
		}, []string{"machine"}),
		cuts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_forced_cuts_total",
			Help: "Power cut without a confirmed OS shutdown (machine policy \"cut\"), by why the shutdown failed.",
		}, []string{"machine", "reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_refused_shutdowns_total",
			Help: "Off actions that left power on because the OS shutdown failed and the machine's policy is \"fail\", by why it failed.",
		}, []string{"machine", "reason"}),
		shutdownDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "powerbridge_shutdown_duration_seconds",
			Help:    "Time from asking the OS to shut down until it was seen down or given up on, by outcome (graceful, cut, refused).",
			Buckets: shutdownBuckets,
		}, []string{"outcome"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "powerbridge_config_last_reload_successful",
			Help: "Whether the last attempt to load the config file succeeded (1) or was refused (0, the previous config stays in force).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "powerbridge_config_last_reload_success_timestamp_seconds",
			Help: "When the config file was last loaded successfully, in seconds since the epoch.",
		}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "powerbridge_build_info",
		Help:        "Always 1; the labels say which build of powerbridge is running.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(
		m.snmpDuration, m.snmpErrors, m.snmpTimeouts, m.snmpRetries, m.pduRestarts, m.snmpTimeout,
		m.actions, m.actionDuration,
		m.graceful, m.cuts, m.refused, m.shutdownDuration,
		m.reloadOK, m.reloadTime, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.racks = newRackMetrics(m.reg)
	// The service starts only with a config that loaded.
	m.ConfigReloaded(nil)
	return m
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ConfigReloaded records an attempt to (re)load the config file: err is nil
// when the new config is in force.
func (m *Metrics) ConfigReloaded(err error) {
	if err != nil {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
}
