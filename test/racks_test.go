package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/server"
)

// rackPDU starts a simulated AP8941 (24 metered outlets) on loopback, all
// outlets off, and returns it with its config line for a PDU named rack1;
// extra is added to the line's keys.
func rackPDU(t *testing.T, extra string) (*pdusim.Device, *pdusim.Agent, string) {
	t.Helper()
	dev, err := pdusim.New("ap8941", pdusim.Options{SwitchDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= dev.Outlets(); n++ {
		dev.SetOutletState(n, power.Off)
	}
	agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	line := fmt.Sprintf(`  - {name: rack1, address: %q, snmp: {version: "1", community: private, read_community: public, timeout: 500ms, retries: 1}, power_on_delay: 100ms, switch_timeout: 5s, poll_interval: 1s%s}
`, agent.Addr(), extra)
	return dev, agent, line
}

// onCommand is an "on" carried out at the PDU.
type onCommand struct {
	outlet int
	at     time.Time
}

// onCommands returns the "on" commands outlets 1 to n were given, in the
// order the PDU carried them out.
func onCommands(dev *pdusim.Device, n int) []onCommand {
	var out []onCommand
	for o := 1; o <= n; o++ {
		for _, c := range dev.Commands(o) {
			if c.Word == "on" {
				out = append(out, onCommand{o, c.At})
			}
		}
	}
	slices.SortFunc(out, func(a, b onCommand) int { return a.at.Compare(b.at) })
	return out
}

// Twelve machines on one PDU are powered on at once, the way MAAS does it
// for a deployment: each a POST then queries until it runs. At the PDU,
// every two power-ons are at least inrush_delay apart and each outlet got
// exactly one; every POST answers 200 and every machine ends running. An
// off asked for while the power-ons wait is carried out before the last of
// them (offs are not queued behind them), and a status query meanwhile
// is answered before the last of them too.
func TestInrushSpacesTwelveMAASPowerOns(t *testing.T) {
	const machines, inrush = 12, 700 * time.Millisecond
	dev, _, pdu := rackPDU(t, fmt.Sprintf(", inrush_delay: %s", inrush))
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "auth:\n  tokens: [{name: maas, token: %s}]\ntimeouts: {status: 5s, action: 60s}\npdus:\n%smachines:\n", maasToken, pdu)
	for i := 1; i <= machines; i++ {
		fmt.Fprintf(&cfg, "  - {name: n%02d, outlets: [\"rack1/%d\"]}\n", i, i)
	}
	// bystander is on from the start, and powered off in the middle.
	const bystander = 20
	dev.SetOutletState(bystander, power.On)
	fmt.Fprintf(&cfg, "  - {name: bystander, outlets: [\"rack1/%d\"]}\n", bystander)
	b := startBridge(t, cfg.String())
	call := func(method, path string) (int, string) {
		return b.maas(t, maasCall{method: method, path: path, auth: bearer(maasToken), within: 4 * time.Minute})
	}

	var wg sync.WaitGroup
	codes := make([]int, machines+1)
	bodies := make([]string, machines+1)
	for i := 1; i <= machines; i++ {
		wg.Go(func() {
			codes[i], bodies[i] = call(http.MethodPost, fmt.Sprintf("/v1/machines/n%02d/on", i))
		})
	}
	waitUntil(t, 60*time.Second, "the first power-on reaches the PDU", func() bool { return len(onCommands(dev, machines)) > 0 })
	offCode, offBody := call(http.MethodPost, "/v1/machines/bystander/off")
	queryCode, queryBody := call(http.MethodGet, fmt.Sprintf("/v1/machines/n%02d/status", machines))
	onsByQuery := len(onCommands(dev, machines))
	wg.Wait()

	for i := 1; i <= machines; i++ {
		if codes[i] != http.StatusOK {
			t.Errorf("POST n%02d/on: %d %s", i, codes[i], bodies[i])
		}
		code, body := call(http.MethodGet, fmt.Sprintf("/v1/machines/n%02d/status", i))
		if code != http.StatusOK || !onRegex.MatchString(body) {
			t.Errorf("n%02d status after its power-on: %d %s, want running", i, code, body)
		}
	}
	ons := onCommands(dev, machines)
	if len(ons) != machines {
		t.Fatalf("%d power-ons carried out at the PDU, want %d (one per outlet): %v", len(ons), machines, ons)
	}
	seen := map[int]bool{}
	for i, c := range ons {
		if seen[c.outlet] {
			t.Errorf("outlet %d switched on twice", c.outlet)
		}
		seen[c.outlet] = true
		if i == 0 {
			continue
		}
		gap := c.at.Sub(ons[i-1].at)
		t.Logf("outlet %2d on %s after outlet %d", c.outlet, gap.Round(time.Millisecond), ons[i-1].outlet)
		if gap < inrush {
			t.Errorf("outlet %d switched on %s after outlet %d, closer than inrush_delay %s", c.outlet, gap, ons[i-1].outlet, inrush)
		}
	}

	if offCode != http.StatusOK || !strings.Contains(offBody, `"state":"off"`) {
		t.Errorf("POST bystander/off: %d %s, want 200 and state off", offCode, offBody)
	}
	offs := dev.Commands(bystander)
	if len(offs) != 1 || offs[0].Word != "off" {
		t.Fatalf("bystander's outlet got %v, want one off", offs)
	}
	if last := ons[len(ons)-1].at; !offs[0].At.Before(last) {
		t.Errorf("the off was carried out %s after the last power-on: it waited behind them", offs[0].At.Sub(last))
	}
	if queryCode != http.StatusOK || !(onRegex.MatchString(queryBody) || offRegex.MatchString(queryBody)) {
		t.Errorf("status query while power-ons wait: %d %s", queryCode, queryBody)
	}
	if onsByQuery >= machines {
		t.Errorf("the status query was answered only after all %d power-ons: it waited behind them", machines)
	}
}

// netSNMP runs one of net-snmp's tools (snmpget, snmpset) with v1 and the
// given community against addr, with no MIBs and none of the host's or
// user's snmp.conf, and returns its standard output.
func netSNMP(t *testing.T, tool, community, addr string, args ...string) string {
	t.Helper()
	requireTool(t, tool, "snmp")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append([]string{"-v1", "-c", community, "-On", "-t", "1", "-r", "1", addr}, args...)...)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS="+dir, "SNMPCONFPATH="+dir, "SNMP_PERSISTENT_DIR="+dir, "HOME="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s %v: %v\n%s%s", tool, addr, args, err, out, stderr.String())
	}
	return string(out)
}

// rPDUOutletControl is rPDUOutletControlOutletCommand.n: 1 on, 2 off.
func rPDUOutletControl(n int) string { return fmt.Sprintf(".1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.%d", n) }

// pollsAfter waits until the bridge has read rack1 twice more after now:
// the reads that would tell of a change twice if it were told twice.
func pollsAfter(t *testing.T, b *bridge) {
	t.Helper()
	const series = `powerbridge_pdu_last_poll_success_timestamp_seconds{pdu="rack1"}`
	at := func() float64 {
		_, body := get(t, b.URL+"/metrics", "")
		v, _ := sample(body, series)
		return v
	}
	start := at()
	waitUntil(t, 60*time.Second, "rack1 is polled twice more", func() bool { return at() >= start+1.5 })
}

// An outlet switched with net-snmp's snmpset, behind powerbridge's back, is
// told once however many polls find it: one log line, one count in
// powerbridge_outlet_unexpected_changes_total, one audit line whose
// principal says it was not powerbridge. powerbridge's own switches are
// not counted.
func TestOutletSwitchedBehindPowerbridgesBack(t *testing.T) {
	dev, agent, pdu := rackPDU(t, "")
	audit := filepath.Join(t.TempDir(), "audit.log")
	b := startBridge(t, fmt.Sprintf("audit_log: %s\nauth:\n  tokens: [{name: maas, token: %s}]\ntimeouts: {status: 5s, action: 60s}\npdus:\n%smachines:\n  - {name: n01, outlets: [\"rack1/1\"]}\n", audit, maasToken, pdu))
	call := func(method, path string) (int, string) {
		return b.maas(t, maasCall{method: method, path: path, auth: bearer(maasToken), within: time.Minute})
	}
	if code, body := call(http.MethodGet, "/v1/machines/n01/status"); code != 200 || !offRegex.MatchString(body) {
		t.Fatalf("n01 status: %d %s, want stopped", code, body)
	}
	pollsAfter(t, b)

	netSNMP(t, "snmpset", "private", agent.Addr(), rPDUOutletControl(1), "i", "1")
	waitUntil(t, 10*time.Second, "outlet 1 is on at the PDU", func() bool { return dev.OutletState(1) == power.On })
	const counted = `powerbridge_outlet_unexpected_changes_total{machine="n01",outlet="1",pdu="rack1",to="on"}`
	count := func() float64 {
		_, body := get(t, b.URL+"/metrics", "")
		v, _ := sample(body, counted)
		return v
	}
	waitUntil(t, 60*time.Second, "the change is counted", func() bool { return count() > 0 })
	pollsAfter(t, b)

	// powerbridge's own off, and the polls after it, count nothing.
	if code, body := call(http.MethodPost, "/v1/machines/n01/off"); code != 200 {
		t.Fatalf("POST n01/off: %d %s", code, body)
	}
	pollsAfter(t, b)

	if got := count(); got != 1 {
		t.Errorf("%s = %v, want 1", counted, got)
	}
	if _, pdus := get(t, b.URL+"/v1/pdus", maasToken); strings.Count(pdus, `"unexpected_changes":[{"outlet":1,"from":"off","to":"on","at":"`) != 1 {
		t.Errorf("/v1/pdus does not show the one unexpected change:\n%s", pdus)
	}
	if lines := b.logs.lines("outlet changed state without powerbridge"); len(lines) != 1 {
		t.Errorf("%d log lines about the change, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	} else if !strings.Contains(lines[0], "outlet=rack1/1") || !strings.Contains(lines[0], "machine=n01") || !strings.Contains(lines[0], "to=on") {
		t.Errorf("the log line does not say which outlet and machine went on: %s", lines[0])
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var theirs []map[string]any
	for line := range strings.Lines(string(data)) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if rec["principal"] != "maas" {
			theirs = append(theirs, rec)
		}
	}
	if len(theirs) != 1 {
		t.Fatalf("%d audit lines not by maas, want 1:\n%s", len(theirs), data)
	}
	if r := theirs[0]; r["principal"] != "not-powerbridge" || r["outlet"] != "rack1/1" || r["machine"] != "n01" || r["action"] != "on" || r["state"] != "on" {
		t.Errorf("audit line %v, want principal not-powerbridge, outlet rack1/1, machine n01, action and state on", r)
	}
}

// A group is switched on and off through the API and through
// `powerbridge power --group`, with each machine's outcome in the answer:
// the members come up in the listed order, at least inrush_delay apart at
// the PDU; a machine already on is reported so; GET /v1/groups/{name}
// shows every member's state; an unknown group is a 400 and exit 4.
func TestGroupOnAndOffByAPIAndCLI(t *testing.T) {
	const inrush = 200 * time.Millisecond
	dev, _, pdu := rackPDU(t, fmt.Sprintf(", inrush_delay: %s", inrush))
	b := startBridge(t, fmt.Sprintf(`auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 5s, action: 60s}
pdus:
%smachines:
  - {name: db, outlets: ["rack1/5"]}
  - {name: web1, outlets: ["rack1/2"]}
  - {name: web2, outlets: ["rack1/3", "rack1/4"]}
groups:
  - {name: rack-a, machines: [db, web1, web2]}
`, maasToken, pdu))
	dev.SetOutletState(2, power.On) // web1 is on already
	post := func(path string) (int, server.GroupResult) {
		t.Helper()
		code, body := b.maas(t, maasCall{method: http.MethodPost, path: path, auth: bearer(maasToken), within: 4 * time.Minute})
		var r server.GroupResult
		if code == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("POST %s: %v: %s", path, err, body)
			}
		} else {
			t.Errorf("POST %s: %d %s", path, code, body)
		}
		return code, r
	}
	_, on := post("/v1/groups/rack-a/on")
	var got []string
	for _, m := range on.Machines {
		got = append(got, fmt.Sprintf("%s ok=%v changed=%v state=%s", m.Machine, m.OK, m.Result != nil && m.Result.Changed, stateOf(m.Result)))
	}
	if want := "db ok=true changed=true state=on|web1 ok=true changed=false state=on|web2 ok=true changed=true state=on"; strings.Join(got, "|") != want {
		t.Errorf("group on answered\n%s\nwant\n%s", strings.Join(got, "|"), strings.ReplaceAll(want, "|", "\n"))
	}
	ons := onCommands(dev, 5)
	var order []int
	for i, c := range ons {
		order = append(order, c.outlet)
		if i > 0 && c.at.Sub(ons[i-1].at) < inrush {
			t.Errorf("outlet %d on %s after outlet %d, closer than inrush_delay %s", c.outlet, c.at.Sub(ons[i-1].at), ons[i-1].outlet, inrush)
		}
	}
	if fmt.Sprint(order) != "[5 3 4]" {
		t.Errorf("outlets switched on in the order %v, want [5 3 4] (db, then web2's two; web1 was on)", order)
	}

	_, status := b.maas(t, maasCall{method: http.MethodGet, path: "/v1/groups/rack-a", auth: bearer(maasToken), within: time.Minute})
	var st server.GroupStatus
	if err := json.Unmarshal([]byte(status), &st); err != nil || len(st.Machines) != 3 {
		t.Fatalf("GET /v1/groups/rack-a: %v %s", err, status)
	}
	for _, m := range st.Machines {
		if m.State != power.On || m.Error != "" {
			t.Errorf("GET /v1/groups/rack-a: %s is %s %s, want on", m.Machine, m.State, m.Error)
		}
	}

	env := []string{"POWERBRIDGE_URL=" + b.URL, "POWERBRIDGE_TOKEN=" + maasToken}
	code, out, errOut := cli(t, env, "power", "off", "--group", "rack-a")
	if code != cliOK {
		t.Errorf("powerbridge power off --group rack-a: exit %d\n%s%s", code, out, errOut)
	}
	for _, m := range []string{"db", "web1", "web2"} {
		if !strings.Contains(out, m+": off (switched off in ") {
			t.Errorf("the CLI's output has no line saying %s went off:\n%s", m, out)
		}
	}
	for n := 2; n <= 5; n++ {
		if dev.OutletState(n) != power.Off {
			t.Errorf("outlet %d is %s after the group's off", n, dev.OutletState(n))
		}
		if cmds := dev.Commands(n); len(cmds) == 0 || cmds[len(cmds)-1].Word != "off" {
			t.Errorf("outlet %d's commands %v, want an off last", n, cmds)
		}
	}
	if code, out, _ := cli(t, env, "power", "status", "--group", "rack-a"); code != cliOff || strings.Count(out, ": off\n") != 3 {
		t.Errorf("powerbridge power status --group rack-a: exit %d (want %d, all off)\n%s", code, cliOff, out)
	}
	code, out, errOut = cli(t, env, "power", "on", "--group", "rack-a")
	if code != cliOK || strings.Count(out, ": on (switched on in ") != 3 {
		t.Errorf("powerbridge power on --group rack-a: exit %d, want 0 and three machines switched on\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli(t, env, "power", "on", "--group", "nope"); code != cliNoMachine || !strings.Contains(errOut, `no such group "nope"`) {
		t.Errorf("an unknown group: exit %d (want %d)\n%s", code, cliNoMachine, errOut)
	}
}

func stateOf(r *server.ActionResult) power.State {
	if r == nil {
		return power.Unknown
	}
	return r.State
}

// A power budget on metered simulated PDUs (each outlet that is on draws
// 0.35 A): on rack1 (max_amperes 4, budget_wait 60s) ten outlets on draw
// 3.5 A and big (expected_amperes 0.8) does not fit: its power-on waits,
// and goes through once small1's off brings the load to 3.15 A. On rack2
// (budget_wait 0s) the same power-on is refused at once with an error that
// gives the figures, and nothing is switched. /v1/pdus and the metrics show
// the budget.
func TestPowerBudgetWaitsOrRefuses(t *testing.T) {
	dev1, _, pdu1 := rackPDU(t, ", max_amperes: 4, budget_wait: 60s")
	dev2, _, pdu2 := rackPDU(t, ", max_amperes: 4, budget_wait: 0s")
	pdu2 = strings.Replace(pdu2, "name: rack1", "name: rack2", 1)
	for n := 1; n <= 10; n++ {
		dev1.SetOutletState(n, power.On)
		dev2.SetOutletState(n, power.On)
	}
	b := startBridge(t, fmt.Sprintf(`auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 5s, action: 90s}
pdus:
%s%smachines:
  - {name: small1, outlets: ["rack1/1"]}
  - {name: big, outlets: ["rack1/12"], expected_amperes: 0.8}
  - {name: big2, outlets: ["rack2/12"], expected_amperes: 0.8}
`, maasToken, pdu1, pdu2))
	call := func(method, path string) (int, string) {
		return b.maas(t, maasCall{method: method, path: path, auth: bearer(maasToken), within: 4 * time.Minute})
	}

	// Refused at once where budget_wait is 0s.
	code, body := call(http.MethodPost, "/v1/machines/big2/on")
	if code != http.StatusBadGateway || !strings.Contains(body, "over the PDU's power budget: the PDU draws 3.50 A") ||
		!strings.Contains(body, "outlet 12 is expected to draw 0.80 A, and max_amperes is 4") {
		t.Errorf("POST big2/on over the budget: %d %s, want 502 saying the load, the expected draw and max_amperes", code, body)
	}
	if cmds := dev2.Commands(12); len(cmds) != 0 {
		t.Errorf("rack2/12 got %v although its power-on was refused", cmds)
	}

	// Waits where budget_wait is 60s, and goes through when the load drops.
	var wg sync.WaitGroup
	var bigCode int
	var bigBody string
	wg.Go(func() { bigCode, bigBody = call(http.MethodPost, "/v1/machines/big/on") })
	waitUntil(t, 60*time.Second, "big's power-on waits for the budget", func() bool {
		return len(b.logs.lines("power-on waits for room in the power budget")) > 0
	})
	if cmds := dev1.Commands(12); len(cmds) != 0 {
		t.Fatalf("rack1/12 got %v while over the budget", cmds)
	}
	_, pdus := get(t, b.URL+"/v1/pdus", maasToken)
	if !strings.Contains(pdus, `"budget":{"max_amperes":4,"load_amperes":3.5,"reserved_amperes":0,"headroom_amperes":0.5,"expected":[{"outlet":12,"amperes":0.8}]}`) {
		t.Errorf("/v1/pdus does not show rack1's budget as it stands:\n%s", pdus)
	}
	if code, body := call(http.MethodPost, "/v1/machines/small1/off"); code != http.StatusOK {
		t.Fatalf("POST small1/off: %d %s", code, body)
	}
	wg.Wait()
	if bigCode != http.StatusOK {
		t.Fatalf("POST big/on once the load dropped: %d %s", bigCode, bigBody)
	}
	on, off := dev1.Commands(12), dev1.Commands(1)
	if len(on) != 1 || on[0].Word != "on" || len(off) != 1 || off[0].Word != "off" {
		t.Fatalf("rack1/12 got %v and rack1/1 %v, want one on and one off", on, off)
	}
	if !on[0].At.After(off[0].At) {
		t.Errorf("big was switched on %s before small1 went off: over the budget", off[0].At.Sub(on[0].At))
	}
	_, scrape := get(t, b.URL+"/metrics", "")
	if v, ok := sample(scrape, `powerbridge_pdu_max_amperes{pdu="rack1"}`); !ok || v != 4 {
		t.Errorf("powerbridge_pdu_max_amperes{pdu=\"rack1\"} = %v (found %v), want 4", v, ok)
	}
	if v, ok := sample(scrape, `powerbridge_outlet_expected_amperes{machine="big",outlet="12",pdu="rack1"}`); !ok || v != 0.8 {
		t.Errorf("powerbridge_outlet_expected_amperes of big = %v (found %v), want 0.8", v, ok)
	}
}

// rPDUOutletConfigOutletName is the writable name of outlet n in the rPDU tree.
func rPDUOutletConfigOutletName(n int) string {
	return fmt.Sprintf(".1.3.6.1.4.1.318.1.1.12.3.4.1.1.2.%d", n)
}

// With sync_outlet_names, each machine's name is written into its outlets'
// names on the PDU, as net-snmp's snmpget reads them: node1 on outlet 1,
// bigboy on outlets 3 and 4; outlet 2, which feeds no machine, keeps the
// name someone gave it on the PDU. A reload syncs again and, the names
// being in step, writes nothing.
func TestSyncOutletNamesSeenWithSnmpget(t *testing.T) {
	_, agent, pdu := simPDU(t, "ap7900")
	netSNMP(t, "snmpset", "private", agent.Addr(), rPDUOutletConfigOutletName(2), "s", "lab-switch")
	b := startBridge(t, maasConfig(pdu+"    sync_outlet_names: true\n"))
	name := func(n int) string {
		out := netSNMP(t, "snmpget", "public", agent.Addr(), "-Oqv", rPDUOutletConfigOutletName(n))
		return strings.Trim(strings.TrimSpace(out), `"`)
	}
	waitUntil(t, 60*time.Second, "the names are synced", func() bool { return len(b.logs.lines("outlet names synced")) > 0 })
	for n, want := range map[int]string{1: "node1", 2: "lab-switch", 3: "bigboy", 4: "bigboy"} {
		if got := name(n); got != want {
			t.Errorf("snmpget reads outlet %d's name %q, want %q", n, got, want)
		}
	}
	if synced := b.logs.lines("outlet names synced"); !strings.Contains(synced[0], "written=3") {
		t.Errorf("the first sync: %s, want written=3", synced[0])
	}

	code, body := b.maas(t, maasCall{method: http.MethodPost, path: "/-/reload", auth: bearer(maasToken), within: time.Minute})
	if code != http.StatusOK {
		t.Fatalf("POST /-/reload: %d %s", code, body)
	}
	waitUntil(t, 60*time.Second, "the names are synced again after the reload", func() bool { return len(b.logs.lines("outlet names synced")) > 1 })
	if synced := b.logs.lines("outlet names synced"); !strings.Contains(synced[1], "written=0") {
		t.Errorf("the sync after the reload: %s, want written=0 (the names are in step)", synced[1])
	}
	if got := name(2); got != "lab-switch" {
		t.Errorf("outlet 2, which feeds no machine, is named %q after the reload, want lab-switch", got)
	}
}

// With restore_after_pdu_restart, a PDU whose card restarts (SNMPv3: a new
// engine boot) and comes back with its outlets at its own defaults gets them
// put back as they were, one SET each, through the inrush guard; the
// changes are told as unexpected, and the switches back are audited under
// their own principal.
func TestRestoreAfterPDURestart(t *testing.T) {
	dev, err := pdusim.New("ap8941", pdusim.Options{SwitchDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= dev.Outlets(); n++ {
		dev.SetOutletState(n, power.Off)
	}
	dev.SetOutletState(1, power.On)
	user := pdusim.User{Name: "racks", AuthProtocol: "SHA", AuthPassphrase: "racks-auth-pass", PrivProtocol: "AES", PrivPassphrase: "racks-priv-pass"}
	agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Users: []pdusim.User{user}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	audit := filepath.Join(t.TempDir(), "audit.log")
	b := startBridge(t, fmt.Sprintf(`audit_log: %s
auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 5s, action: 60s}
pdus:
  - name: rack1
    address: %q
    snmp: {version: "3", user: racks, auth_protocol: SHA, auth_passphrase: racks-auth-pass, priv_protocol: AES, priv_passphrase: racks-priv-pass, timeout: 500ms}
    poll_interval: 1s
    inrush_delay: 200ms
    restore_after_pdu_restart: true
machines:
  - {name: node1, outlets: ["rack1/1"]}
  - {name: node2, outlets: ["rack1/2"]}
`, audit, maasToken, agent.Addr()))
	pollsAfter(t, b)

	// The card goes silent while it reboots; once a poll has failed, no
	// read from before is under way, and it comes back restarted with its
	// outlets at its defaults.
	agent.SetSilent(true)
	waitUntil(t, 60*time.Second, "a poll fails while the card reboots", func() bool { return len(b.logs.lines("PDU cannot be read")) > 0 })
	dev.SetOutletState(1, power.Off)
	dev.SetOutletState(2, power.On)
	agent.Restart()
	agent.SetSilent(false)
	waitUntil(t, 60*time.Second, "the outlets are put back", func() bool {
		return dev.OutletState(1) == power.On && dev.OutletState(2) == power.Off
	})
	pollsAfter(t, b)
	c1, c2 := dev.Commands(1), dev.Commands(2)
	if len(c1) != 1 || c1[0].Word != "on" || len(c2) != 1 || c2[0].Word != "off" {
		t.Errorf("commands %v to outlet 1 and %v to outlet 2, want one on and one off", c1, c2)
	}
	if n := len(b.logs.lines("PDU restarted")); n == 0 {
		t.Error("the restart is not in the log")
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for line := range strings.Lines(string(data)) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		by[fmt.Sprint(rec["principal"])]++
	}
	if by["not-powerbridge"] != 2 || by["restore-after-pdu-restart"] != 2 {
		t.Errorf("audit lines by principal %v, want 2 not-powerbridge (the restart's changes) and 2 restore-after-pdu-restart\n%s", by, data)
	}
}
