package power

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func testPDU(t *testing.T, name string, d *fakeDriver, mod func(*PDUConfig)) *PDU {
	t.Helper()
	cfg := PDUConfig{Name: name, Driver: d, SwitchTimeout: 2 * time.Second, ReadTimeout: time.Second, CacheTTL: time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	p := NewPDU(cfg)
	p.wait = time.Millisecond
	t.Cleanup(func() { p.Close() })
	return p
}

func testFleet(t *testing.T, pdus []*PDU, machines ...Machine) *Fleet {
	t.Helper()
	f, err := NewFleet(pdus, machines, FleetConfig{ActionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMachineState(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b State
		want State
	}{
		{"both off", Off, Off, Off},
		{"one on", On, Off, On},
		{"both on", On, On, On},
		{"one unknown, one off", Unknown, Off, Unknown},
		{"one unknown, one on", Unknown, On, On},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFake(4)
			d.set(1, tc.a)
			d.set(2, tc.b)
			f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}, {"r", 2}}})
			st, err := f.Status(t.Context(), "m")
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tc.want {
				t.Errorf("state = %s, want %s", st.State, tc.want)
			}
		})
	}
}

func TestStatusOfUnreadablePDUIsAnError(t *testing.T) {
	d := newFake(2)
	d.readErr = errors.New("request timeout")
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}})
	_, err := f.Status(t.Context(), "m")
	if err == nil || !strings.Contains(err.Error(), "request timeout") {
		t.Fatalf("err = %v, want the PDU's error", err)
	}
}

func TestUnknownMachine(t *testing.T) {
	f := testFleet(t, nil)
	if _, err := f.Status(t.Context(), "nope"); !errors.Is(err, ErrUnknownMachine) {
		t.Errorf("Status: err = %v, want ErrUnknownMachine", err)
	}
	if _, err := f.On(t.Context(), "nope"); !errors.Is(err, ErrUnknownMachine) {
		t.Errorf("On: err = %v, want ErrUnknownMachine", err)
	}
}

// Concurrent cold reads share one request; reads inside the TTL cost none.
func TestReadsAreCoalescedAndCached(t *testing.T) {
	d := newFake(8)
	d.readGate = make(chan struct{})
	p := testPDU(t, "r", d, nil)

	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := p.Read(t.Context())
			errs <- err
		})
	}
	// Let the one read through once every caller is waiting on it.
	waitFor(t, func() bool { return d.reads.Load() == 1 })
	close(d.readGate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := d.reads.Load(); n != 1 {
		t.Errorf("%d callers cost %d reads, want 1", callers, n)
	}
	for range 5 {
		if _, err := p.Read(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.reads.Load(); n != 1 {
		t.Errorf("cached reads went to the device: %d reads, want 1", n)
	}
}

func TestSwitchIsVerifiedAndInvalidatesCache(t *testing.T) {
	d := newFake(4)
	d.lag = 3 // the state shows only on the 4th read after the command
	p := testPDU(t, "r", d, nil)
	out, err := p.Switch(t.Context(), 2, On)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Changed {
		t.Error("Changed = false for an outlet that was off")
	}
	r, err := p.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := r.Outlet(2); o.State != On {
		t.Errorf("after a verified switch a read shows %s", o.State)
	}
	if n := len(d.switchLog()); n != 1 {
		t.Errorf("%d switch requests, want exactly 1 (never retried)", n)
	}
}

func TestSwitchOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   error
		broken   bool
		wantErr  string
		wantNote bool
	}{
		{name: "clean"},
		{name: "genErr but switched", answer: errors.New("genErr"), wantNote: true},
		{name: "timeout but switched", answer: errors.New("request timeout"), wantNote: true},
		{name: "refused", answer: fmt.Errorf("noAccess: %w", ErrRefused), wantErr: "noAccess"},
		{name: "accepted but never switches", broken: true, wantErr: "still reads off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFake(2)
			d.switchAnswer, d.switchBroken = tc.answer, tc.broken
			p := testPDU(t, "r", d, func(c *PDUConfig) { c.SwitchTimeout = 200 * time.Millisecond })
			out, err := p.Switch(t.Context(), 1, On)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if (out.Note != "") != tc.wantNote {
				t.Errorf("note = %q, want a note: %v", out.Note, tc.wantNote)
			}
			if n := len(d.switchLog()); n != 1 {
				t.Errorf("%d switch requests, want exactly 1", n)
			}
		})
	}
}

// TestLostSetIsSentAgain: a switch that got no answer and reads back
// unchanged is sent again, a bounded number of times; one that was
// answered, even with an error, or that did switch, never is.
func TestLostSetIsSentAgain(t *testing.T) {
	noAnswer := fmt.Errorf("request timeout: %w", ErrNoAnswer)
	for _, tc := range []struct {
		name      string
		lose      int   // switches lost on the way
		answer    error // the answer to those that arrive
		broken    bool  // those that arrive change nothing
		wantSends int
		wantErr   string
		wantNote  string
	}{
		{name: "one lost", lose: 1, wantSends: 2, wantNote: "sent again 1 time"},
		{name: "two lost", lose: 2, wantSends: 3, wantNote: "sent again 2 time"},
		{name: "all lost", lose: 10, wantSends: 1 + maxResends, wantErr: "still reads off"},
		{name: "answer lost but switched", answer: noAnswer, wantSends: 1, wantNote: "no answer"},
		{name: "genErr and not switched", answer: errors.New("genErr"), broken: true, wantSends: 1, wantErr: "genErr"},
		{name: "lost, then genErr and switched", lose: 1, answer: errors.New("genErr"), wantSends: 2, wantNote: "genErr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFake(2)
			d.lose, d.switchAnswer, d.switchBroken = tc.lose, tc.answer, tc.broken
			p := testPDU(t, "r", d, func(c *PDUConfig) { c.SwitchTimeout = 300 * time.Millisecond })
			out, err := p.Switch(t.Context(), 1, On)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want one saying %q", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			}
			if !strings.Contains(out.Note, tc.wantNote) {
				t.Errorf("note = %q, want one saying %q", out.Note, tc.wantNote)
			}
			if n := len(d.switchLog()); n != tc.wantSends {
				t.Errorf("%d switch requests, want %d", n, tc.wantSends)
			}
			for _, s := range d.switchLog() {
				if s.to != On {
					t.Errorf("sent %v, want only the absolute on", s.to)
				}
			}
		})
	}
}

func TestPowerOnDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	d := newFake(1)
	d.set(1, On)
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.PowerOnDelay = delay })
	if err := p.Cycle(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	log := d.switchLog()
	if len(log) != 2 || log[0].to != Off || log[1].to != On {
		t.Fatalf("switches = %+v, want off then on", log)
	}
	if gap := log[1].at.Sub(log[0].at); gap < delay {
		t.Errorf("switched on %s after off, want at least %s", gap, delay)
	}
}

// MAAS repeats its POST while an action is under way: all of them must share
// the one action.
func TestRepeatedOnSwitchesOnce(t *testing.T) {
	d := newFake(2)
	d.lag = 5
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}, {"r", 2}}})
	var wg sync.WaitGroup
	for range 7 {
		wg.Go(func() {
			if _, err := f.On(t.Context(), "m"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for range 7 {
		if _, err := f.On(t.Context(), "m"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.switchLog()); n != 2 {
		t.Errorf("%d switch requests for two outlets, want 2", n)
	}
	if d.state(1) != On || d.state(2) != On {
		t.Error("outlets not on")
	}
	if m := d.maxIn.Load(); m != 1 {
		t.Errorf("%d requests were in flight to the PDU at once, want 1", m)
	}
}

func TestOffWaitsForOnUnderWay(t *testing.T) {
	d := newFake(1)
	d.lag = 3
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}})
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := f.On(t.Context(), "m"); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, func() bool { return len(d.switchLog()) == 1 })
	res, err := f.Off(t.Context(), "m")
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.State != Off || d.state(1) != Off {
		t.Errorf("after on then off: result %s, outlet %s", res.State, d.state(1))
	}
	log := d.switchLog()
	if len(log) != 2 || log[0].to != On || log[1].to != Off {
		t.Errorf("switches = %+v, want on then off", log)
	}
}

type fakeGraceful struct {
	calls   int
	forgets int
	rep     ShutdownReport
}

func (g *fakeGraceful) Shutdown(context.Context) ShutdownReport { g.calls++; return g.rep }
func (g *fakeGraceful) ForgetHostKey() error                    { g.forgets++; return nil }

func TestOffWithGraceful(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rep       ShutdownReport
		wantErr   bool
		wantState State
		wantHow   string
	}{
		{"down", ShutdownReport{Down: true}, false, Off, "graceful"},
		{"not down, cut", ShutdownReport{Cut: true, Reason: "ssh: connection refused"}, false, Off, "cut"},
		{"not down, fail", ShutdownReport{Reason: "still up at the deadline"}, true, On, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFake(1)
			d.set(1, On)
			g := &fakeGraceful{rep: tc.rep}
			f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}, Graceful: g})
			res, err := f.Off(t.Context(), "m")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if d.state(1) != tc.wantState {
				t.Errorf("outlet %s, want %s", d.state(1), tc.wantState)
			}
			if res.Shutdown != tc.wantHow {
				t.Errorf("shutdown = %q, want %q", res.Shutdown, tc.wantHow)
			}
			if g.calls != 1 {
				t.Errorf("graceful shutdown ran %d times", g.calls)
			}
		})
	}
}

func TestActionOutlivesCaller(t *testing.T) {
	d := newFake(1)
	d.lag = 2
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.On(ctx, "m"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the caller's cancellation", err)
	}
	// The action goes on; the next request joins or finds it done.
	if _, err := f.On(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	if d.state(1) != On || len(d.switchLog()) != 1 {
		t.Errorf("outlet %s after %d switches, want on after 1", d.state(1), len(d.switchLog()))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

type fakeProbe struct{ alive bool }

func (p *fakeProbe) Alive(context.Context) bool { return p.alive }

// A machine whose OS halted with its outlet live (as MAAS makes it after
// commissioning) reads off, and powering it on cycles the outlet.
func TestHaltedMachine(t *testing.T) {
	d := newFake(1)
	d.set(1, On)
	g := &fakeGraceful{rep: ShutdownReport{Down: true}}
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{
		Name: "m", Outlets: []OutletRef{{"r", 1}}, Graceful: g,
		Liveness: &Liveness{Probe: &fakeProbe{}, BootGrace: time.Minute, Interval: time.Second},
	})
	m := f.machines["m"]

	st, err := f.Status(t.Context(), "m")
	if err != nil || st.State != On {
		t.Fatalf("before any probe: %s, %v; want on (no evidence of a halt)", st.State, err)
	}
	m.probed(false, time.Now().Add(-30*time.Second))
	if st, _ := f.Status(t.Context(), "m"); st.State != On {
		t.Errorf("failing for 30s of a 1m grace: %s, want on", st.State)
	}
	m.probed(false, time.Now()) // a run of failures keeps its start
	m.failingSince = time.Now().Add(-2 * time.Minute)
	st, _ = f.Status(t.Context(), "m")
	if st.State != Off || !st.Halted || st.Power != On {
		t.Errorf("failing past the grace: state %s halted %v power %s; want off, halted, power on", st.State, st.Halted, st.Power)
	}

	res, err := f.On(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	log := d.switchLog()
	if len(log) != 2 || log[0].to != Off || log[1].to != On {
		t.Errorf("switches = %+v, want off then on (a cycle)", log)
	}
	if !res.Changed || d.state(1) != On {
		t.Errorf("result %+v, outlet %s", res, d.state(1))
	}
	if g.forgets != 1 {
		t.Errorf("host key forgotten %d times on a power-on from halted, want 1", g.forgets)
	}
	// Just powered on: a failing probe is a machine booting, not halted.
	m.probed(false, time.Now().Add(-2*time.Minute))
	if st, _ := f.Status(t.Context(), "m"); st.State != On {
		t.Errorf("right after power-on: %s, want on (boot grace)", st.State)
	}
	m.probed(true, time.Now())
	if !m.failingSince.IsZero() {
		t.Error("an answered probe did not end the run of failures")
	}
}

func TestOnFromOffForgetsHostKeyOnOnOnly(t *testing.T) {
	d := newFake(1)
	g := &fakeGraceful{rep: ShutdownReport{Down: true}}
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}, Graceful: g})
	for range 3 {
		if _, err := f.On(t.Context(), "m"); err != nil {
			t.Fatal(err)
		}
	}
	if g.forgets != 1 {
		t.Errorf("forgot the host key %d times for one power-on from off and two no-ops", g.forgets)
	}
}

func TestHaltedMachineOffCutsWithoutShutdown(t *testing.T) {
	d := newFake(1)
	d.set(1, On)
	g := &fakeGraceful{rep: ShutdownReport{Reason: "policy fail"}}
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{
		Name: "m", Outlets: []OutletRef{{"r", 1}}, Graceful: g,
		Liveness: &Liveness{Probe: &fakeProbe{}, BootGrace: time.Minute, Interval: time.Second},
	})
	f.machines["m"].failingSince = time.Now().Add(-time.Hour)
	res, err := f.Off(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if g.calls != 0 || d.state(1) != Off || res.Shutdown != "cut" {
		t.Errorf("shutdown calls %d, outlet %s, result %+v; want no ssh, outlet off, cut", g.calls, d.state(1), res)
	}
}

// A fleet built on a reload shares each machine's state with the one it
// replaces: the same action joins the one under way on the old fleet.
func TestReloadedFleetSharesMachineState(t *testing.T) {
	d := newFake(1)
	d.lag = 3
	p := testPDU(t, "r", d, nil)
	m := Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}}
	old := testFleet(t, []*PDU{p}, m)
	next, err := NewFleet([]*PDU{p}, []Machine{m}, FleetConfig{ActionTimeout: 10 * time.Second, Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, f := range []*Fleet{old, next, old, next} {
		wg.Go(func() {
			if _, err := f.On(t.Context(), "m"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(d.switchLog()); n != 1 {
		t.Errorf("%d switches across the old and new fleet, want 1", n)
	}
	if err := old.Retire(next); err != nil {
		t.Fatal(err)
	}
	if _, err := next.Status(t.Context(), "m"); err != nil {
		t.Errorf("the new fleet's PDU was closed by retiring the old fleet: %v", err)
	}
}

type auditLog struct {
	mu   sync.Mutex
	recs []AuditRecord
}

func (a *auditLog) Record(r AuditRecord) { a.mu.Lock(); a.recs = append(a.recs, r); a.mu.Unlock() }

func TestAuditRecords(t *testing.T) {
	d := newFake(2)
	a := &auditLog{}
	f, err := NewFleet([]*PDU{testPDU(t, "r", d, nil)}, []Machine{{Name: "m", Outlets: []OutletRef{{"r", 1}}}},
		FleetConfig{ActionTimeout: 10 * time.Second, Audit: a})
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithPrincipal(t.Context(), "maas")
	f.On(ctx, "m")
	f.SwitchOutlet(ctx, "r", 2, ActionOn)
	if len(a.recs) != 2 {
		t.Fatalf("%d audit records, want 2: %+v", len(a.recs), a.recs)
	}
	if r := a.recs[0]; r.Principal != "maas" || r.Machine != "m" || r.Action != ActionOn || !r.Changed || r.State != On {
		t.Errorf("machine record %+v", r)
	}
	if r := a.recs[1]; r.Outlet != "r/2" || r.Action != ActionOn || !r.Changed {
		t.Errorf("outlet record %+v", r)
	}
}

// An "on" that failed between two outlets leaves the machine running on one;
// MAAS's retried POST must switch the other on, not stop at "already on".
func TestOnCompletesAPartlyOnMachine(t *testing.T) {
	d := newFake(2)
	d.set(1, On)
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}, {"r", 2}}})
	res, err := f.On(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if d.state(2) != On || !res.Changed {
		t.Errorf("outlet 2 %s, changed %v; want on, changed", d.state(2), res.Changed)
	}
	if log := d.switchLog(); len(log) != 1 || log[0].outlet != 2 {
		t.Errorf("switches %+v, want outlet 2 only", log)
	}
}
