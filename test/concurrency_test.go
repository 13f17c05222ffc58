package test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/test/sshd"
)

// 50 machines on 3 PDUs (SNMP v1, v2c and v3) are powered on at once while
// MAAS-like pollers query every machine, then all are powered off, five
// at a time, each shut down over ssh by a real sshd first. Every outlet ends in the
// state asked for, switched once each way; every shutdown was graceful;
// each PDU never had two requests in flight; every query answered 200 with
// one state word within its bound; and the bridge has no more goroutines
// at the end than before it started work.
//
// ssh logins by a bridge built with -race, on two cores other work is
// using too, take far longer than on a quiet machine: the machines are
// powered off five at a time, and the timeouts fit that load (connect_timeout
// 45 s, where 10 s is the default). A failure prints what explains it for
// each machine that went wrong (MAAS's answers, the bridge's lines about it,
// the end of its sshd's log), not the thousands of lines every sshd and the
// bridge logged.
func TestFiftyMachinesOnThreePDUs(t *testing.T) {
	// Mostly waiting (the inrush guard spaces each PDU's power-ons), so it
	// runs beside the other parallel tests once the serial ones are done.
	t.Parallel()
	const machines, racks = 50, 3
	const statusBound = 5 * time.Second
	type rack struct {
		dev   *pdusim.Device
		agent *pdusim.Agent
	}
	v3 := pdusim.User{Name: "fleet", AuthProtocol: "SHA", AuthPassphrase: "fleet-auth-pass", PrivProtocol: "AES", PrivPassphrase: "fleet-priv-pass"}
	snmp := []string{
		`{version: "1", community: private, read_community: public}`,
		`{version: "2c", community: private, read_community: public}`,
		`{version: "3", user: fleet, auth_protocol: SHA, auth_passphrase: fleet-auth-pass, priv_protocol: AES, priv_passphrase: fleet-priv-pass}`,
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "auth:\n  tokens: [{name: maas, token: %s}]\ntimeouts: {status: %s, action: 120s}\npdus:\n", maasToken, statusBound)
	var rs []rack
	for i := range racks {
		dev, err := pdusim.New("ap8941", pdusim.Options{SwitchDelay: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= dev.Outlets(); n++ {
			dev.SetOutletState(n, power.Off)
		}
		agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private", Users: []pdusim.User{v3}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { agent.Close() })
		rs = append(rs, rack{dev, agent})
		fmt.Fprintf(&cfg, "  - {name: rack%d, address: %q, snmp: %s, power_on_delay: 100ms, switch_timeout: 10s, poll_interval: 2s}\n", i+1, agent.Addr(), snmp[i])
	}

	// Machine i is outlet i/3+1 of rack i%3+1, its OS an sshd of its own.
	name := func(i int) string { return fmt.Sprintf("m%02d", i) }
	servers := make([]*sshd.Server, machines)
	cfg.WriteString("machines:\n")
	for i := range machines {
		servers[i] = sshd.Start(t, sshd.Options{Quiet: true})
		host, port, _ := net.SplitHostPort(servers[i].Addr)
		fmt.Fprintf(&cfg, `  - name: %s
    outlets: ["rack%d/%d"]
    shutdown:
      ssh: {host: %q, port: %s, user: %q, key_file: %q, connect_timeout: 45s}
      timeout: 90s
    liveness: {failures: 2, interval: 200ms, settle: 300ms, poll_interval: 2s}
`, name(i), i%racks+1, i/racks+1, host, port, servers[i].User, servers[i].ClientKeyFile)
	}
	b := startBridge(t, cfg.String())
	b.Quiet = true

	// What went wrong, by machine, printed at the end with the lines of the
	// bridge's and the machine's sshd's logs that explain it.
	var failMu sync.Mutex
	failed := map[int][]string{}
	fail := func(i int, format string, args ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		failed[i] = append(failed[i], fmt.Sprintf(format, args...))
	}
	defer func() {
		failMu.Lock()
		defer failMu.Unlock()
		if len(failed) == 0 {
			return
		}
		var which []int
		for i := range failed {
			which = append(which, i)
		}
		slices.Sort(which)
		const shown, lines = 5, 8
		for _, i := range which[:min(shown, len(which))] {
			mine := b.logs.lines("machine=" + name(i))
			t.Errorf("%s (rack%d/%d):\n  %s\nthe bridge's last lines about it:\n%s\nits sshd's last lines (liveness probes left out):\n%s",
				name(i), i%racks+1, i/racks+1, strings.Join(failed[i], "\n  "),
				lastLines(strings.Join(mine, "\n"), lines), lastLines(withoutProbes(servers[i].SSHDLog()), lines))
		}
		if len(which) > shown {
			t.Errorf("and %d more machines went wrong: %v", len(which)-shown, which[shown:])
		}
	}()
	scrape := func() string {
		t.Helper()
		code, body := get(t, b.URL+"/metrics", "")
		if code != 200 {
			t.Fatalf("GET /metrics: %d", code)
		}
		return body
	}
	goroutines := func() float64 {
		t.Helper()
		v, ok := sample(scrape(), "go_goroutines")
		if !ok {
			t.Fatal("no go_goroutines in the scrape")
		}
		return v
	}

	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	maas := newMAASDriver(b.URL, maasToken, 0.05)
	// Before the work the bridge may still be reading each PDU for the
	// first time: a query may time out then, so each is asked until it
	// reads off.
	for i := range machines {
		var s string
		var err error
		waitUntil(t, time.Minute, name(i)+" reads off before the test", func() bool {
			s, err = maas.query(ctx, name(i))
			return err == nil && s == "off"
		})
	}
	before := goroutines()

	// MAAS's pollers: every machine, over and over, until the test is done.
	stop := make(chan struct{})
	var polls sync.WaitGroup
	var pollMu sync.Mutex
	var pollBad []string
	pollCount, pollSlowest := 0, time.Duration(0)
	for p := range 4 {
		polls.Go(func() {
			// Each poller asks 50 times a second: far more than MAAS's
			// rack controllers do, without starving the bridge's ssh.
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for i := p; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				// The bridge answers 504 once its own status deadline
				// (statusBound) passes: a 200 is an answer within it, however
				// long the client, on a loaded machine, took to read it.
				start := time.Now()
				code, body, err := maas.call(ctx, http.MethodGet, "/v1/machines/"+name(i%machines)+"/status")
				took := time.Since(start)
				pollMu.Lock()
				pollCount++
				pollSlowest = max(pollSlowest, took)
				if err != nil || code != 200 || (body != running && body != stopped) {
					pollBad = append(pollBad, fmt.Sprintf("%s: %d %q %v after %s", name(i%machines), code, body, err, took))
				}
				pollMu.Unlock()
			}
		})
	}

	// all powers every machine on or off, with at most parallel of MAAS's
	// power drivers at work at once.
	all := func(want string, parallel int) {
		t.Helper()
		var wg sync.WaitGroup
		slots := make(chan struct{}, parallel)
		start := time.Now()
		for i := range machines {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				d := newMAASDriver(b.URL, maasToken, 0.05)
				if _, err := d.power(ctx, name(i), want); err != nil {
					fail(i, "MAAS powering it %s: %v; calls: %s", want, err, d.summary())
				}
			})
		}
		wg.Wait()
		t.Logf("%d machines %s in %s", machines, want, time.Since(start).Round(time.Millisecond))
	}
	all("on", machines)
	// Each off logs in over ssh first; 50 logins by a bridge built with
	// -race on two busy cores do not all fit in the 30 s a login and its
	// command may take (a third of shutdown.timeout, 30 s at most), so five
	// run at a time: still more than one machine per PDU at once.
	all("off", 5)
	close(stop)
	polls.Wait()

	for i := range machines {
		r, n := rs[i%racks], i/racks+1
		if st, sw := r.dev.OutletState(n), r.dev.Switches(n); st != power.Off || sw != 2 {
			fail(i, "%v after %d switches, want off after 2 (on, off)", st, sw)
		}
		if cmds := servers[i].Commands(t); len(cmds) != 1 {
			fail(i, "%d shutdown commands, want 1", len(cmds))
		}
	}
	for i, r := range rs {
		s := r.agent.Stats()
		if s.MaxInFlight != 1 {
			t.Errorf("rack%d had %d requests in flight at once, want 1", i+1, s.MaxInFlight)
		}
		t.Logf("rack%d: %+v", i+1, s)
	}
	pollMu.Lock()
	t.Logf("%d status polls, the slowest answered in %s", pollCount, pollSlowest.Round(time.Millisecond))
	if len(pollBad) > 0 {
		t.Errorf("%d of %d polls went wrong, e.g. %s", len(pollBad), pollCount, pollBad[0])
	}
	pollMu.Unlock()

	body := scrape()
	graceful := 0.0
	for i := range machines {
		v, _ := sample(body, fmt.Sprintf(`powerbridge_graceful_shutdowns_total{machine=%q}`, name(i)))
		if v != 1 {
			fail(i, "%v graceful shutdowns, want 1", v)
		}
		graceful += v
	}
	if graceful != machines {
		t.Errorf("%v graceful shutdowns, want %d", graceful, machines)
	}

	var after float64
	waitUntil(t, time.Minute, "the bridge's goroutines are back to what they were before the work", func() bool {
		after = goroutines()
		return after <= before
	})
	t.Logf("goroutines: %v before, %v after", before, after)
}

// lastLines is the last n lines of s, indented, for a failure message.
func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return "    " + strings.Join(ls, "\n    ")
}

// withoutProbes drops from an sshd log what liveness probes leave (a
// connection that closes before the ssh banner), which would otherwise fill
// the end of the log: the kex_exchange_identification lines, and the
// connect and close lines of every client port that logged nothing else.
// sshd's processes write the lines of concurrent connections interleaved.
func withoutProbes(log string) string {
	portRE := regexp.MustCompile(` port (\d+)`)
	probeish := func(l string) bool {
		for _, p := range []string{"Connection from ", "Connection closed by ", "Connection reset by "} {
			if strings.HasPrefix(l, p) {
				return true
			}
		}
		return false
	}
	lines := strings.Split(log, "\n")
	port := make([]string, len(lines))
	other := map[string]bool{} // client ports with a line that is not a probe's
	for i, l := range lines {
		if m := portRE.FindStringSubmatch(l); m != nil {
			port[i] = m[1]
		}
		if port[i] != "" && !probeish(l) && !strings.HasPrefix(l, "kex_exchange_identification:") {
			other[port[i]] = true
		}
	}
	var out []string
	for i, l := range lines {
		if strings.HasPrefix(l, "kex_exchange_identification:") || (probeish(l) && !other[port[i]]) {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
