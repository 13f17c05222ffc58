package power

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memJournal is a Journal in memory, with a log of its calls.
type memJournal struct {
	mu      sync.Mutex
	pending map[string]State
	calls   []string
}

func (j *memJournal) Begin(m string, outlets []OutletRef, to State, shutdown bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.pending == nil {
		j.pending = map[string]State{}
	}
	j.pending[m] = to
	call := fmt.Sprintf("begin %s %v %s", m, outlets, to)
	if shutdown {
		call += " shutdown"
	}
	j.calls = append(j.calls, call)
	return nil
}

func (j *memJournal) End(m string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.pending, m)
	j.calls = append(j.calls, "end "+m)
	return nil
}

func (j *memJournal) log() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.calls, "; ")
}

func (j *memJournal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = nil
}

// A machine with two outlets is in the journal while its outlets switch,
// and leaves it when the action ends, also when the switch failed halfway:
// a failed action is never carried out by a later start. Finish completes
// a record left by a process that died. Machines with one outlet are not
// written for an on or off.
func TestJournal(t *testing.T) {
	a, b := newFake(2), newFake(2)
	a.set(1, On)
	b.set(1, On)
	j := &memJournal{}
	f, err := NewFleet([]*PDU{testPDU(t, "a", a, nil), testPDU(t, "b", b, nil)}, []Machine{
		{Name: "bigboy", Outlets: []OutletRef{{"a", 1}, {"b", 1}}},
		{Name: "small", Outlets: []OutletRef{{"a", 2}}},
	}, FleetConfig{ActionTimeout: 10e9, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.On(t.Context(), "small"); err != nil {
		t.Fatal(err)
	}
	if got := j.log(); got != "" {
		t.Errorf("an on of a machine with one outlet was journaled: %s", got)
	}

	b.mu.Lock()
	b.switchAnswer, b.switchBroken = fmt.Errorf("%w: noAccess", ErrRefused), true
	b.mu.Unlock()
	res, err := f.Off(t.Context(), "bigboy")
	if err == nil {
		t.Fatal("off succeeded with PDU b refusing")
	}
	if a.state(1) != Off || b.state(1) != On {
		t.Fatalf("outlets a/1 %v, b/1 %v: want the first switched, the second not", a.state(1), b.state(1))
	}
	if got, want := j.log(), "begin bigboy [a/1 b/1] off; end bigboy"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
	if !res.Changed || strings.Join(res.Switched, " ") != "a/1" {
		t.Errorf("the failed off: changed %v, switched %v; want a/1 alone", res.Changed, res.Switched)
	}

	b.mu.Lock()
	b.switchAnswer, b.switchBroken = nil, false
	b.mu.Unlock()
	j.reset()
	res, err = f.Finish(t.Context(), Interrupted{Machine: "bigboy", Outlets: []OutletRef{{"a", 1}, {"b", 1}}, To: Off})
	if err != nil || res.State != Off || !res.Changed {
		t.Fatalf("Finish: %+v, %v", res, err)
	}
	if a.state(1) != Off || b.state(1) != Off {
		t.Errorf("after Finish: a/1 %v, b/1 %v, want both off", a.state(1), b.state(1))
	}
	if n := len(a.switchLog()) + len(b.switchLog()); n != 4 { // small on, a/1 off, b/1 refused, b/1 off
		t.Errorf("%d switch requests in all, want 4: a/1 once, b/1 refused then once", n)
	}
	if got, want := j.log(), "end bigboy"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}

	// A record that no longer fits the config is dropped, not carried out.
	j.reset()
	if _, err := f.Finish(t.Context(), Interrupted{Machine: "bigboy", Outlets: []OutletRef{{"a", 9}}, To: On}); err != nil {
		t.Errorf("dropping a stale record: %v", err)
	}
	if _, err := f.Finish(t.Context(), Interrupted{Machine: "gone", Outlets: []OutletRef{{"a", 1}}, To: On}); err != nil {
		t.Errorf("dropping a record of a machine no longer configured: %v", err)
	}
	if a.state(1) != Off || j.log() != "end bigboy; end gone" {
		t.Errorf("a stale record was carried out, or not dropped: a/1 %v, journal %s", a.state(1), j.log())
	}
}

// A failed on of a machine with two outlets leaves nothing to replay, and
// its result counts as changed only what was seen to switch.
func TestFailedOnIsNotJournaledPastItsEnd(t *testing.T) {
	a := newFake(2)
	j := &memJournal{}
	f, err := NewFleet([]*PDU{testPDU(t, "a", a, nil)}, []Machine{{Name: "bigboy", Outlets: []OutletRef{{"a", 1}, {"a", 2}}}},
		FleetConfig{ActionTimeout: 10e9, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.switchBroken = true // the SET is lost: the outlets read off
	a.mu.Unlock()
	res, err := f.On(t.Context(), "bigboy")
	if err == nil {
		t.Fatal("on succeeded with every switch lost")
	}
	if res.Changed || len(res.Switched) != 0 {
		t.Errorf("a switch that failed counted as a change: %+v", res)
	}
	if got, want := j.log(), "begin bigboy [a/1 a/2] on; end bigboy"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
}

// gracefulStub is a Graceful that reports what it was told to.
type gracefulStub struct {
	mu    sync.Mutex
	rep   ShutdownReport
	calls int
}

func (g *gracefulStub) Shutdown(context.Context) ShutdownReport {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	return g.rep
}
func (g *gracefulStub) ForgetHostKey() error { return nil }

// The off of a machine with a graceful shutdown is journaled from before
// the shutdown, and switched to a plain cut once the shutdown is decided.
// Finishing an interrupted shutdown runs the off again under the machine's
// policy: "cut" cuts, "fail" leaves power on; either way the record goes.
func TestInterruptedShutdownIsFinishedByPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy string
		rep    ShutdownReport
		want   State
	}{
		{"cut", ShutdownReport{Cut: true, Reason: "host unreachable"}, Off},
		{"fail", ShutdownReport{Reason: "host unreachable"}, On},
		{"down", ShutdownReport{Down: true}, Off},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			d := newFake(1)
			d.set(1, On)
			j := &memJournal{}
			g := &gracefulStub{rep: ShutdownReport{Down: true}}
			fleet := func() *Fleet {
				f, err := NewFleet([]*PDU{testPDU(t, "a", d, nil)}, []Machine{{Name: "node1", Outlets: []OutletRef{{"a", 1}}, Graceful: g}},
					FleetConfig{ActionTimeout: 10e9, Journal: j})
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			if _, err := fleet().Off(t.Context(), "node1"); err != nil {
				t.Fatal(err)
			}
			if got, want := j.log(), "begin node1 [a/1] off shutdown; begin node1 [a/1] off; end node1"; got != want {
				t.Errorf("journal of a graceful off: %s, want %s", got, want)
			}

			d.set(1, On)
			j.reset()
			g.mu.Lock()
			g.rep, g.calls = tc.rep, 0
			g.mu.Unlock()
			// A new process: nothing cached of the PDU.
			_, err := fleet().Finish(t.Context(), Interrupted{Machine: "node1", Outlets: []OutletRef{{"a", 1}}, To: Off, Shutdown: true})
			if (err != nil) != (tc.want == On) {
				t.Errorf("Finish: %v", err)
			}
			if d.state(1) != tc.want || g.calls != 1 {
				t.Errorf("after Finish: outlet %v after %d shutdowns, want %v after 1", d.state(1), g.calls, tc.want)
			}
			if log := j.log(); !strings.HasSuffix(log, "end node1") {
				t.Errorf("journal: %s, want the record removed at the end", log)
			}
		})
	}
}

// memOffTimes is an OffTimes in memory.
type memOffTimes struct {
	mu   sync.Mutex
	offs map[OutletRef]time.Time
}

func (o *memOffTimes) Load(pdu string) map[int]time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int]time.Time{}
	for r, at := range o.offs {
		if r.PDU == pdu {
			out[r.Outlet] = at
		}
	}
	return out
}

func (o *memOffTimes) Record(r OutletRef, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.offs[r] = at
	return nil
}

// A PDU started on the off times a previous one recorded keeps an outlet
// off for the power-on delay from when it went off, not from its own start.
func TestPowerOnDelayHoldsAcrossARestart(t *testing.T) {
	const delay = 300 * time.Millisecond
	offs := &memOffTimes{offs: map[OutletRef]time.Time{}}
	d := newFake(1)
	d.set(1, On)
	mod := func(c *PDUConfig) { c.PowerOnDelay, c.OffTimes = delay, offs }
	before := testPDU(t, "r", d, mod)
	if _, err := before.Switch(t.Context(), 1, Off); err != nil {
		t.Fatal(err)
	}
	before.Close()
	if got := offs.Load("r"); len(got) != 1 {
		t.Fatalf("off times after an off: %v", got)
	}

	after := testPDU(t, "r", d, mod)
	if _, err := after.Switch(t.Context(), 1, On); err != nil {
		t.Fatal(err)
	}
	log := d.switchLog()
	if len(log) != 2 || log[0].to != Off || log[1].to != On {
		t.Fatalf("switches %+v, want off then on", log)
	}
	if gap := log[1].at.Sub(log[0].at); gap < delay {
		t.Errorf("switched on %s after the off, across a restart; the power-on delay is %s", gap, delay)
	}
}
