package power

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// host is a machine seen from outside: its probe answers while it is up. A
// wake-up brings it up when it is set to; a shutdown takes it down unless it
// is set to stay up.
type host struct {
	mu       sync.Mutex
	up       bool
	wakes    int
	wakeable bool
	stubborn bool // its shutdown does not take it down
	// rebooting: the next probes find it down this many times, then up.
	rebooting int
	shutdowns int
	forgets   int
}

func (h *host) Alive(context.Context) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rebooting > 0 {
		h.rebooting--
		h.up = h.rebooting == 0
	}
	return h.up
}

func (h *host) Wake(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.wakes++
	if h.wakeable {
		h.up = true
	}
	return nil
}

func (h *host) Shutdown(context.Context) ShutdownReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shutdowns++
	if h.stubborn {
		return ShutdownReport{Cut: true, Reason: "still up at the deadline"}
	}
	h.up = false
	return ShutdownReport{Down: true}
}

func (h *host) ForgetHostKey() error { h.mu.Lock(); h.forgets++; h.mu.Unlock(); return nil }

func (h *host) counts() (wakes, shutdowns int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wakes, h.shutdowns
}

// reboot is a reboot command: the host goes down and comes back.
type reboot struct{ h *host }

func (r reboot) Shutdown(context.Context) ShutdownReport {
	r.h.mu.Lock()
	defer r.h.mu.Unlock()
	r.h.up, r.h.rebooting = false, 3
	return ShutdownReport{Down: true}
}
func (r reboot) ForgetHostKey() error { return nil }

func wakeMachine(h *host, outlets ...OutletRef) Machine {
	return Machine{Name: "pc", Outlets: outlets, Graceful: h,
		Liveness: &Liveness{Probe: h, BootGrace: time.Hour, Interval: time.Hour},
		Wake:     &Wake{Waker: h, ProbeInterval: time.Millisecond, Resend: time.Hour}}
}

func wantState(t *testing.T, f *Fleet, want State) {
	t.Helper()
	st, err := f.Status(t.Context(), "pc")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != want || st.Power != want {
		t.Fatalf("state %s (power %s), want %s", st.State, st.Power, want)
	}
	if st.Outlets == nil {
		t.Error("outlets is nil; a face writes it as null, not []")
	}
}

func TestWakeOnLANOnOffStatus(t *testing.T) {
	h := &host{wakeable: true}
	f := testFleet(t, nil, wakeMachine(h))
	wantState(t, f, Off)

	res, err := f.On(t.Context(), "pc")
	if err != nil {
		t.Fatal(err)
	}
	if wakes, _ := h.counts(); wakes != 1 || res.State != On || !res.Changed {
		t.Fatalf("on: %d wakes, result %+v; want one wake, on, changed", wakes, res)
	}
	if h.forgets != 1 {
		t.Errorf("the host key was forgotten %d times on a wake from off, want 1", h.forgets)
	}
	wantState(t, f, On)

	// On again: the probe answers, nothing is sent.
	if res, err := f.On(t.Context(), "pc"); err != nil || res.Changed {
		t.Fatalf("second on: %+v, %v; want no change", res, err)
	}
	if wakes, _ := h.counts(); wakes != 1 {
		t.Fatalf("%d wakes after an on of a machine that was up, want still 1", wakes)
	}

	res, err = f.Off(t.Context(), "pc")
	if err != nil {
		t.Fatal(err)
	}
	if _, shutdowns := h.counts(); shutdowns != 1 || res.State != Off || res.Shutdown != "graceful" {
		t.Fatalf("off: %d shutdowns, result %+v; want one graceful", shutdowns, res)
	}
	// Within the boot grace of the wake, but shut down: off.
	wantState(t, f, Off)

	if _, err := f.Off(t.Context(), "pc"); err != nil {
		t.Fatal(err)
	}
	if _, shutdowns := h.counts(); shutdowns != 1 {
		t.Fatalf("an off of a machine already off ran the shutdown again (%d)", shutdowns)
	}
	if _, err := f.Cut(t.Context(), "pc"); !errors.Is(err, ErrNoCut) {
		t.Fatalf("cut: %v, want ErrNoCut", err)
	}
	if st, ok := f.LastStatus("pc"); !ok || st.State != Off {
		t.Fatalf("last status %+v, %v; want off", st, ok)
	}
}

func TestWakeOnLANMachineThatNeverWakes(t *testing.T) {
	h := &host{}
	m := wakeMachine(h)
	m.Wake.Resend = time.Millisecond
	f, err := NewFleet(nil, []Machine{m}, FleetConfig{ActionTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.On(t.Context(), "pc")
	if err == nil || !strings.Contains(err.Error(), "no answer to the liveness probe") || !strings.Contains(err.Error(), "ethtool wol g") {
		t.Fatalf("on: %v, want an error saying the machine did not answer", err)
	}
	if wakes, _ := h.counts(); wakes < 2 {
		t.Errorf("%d wakes, want the wake-up sent again while waiting", wakes)
	}
	// It did not come up: the boot grace does not make it read on.
	wantState(t, f, Off)
}

func TestWakeOnLANOffThatFailsLeavesItOn(t *testing.T) {
	h := &host{up: true, stubborn: true} // its policy says cut, but there is nothing to cut
	f := testFleet(t, nil, wakeMachine(h))
	res, err := f.Off(t.Context(), "pc")
	if err == nil || !strings.Contains(err.Error(), "no outlet to cut") {
		t.Fatalf("off: %v, want an error saying there is nothing to cut", err)
	}
	if res.State != On && res.State != Unknown {
		t.Errorf("state %s after a failed off", res.State)
	}
	wantState(t, f, On)
}

func TestWakeOnLANWithAnOutlet(t *testing.T) {
	d := newFake(1)
	h := &host{wakeable: true}
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, wakeMachine(h, OutletRef{"r", 1}))
	res, err := f.On(t.Context(), "pc")
	if err != nil {
		t.Fatal(err)
	}
	if d.state(1) != On || h.wakes != 1 || len(res.Switched) != 1 {
		t.Fatalf("on: outlet %s, %d wakes, %+v; want the outlet on and one wake", d.state(1), h.wakes, res)
	}
	res, err = f.Off(t.Context(), "pc")
	if err != nil {
		t.Fatal(err)
	}
	if d.state(1) != Off || h.shutdowns != 1 || res.Shutdown != "graceful" {
		t.Fatalf("off: outlet %s, %d shutdowns, %+v; want the shutdown, then the outlet off", d.state(1), h.shutdowns, res)
	}
}

func TestWakeOnLANLiveOutletIsNotCycled(t *testing.T) {
	d := newFake(1)
	d.set(1, On)
	h := &host{wakeable: true}
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, wakeMachine(h, OutletRef{"r", 1}))
	if _, err := f.On(t.Context(), "pc"); err != nil {
		t.Fatal(err)
	}
	if n := len(d.switchLog()); n != 0 || h.wakes != 1 {
		t.Fatalf("%d switches and %d wakes, want none and one: the outlet was live", n, h.wakes)
	}
}

func TestWakeOnLANCycle(t *testing.T) {
	t.Run("off then on", func(t *testing.T) {
		h := &host{up: true, wakeable: true}
		f := testFleet(t, nil, wakeMachine(h))
		if _, err := f.Cycle(t.Context(), "pc"); err != nil {
			t.Fatal(err)
		}
		if wakes, shutdowns := h.counts(); wakes != 1 || shutdowns != 1 {
			t.Fatalf("%d wakes, %d shutdowns; want one of each", wakes, shutdowns)
		}
		wantState(t, f, On)
	})
	t.Run("reboot", func(t *testing.T) {
		h := &host{up: true, wakeable: true}
		m := wakeMachine(h)
		m.Wake.Reboot = reboot{h}
		f := testFleet(t, nil, m)
		res, err := f.Cycle(t.Context(), "pc")
		if err != nil {
			t.Fatal(err)
		}
		if wakes, shutdowns := h.counts(); wakes != 0 || shutdowns != 0 || res.Shutdown != "reboot" {
			t.Fatalf("%d wakes, %d shutdowns, %+v; want a reboot and nothing else", wakes, shutdowns, res)
		}
		wantState(t, f, On)
	})
}

func TestWakeOnLANNeedsProbeAndShutdown(t *testing.T) {
	h := &host{}
	for _, tc := range []struct {
		name string
		mod  func(*Machine)
		want string
	}{
		{"no probe", func(m *Machine) { m.Liveness = nil }, "needs a liveness probe"},
		{"no shutdown", func(m *Machine) { m.Graceful = nil }, "needs a graceful shutdown"},
		{"no sender", func(m *Machine) { m.Wake.Waker = nil }, "without a sender"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := wakeMachine(h)
			tc.mod(&m)
			_, err := NewFleet(nil, []Machine{m}, FleetConfig{ActionTimeout: time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewFleet: %v, want %q", err, tc.want)
			}
		})
	}
}

// blind is a probe that cannot tell, as a TCP probe of a name that does not
// resolve: Alive says alive, so that no shutdown cuts power over it.
type blind struct{}

func (blind) Alive(context.Context) bool { return true }
func (blind) Tell(context.Context) (bool, error) {
	return false, errors.New("lookup pc.maas: no such host")
}

// With no outlet, a probe that cannot tell leaves no state: an error, not on.
func TestWakeOnLANProbeThatCannotTell(t *testing.T) {
	h := &host{}
	m := wakeMachine(h)
	m.Liveness.Probe = blind{}
	f, err := NewFleet(nil, []Machine{m}, FleetConfig{ActionTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := f.Status(t.Context(), "pc"); err == nil || !strings.Contains(err.Error(), "cannot tell") {
		t.Fatalf("status: %+v, %v; want an error saying the probe cannot tell", st, err)
	}
	_, err = f.On(t.Context(), "pc")
	if err == nil || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("on: %v, want an error with the probe's", err)
	}
	if wakes, _ := h.counts(); wakes < 1 {
		t.Error("no wake-up sent: a probe that cannot tell was taken for up")
	}
	if _, err := f.Off(t.Context(), "pc"); err == nil {
		t.Error("off with a probe that cannot tell succeeded")
	}
	if _, shutdowns := h.counts(); shutdowns != 0 {
		t.Errorf("%d shutdowns of a machine whose state is unknown", shutdowns)
	}
}
