package pdusim

import (
	"testing"
	"time"
)

// The AP8961's three phases each meter their own 8 outlets, in both the
// rPDU and the rPDU2 tree, and its outlets say which phase they are on.
func TestThreePhaseMeters(t *testing.T) {
	d, clock := clocked(t, "ap8961", Options{SwitchDelay: time.Second})
	read := func() [6]int {
		var out [6]int
		for ph := uint32(1); ph <= 3; ph++ {
			out[ph-1] = getGauge(t, d, rPDULoadStatusLoad.child(ph))
			out[ph+2] = getInt(t, d, rPDU2PhaseStatusCurrent.child(ph))
		}
		return out
	}
	// 8 outlets at 0.35 A a phase: 2.8 A each.
	if got, want := read(), [6]int{28, 28, 28, 28, 28, 28}; got != want {
		t.Errorf("all on: rPDU loads and rPDU2 currents = %v, want %v", got, want)
	}
	for n := 9; n <= 12; n++ { // half of phase 2
		setInt(t, d, sPDUOutletCtl.child(uint32(n)), 2)
	}
	clock.advance(time.Second)
	if got, want := read(), [6]int{28, 14, 28, 28, 14, 28}; got != want {
		t.Errorf("outlets 9-12 off: rPDU loads and rPDU2 currents = %v, want %v", got, want)
	}
	if got := getInt(t, d, rPDUIdentDevicePowerWatts); got != 20*350*230/1000 {
		t.Errorf("watts = %d, want %d", got, 20*350*230/1000)
	}
	for n, want := range map[uint32]int{1: 1, 8: 1, 9: 2, 16: 2, 17: 3, 24: 3} {
		if got := getInt(t, d, rPDU.child(3, 5, 1, 1, 3, n)); got != want {
			t.Errorf("outlet %d is on phase %d (rPDUOutletStatusOutletPhase), want %d", n, got, want)
		}
	}
}
