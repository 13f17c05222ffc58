// Package mibs drives the switched PDUs of every vendor but APC over SNMP,
// each by its vendor's MIB: Eaton (EATON-EPDU-MIB), Raritan (PDU2-MIB),
// ServerTech (Sentry3-MIB, Sentry4-MIB), CyberPower (CPS-MIB's ePDU and
// ePDU2 trees), Tripp Lite (TRIPPLITE-PRODUCTS' tlpPdu tables) and Vertiv
// Geist (GEIST-V5-MIB). Each MIB is one file: a description of its outlet
// table (where the state, names and meters are, what their values mean,
// how a switch is written) that one driver reads. It also detects which
// vendor a PDU is, APC's included ("auto"), and hands an APC to power/apc.
//
// Like power/apc it knows SNMP (through power/snmp) and the vendors'
// firmware, and nothing of HTTP, config files or machines; the rules every
// vendor obeys (one worker, read-back, never a blind resend) are power's.
package mibs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// Config says how to reach one PDU and which MIB to speak.
type Config struct {
	snmp.Config
	// Vendor is "auto" (the default, also for "") or one of Vendors().
	Vendor string
	// Dialect is "auto" (the default) or one of the vendor's Dialects,
	// to skip the probing and speak that MIB only.
	Dialect string
	// Cache, if set, keeps what detection found across restarts (see
	// apc.DetectionCache). Only an APC's detection is cached so far: a
	// cached APC costs one confirming request on start.
	Cache apc.DetectionCache
}

// Driver speaks to one PDU of a vendor this package knows, or finds out
// which vendor it is (Config.Vendor "auto"). Like power/apc's, it does no
// I/O until the first Read or Switch, keeps what it learnt until the PDU
// stops answering that way, and is not safe for concurrent use.
type Driver struct {
	cfg    Config
	target string
	snmp   snmp.Client
	det    *detection // nil until detection succeeds
	apc    *apc.Driver
	closed bool
}

var _ power.Driver = (*Driver)(nil)

// Vendors lists the vendors a Config may name, besides "auto".
func Vendors() []string {
	names := []string{"apc"}
	for _, m := range catalogue {
		if !slices.Contains(names, m.vendorKey) {
			names = append(names, m.vendorKey)
		}
	}
	return names
}

// Dialects lists the dialects of vendor, oldest first ("auto" aside).
func Dialects(vendor string) []string {
	if vendor == "apc" {
		d := apc.Dialects()
		slices.Reverse(d)
		return d
	}
	var names []string
	for _, m := range catalogue {
		if m.vendorKey == vendor {
			names = append(names, m.dialect)
		}
	}
	return names
}

// New checks cfg and returns a Driver for it. It does no network I/O.
func New(cfg Config) (*Driver, error) {
	if cfg.Vendor == "" {
		cfg.Vendor = "auto"
	}
	if cfg.Dialect == "" {
		cfg.Dialect = "auto"
	}
	if cfg.Vendor != "auto" && !slices.Contains(Vendors(), cfg.Vendor) {
		return nil, fmt.Errorf("mibs: Vendor %q is not one of auto, %s", cfg.Vendor, strings.Join(Vendors(), ", "))
	}
	if cfg.Dialect != "auto" && !slices.Contains(Dialects(cfg.Vendor), cfg.Dialect) {
		return nil, fmt.Errorf("mibs: Dialect %q is not one of auto, %s", cfg.Dialect, strings.Join(Dialects(cfg.Vendor), ", "))
	}
	if strings.Contains(cfg.Address, "://") {
		// A smart plug's address: no SNMP agent to detect there.
		return nil, fmt.Errorf("mibs: Address %q has a scheme: SNMP PDUs are found at host or host:port", cfg.Address)
	}
	sc, err := cfg.Config.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("mibs: %w", err)
	}
	cfg.Config = sc
	s, err := snmp.New(sc)
	if err != nil {
		return nil, fmt.Errorf("mibs: %w", err)
	}
	return newDriver(cfg, s), nil
}

// newDriver returns a Driver over c for a checked config.
func newDriver(cfg Config, c snmp.Client) *Driver {
	return &Driver{cfg: cfg, target: cfg.Target(), snmp: c}
}

// String describes the driver without its secrets.
func (d *Driver) String() string {
	return fmt.Sprintf("%s vendor %s dialect %s", d.cfg.Config.String(), d.cfg.Vendor, d.cfg.Dialect)
}

// Read returns every outlet of the PDU and its meters.
func (d *Driver) Read(ctx context.Context) (power.Reading, error) {
	r, err := d.read(ctx)
	// Sockets are closed between reads, as power/apc does (see there).
	d.snmp.Close()
	var own apcSaid
	if errors.As(err, &own) {
		return power.Reading{}, own.err // it says what it was reading
	}
	if err != nil {
		return power.Reading{}, fmt.Errorf("reading %s: %w", d.target, err)
	}
	return r, nil
}

func (d *Driver) read(ctx context.Context) (power.Reading, error) {
	if err := d.detect(ctx); err != nil {
		return power.Reading{}, err
	}
	if d.apc != nil {
		return d.readAPC(ctx)
	}
	r, err := d.det.read(ctx, d.snmp)
	if !errors.Is(err, errGone) {
		return r, err
	}
	// The outlet table no longer answers as detection found it: new
	// firmware, a changed daisy chain. Detect again, once.
	d.det = nil
	if err := d.detect(ctx); err != nil {
		return power.Reading{}, err
	}
	if d.apc != nil {
		return d.readAPC(ctx)
	}
	return d.det.read(ctx, d.snmp)
}

var _ power.StateReader = (*Driver)(nil)

// ReadStates returns the state of the given outlets, one varbind each in
// one request (power.StateReader).
func (d *Driver) ReadStates(ctx context.Context, outlets []int) ([]power.Outlet, error) {
	os, err := d.readStates(ctx, outlets)
	d.snmp.Close() // as after a Read
	var own apcSaid
	if errors.As(err, &own) {
		return nil, own.err
	}
	if err != nil {
		return nil, fmt.Errorf("reading the outlet states of %s: %w", d.target, err)
	}
	return os, nil
}

func (d *Driver) readStates(ctx context.Context, outlets []int) ([]power.Outlet, error) {
	for try := 0; ; try++ {
		if err := d.detect(ctx); err != nil {
			return nil, err
		}
		if d.apc != nil {
			os, err := d.apc.ReadStates(ctx, outlets)
			if err != nil {
				return nil, apcSaid{err}
			}
			return os, nil
		}
		os, err := d.det.readStates(ctx, d.snmp, outlets)
		if !errors.Is(err, errGone) || try > 0 {
			return os, err
		}
		// As in read: the table is not as detection left it; detect
		// again, once.
		d.det = nil
	}
}

// readAPC reads an APC through power/apc.
func (d *Driver) readAPC(ctx context.Context) (power.Reading, error) {
	r, err := d.apc.Read(ctx)
	if err != nil {
		return r, apcSaid{err}
	}
	return r, nil
}

// apcSaid is an error of power/apc's, which names the PDU itself.
type apcSaid struct{ err error }

func (e apcSaid) Error() string { return e.err.Error() }
func (e apcSaid) Unwrap() error { return e.err }

// Switch asks the PDU to turn outlet n on or off, with exactly one SET that
// is never retried (see power.Driver).
func (d *Driver) Switch(ctx context.Context, n int, to power.State) error {
	if to != power.On && to != power.Off {
		return fmt.Errorf("switching outlet %d %v: only on and off can be asked for: %w", n, to, power.ErrRefused)
	}
	if err := d.detect(ctx); err != nil {
		return fmt.Errorf("switching outlet %d %v: %w", n, to, err)
	}
	if d.apc != nil {
		return d.apc.Switch(ctx, n, to)
	}
	return d.det.switchOutlet(ctx, d.snmp, n, to)
}

// Close releases the driver's sockets.
func (d *Driver) Close() error {
	d.closed = true
	if d.apc != nil {
		d.apc.Close()
	}
	err := d.snmp.Close()
	if s, ok := d.snmp.(*snmp.Session); ok {
		s.ForgetLate()
	}
	return err
}
