package pdusim

import (
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/powerbridge/powerbridge/power"
)

// clocked returns a device whose clock the test moves.
func clocked(t *testing.T, model string, opts Options) (*Device, *fakeClock) {
	t.Helper()
	d := newDevice(t, model, opts)
	c := newFakeClock()
	d.now = c.now
	return d, c
}

// setInt SETs an INTEGER through the device's request handling, as the
// agent would for a read-write v2c request.
func setInt(t *testing.T, d *Device, o oid, n int) {
	t.Helper()
	req := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.SetRequest,
		Variables: []gosnmp.SnmpPDU{{Name: o.String(), Type: gosnmp.Integer, Value: n}}}
	if res := d.answer(req, readWrite); res.status != gosnmp.NoError {
		t.Fatalf("SET %s = %d: %v at %d", o, n, res.status, res.index)
	}
}

// getInt GETs an INTEGER through the device's request handling.
func getInt(t *testing.T, d *Device, o oid) int {
	t.Helper()
	req := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.GetRequest,
		Variables: []gosnmp.SnmpPDU{{Name: o.String(), Type: gosnmp.Null}}}
	res := d.answer(req, readOnly)
	n, ok := res.vars[0].Value.(int)
	if res.status != gosnmp.NoError || res.vars[0].Type != gosnmp.Integer || !ok {
		t.Fatalf("GET %s: %v, %v %v", o, res.status, res.vars[0].Type, res.vars[0].Value)
	}
	return n
}

// reading is what every tree of the ap8941 says about one outlet.
type reading struct {
	sPDUCtl, sPDUPending, rPDUState, rPDUPending, rPDUCommand, rPDU2State, rPDU2Pending, rPDU2Command int
}

func readAllTrees(t *testing.T, d *Device, n int) reading {
	t.Helper()
	i, x := uint32(n), rPDU2Row(n, 24)
	return reading{
		sPDUCtl:      getInt(t, d, sPDUOutletCtl.child(i)),
		sPDUPending:  getInt(t, d, sPDUOutletPending.child(i)),
		rPDUState:    getInt(t, d, rPDUOutletStatusOutletState.child(i)),
		rPDUPending:  getInt(t, d, rPDUOutletStatusCommandPending.child(i)),
		rPDUCommand:  getInt(t, d, rPDUOutletControlOutletCommand.child(i)),
		rPDU2State:   getInt(t, d, rPDU2OutletSwitchedStatusState.child(x)),
		rPDU2Pending: getInt(t, d, rPDU2OutletSwitchedStatusCommandPending.child(x)),
		rPDU2Command: getInt(t, d, rPDU2OutletSwitchedControlCommand.child(x)),
	}
}

var (
	// How an idle outlet reads in each tree; rPDU2's state is inverted.
	idleOn  = reading{1, 2, 1, 2, 1, 2, 2, 1}
	idleOff = reading{2, 2, 2, 2, 2, 1, 2, 2}
	// Switching off: the old state, with the command pending.
	pendingOn = reading{1, 1, 1, 1, 1, 2, 1, 1}
	// Switching on.
	pendingOff = reading{2, 1, 2, 1, 2, 1, 1, 2}
)

// TestSwitchThroughEachTree switches an ap8941 outlet through each tree's
// command object and watches all three trees follow the same outlet: pending
// at once, old state until the delay has passed, then the new state.
func TestSwitchThroughEachTree(t *testing.T) {
	const delay = 2 * time.Second
	for _, tc := range []struct {
		tree    string
		command func(n int) oid
		off, on int
	}{
		{"sPDU", func(n int) oid { return sPDUOutletCtl.child(uint32(n)) }, 2, 1},
		{"sPDU delayed", func(n int) oid { return sPDUOutletCtl.child(uint32(n)) }, 6, 5},
		{"rPDU", func(n int) oid { return rPDUOutletControlOutletCommand.child(uint32(n)) }, 2, 1},
		{"rPDU delayed", func(n int) oid { return rPDUOutletControlOutletCommand.child(uint32(n)) }, 5, 4},
		{"rPDU2", func(n int) oid { return rPDU2OutletSwitchedControlCommand.child(rPDU2Row(n, 24)) }, 2, 1},
		{"rPDU2 delayed", func(n int) oid { return rPDU2OutletSwitchedControlCommand.child(rPDU2Row(n, 24)) }, 6, 5},
	} {
		t.Run(tc.tree, func(t *testing.T) {
			d, clock := clocked(t, "ap8941", Options{SwitchDelay: delay})
			const n = 7
			if got := readAllTrees(t, d, n); got != idleOn {
				t.Fatalf("before: %+v, want %+v", got, idleOn)
			}

			setInt(t, d, tc.command(n), tc.off)
			if got := readAllTrees(t, d, n); got != pendingOn {
				t.Errorf("just after switching off: %+v, want %+v", got, pendingOn)
			}
			clock.advance(delay - time.Millisecond)
			if got := readAllTrees(t, d, n); got != pendingOn {
				t.Errorf("1 ms before the delay is up: %+v, want %+v", got, pendingOn)
			}
			clock.advance(time.Millisecond)
			if got := readAllTrees(t, d, n); got != idleOff {
				t.Errorf("when the delay is up: %+v, want %+v", got, idleOff)
			}
			if got := d.OutletState(n); got != power.Off {
				t.Errorf("OutletState = %v, want off", got)
			}

			setInt(t, d, tc.command(n), tc.on)
			if got := readAllTrees(t, d, n); got != pendingOff {
				t.Errorf("just after switching on: %+v, want %+v", got, pendingOff)
			}
			clock.advance(delay)
			if got := readAllTrees(t, d, n); got != idleOn {
				t.Errorf("after switching on: %+v, want %+v", got, idleOn)
			}
			if got := d.Switches(n); got != 2 {
				t.Errorf("Switches = %d, want 2", got)
			}
			for other := 1; other <= d.Outlets(); other++ {
				if other != n && (d.Switches(other) != 0 || d.OutletState(other) != power.On) {
					t.Errorf("outlet %d was touched: %v, %d switches", other, d.OutletState(other), d.Switches(other))
				}
			}
		})
	}
}

func TestCommandSemantics(t *testing.T) {
	const (
		delay  = time.Second
		reboot = 3 * time.Second
	)
	ctl := sPDUOutletCtl.child(1)
	t.Run("a command to the state the outlet is in does nothing", func(t *testing.T) {
		d, _ := clocked(t, "ap7900", Options{SwitchDelay: delay})
		setInt(t, d, ctl, 1)
		if d.OutletPending(1) || d.Switches(1) != 0 || d.OutletState(1) != power.On {
			t.Errorf("on an on outlet: pending %v, %d switches, %v", d.OutletPending(1), d.Switches(1), d.OutletState(1))
		}
	})
	t.Run("reboot is off, then on after the reboot duration", func(t *testing.T) {
		d, clock := clocked(t, "ap7900", Options{SwitchDelay: delay, RebootDuration: reboot})
		setInt(t, d, ctl, 3)
		if !d.OutletPending(1) || d.OutletState(1) != power.On {
			t.Fatalf("at once: pending %v, %v; want pending and still on", d.OutletPending(1), d.OutletState(1))
		}
		clock.advance(delay)
		if !d.OutletPending(1) || d.OutletState(1) != power.Off {
			t.Fatalf("after the switch delay: pending %v, %v; want pending and off", d.OutletPending(1), d.OutletState(1))
		}
		if got := getInt(t, d, ctl); got != 2 {
			t.Errorf("sPDUOutletCtl reads %d during the reboot, want 2: no tree reads back a 3", got)
		}
		clock.advance(reboot)
		if d.OutletPending(1) || d.OutletState(1) != power.On || d.Switches(1) != 2 {
			t.Fatalf("after the reboot: pending %v, %v, %d switches; want idle, on, 2", d.OutletPending(1), d.OutletState(1), d.Switches(1))
		}
	})
	t.Run("rPDU cancel drops the pending command", func(t *testing.T) {
		d, clock := clocked(t, "ap7900", Options{SwitchDelay: delay})
		cmd := rPDUOutletControlOutletCommand.child(4)
		setInt(t, d, cmd, 2)
		setInt(t, d, cmd, 7)
		clock.advance(2 * delay)
		if d.OutletPending(4) || d.OutletState(4) != power.On || d.Switches(4) != 0 {
			t.Errorf("after cancel: pending %v, %v, %d switches; want idle, on, 0", d.OutletPending(4), d.OutletState(4), d.Switches(4))
		}
	})
	t.Run("a negative delay switches within the request", func(t *testing.T) {
		d, _ := clocked(t, "ap7900", Options{SwitchDelay: -1, RebootDuration: -1})
		setInt(t, d, ctl, 2)
		if d.OutletPending(1) || d.OutletState(1) != power.Off {
			t.Errorf("after off: pending %v, %v", d.OutletPending(1), d.OutletState(1))
		}
		setInt(t, d, ctl, 3)
		if d.OutletState(1) != power.On || d.Switches(1) != 2 {
			t.Errorf("after rebooting an off outlet: %v, %d switches; want on, 2", d.OutletState(1), d.Switches(1))
		}
	})
	t.Run("the master switch covers every outlet", func(t *testing.T) {
		d, clock := clocked(t, "ap7900", Options{SwitchDelay: delay})
		d.SetOutletState(2, power.Off)
		setInt(t, d, sPDUMasterControlSwitch, 3) // turnAllOffNow
		if got := getInt(t, d, sPDUMasterControlSwitch); got != 6 {
			t.Errorf("sPDUMasterControlSwitch reads %d, want 6 (noCommand)", got)
		}
		clock.advance(delay)
		for n := 1; n <= 8; n++ {
			want := 1
			if n == 2 {
				want = 0 // already off: SetOutletState is not a switch, and neither is the no-op
			}
			if d.OutletState(n) != power.Off || d.Switches(n) != want {
				t.Errorf("outlet %d: %v, %d switches; want off, %d", n, d.OutletState(n), d.Switches(n), want)
			}
		}
	})
}

// TestMeters checks that a built-in model's meters follow its outlets.
func TestMeters(t *testing.T) {
	d, clock := clocked(t, "ap8941", Options{SwitchDelay: time.Second})
	read := func() [4]int {
		return [4]int{
			getGauge(t, d, rPDULoadStatusLoad.child(1)),
			getInt(t, d, rPDU2PhaseStatusCurrent.child(1)),
			getInt(t, d, rPDU2DeviceStatusPower.child(1)),
			getInt(t, d, rPDUIdentDevicePowerWatts),
		}
	}
	// 24 outlets at 0.35 A and 230 V: 8.4 A, 1932 W.
	if got, want := read(), [4]int{84, 84, 193, 1932}; got != want {
		t.Errorf("all on: load, current, power, watts = %v, want %v", got, want)
	}
	for n := 1; n <= 12; n++ {
		setInt(t, d, sPDUOutletCtl.child(uint32(n)), 2)
	}
	clock.advance(time.Second)
	if got, want := read(), [4]int{42, 42, 97, 966}; got != want {
		t.Errorf("half off: load, current, power, watts = %v, want %v", got, want)
	}
	if got := getInt(t, d, rPDU2DeviceStatusEnergy.child(1)); got != 48213 {
		t.Errorf("energy = %d, want 48213", got)
	}

	d7, _ := clocked(t, "ap7900", Options{})
	if got := getGauge(t, d7, rPDULoadStatusLoad.child(1)); got != 28 {
		t.Errorf("ap7900 load = %d tenths of A, want 28", got)
	}
}

func getGauge(t *testing.T, d *Device, o oid) int {
	t.Helper()
	req := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.GetRequest,
		Variables: []gosnmp.SnmpPDU{{Name: o.String(), Type: gosnmp.Null}}}
	res := d.answer(req, readOnly)
	n, ok := res.vars[0].Value.(uint32)
	if res.vars[0].Type != gosnmp.Gauge32 || !ok {
		t.Fatalf("GET %s: %v %v, want a Gauge32", o, res.vars[0].Type, res.vars[0].Value)
	}
	return int(n)
}

// TestRPDU2RowsAreNotOutletNumbers guards the trap the ap8941 sets for
// clients that compute the rPDU2 row from the outlet number.
func TestRPDU2RowsAreNotOutletNumbers(t *testing.T) {
	d := newDevice(t, "ap8941", Options{})
	rows := make(map[uint32]bool)
	for n := 1; n <= 24; n++ {
		x := rPDU2Row(n, 24)
		if x == uint32(n) {
			t.Errorf("outlet %d is row %d", n, x)
		}
		rows[x] = true
		if got := getInt(t, d, rPDU2OutletSwitchedStatusNumber.child(x)); got != n {
			t.Errorf("row %d's Number = %d, want %d", x, got, n)
		}
	}
	if len(rows) != 24 {
		t.Errorf("%d distinct rows for 24 outlets", len(rows))
	}
}

func TestOutletAPI(t *testing.T) {
	d := newDevice(t, "ap8941", Options{})
	if d.Outlets() != 24 || d.OutletName(3) != "Outlet 3" || d.OutletState(25) != power.Unknown || d.Switches(0) != 0 {
		t.Errorf("Outlets %d, OutletName(3) %q, OutletState(25) %v, Switches(0) %d",
			d.Outlets(), d.OutletName(3), d.OutletState(25), d.Switches(0))
	}
	d.SetOutletState(3, power.Off)
	if d.OutletState(3) != power.Off || d.Switches(3) != 0 {
		t.Errorf("after SetOutletState(3, off): %v, %d switches", d.OutletState(3), d.Switches(3))
	}
	for _, bad := range []func(){
		func() { d.SetOutletState(25, power.On) },
		func() { d.SetOutletState(1, power.Unknown) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("SetOutletState did not panic on a bad argument")
				}
			}()
			bad()
		}()
	}
	if _, err := New("ap9999", Options{}); err == nil || err.Error() != `pdusim: unknown model "ap9999" (have ap7900, ap8941, ap8961, cyberpower-epdu2, eaton-g3, geist-v5, raritan-px3, servertech-sentry3, servertech-sentry4, tripplite-pdu)` {
		t.Errorf("New(ap9999): %v", err)
	}
}

func TestHoldKeepsCommandsPending(t *testing.T) {
	d, err := New("ap7900", Options{SwitchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.SetOutletState(1, power.Off)
	d.Hold()
	d.mu.Lock()
	d.command(1, cmdOn, d.now())
	d.mu.Unlock()
	// However long the test takes here, the held device does not switch.
	if got := d.OutletState(1); got != power.Off || !d.OutletPending(1) {
		t.Fatalf("held: outlet 1 %s, pending %v; want off and pending", got, d.OutletPending(1))
	}
	d.Release()
	deadline := time.Now().Add(10 * time.Second)
	for d.OutletState(1) != power.On {
		if time.Now().After(deadline) {
			t.Fatal("released: outlet 1 never came on")
		}
		time.Sleep(time.Millisecond)
	}
	if n := d.Switches(1); n != 1 {
		t.Errorf("%d switches after release, want 1", n)
	}
}
