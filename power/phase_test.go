package power

import (
	"context"
	"testing"
)

// phasedGraceful enters each of its steps and waits at each to be let on.
type phasedGraceful struct {
	entered chan string
	next    chan struct{}
}

func (g *phasedGraceful) Shutdown(ctx context.Context) ShutdownReport {
	for _, p := range []string{"request", "wait-down"} {
		EnterPhase(ctx, p)
		g.entered <- p
		<-g.next
	}
	return ShutdownReport{Down: true}
}
func (g *phasedGraceful) ForgetHostKey() error { return nil }

// The step of a graceful shutdown under way is in the machine's status while
// it runs, and gone once power is cut.
func TestStatusShowsTheShutdownPhase(t *testing.T) {
	d := newFake(1)
	d.set(1, On)
	g := &phasedGraceful{entered: make(chan string), next: make(chan struct{})}
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "m", Outlets: []OutletRef{{"r", 1}}, Graceful: g})
	off := make(chan error, 1)
	go func() { _, err := f.Off(t.Context(), "m"); off <- err }()
	for _, want := range []string{"request", "wait-down"} {
		if got := <-g.entered; got != want {
			t.Fatalf("the shutdown entered %q, want %q", got, want)
		}
		st, err := f.Status(t.Context(), "m")
		if err != nil || !st.ShuttingDown || st.Phase != want {
			t.Errorf("status during %s: shutting down %v, phase %q (%v)", want, st.ShuttingDown, st.Phase, err)
		}
		g.next <- struct{}{}
	}
	if err := <-off; err != nil {
		t.Fatal(err)
	}
	if st, err := f.Status(t.Context(), "m"); err != nil || st.ShuttingDown || st.Phase != "" {
		t.Errorf("status after the off: shutting down %v, phase %q (%v)", st.ShuttingDown, st.Phase, err)
	}
	// Outside an action, EnterPhase has no one to tell.
	EnterPhase(context.Background(), "request")
}
