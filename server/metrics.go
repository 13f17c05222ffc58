package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/powerbridge/powerbridge/power/telemetry"
)

// HTTPMetrics counts what the HTTP face does: requests by route and code,
// and credentials compared and refused. What is done to power is counted by
// package telemetry, on the same registry.
type HTTPMetrics struct {
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	authChecks   prometheus.Counter
	authFailures *prometheus.CounterVec
	routes       routeSeries
}

// The values of powerbridge_auth_failures_total's reason label.
const (
	AuthMissing     = "missing"
	AuthInvalid     = "invalid"
	AuthRateLimited = "rate-limited"
)

var authFailureReasons = []string{AuthMissing, AuthInvalid, AuthRateLimited}

// NewHTTPMetrics registers the HTTP face's metrics with reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "powerbridge_http_request_duration_seconds",
			Help:    "Time taken to answer an HTTP request, by route pattern.",
			Buckets: telemetry.ActionBuckets,
		}, []string{"route"}),
		authChecks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powerbridge_auth_checks_total",
			Help: "Requests whose credentials were compared with the configured ones, right or wrong. A request from an address over its failed-authentication limit is answered 429 before that and is not counted: this counter's rate less the successful requests' is the rate of guesses being made.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powerbridge_auth_failures_total",
			Help: "Requests refused for their credentials, by reason: missing (none, or a scheme other than Bearer and Basic), invalid (wrong ones), rate-limited (refused with 429 while the client address has failed too often).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.authChecks, m.authFailures)
	for _, reason := range authFailureReasons {
		m.authFailures.WithLabelValues(reason)
	}
	return m
}

// MetricsHandler serves reg in Prometheus's exposition formats, and counts
// its own errors in reg. A collector that fails does not fail the scrape:
// the rest is still served.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:      reg,
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// AuthFailure counts a request refused for its credentials; reason is one of
// AuthMissing, AuthInvalid, AuthRateLimited.
func (m *HTTPMetrics) AuthFailure(reason string) {
	m.authFailures.WithLabelValues(reason).Inc()
}

// AuthCheck counts a request whose credentials were compared.
func (m *HTTPMetrics) AuthCheck() {
	m.authChecks.Inc()
}

// Instrument is HTTP middleware counting requests by route and status code.
// It must wrap the router (chi's Use on the root mux) so that chi's route
// context is filled in by the time the request is answered: the route label
// is the matched pattern, such as /v1/machines/{name}/status, never the raw
// path, which would make a series per machine name and per typo.
func (m *HTTPMetrics) Instrument(next http.Handler) http.Handler {
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
		rs := m.routes.of(route, code, m.newSeries)
		rs.requests.Inc()
		rs.duration.Observe(time.Since(start).Seconds())
	})
}

// newSeries is the pair of series a route and code are counted in.
func (m *HTTPMetrics) newSeries(route string, code int) *series {
	return &series{
		requests: m.httpRequests.WithLabelValues(route, strconv.Itoa(code)),
		duration: m.httpDuration.WithLabelValues(route),
	}
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
