package plug_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/plug"
)

// fixed serves fixed answers by path (and, for Tasmota, by command).
func fixed(t *testing.T, answers map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		if c := r.URL.Query().Get("cmnd"); c != "" {
			key += " " + c
		}
		if r.Method == "POST" {
			key = "POST " + key
		}
		a, ok := answers[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(a))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The units and shapes of each family's answers, as their documentation
// writes them: Gen1's total in watt-minutes, Gen2's aenergy in watt-hours,
// Tasmota's Total in kWh, as a number or (Tasmota 14, several channels) an
// array, and its relays as POWER or POWER<n>.
func TestAnswersAreReadInBaseUnits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kind      plug.Kind
		answers   map[string]string
		states    []power.State
		watts     []float64 // per outlet; -1 for none
		total     float64   // W
		joules    float64
		noEnergy  bool
		wantModel string
	}{
		{"shelly gen1", plug.Any, map[string]string{
			"/shelly": `{"type":"SHPLG-S","mac":"C45BBE000001","auth":false,"fw":"20230913-114244/v1.14.0-gcb84623"}`,
			"/status": `{"relays":[{"ison":true,"has_timer":false}],"meters":[{"power":12.5,"is_valid":true,"total":120}]}`,
		}, []power.State{power.On}, []float64{12.5}, 12.5, 120 * 60, false, "SHPLG-S"},
		{"shelly gen2, two switches", plug.Shelly, map[string]string{
			"/shelly":   `{"id":"shellypro2pm-1","model":"SPSW-202PE16EU","gen":2,"ver":"1.4.4","app":"Pro2PM"}`,
			"POST /rpc": `{"id":1,"src":"shellypro2pm-1","result":{"sys":{},"switch:1":{"id":1,"output":false,"apower":0,"aenergy":{"total":1.5}},"switch:0":{"id":0,"output":true,"apower":30,"aenergy":{"total":2}}}}`,
		}, []power.State{power.On, power.Off}, []float64{30, 0}, 30, 3.5 * 3600, false, "Pro2PM SPSW-202PE16EU"},
		{"tasmota, one relay", plug.Any, map[string]string{
			"/cm Status 0":  `{"Status":{"Module":1,"DeviceName":"Desk","FriendlyName":["Desk"],"Power":1},"StatusFWR":{"Version":"12.5.0(tasmota)"},"StatusSTS":{"POWER":"ON"},"StatusSNS":{"ENERGY":{"Total":0.25,"Power":40}}}`,
			"/cm Status 11": `{"StatusSTS":{"POWER":"ON"}}`,
			"/cm Status 8":  `{"StatusSNS":{"ENERGY":{"Total":0.25,"Power":40}}}`,
		}, []power.State{power.On}, []float64{40}, 40, 0.25 * 3.6e6, false, "Desk"},
		{"tasmota 14, two channels", plug.Tasmota, map[string]string{
			"/cm Status 0":  `{"Status":{"DeviceName":"Strip","FriendlyName":["a","b"],"Power":"01"},"StatusFWR":{"Version":"14.2.0(release-tasmota)"},"StatusSTS":{"POWER1":"ON","POWER2":"OFF"},"StatusSNS":{"ENERGY":{"Total":[0.5,0.25],"Power":[20,0]}}}`,
			"/cm Status 11": `{"StatusSTS":{"POWER1":"ON","POWER2":"OFF"}}`,
			"/cm Status 8":  `{"StatusSNS":{"ENERGY":{"Total":[0.5,0.25],"Power":[20,0]}}}`,
		}, []power.State{power.On, power.Off}, []float64{20, 0}, 20, 0.75 * 3.6e6, false, "Strip"},
		{"tasmota without a meter", plug.Tasmota, map[string]string{
			"/cm Status 0":  `{"Status":{"DeviceName":"Sonoff"},"StatusFWR":{"Version":"13.0.0"},"StatusSTS":{"POWER":"OFF"}}`,
			"/cm Status 11": `{"StatusSTS":{"POWER":"OFF"}}`,
		}, []power.State{power.Off}, []float64{-1}, -1, 0, true, "Sonoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t, plug.Config{Address: fixed(t, tc.answers), Kind: tc.kind})
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Outlets) != len(tc.states) {
				t.Fatalf("outlets %+v, want %d", r.Outlets, len(tc.states))
			}
			for i, o := range r.Outlets {
				if o.Number != i+1 || o.State != tc.states[i] {
					t.Errorf("outlet %d: %+v, want number %d %s", i, o, i+1, tc.states[i])
				}
				if w := tc.watts[i]; (w < 0) != (o.PowerWatts == nil) || (o.PowerWatts != nil && *o.PowerWatts != w) {
					t.Errorf("outlet %d draws %v, want %v", i+1, o.PowerWatts, w)
				}
			}
			if (tc.total < 0) != (r.Meter.PowerWatts == nil) || (r.Meter.PowerWatts != nil && *r.Meter.PowerWatts != tc.total) {
				t.Errorf("meter power %v, want %v", r.Meter.PowerWatts, tc.total)
			}
			if tc.noEnergy != (r.Meter.EnergyJoules == nil) || (r.Meter.EnergyJoules != nil && *r.Meter.EnergyJoules != tc.joules) {
				t.Errorf("meter energy %v J, want %v", r.Meter.EnergyJoules, tc.joules)
			}
			if tc.name == "tasmota 14, two channels" && (r.Outlets[0].Name != "a" || r.Outlets[1].Name != "b") {
				t.Errorf("names %q, %q; want FriendlyName's a, b", r.Outlets[0].Name, r.Outlets[1].Name)
			}
			if r.Info.Model != tc.wantModel {
				t.Errorf("model %q, want %q", r.Info.Model, tc.wantModel)
			}
		})
	}
}

// A plug that is neither: the error names both probes.
func TestNeitherShellyNorTasmota(t *testing.T) {
	url := fixed(t, map[string]string{"/shelly": `<html>router</html>`})
	_, _, err := plug.Detect(t.Context(), plug.Config{Address: url})
	if err == nil {
		t.Fatal("a web server that is no plug was detected as one")
	}
	for _, want := range []string{"neither a Shelly", "nor a Tasmota", "GET /shelly", "Status 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
