package test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// The inrush guard holds across every face at once: machines powered on by
// MAAS's route, a group, outlets by the outlet route and by pdudaemon's
// API, all at the same time, are switched on at least inrush_delay apart
// at the PDU, and every one ends on.
func TestInrushAcrossFaces(t *testing.T) {
	const inrush = 300 * time.Millisecond
	dev, _, pdu := rackPDU(t, fmt.Sprintf(", inrush_delay: %s", inrush))
	listen := freePort(t)
	b := startBridge(t, fmt.Sprintf(`auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 5s, action: 60s}
pdudaemon: {listen: %q, allow: [127.0.0.1/32]}
pdus:
%smachines:
  - {name: m1, outlets: ["rack1/1"]}
  - {name: m2, outlets: ["rack1/2"]}
  - {name: g1, outlets: ["rack1/3"]}
  - {name: g2, outlets: ["rack1/4"]}
groups:
  - {name: pair, machines: [g1, g2]}
`, maasToken, listen, pdu))
	post := func(path string) {
		code, body := b.maas(t, maasCall{method: http.MethodPost, path: path, auth: bearer(maasToken), within: 4 * time.Minute})
		if code != http.StatusOK {
			t.Errorf("POST %s: %d %s", path, code, body)
		}
	}
	pdudaemon := func(port int) {
		resp, err := http.Get(fmt.Sprintf("http://%s/power/control/on?hostname=rack1&port=%d", listen, port))
		if err != nil {
			t.Errorf("pdudaemon on port %d: %v", port, err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("pdudaemon on port %d: %d %s", port, resp.StatusCode, body)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { post("/v1/machines/m1/on") })
	wg.Go(func() { post("/v1/machines/m2/on") })
	wg.Go(func() { post("/v1/groups/pair/on") })
	wg.Go(func() { post("/v1/pdus/rack1/outlets/5/on") })
	wg.Go(func() { post("/v1/pdus/rack1/outlets/6/on") })
	wg.Go(func() { pdudaemon(7) })
	wg.Go(func() { pdudaemon(8) })
	wg.Wait()
	waitUntil(t, 60*time.Second, "all eight outlets are on", func() bool {
		for n := 1; n <= 8; n++ {
			if dev.OutletState(n) != power.On {
				return false
			}
		}
		return true
	})
	ons := onCommands(dev, 8)
	if len(ons) != 8 {
		t.Fatalf("%d power-ons at the PDU, want 8: %v", len(ons), ons)
	}
	for i := 1; i < len(ons); i++ {
		if gap := ons[i].at.Sub(ons[i-1].at); gap < inrush {
			t.Errorf("outlet %d switched on %s after outlet %d, closer than inrush_delay %s", ons[i].outlet, gap, ons[i-1].outlet, inrush)
		}
	}
}

// A power-on whose turn cannot come within the action timeout is answered
// at once with an error that says so, not held until the deadline, and its
// outlet is not switched; those that fit are switched, inrush_delay apart.
func TestInrushQueueTooLongIsAnsweredAtOnce(t *testing.T) {
	const machines, inrush = 8, 2 * time.Second
	dev, _, pdu := rackPDU(t, fmt.Sprintf(", inrush_delay: %s", inrush))
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "auth:\n  tokens: [{name: maas, token: %s}]\ntimeouts: {status: 5s, action: 6s}\npdus:\n%smachines:\n", maasToken, pdu)
	for i := 1; i <= machines; i++ {
		fmt.Fprintf(&cfg, "  - {name: n%d, outlets: [\"rack1/%d\"]}\n", i, i)
	}
	b := startBridge(t, cfg.String())
	codes := make([]int, machines+1)
	bodies := make([]string, machines+1)
	var wg sync.WaitGroup
	for i := 1; i <= machines; i++ {
		wg.Go(func() {
			codes[i], bodies[i] = b.maas(t, maasCall{method: http.MethodPost, path: fmt.Sprintf("/v1/machines/n%d/on", i), auth: bearer(maasToken), within: 4 * time.Minute})
		})
	}
	wg.Wait()
	ok, refused := 0, 0
	for i := 1; i <= machines; i++ {
		switch {
		case codes[i] == http.StatusOK:
			ok++
			if dev.OutletState(i) != power.On {
				t.Errorf("n%d answered 200 but its outlet is %s", i, dev.OutletState(i))
			}
		case strings.Contains(bodies[i], "too many power-ons queued at the PDU") && strings.Contains(bodies[i], "inrush_delay"):
			refused++
			if cmds := dev.Commands(i); len(cmds) != 0 {
				t.Errorf("n%d was refused but its outlet got %v", i, cmds)
			}
		default:
			t.Errorf("POST n%d/on: %d %s, want 200 or the queue's refusal", i, codes[i], bodies[i])
		}
	}
	t.Logf("%d switched on, %d refused", ok, refused)
	if ok == 0 || refused == 0 {
		t.Errorf("%d switched on and %d refused, want some of each: 8 power-ons %s apart do not fit in 6s", ok, refused, inrush)
	}
	ons := onCommands(dev, machines)
	for i := 1; i < len(ons); i++ {
		if gap := ons[i].at.Sub(ons[i-1].at); gap < inrush {
			t.Errorf("outlet %d switched on %s after outlet %d, closer than inrush_delay %s", ons[i].outlet, gap, ons[i-1].outlet, inrush)
		}
	}
}
