package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/powerbridge/powerbridge/power"
)

// Metrics is the bridge's Prometheus instrumentation. It owns the registry
// /metrics serves: the bridge's own counters and histograms, which it keeps
// as a power.Observer and as HTTP middleware, and the live PDU readings,
// which a collector builds from the pollers' last results at scrape time
// (see CollectFleet), so that a scrape never waits on a PDU.
type Metrics struct {
	reg *prometheus.Registry

	snmpDuration *prometheus.HistogramVec
	snmpErrors   *prometheus.CounterVec
	snmpTimeouts *prometheus.CounterVec
	snmpRetries  *prometheus.CounterVec
	pduRestarts  *prometheus.CounterVec

	actions        *actionCounts
	actionDuration *prometheus.HistogramVec

	graceful         *prometheus.CounterVec
	cuts             *prometheus.CounterVec
	refused          *prometheus.CounterVec
	shutdownDuration *prometheus.HistogramVec

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	authChecks   prometheus.Counter
	authFailures *prometheus.CounterVec

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

var _ power.Observer = (*Metrics)(nil)

// Buckets. An APC card answers in tens to hundreds of milliseconds and a read
// gives up after the status timeout (seconds); an HTTP action can take the
// whole action timeout (150 s by default, 270 s at most), graceful shutdown
// included; a graceful shutdown waits up to its own timeout (120 s typical).
var (
	snmpBuckets     = prometheus.DefBuckets
	httpBuckets     = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	shutdownBuckets = []float64{1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300}
)

// shutdownReasons is every value of the reason label of the shutdown
// counters; see shutdownReason.
var shutdownReasons = []string{"unreachable", "host-key", "auth", "timeout", "cancelled", "other"}

// NewMetrics returns the bridge's metrics; version is the build's version for
// powerbridge_build_info. The config counts as loaded successfully now.
func NewMetrics(version string) *Metrics {
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
		pduRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_pdu_restarts_total",
			Help: "Times a PDU's management card was seen to restart (its SNMPv3 engine's boots rose) or to be replaced (its engine ID changed); SNMPv3 only.",
		}, []string{"pdu"}),
		actions: newActionCounts("powerbridge_power_actions_total",
			"Finished power actions on machines, by action (on, off, cycle) and result (ok, error)."),
		actionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "powerbridge_power_action_duration_seconds",
			Help:    "Time taken by a power action on a machine, graceful shutdown included.",
			Buckets: httpBuckets,
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
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "powerbridge_http_request_duration_seconds",
			Help:    "Time taken to answer an HTTP request, by route pattern.",
			Buckets: httpBuckets,
		}, []string{"route"}),
		authChecks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powerbridge_auth_checks_total",
			Help: "Requests whose credentials were compared with the configured ones, right or wrong. A request from an address over its failed-authentication limit is answered 429 before that and is not counted: this counter's rate less the successful requests' is the rate of guesses being made.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_auth_failures_total",
			Help: "Requests refused for their credentials, by reason: missing (none, or a scheme other than Bearer and Basic), invalid (wrong ones), rate-limited (refused with 429 while the client address has failed too often).",
		}, []string{"reason"}),
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
		m.snmpDuration, m.snmpErrors, m.snmpTimeouts, m.snmpRetries, m.pduRestarts,
		m.actions, m.actionDuration,
		m.graceful, m.cuts, m.refused, m.shutdownDuration,
		m.httpRequests, m.httpDuration, m.authChecks, m.authFailures,
		m.reloadOK, m.reloadTime, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, reason := range authFailureReasons {
		m.authFailures.WithLabelValues(reason)
	}
	// The service starts only with a config that loaded.
	m.ConfigReloaded(nil)
	return m
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus's exposition formats. A
// collector that fails does not fail the scrape: the rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg,
		ErrorHandling: promhttp.ContinueOnError,
	})
}

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

// DeviceCall counts one call to a PDU's driver and how long it took.
func (m *Metrics) DeviceCall(pdu, op string, took time.Duration, err error) {
	m.snmpDuration.WithLabelValues(pdu, op).Observe(took.Seconds())
	if err == nil {
		return
	}
	m.snmpErrors.WithLabelValues(pdu, op).Inc()
	if isTimeout(err) {
		m.snmpTimeouts.WithLabelValues(pdu, op).Inc()
	}
}

// isTimeout tells an error that means "no answer in time" from one the
// device or the network answered. It cannot use the SNMP library's errors
// (this package knows nothing of SNMP), so it goes by what they look like.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return true
	}
	// gosnmp reports a request that ran out of retries as a plain error,
	// "request timeout (after N retries): max retries exceeded".
	return strings.Contains(err.Error(), "request timeout")
}

// Action counts a finished machine action.
func (m *Metrics) Action(machine string, action power.Action, result string, took time.Duration) {
	m.actions.counter(machine, string(action), result).Add(1)
	m.actionDuration.WithLabelValues(string(action)).Observe(took.Seconds())
}

// Shutdown counts a graceful shutdown attempt by how it ended.
func (m *Metrics) Shutdown(machine, outcome, reason string, took time.Duration) {
	switch outcome {
	case "graceful":
		m.graceful.WithLabelValues(machine).Inc()
	case "cut":
		m.cuts.WithLabelValues(machine, shutdownReason(reason)).Inc()
	case "refused":
		m.refused.WithLabelValues(machine, shutdownReason(reason)).Inc()
	default:
		outcome = "other"
	}
	m.shutdownDuration.WithLabelValues(outcome).Observe(took.Seconds())
}

// shutdownReason files a shutdown's free-text reason (an ssh or probe error,
// with addresses and durations in it) under one of shutdownReasons, so that
// the label has a handful of values rather than one per message. The text
// itself is in the log and the action's answer.
func shutdownReason(reason string) string {
	r := strings.ToLower(reason)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(r, w) {
				return true
			}
		}
		return false
	}
	// Most specific first: a host-key or auth failure often ends in a
	// generic "handshake failed", an unreachable host in a timeout.
	switch {
	case has("host key", "host-key", "hostkey", "knownhosts", "known_hosts"):
		return "host-key"
	case has("unable to authenticate", "permission denied", "authentication", "no supported methods"):
		return "auth"
	case has("unreachable", "connection refused", "no route to host", "no such host"):
		return "unreachable"
	case has("timeout", "timed out", "deadline"):
		return "timeout"
	case has("cancel"):
		return "cancelled"
	}
	return "other"
}

// Instrument is HTTP middleware counting requests by route and status code.
// It must wrap the router (chi's Use on the root mux) so that chi's route
// context is filled in by the time the request is answered: the route label
// is the matched pattern, such as /v1/machines/{name}/status, never the raw
// path, which would make a series per machine name and per typo.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" || route == "/*" {
			route = "unmatched"
		}
		code := ww.Status()
		if code == 0 { // nothing written: net/http answers 200
			code = http.StatusOK
		}
		m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// metricsAuth guards /metrics with the metrics token, when one is set. It is
// a token of its own, not one of the API's: a scraper must not be able to
// switch power, and MAAS's token must not have to sit in Prometheus's config.
func (s *Server) metricsAuth(next http.Handler) http.Handler {
	if s.cfg.MetricsToken == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.cfg.MetricsToken))
	check := func(r *http.Request) (string, bool) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		return "metrics", strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.guard(w, r, check, `Bearer realm="powerbridge metrics"`,
			"authentication required: /metrics needs Authorization: Bearer <auth.metrics_token>"); !ok {
			return
		}
		next.ServeHTTP(w, r)
	})
}
