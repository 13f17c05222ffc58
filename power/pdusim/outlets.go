package pdusim

import (
	"fmt"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// outlet is one switched outlet. Its state changes only at the times in
// steps, applied lazily whenever someone looks (settle): the device never
// sleeps or runs a goroutine to switch, and a request never waits for one.
type outlet struct {
	name     string
	state    power.State
	steps    []step // future changes, in time order; the outlet is pending while there are any
	switches int    // changes of state made by commands
	executed []Command
	// locked says why the device will not switch the outlet (Sentry4
	// lockedOn, Raritan outletSwitchable false); "" if it will.
	locked string
}

// Command is an outlet command the device carried out, and when: what a
// test asserts device-side timing on (the power-on delay, for one).
type Command struct {
	At   time.Time
	Word string // "on", "off", "reboot" or "cancel"
}

var commandWords = map[command]string{cmdOn: "on", cmdOff: "off", cmdReboot: "reboot", cmdCancel: "cancel"}

// step is a change of state due at a time.
type step struct {
	at time.Time
	to power.State
}

// command is what an outlet is told to do, whichever MIB tree said it.
type command int

const (
	cmdOn command = iota + 1
	cmdOff
	cmdReboot
	cmdCancel
)

// settle applies the steps that are due by now.
func (o *outlet) settle(now time.Time) {
	for len(o.steps) > 0 && !o.steps[0].at.After(now) {
		if o.state != o.steps[0].to {
			o.state = o.steps[0].to
			o.switches++
		}
		o.steps = o.steps[1:]
	}
}

func (o *outlet) pending(now time.Time) bool {
	o.settle(now)
	return len(o.steps) > 0
}

func (o *outlet) stateAt(now time.Time) power.State {
	o.settle(now)
	return o.state
}

// do carries out a command the way APC firmware does: the command is pending
// at once, the state reads the old value until delay has passed, then flips.
// A reboot is off, rebootFor, on. A command that would leave an idle outlet
// as it is does nothing. A new command replaces one still pending.
func (o *outlet) do(c command, now time.Time, delay, rebootFor time.Duration) {
	o.settle(now)
	at := now.Add(delay)
	switch c {
	case cmdCancel:
		o.steps = nil
	case cmdOn, cmdOff:
		to := power.On
		if c == cmdOff {
			to = power.Off
		}
		if o.state == to && len(o.steps) == 0 {
			return
		}
		o.steps = []step{{at, to}}
	case cmdReboot:
		o.steps = []step{{at, power.Off}, {at.Add(rebootFor), power.On}}
	}
	// With no delay configured the command takes effect within the request.
	o.settle(now)
}

// Outlets returns the number of outlets.
func (d *Device) Outlets() int { return len(d.outlets) }

// OutletState returns the state of outlet n (from 1) as it reads now, or
// power.Unknown if there is no such outlet.
func (d *Device) OutletState(n int) power.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.outlet(n)
	if o == nil {
		return power.Unknown
	}
	return o.stateAt(d.now())
}

// OutletPending reports whether outlet n has a command still being carried
// out.
func (d *Device) OutletPending(n int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.outlet(n)
	return o != nil && o.pending(d.now())
}

// OutletName returns the name of outlet n.
func (d *Device) OutletName(n int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.outlet(n); o != nil {
		return o.name
	}
	return ""
}

// SetOutletState puts outlet n in state s at once, dropping any pending
// command, for setting up a test. It is not counted as a switch. s must be
// power.On or power.Off.
func (d *Device) SetOutletState(n int, s power.State) {
	if s != power.On && s != power.Off {
		panic(fmt.Sprintf("pdusim: SetOutletState(%d, %v): the state must be on or off", n, s))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.outlet(n)
	if o == nil {
		panic(fmt.Sprintf("pdusim: SetOutletState(%d, %v): the device has outlets 1 to %d", n, s, len(d.outlets)))
	}
	o.steps = nil
	o.state = s
}

// Switches returns how many times outlet n has changed state through SNMP
// commands so far: 1 after an off outlet was switched on, 2 after a reboot.
func (d *Device) Switches(n int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.outlet(n)
	if o == nil {
		return 0
	}
	o.settle(d.now())
	return o.switches
}

// outlet returns outlet n, or nil. The device must be locked.
func (d *Device) outlet(n int) *outlet {
	if n < 1 || n > len(d.outlets) {
		return nil
	}
	return d.outlets[n-1]
}

// Commands returns the commands outlet n was given through SNMP, in order,
// including those that changed nothing (an on sent to an outlet that is
// on): a SET executed twice shows here even where Switches cannot tell.
func (d *Device) Commands(n int) []Command {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.outlet(n); o != nil {
		return append([]Command(nil), o.executed...)
	}
	return nil
}

// command tells outlet n to do c. The device must be locked.
func (d *Device) command(n int, c command, now time.Time) {
	d.outlets[n-1].executed = append(d.outlets[n-1].executed, Command{At: now, Word: commandWords[c]})
	d.outlets[n-1].do(c, now, d.opts.switchDelay(), d.opts.rebootDuration())
}

// onCountOf returns how many of the outlets lo+1 to hi are on now. The
// device must be locked.
func (d *Device) onCountOf(now time.Time, lo, hi int) int {
	on := 0
	for _, o := range d.outlets[lo:hi] {
		if o.stateAt(now) == power.On {
			on++
		}
	}
	return on
}

// onCount returns how many outlets are on now. The device must be locked.
func (d *Device) onCount(now time.Time) int {
	on := 0
	for _, o := range d.outlets {
		if o.stateAt(now) == power.On {
			on++
		}
	}
	return on
}
