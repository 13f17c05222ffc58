package pdusim

import "time"

// Hold stops the device's clock: outlet commands are still accepted, and
// answered, but stay pending and change nothing until Release. A test puts
// a switch "under way" with it for exactly as long as it needs, where a long
// SwitchDelay would only make that likely, and never on a loaded machine.
func (d *Device) Hold() {
	d.mu.Lock()
	defer d.mu.Unlock()
	held := d.now()
	d.now = func() time.Time { return held }
}

// Release restarts the clock Hold stopped. A command whose delay has passed
// in the meantime takes effect at once.
func (d *Device) Release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.now = time.Now
}
