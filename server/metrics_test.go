package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/telemetry"
)

// HTTP requests are counted by chi's route pattern, never by the raw path.
func TestInstrumentCountsByRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTPMetrics(reg)
	h := New(&fakeFleet{states: map[string]power.State{"node1": power.On}}, Config{
		Auth:          NewAuthenticator([]Credential{{Name: "maas", Token: token}}),
		StatusTimeout: time.Second,
		ActionTimeout: time.Second,
		Metrics:       MetricsHandler(reg),
		Instrument:    m.Instrument,
	})
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/machines/node1/status"},
		{"GET", "/v1/machines/node1/status/"}, // MAAS may add the slash
		{"GET", "/v1/machines/ghost/status"},
		{"POST", "/v1/machines/node1/on"},
		{"POST", "/v1/machine/node1/on"}, // mistyped: no route
		{"POST", "/v1/pdus/rack1/outlets/3/on"},
		{"GET", "/metrics"},
	} {
		r := httptest.NewRequest(req.method, req.path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	unauth := httptest.NewRequest("GET", "/v1/machines", nil)
	h.ServeHTTP(httptest.NewRecorder(), unauth)

	want := `
# HELP powerbridge_http_requests_total HTTP requests answered, by route pattern and status code.
# TYPE powerbridge_http_requests_total counter
powerbridge_http_requests_total{code="200",route="/v1/machines/{name}/status"} 2
powerbridge_http_requests_total{code="400",route="/v1/machines/{name}/status"} 1
powerbridge_http_requests_total{code="200",route="/v1/machines/{name}/on"} 1
powerbridge_http_requests_total{code="400",route="unmatched"} 1
powerbridge_http_requests_total{code="400",route="/v1/pdus/{pdu}/outlets/{n}/{action:on|off|cycle}"} 1
powerbridge_http_requests_total{code="200",route="/metrics"} 1
powerbridge_http_requests_total{code="401",route="/v1/machines"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "powerbridge_http_requests_total"); err != nil {
		t.Error(err)
	}
	var status dto.Metric
	if err := m.httpDuration.WithLabelValues("/v1/machines/{name}/status").(prometheus.Metric).Write(&status); err != nil {
		t.Fatal(err)
	}
	if got := status.GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("%d status durations, want 3", got)
	}
}

func TestMetricsToken(t *testing.T) {
	m := telemetry.New("test")
	for _, tc := range []struct {
		name, token, auth string
		want              int
	}{
		{"open by default", "", "", 200},
		{"open ignores credentials", "", "Bearer whatever", 200},
		{"token set, none sent", "scrape-me", "", 401},
		{"token set, wrong one", "scrape-me", "Bearer scrape-you", 401},
		{"token set, the API's token", "scrape-me", "Bearer " + token, 401},
		{"token set, Basic", "scrape-me", "Basic c2NyYXBlOnNjcmFwZS1tZQ==", 401},
		{"token set, right one", "scrape-me", "Bearer scrape-me", 200},
		{"token set, scheme in any case", "scrape-me", "bearer scrape-me", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(&fakeFleet{}, Config{
				Auth:         NewAuthenticator([]Credential{{Name: "maas", Token: token}}),
				Metrics:      MetricsHandler(m.Registry()),
				MetricsToken: tc.token,
			})
			r := httptest.NewRequest("GET", "/metrics", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("code %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want == 200 && !strings.Contains(w.Body.String(), "powerbridge_build_info{") {
				t.Errorf("the answer has no powerbridge_build_info:\n%.500s", w.Body)
			}
			if tc.want == 401 && strings.Contains(w.Body.String(), "powerbridge_") {
				t.Errorf("a refused scrape shows metrics:\n%.500s", w.Body)
			}
		})
	}
}
