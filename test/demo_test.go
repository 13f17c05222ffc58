package test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The README's first command: the demo fleet on simulated PDUs, driven with
// the token and curl lines it prints.
func TestDemo(t *testing.T) {
	addr := freePort(t)
	b := startProcess(t, "http://"+addr, "serve", "--simulate", "--listen", addr)
	waitUntil(t, 5*time.Second, "the demo prints its curl lines", func() bool {
		return strings.Contains(b.logs.String(), "curl -s -X POST -H 'Authorization: Bearer demo-token-loopback-only' http://"+addr+"/v1/machines/node1/off")
	})
	for _, step := range []struct {
		call maasCall
		want string
	}{
		{maasCall{method: http.MethodGet, path: "/v1/machines/node1/status"}, `{"status":"running"}`},
		{maasCall{method: http.MethodPost, path: "/v1/machines/node1/off"}, `"state":"off"`},
		{maasCall{method: http.MethodGet, path: "/v1/machines/node1/status"}, `{"status":"stopped"}`},
		{maasCall{method: http.MethodPost, path: "/v1/machines/bigboy/off"}, `"state":"off"`}, // two PDUs, v1 and v3
		{maasCall{method: http.MethodPost, path: "/v1/machines/bigboy/on"}, `"state":"on"`},
	} {
		step.call.auth = bearer("demo-token-loopback-only")
		code, body := b.maas(t, step.call)
		if code != 200 || !strings.Contains(body, step.want) {
			t.Errorf("%s %s: %d %s; want 200 with %s", step.call.method, step.call.path, code, body, step.want)
		}
	}
}
