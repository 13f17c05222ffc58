package test

import (
	"net/http"
	"os"
	"slices"
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

	// The README lists the curl lines the demo prints: all of them, as
	// printed with the default listen address.
	waitUntil(t, 5*time.Second, "the demo prints all of its curl lines", func() bool {
		return strings.Contains(b.logs.String(), "Stop with Ctrl-C.")
	})
	var printed []string
	for _, l := range b.logs.lines("curl ") {
		printed = append(printed, strings.ReplaceAll(strings.TrimSpace(l), "http://"+addr, "http://127.0.0.1:8080"))
	}
	if listed := readmeDemoCurlLines(t); !slices.Equal(listed, printed) {
		t.Errorf("the README lists these curl lines after the demo command:\n  %s\nthe demo prints (at 127.0.0.1:8080):\n  %s",
			strings.Join(listed, "\n  "), strings.Join(printed, "\n  "))
	}
	for _, step := range []struct {
		call maasCall
		want string
	}{
		{maasCall{method: http.MethodGet, path: "/v1/machines/node1/status"}, `{"status":"running"}`},
		{maasCall{method: http.MethodPost, path: "/v1/machines/node1/off"}, `"state":"off"`},
		{maasCall{method: http.MethodGet, path: "/v1/machines/node1/status"}, `{"status":"stopped"}`},
		{maasCall{method: http.MethodPost, path: "/v1/machines/bigboy/off"}, `"state":"off"`}, // two PDUs, v1 and v3
		{maasCall{method: http.MethodPost, path: "/v1/machines/bigboy/on"}, `"state":"on"`},
		{maasCall{method: http.MethodPost, path: "/v1/machines/nuc/on"}, `"state":"on"`},     // the simulated Shelly plug, over HTTP
		{maasCall{method: http.MethodPost, path: "/v1/machines/node4/off"}, `"state":"off"`}, // the Eaton, found by vendor auto
		{maasCall{method: http.MethodGet, path: "/v1/pdus"}, `"vendor":"Eaton"`},
	} {
		step.call.auth = bearer("demo-token-loopback-only")
		code, body := b.maas(t, step.call)
		if code != 200 || !strings.Contains(body, step.want) {
			t.Errorf("%s %s: %d %s; want 200 with %s", step.call.method, step.call.path, code, body, step.want)
		}
	}
}

// readmeDemoCurlLines is the block of curl lines the README shows after
// saying the demo "prints curl lines to try".
func readmeDemoCurlLines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	const intro, open, end = "prints curl lines", "```sh\n", "\n```"
	i := strings.Index(readme, intro)
	if i < 0 {
		t.Fatalf("README.md: no %q", intro)
	}
	j := strings.Index(readme[i:], open)
	if j < 0 {
		t.Fatalf("README.md: no %q block after %q", open, intro)
	}
	block := readme[i+j+len(open):]
	k := strings.Index(block, end)
	if k < 0 {
		t.Fatalf("README.md: the block after %q does not end", intro)
	}
	return strings.Split(block[:k], "\n")
}
