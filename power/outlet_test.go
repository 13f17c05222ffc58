package power

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// An outlet action outlives its caller: a cycle whose caller gives up
// during the off still ends with the outlet on.
func TestOutletCycleOutlivesItsCaller(t *testing.T) {
	d := newFake(2)
	d.set(2, On)
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.PowerOnDelay = 200 * time.Millisecond })
	f := testFleet(t, []*PDU{p})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := f.SwitchOutlet(ctx, "r", 2, ActionCycle); done <- err }()
	waitFor(t, func() bool { return len(d.switchLog()) == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Error("the caller that gave up was answered without an error")
	}
	waitFor(t, func() bool { return len(d.switchLog()) == 2 })
	if log := d.switchLog(); log[0].to != Off || log[1].to != On || d.state(2) != On {
		t.Errorf("switches %+v, outlet %v; want off, on and on", log, d.state(2))
	}
}

// Identical concurrent outlet requests join the one under way: seven offs
// send one SET, three cycles one off and one on; and an outlet already in
// the state asked for is not switched.
func TestConcurrentOutletRequestsJoin(t *testing.T) {
	for _, tc := range []struct {
		action Action
		n      int
		want   []State
	}{
		{ActionOff, 7, []State{Off}},
		{ActionCycle, 3, []State{Off, On}},
	} {
		t.Run(string(tc.action), func(t *testing.T) {
			d := newFake(1)
			d.set(1, On)
			d.lag = 3 // every switch pending for three reads, so that the requests overlap
			f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)})
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range tc.n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if _, err := f.SwitchOutlet(t.Context(), "r", 1, tc.action); err != nil {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			var got []State
			for _, s := range d.switchLog() {
				got = append(got, s.to)
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1] {
				t.Errorf("%d concurrent %ss sent %v, want %v", tc.n, tc.action, got, tc.want)
			}
		})
	}
	d := newFake(1)
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)})
	res, err := f.SwitchOutlet(t.Context(), "r", 1, ActionOff)
	if err != nil || res.Changed || res.State != Off || len(d.switchLog()) != 0 {
		t.Errorf("off of an outlet already off: %+v, %v, %d switches", res, err, len(d.switchLog()))
	}
	if _, err := f.SwitchOutlet(t.Context(), "r", 9, ActionOff); err == nil || !strings.Contains(err.Error(), "no outlet 9") {
		t.Errorf("an outlet the PDU does not have: %v", err)
	}
}

// blockingGraceful is a shutdown that waits until released.
type blockingGraceful struct {
	started, release chan struct{}
}

func (g *blockingGraceful) Shutdown(ctx context.Context) ShutdownReport {
	close(g.started)
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return ShutdownReport{Down: true}
}
func (g *blockingGraceful) ForgetHostKey() error { return nil }

// An outlet of a machine is switched under the machine's action lock: not
// while the machine's off is under way, and the answer says the machine's
// graceful shutdown was skipped when the outlet was cut.
func TestMachineOutletTakesTheMachineLock(t *testing.T) {
	d := newFake(2)
	d.set(1, On)
	d.set(2, On)
	g := &blockingGraceful{started: make(chan struct{}), release: make(chan struct{})}
	j := &memJournal{}
	f, err := NewFleet([]*PDU{testPDU(t, "r", d, nil)}, []Machine{{Name: "m", Outlets: []OutletRef{{"r", 1}, {"r", 2}}, Graceful: g}},
		FleetConfig{ActionTimeout: 10 * time.Second, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	off := make(chan error, 1)
	go func() { _, err := f.Off(t.Context(), "m"); off <- err }()
	<-g.started
	outlet := make(chan OutletResult, 1)
	go func() {
		res, err := f.SwitchOutlet(t.Context(), "r", 2, ActionCycle)
		if err != nil {
			t.Error(err)
		}
		outlet <- res
	}()
	select {
	case res := <-outlet:
		t.Fatalf("the outlet was cycled during the machine's shutdown: %+v", res)
	case <-time.After(50 * time.Millisecond):
		// Time for the request to reach the lock. Nothing depends on it
		// having done so: the order of the switches below is the test.
	}
	close(g.release)
	if err := <-off; err != nil {
		t.Fatal(err)
	}
	res := <-outlet
	log := d.switchLog()
	if len(log) != 3 || log[0].outlet != 1 || log[1].outlet != 2 || log[1].to != Off || log[2].outlet != 2 || log[2].to != On {
		t.Errorf("switches %+v: want the machine's off (r/1, r/2), then the cycle's on of r/2", log)
	}
	if res.Machine != "m" || res.CutWithoutShutdown || !res.Changed || res.State != On {
		t.Errorf("the cycle after the machine's off: %+v (the outlet was off already: nothing cut)", res)
	}
	if !strings.Contains(j.log(), "begin m [r/2] on; end m") {
		t.Errorf("the outlet cycle was not journaled as the machine's: %s", j.log())
	}

	res, err = f.SwitchOutlet(t.Context(), "r", 2, ActionOff)
	if err != nil || !res.CutWithoutShutdown || !strings.Contains(strings.Join(res.Notes, " "), "without the machine's graceful shutdown") {
		t.Errorf("off of a live outlet of a machine with a shutdown: %+v, %v; want it said that it was cut without", res, err)
	}
}
