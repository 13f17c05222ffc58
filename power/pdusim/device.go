package pdusim

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultSwitchDelay    = 100 * time.Millisecond
	DefaultRebootDuration = time.Second
)

// Options tune how the simulated outlets behave.
type Options struct {
	// SwitchDelay is how long an outlet command stays pending before it
	// takes effect: DefaultSwitchDelay if 0, instant if negative.
	SwitchDelay time.Duration
	// RebootDuration is how long a reboot command keeps the outlet off:
	// DefaultRebootDuration if 0, no time at all if negative.
	RebootDuration time.Duration
}

func (o Options) switchDelay() time.Duration { return orDefault(o.SwitchDelay, DefaultSwitchDelay) }
func (o Options) rebootDuration() time.Duration {
	return orDefault(o.RebootDuration, DefaultRebootDuration)
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Device is a simulated PDU: an object store plus live outlets. It is safe
// for concurrent use; its methods never block on a switch in progress.
type Device struct {
	mu      sync.Mutex // guards outlets and every live object
	store   *store
	outlets []*outlet
	opts    Options
	start   time.Time // when the device last (re)started
	upBase  uint32    // sysUpTime at start: the recorded value, 0 after a reboot
	now     func() time.Time
}

// New returns a device of a built-in model: "ap7900" (8 outlets; sPDU and
// rPDU trees), "ap8941" (24 outlets, metered; sPDU, rPDU and rPDU2 trees)
// or "ap8961" (the same on three phases of 8 outlets, each metered),
// or one of another vendor's (vendorModels: "eaton-g3", "raritan-px3",
// "servertech-sentry3", "servertech-sentry4", "cyberpower-epdu2",
// "tripplite-pdu", "geist-v5").
func New(model string, opts Options) (*Device, error) {
	if objects, ok := vendorModels[model]; ok {
		d, err := build(objects(), opts, nil)
		if err == nil {
			d.attachVendorMeters(model)
		}
		return d, err
	}
	m, ok := models[model]
	if !ok {
		return nil, fmt.Errorf("pdusim: unknown model %q (have %s)", model, modelNames())
	}
	return build(m.objects(), opts, m.meter)
}

// Load returns a device that serves the .snmprec recording at path, with
// the outlet tables it holds made live. Errors name path:line.
func Load(path string, opts Options) (*Device, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pdusim: %w", err)
	}
	defer f.Close()
	return Parse(f, path, opts)
}

// Parse is Load from a reader; name stands for the file in errors.
func Parse(r io.Reader, name string, opts Options) (*Device, error) {
	objects, err := readSnmprec(r, name)
	if err != nil {
		return nil, fmt.Errorf("pdusim: %w", err)
	}
	d, err := build(objects, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("pdusim: %s: %w", name, err)
	}
	return d, nil
}

// build makes a device of a store's objects, with live outlets on every
// outlet table it finds and, for built-in models, live meters.
func build(objects []*object, opts Options, m *meter) (*Device, error) {
	st, err := newStore(objects)
	if err != nil {
		return nil, err
	}
	d := &Device{store: st, opts: opts, start: time.Now(), now: time.Now}
	if err := d.attachOutlets(); err != nil {
		return nil, err
	}
	d.attachClock()
	if m != nil {
		d.attachMeter(m)
	}
	return d, nil
}
