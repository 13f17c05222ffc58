package bench

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRedfishSystem is GET /redfish/v1/Systems/{id} as MAAS sends it
// (Basic auth), the server's middleware and the Redfish face included,
// answering from a warm cache without the network, against a bare handler
// writing a body of the same size with the same headers: what the Redfish
// face adds per query, as BenchmarkStatusHandler measures the status route.
func BenchmarkRedfishSystem(b *testing.B) {
	br := newBridge(b, bridgeOptions{sims: SimConfig{Count: 1}, cacheTTL: time.Hour, redfish: true})
	url := "http://bench/redfish/v1/Systems/" + MachineName("pdu1", 3)
	first := httptest.NewRecorder()
	br.handler.ServeHTTP(first, systemRequest(b, url))
	if first.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", url, first.Code, first.Body)
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"impl=bare", bareJSON(first.Body.Bytes())}, {"impl=powerbridge", br.handler}} {
		b.Run(c.name+"/procs=1", func(b *testing.B) {
			req := systemRequest(b, url)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, req)
			}
		})
		b.Run(c.name+"/procs=all", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := systemRequest(b, url)
				w := &discard{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					c.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

// bareJSON answers body with the headers of a Redfish answer, and does
// nothing else.
func bareJSON(body []byte) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", length)
		h.Set("OData-Version", "4.0")
		h.Set("ETag", `W/"bench"`)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

// systemRequest is a system's GET as MAAS's redfish driver sends it.
func systemRequest(tb testing.TB, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth(redfishUser, redfishPass)
	req.Header.Set("User-Agent", "MAAS")
	req.Header.Set("Content-Type", "application/json")
	return req
}
