package power

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// memJournal is a Journal in memory, with a log of its calls.
type memJournal struct {
	mu      sync.Mutex
	pending map[string]State
	calls   []string
}

func (j *memJournal) Begin(m string, outlets []OutletRef, to State) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.pending == nil {
		j.pending = map[string]State{}
	}
	j.pending[m] = to
	j.calls = append(j.calls, fmt.Sprintf("begin %s %v %s", m, outlets, to))
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

// A machine with two outlets is in the journal while its outlets switch,
// and stays there when the switch fails halfway; Finish completes it.
// Machines with one outlet are never written.
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
		t.Errorf("a machine with one outlet was journalled: %s", got)
	}

	b.mu.Lock()
	b.switchAnswer, b.switchBroken = fmt.Errorf("%w: noAccess", ErrRefused), true
	b.mu.Unlock()
	if _, err := f.Off(t.Context(), "bigboy"); err == nil {
		t.Fatal("off succeeded with PDU b refusing")
	}
	if a.state(1) != Off || b.state(1) != On {
		t.Fatalf("outlets a/1 %v, b/1 %v: want the first switched, the second not", a.state(1), b.state(1))
	}
	if got, want := j.log(), "begin bigboy [a/1 b/1] off"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}

	b.mu.Lock()
	b.switchAnswer, b.switchBroken = nil, false
	b.mu.Unlock()
	res, err := f.Finish(t.Context(), Interrupted{Machine: "bigboy", Outlets: []OutletRef{{"a", 1}, {"b", 1}}, To: Off})
	if err != nil || res.State != Off || !res.Changed {
		t.Fatalf("Finish: %+v, %v", res, err)
	}
	if a.state(1) != Off || b.state(1) != Off {
		t.Errorf("after Finish: a/1 %v, b/1 %v, want both off", a.state(1), b.state(1))
	}
	if n := len(a.switchLog()) + len(b.switchLog()); n != 4 { // small on, a/1 off, b/1 refused, b/1 off
		t.Errorf("%d switch requests in all, want 4: a/1 once, b/1 refused then once", n)
	}
	if got, want := j.log(), "begin bigboy [a/1 b/1] off; begin bigboy [a/1 b/1] off; end bigboy"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}

	// A record that no longer fits the config is dropped, not carried out.
	if _, err := f.Finish(t.Context(), Interrupted{Machine: "bigboy", Outlets: []OutletRef{{"a", 1}}, To: On}); err != nil {
		t.Errorf("dropping a stale record: %v", err)
	}
	if _, err := f.Finish(t.Context(), Interrupted{Machine: "gone", To: On}); err != nil {
		t.Errorf("dropping a record of a machine no longer configured: %v", err)
	}
	if a.state(1) != Off || !strings.HasSuffix(j.log(), "end bigboy; end gone") {
		t.Errorf("a stale record was carried out, or not dropped: a/1 %v, journal %s", a.state(1), j.log())
	}
}
