// Package apc drives APC switched PDUs over SNMP: it implements power.Driver
// for the PowerNet MIB's three outlet dialects (sPDU, rPDU, rPDU2), finds
// which one a PDU speaks, reads all its outlets and meters in one request,
// and switches one outlet with one SET.
//
// It knows SNMP and APC's firmware, and nothing of HTTP, config files or
// machines: which outlet feeds what, how long to wait after a switch and
// whether it took are power's business. A Driver is used by one goroutine
// at a time (power's per-PDU worker), like the gosnmp session under it.
package apc

import (
	"context"
	"errors"
	"fmt"
	"github.com/powerbridge/powerbridge/power/snmp"

	"github.com/powerbridge/powerbridge/power"
)

// Driver speaks to one APC PDU. It does not talk to the PDU until the first
// Read or Switch, so that a PDU that is down when the program starts does
// not stop it; what it learns then (dialect, outlets, rows, meters) is kept
// until the PDU stops answering that way.
//
// A Driver is not safe for concurrent use.
type Driver struct {
	cfg    Config
	target string // host:port, for messages
	snmp   snmp.Client
	bulk   bool       // GETBULK is there: SNMP v2c and v3
	det    *detection // nil until the first detection succeeds
	// cacheTried: the cached detection, if any, was tried (confirmed or
	// found stale); later detections are fresh ones.
	cacheTried bool
	closed     bool
	// borrowed: the session is the caller's (NewOver), who closes it.
	borrowed bool
}

var _ power.Driver = (*Driver)(nil)

// New checks cfg and returns a Driver for it. It does no network I/O.
func New(cfg Config) (*Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("apc: %w", err)
	}
	session, err := snmp.New(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("apc: %w", err)
	}
	return newDriver(cfg, session), nil
}

// NewOver returns a Driver for cfg that speaks through session c, which
// the caller owns: a driver that probes several vendors' MIBs over one
// session hands it over once the PDU turns out to be an APC. Close leaves
// c open. Like New, it does no network I/O.
func NewOver(cfg Config, c snmp.Client) (*Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("apc: %w", err)
	}
	d := newDriver(cfg, c)
	d.borrowed = true
	return d, nil
}

// newDriver returns a Driver over c for a checked config.
func newDriver(cfg Config, c snmp.Client) *Driver {
	return &Driver{cfg: cfg, target: cfg.target(), snmp: c, bulk: cfg.Version != "1"}
}

// String describes the driver without its secrets.
func (d *Driver) String() string { return "apc " + d.cfg.String() }

// Read returns every outlet of the PDU and its meters.
func (d *Driver) Read(ctx context.Context) (power.Reading, error) {
	r, err := d.read(ctx)
	// The sockets are closed between reads, which a poller makes seconds
	// apart: gosnmp keeps a 64 KB receive buffer per open session, which
	// is most of powerbridge's memory with a few hundred PDUs. The next
	// call opens them again; what was learnt of the agent (its SNMPv3
	// engine, boots and time, the localised keys) stays.
	d.snmp.Close()
	if err != nil {
		return power.Reading{}, fmt.Errorf("reading %s: %w", d.target, err)
	}
	return r, nil
}

func (d *Driver) read(ctx context.Context) (power.Reading, error) {
	det, err := d.detection(ctx)
	if err != nil {
		return power.Reading{}, err
	}
	r, err := d.readWith(ctx, det)
	if !errors.Is(err, errGone) {
		return r, err
	}
	// The PDU no longer answers the way detection found it: new firmware,
	// a changed daisy chain. Detect again, once.
	d.det = nil
	if det, err = d.detection(ctx); err != nil {
		return power.Reading{}, err
	}
	return d.readWith(ctx, det)
}

func (d *Driver) readWith(ctx context.Context, det *detection) (power.Reading, error) {
	got, err := d.fetch(ctx, det)
	if err != nil {
		return power.Reading{}, err
	}
	return det.reading(got)
}

// detection returns what is known of the PDU, detecting it if need be.
// The first time, a cached detection is tried: one confirming request, and
// a fresh detection only if the PDU is not the one cached. What a fresh
// detection finds is cached.
func (d *Driver) detection(ctx context.Context) (*detection, error) {
	if d.closed {
		return nil, errors.New("the driver is closed")
	}
	if d.det != nil {
		return d.det, nil
	}
	if det, err := d.fromCache(ctx); det != nil || err != nil {
		return det, err
	}
	det, err := detect(ctx, d.snmp, d.cfg.Dialect, d.cfg.System)
	if err != nil {
		return nil, fmt.Errorf("detecting the PDU: %w", err)
	}
	d.det = det
	d.cache(det)
	return det, nil
}

// cache stores det in the detection cache, if there is one. A detection
// that cannot be cached is still a detection: the next start detects again.
func (d *Driver) cache(det *detection) {
	if d.cfg.Cache == nil {
		return
	}
	if data, err := det.encode(); err == nil {
		_ = d.cfg.Cache.Store(d.cfg.cacheKey(), data)
	}
}

// Detect finds (or confirms from the cache) what the PDU is, without
// reading its outlets: a driver that probes several vendors' MIBs asks it
// of an APC before its first Read.
func (d *Driver) Detect(ctx context.Context) error {
	if _, err := d.detection(ctx); err != nil {
		return fmt.Errorf("reading %s: %w", d.target, err)
	}
	return nil
}

// Cached reports whether the cache holds a detection for this driver's
// config, which a start then confirms with one request.
func (d *Driver) Cached() bool {
	if d.cfg.Cache == nil {
		return false
	}
	_, ok := d.cfg.Cache.Load(d.cfg.cacheKey())
	return ok
}

// fromCache returns the cached detection once the PDU confirmed it, or nil
// (and nil) when there is none to try or the PDU is not the one cached. It
// is tried once per driver: after a read finds the outlet table gone, the
// driver detects afresh.
func (d *Driver) fromCache(ctx context.Context) (*detection, error) {
	if d.cfg.Cache == nil || d.cacheTried {
		return nil, nil
	}
	data, ok := d.cfg.Cache.Load(d.cfg.cacheKey())
	if !ok {
		d.cacheTried = true
		return nil, nil
	}
	det, err := decode(data)
	if err != nil {
		d.cacheTried = true // an entry this version cannot read: detect, and overwrite it
		return nil, nil
	}
	err = confirm(ctx, d.snmp, det)
	if errors.Is(err, errChanged) {
		d.cacheTried = true
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("confirming the cached detection: %w", err)
	}
	d.cacheTried = true
	d.det = det
	return det, nil
}

// Switch asks the PDU to turn outlet n on or off, with exactly one SET that
// is never retried. Only an answer that certainly means "not done" wraps
// power.ErrRefused; after a timeout (power.ErrNoAnswer, once the late answer
// came or was given up on) or a snmp.GenErr the outlet may well have switched,
// and the caller must read it back.
func (d *Driver) Switch(ctx context.Context, n int, to power.State) error {
	value := valueOn
	switch to {
	case power.On:
	case power.Off:
		value = valueOff
	default:
		return fmt.Errorf("switching outlet %d %v: only on and off can be asked for: %w", n, to, power.ErrRefused)
	}
	det, err := d.detection(ctx)
	if err != nil {
		return fmt.Errorf("switching outlet %d %v: %w", n, to, err)
	}
	o, ok := det.outlet(n)
	if !ok {
		return fmt.Errorf("switching outlet %d %v: the PDU has no such outlet (%s): %w", n, to, outletRange(det), power.ErrRefused)
	}
	in := det.dialect.control(o)
	if err := d.snmp.Set(ctx, in.OID, value); err != nil {
		return fmt.Errorf("switching outlet %d %v (%s): %w", n, to, in.name, d.setError(err))
	}
	return nil
}

// setError says what a failed SET means for the outlet.
func (d *Driver) setError(err error) error {
	// An APC "Write" community cannot SET while someone is logged in to
	// the web UI; "Write+" can.
	return snmp.SetError(err, ` An APC "Write" community cannot SET while someone is logged in to the web UI; "Write+" can`)
}

// outletRange describes the outlets of a PDU, for messages.
func outletRange(det *detection) string {
	os := det.layout.outlets
	switch len(os) {
	case 0:
		return "it has none"
	case 1:
		return fmt.Sprintf("it has outlet %d", os[0].number)
	}
	return fmt.Sprintf("it has outlets %d to %d", os[0].number, os[len(os)-1].number)
}

// Close releases the driver's sockets.
func (d *Driver) Close() error {
	d.closed = true
	if d.borrowed {
		return nil
	}
	err := d.snmp.Close()
	if s, ok := d.snmp.(*snmp.Session); ok {
		s.ForgetLate() // no request will wait for it any more
	}
	return err
}
