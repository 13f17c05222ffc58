package daemon

import (
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/powerbridge/powerbridge/power"
)

// A Redfish Reset is answered 204 and carried out after its answer: it
// holds the generation it was asked on, so that a reload meanwhile does not
// close the PDU it is switching. The outlet is switched once, on that
// generation's PDU, which is closed only once the reset is done.
func TestRedfishResetKeepsItsGenerationAcrossAReload(t *testing.T) {
	dir := t.TempDir()
	gate := make(chan struct{})
	entered := make(chan struct{}, 16)
	var gated atomic.Bool
	gated.Store(true)
	ds := &drivers{prepare: func(d *fakeDriver) {
		if gated.Load() {
			d.gate, d.entered = gate, entered
		}
	}}
	withUser := func(delay string) string {
		return strings.Replace(testConfig(t, dir, delay), "auth:\n", "auth:\n  users: [{name: admin, password: redfish-pw-0123}]\n", 1)
	}
	r := startDaemon(t, withUser("1ms"), ds, nil)
	gated.Store(false) // the PDUs of later generations answer at once
	old := ds.of("rack1")[0]
	first := r.svc.cur.Load()
	<-entered // the first generation's poller is reading, held at the gate

	req, _ := http.NewRequest(http.MethodPost, r.base+"/redfish/v1/Systems/node1/Actions/ComputerSystem.Reset", strings.NewReader(`{"ResetType": "On"}`))
	req.SetBasicAuth("admin", "redfish-pw-0123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("Reset: %d %s, want 204", resp.StatusCode, body)
	}
	// The request is done; the reset it queued still holds the generation.
	waitFor(t, "only the reset holds the first generation", func() bool { return first.refs.Load() == 1 })

	// A reload that changes rack1: a new PDU, and the old one retired.
	r.rewrite(t, withUser("2ms"))
	if code, body := r.call(t, http.MethodPost, "/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if n := len(ds.of("rack1")); n != 2 {
		t.Fatalf("%d drivers made for rack1, want a new one on the reload", n)
	}
	if old.closed.Load() {
		t.Fatal("the retired PDU was closed while a reset still held its generation")
	}
	close(gate)
	waitFor(t, "the reset switches node1's outlet on, on the PDU of its generation", func() bool { return old.state(1) == power.On })
	waitFor(t, "the retired PDU is closed once the reset is done", old.closed.Load)
	old.mu.Lock()
	sets := old.sets
	old.mu.Unlock()
	if sets != 1 {
		t.Errorf("%d SETs at the retired PDU, want 1", sets)
	}
	if n := ds.of("rack1")[1]; n.closed.Load() || n.state(1) != power.Off {
		t.Errorf("the PDU in force: closed %v, outlet 1 %v; want open and untouched", n.closed.Load(), n.state(1))
	}
}

// pdudaemon's listener serves each request from the generation in force,
// and a request it accepted holds that generation until the face has
// carried it out: a reboot waiting out its delay across a reload ends on
// the PDU it started on, which is closed only after.
func TestPDUDaemonJobKeepsItsGenerationAcrossAReload(t *testing.T) {
	dir := t.TempDir()
	ds := &drivers{}
	withPDUDaemon := func(delay string) string {
		return testConfig(t, dir, delay) + "pdudaemon: {listen: \"127.0.0.1:0\", allow: [127.0.0.0/8]}\n"
	}
	logged := &syncLog{}
	r := startDaemon(t, withPDUDaemon("1ms"), ds, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logged, nil))
	})
	addr := regexp.MustCompile(`msg="serving pdudaemon's API" addr=(\S+)`).FindStringSubmatch(logged.String())
	if addr == nil {
		t.Fatalf("no pdudaemon listener in the log:\n%s", logged)
	}
	old := ds.of("rack1")[0]
	first := r.svc.cur.Load()

	// A reboot of outlet 1 (off already): off, 3s, on.
	resp, err := http.Get("http://" + addr[1] + "/power/control/reboot?hostname=rack1&port=1&delay=3")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "200 OK - accepted request\n" {
		t.Fatalf("reboot: %d %q, want pdudaemon's 200", resp.StatusCode, body)
	}
	waitFor(t, "only the reboot holds the first generation", func() bool { return first.refs.Load() == 1 })

	r.rewrite(t, withPDUDaemon("2ms"))
	if code, body := r.call(t, http.MethodPost, "/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if n := len(ds.of("rack1")); n != 2 {
		t.Fatalf("%d drivers made for rack1, want a new one on the reload", n)
	}
	if old.closed.Load() {
		t.Fatal("the retired PDU was closed while a pdudaemon request still held its generation")
	}
	waitFor(t, "the reboot switches outlet 1 on, on the PDU of its generation", func() bool { return old.state(1) == power.On })
	waitFor(t, "the retired PDU is closed once the reboot is done", old.closed.Load)
	if n := ds.of("rack1")[1]; n.state(1) != power.Off {
		t.Error("the PDU in force was switched")
	}
}
