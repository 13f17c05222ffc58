package pdusim

// Tests of the latency models: what each request costs in time is counted
// from the waits the agent asks for, never timed.

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// pauses records the waits an agent asks for. Unless held, a wait returns
// at once; while held, it blocks until release (or the agent closes).
type pauses struct {
	mu        sync.Mutex
	asked     []time.Duration
	now, most int // waits in progress, and the most ever at once
	hold      chan struct{}
}

func (p *pauses) pause(d time.Duration, done <-chan struct{}) bool {
	p.mu.Lock()
	p.asked = append(p.asked, d)
	p.now++
	p.most = max(p.most, p.now)
	hold := p.hold
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.now--
		p.mu.Unlock()
	}()
	if hold == nil {
		return true
	}
	select {
	case <-hold:
		return true
	case <-done:
		return false
	}
}

// held makes every wait from now on block until the returned release.
func (p *pauses) held() (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = make(chan struct{})
	return sync.OnceFunc(func() { close(p.hold) })
}

func (p *pauses) snapshot() (asked []time.Duration, now, most int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asked), p.now, p.most
}

// listenCounted serves d with the waits recorded in p instead of slept.
func listenCounted(t *testing.T, d *Device, p *pauses) *Agent {
	t.Helper()
	a, err := d.listen("127.0.0.1:0", testAccess, p.pause)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("closing the agent: %v", err)
		}
	})
	return a
}

// states are GET varbinds of the rPDU state of outlets 1..n.
func states(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, rPDUOutletStatusOutletState.child(uint32(i)).String())
	}
	return out
}

// TestLatencyModels: each request waits PerRequest plus PerVarbind for
// every varbind it had the card handle (asked for, or answered to a
// GETBULK), and Stats counts those varbinds.
func TestLatencyModels(t *testing.T) {
	const D, L = 50 * time.Millisecond, 7 * time.Millisecond
	for _, tc := range []struct {
		name  string
		model LatencyModel
		// the waits of: a GET of 1 state, a GET of 8 states, a GETNEXT of
		// 2 objects, a SET of 1 outlet, a GETBULK answering 6 varbinds
		want []time.Duration
	}{
		{"none", LatencyModel{}, nil},
		{"per request", LatencyModel{PerRequest: D, OneAtATime: true}, []time.Duration{D, D, D, D, D}},
		{"per varbind", LatencyModel{PerVarbind: L, OneAtATime: true}, []time.Duration{L, 8 * L, 2 * L, L, 6 * L}},
		{"both", LatencyModel{PerRequest: D, PerVarbind: L}, []time.Duration{D + L, D + 8*L, D + 2*L, D + L, D + 6*L}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
			var p pauses
			a := listenCounted(t, d, &p)
			a.SetLatencyModel(tc.model)
			g := client(t, a.Addr(), nil)
			if _, err := g.Get(states(1)); err != nil {
				t.Fatal(err)
			}
			if _, err := g.Get(states(8)); err != nil {
				t.Fatal(err)
			}
			if _, err := g.GetNext(states(2)); err != nil {
				t.Fatal(err)
			}
			if _, err := g.Set(switchOff(3)); err != nil {
				t.Fatal(err)
			}
			// 2 non-repeaters, then 2 repetitions of 2 columns.
			if r, err := g.GetBulk(states(4), 2, 2); err != nil || len(r.Variables) != 6 {
				t.Fatalf("GETBULK: %v, %d varbinds, want 6", err, len(r.Variables))
			}
			asked, _, _ := p.snapshot()
			if !slices.Equal(asked, tc.want) {
				t.Errorf("waits %v, want %v", asked, tc.want)
			}
			if s := a.Stats(); s.Requests != 5 || s.Varbinds != 1+8+2+1+6 || s.Sets != 1 {
				t.Errorf("Stats = %+v, want 5 requests, 18 varbinds, 1 SET", s)
			}
			if got := len(d.Commands(3)); got != 1 {
				t.Errorf("outlet 3: %d commands, want 1", got)
			}
		})
	}
}

// TestLatencyHoldsOnlyTheCard: while an answer is held back the device
// itself is free (its lock is not held over the wait), and a card serving
// one request at a time takes the next request only after the answer.
func TestLatencyHoldsOnlyTheCard(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
	var p pauses
	a := listenCounted(t, d, &p)
	a.SetLatencyModel(LatencyModel{PerVarbind: time.Hour, OneAtATime: true})
	release := p.held()
	defer release()
	slow := func(g *gosnmp.GoSNMP) { g.Timeout, g.Retries = time.Minute, 0 }
	first, second := client(t, a.Addr(), slow), client(t, a.Addr(), slow)
	errs := make(chan error, 2)
	go func() { _, err := first.Set(switchOff(1)); errs <- err }()
	eventually(t, 10*time.Second, func() (bool, string) {
		_, now, _ := p.snapshot()
		return now == 1, "the first SET's answer is not being held back"
	})
	go func() { _, err := second.Set(switchOff(2)); errs <- err }()
	eventually(t, 10*time.Second, func() (bool, string) {
		return a.Stats().MaxInFlight == 2, "the second SET did not arrive"
	})

	// The device answers while the card holds the first answer back.
	read := make(chan result, 1)
	go func() {
		read <- d.answer(&gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.GetRequest,
			Variables: []gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(1).String(), Type: gosnmp.Null}}}, readOnly)
	}()
	select {
	case r := <-read:
		if r.status != gosnmp.NoError || r.vars[0].Value != 2 {
			t.Errorf("outlet 1 reads %v %v while its answer is held back, want 2 (off: carried out first)", r.status, r.vars[0].Value)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the device did not answer while an answer was held back: the wait holds its lock")
	}
	if got := len(d.Commands(2)); got != 0 {
		t.Errorf("outlet 2: %d commands while the card was busy with the first request, want 0", got)
	}

	release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	asked, _, most := p.snapshot()
	if len(asked) != 2 || most != 1 {
		t.Errorf("%d waits, at most %d at once; want 2, one at a time", len(asked), most)
	}
	if got := len(d.Commands(2)); got != 1 {
		t.Errorf("outlet 2: %d commands, want 1", got)
	}
}
