package pdusim

// Tests of the fault knobs (faults.go) and of the SNMPv3 time window they
// rely on, driven with gosnmp and net-snmp as real clients.

import (
	"fmt"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/powerbridge/powerbridge/power"
)

// switchOff is a SET of an outlet's sPDU control to off.
func switchOff(n int) []gosnmp.SnmpPDU {
	return []gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(uint32(n)).String(), Type: gosnmp.Integer, Value: 2}}
}

// quick is a client that gives up after 200ms and never retries, so that a
// lost datagram shows as one error.
func quick(g *gosnmp.GoSNMP) { g.Timeout, g.Retries = 200*time.Millisecond, 0 }

func TestDropEveryNthRequest(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
	a := listen(t, d, testAccess)
	a.DropEveryNthRequest(3)
	g := client(t, a.Addr(), quick)
	var lost []int
	for i := 1; i <= 6; i++ {
		if _, err := g.Get([]string{sysUpTime.String()}); err != nil {
			lost = append(lost, i)
		}
	}
	if fmt.Sprint(lost) != "[3 6]" {
		t.Errorf("requests lost: %v, want [3 6]", lost)
	}

	// A lost SET is not carried out either.
	a.DropEveryNthRequest(1)
	if _, err := g.Set(switchOff(1)); err == nil {
		t.Error("a dropped SET was answered")
	}
	if d.OutletState(1) != power.On || d.Switches(1) != 0 {
		t.Errorf("a dropped SET switched the outlet: %v after %d switches", d.OutletState(1), d.Switches(1))
	}
	a.DropEveryNthRequest(0)
	if _, err := g.Get([]string{sysUpTime.String()}); err != nil {
		t.Errorf("with the knob off: %v", err)
	}
	if s := a.Stats(); s.Requests != 8 || s.Dropped != 3 {
		t.Errorf("Stats = %+v, want 8 requests (lost ones included), 3 dropped", s)
	}
}

func TestDropEveryNthAnswerAfterSet(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
	a := listen(t, d, testAccess)
	a.DropEveryNthAnswerAfterSet(2)
	g := client(t, a.Addr(), quick)
	readOnlyClient := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { quick(g); g.Community = readCommunity })

	// A refused SET changes nothing and is answered: it does not count.
	res, err := readOnlyClient.Set(switchOff(1))
	if err != nil || res.Error != gosnmp.NoAccess {
		t.Fatalf("SET with the read community: %v, %v; want noAccess", err, res)
	}
	for n := 1; n <= 4; n++ {
		res, err := g.Set(switchOff(n))
		lost := n%2 == 0
		switch {
		case lost && err == nil:
			t.Errorf("SET %d: answered %v, want its answer lost", n, res.Error)
		case !lost && (err != nil || res.Error != gosnmp.NoError):
			t.Errorf("SET %d: %v, %v; want noError", n, err, res)
		}
		// Answered or not, the switch happened, once.
		if d.OutletState(n) != power.Off || d.Switches(n) != 1 {
			t.Errorf("outlet %d: %v after %d switches, want off after 1", n, d.OutletState(n), d.Switches(n))
		}
	}
	// GETs are never lost by this knob.
	for range 4 {
		if _, err := g.Get([]string{sysUpTime.String()}); err != nil {
			t.Fatalf("GET: %v", err)
		}
	}
	if s := a.Stats(); s.Sets != 5 || s.Dropped != 2 {
		t.Errorf("Stats = %+v, want 5 SETs, 2 answers dropped", s)
	}
}

func TestGenErrOnSet(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
	a := listen(t, d, testAccess)
	a.GenErrOnSet(true)
	for _, c := range []struct {
		name    string
		version gosnmp.SnmpVersion
	}{{"v1", gosnmp.Version1}, {"v2c", gosnmp.Version2c}} {
		t.Run(c.name, func(t *testing.T) {
			g := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { quick(g); g.Version = c.version })
			n := int(c.version) + 1 // outlet 1 for v1, 2 for v2c
			res, err := g.Set(switchOff(n))
			if err != nil || res.Error != gosnmp.GenErr || res.ErrorIndex != 1 {
				t.Fatalf("SET: %v, %+v; want genErr at index 1", err, res)
			}
			if d.OutletState(n) != power.Off || d.Switches(n) != 1 {
				t.Errorf("outlet %d: %v after %d switches; the SET answered genErr must still have switched it once", n, d.OutletState(n), d.Switches(n))
			}
			// A SET refused for a reason of its own keeps that reason.
			res, err = g.Set([]gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(1).String(), Type: gosnmp.Integer, Value: 42}})
			if err != nil || res.Error == gosnmp.NoError || res.Error == gosnmp.GenErr {
				t.Errorf("a bad value: %v, %v; want its own error status", err, res.Error)
			}
		})
	}
	a.GenErrOnSet(false)
	g := client(t, a.Addr(), quick)
	if res, err := g.Set(switchOff(3)); err != nil || res.Error != gosnmp.NoError {
		t.Errorf("with the knob off: %v, %v", err, res)
	}
}

// TestRestart reboots the card under a v3 client: the outlets keep their
// state, uptime starts again, and the client learns the new boots from an
// authenticated notInTimeWindow Report, then carries on.
func TestRestart(t *testing.T) {
	d, clock := clocked(t, "ap7900", Options{SwitchDelay: -1})
	clock.advance(time.Hour) // the card has been up an hour
	a := listen(t, d, testAccess)
	user := testUsers[0] // SHA/AES
	g := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { v3(user)(g); quick(g) })
	if _, err := g.Set(switchOff(2)); err != nil {
		t.Fatal(err)
	}
	uptime := func() uint32 {
		t.Helper()
		res, err := g.Get([]string{sysUpTime.String()})
		if err != nil {
			t.Fatalf("GET sysUpTime: %v", err)
		}
		return res.Variables[0].Value.(uint32)
	}
	before := uptime()
	if a.EngineBoots() != 1 {
		t.Fatalf("EngineBoots = %d before a restart, want 1", a.EngineBoots())
	}

	a.Restart()
	if a.EngineBoots() != 2 {
		t.Errorf("EngineBoots = %d after a restart, want 2", a.EngineBoots())
	}
	after := uptime() // answered after the client re-learnt the engine's clock
	if before < 360000 || after > 100 {
		t.Errorf("sysUpTime %d before the restart, %d after: want it started again from 0", before, after)
	}
	if got := a.usm.notInTimeWindows.Load(); got != 1 {
		t.Errorf("%d notInTimeWindow reports, want 1: the client's first request after the restart", got)
	}
	sp := g.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if sp.AuthoritativeEngineBoots != 2 {
		t.Errorf("the client holds boots %d, want 2 from the Report", sp.AuthoritativeEngineBoots)
	}
	if d.OutletState(1) != power.On || d.OutletState(2) != power.Off || d.Switches(2) != 1 {
		t.Errorf("outlets after the restart: 1 %v, 2 %v (%d switches); a card reboot must not touch them", d.OutletState(1), d.OutletState(2), d.Switches(2))
	}

	// net-snmp, as an independent client, starts fresh and gets in.
	if out := snmp(t, "snmpget", v3SHAAES, a.Addr(), sPDUOutletCtl.child(2).String()); out.code != 0 {
		t.Errorf("snmpget after the restart: %v", out)
	}

	// v1 and v2c have no engine: a restart only resets the uptime.
	v1 := newDevice(t, "ap7900", Options{})
	va := listen(t, v1, Access{Community: readCommunity})
	va.Restart()
	if va.EngineBoots() != 0 {
		t.Errorf("a v1 agent has EngineBoots %d, want 0", va.EngineBoots())
	}
}

// TestTimeWindow checks RFC 3414's time window with a client whose idea of
// the engine's time has drifted: more than 150 s off gets the Report, and
// the client recovers; within the window it is simply answered.
func TestTimeWindow(t *testing.T) {
	d := newDevice(t, "ap7900", Options{})
	a := listen(t, d, testAccess)
	g := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { v3(testUsers[3])(g); quick(g) }) // SHA, no privacy
	get := func() error {
		_, err := g.Get([]string{sysUpTime.String()})
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	sp := g.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	for _, tc := range []struct {
		shift   uint32
		reports uint32
	}{{100, 0}, {1000, 1}} {
		sp.AuthoritativeEngineTime += tc.shift
		if err := get(); err != nil {
			t.Errorf("engine time %ds ahead: %v", tc.shift, err)
		}
		if got := a.usm.notInTimeWindows.Load(); got != tc.reports {
			t.Errorf("engine time %ds ahead: %d notInTimeWindow reports in all, want %d", tc.shift, got, tc.reports)
		}
	}
}

func TestDropEveryNthSet(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
	a := listen(t, d, testAccess)
	a.DropEveryNthSet(2)
	g := client(t, a.Addr(), quick)
	var lost []int
	for i := 1; i <= 4; i++ {
		if _, err := g.Get([]string{sysUpTime.String()}); err != nil {
			t.Errorf("GET %d lost: only SETs are", i)
		}
		if _, err := g.Set(switchOff(i)); err != nil {
			lost = append(lost, i)
		}
	}
	if fmt.Sprint(lost) != "[2 4]" {
		t.Errorf("SETs lost: %v, want [2 4]", lost)
	}
	for n, want := range map[int]int{1: 1, 2: 0, 3: 1, 4: 0} {
		if got := len(d.Commands(n)); got != want {
			t.Errorf("outlet %d: %d commands carried out, want %d: a lost SET is not carried out", n, got, want)
		}
	}
}

func TestDropEveryNthAnswer(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
	a := listen(t, d, testAccess)
	a.DropEveryNthAnswer(2)
	g := client(t, a.Addr(), quick)
	// The SET whose answer is lost is carried out all the same.
	if _, err := g.Set(switchOff(1)); err != nil {
		t.Fatalf("first SET: %v", err)
	}
	if _, err := g.Set(switchOff(2)); err == nil {
		t.Error("the 2nd answer was not lost")
	}
	if d.OutletState(2) != power.Off || len(d.Commands(2)) != 1 {
		t.Errorf("outlet 2 after a SET whose answer was lost: %v, %d commands; want off, 1", d.OutletState(2), len(d.Commands(2)))
	}
	a.DropEveryNthAnswer(0)

	// An SNMPv3 engine discovery's Report is an answer like any other.
	u := testAccess.Users[0]
	a.DropEveryNthAnswer(1)
	if _, err := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { v3(u)(g); quick(g) }).Get([]string{sysUpTime.String()}); err == nil {
		t.Error("an SNMPv3 GET got through with every answer lost")
	}
	if s := a.Stats(); s.Requests != 2 {
		t.Errorf("Stats = %+v: the discovery counted as a request, or the GET was sent", s)
	}
}

// TestOneAtATime: a card that serves one request at a time does not
// touch a second request while it is still busy with the first, however
// long that takes; an agent serving each datagram at once does.
func TestOneAtATime(t *testing.T) {
	for _, serial := range []bool{true, false} {
		t.Run(fmt.Sprint("one at a time: ", serial), func(t *testing.T) {
			d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
			a := listen(t, d, testAccess)
			a.SetOneAtATime(serial)
			a.SetLatency(time.Hour) // the card is busy with each request for good
			first, second := client(t, a.Addr(), quick), client(t, a.Addr(), quick)
			_, _ = first.Set(switchOff(1))
			eventually(t, 5*time.Second, func() (bool, string) {
				return len(d.Commands(1)) == 1, "the first SET was not carried out"
			})
			_, _ = second.Set(switchOff(2))
			eventually(t, 5*time.Second, func() (bool, string) {
				return a.Stats().MaxInFlight == 2, "the second SET did not arrive"
			})
			want := 0
			if !serial {
				want = 1
				eventually(t, 5*time.Second, func() (bool, string) {
					return len(d.Commands(2)) == 1, "served at once, the second SET was not carried out"
				})
			}
			if got := len(d.Commands(2)); got != want {
				t.Errorf("outlet 2: %d commands while the card was busy with the first request, want %d", got, want)
			}
			if s := a.Stats(); s.MaxInFlightOneClient != 2 {
				t.Errorf("Stats = %+v, want 2 in flight from one address", s)
			}
		})
	}
}
