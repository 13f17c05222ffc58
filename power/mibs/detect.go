package mibs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/snmp"
)

const (
	sysDescr    = ".1.3.6.1.2.1.1.1.0"
	sysObjectID = ".1.3.6.1.2.1.1.2.0"
	enterprises = ".1.3.6.1.4.1."

	apcEnterprise = 318
)

// errNoTable is a MIB's answer when its outlet table is not there.
var errNoTable = errors.New("the outlet table does not answer")

// detect finds which MIB the PDU speaks, unless that is known.
//
// sysObjectID's enterprise number is only the first guess: Tripp Lite's
// PDUs share theirs with its UPSes, CyberPower units serve two trees, and
// a capture or a simulator may hold less than the device. So the MIBs of
// the hinted vendor are probed first, then every other one the config
// allows, and the first whose outlet table answers wins. A forced vendor
// (or dialect) is the only one probed. Detection costs one GET of the
// system group, then one request of the first rows of the outlet tables
// of each group of candidates tried (see candidates), then what discover
// says; an APC is handed to power/apc with the system group read.
func (d *Driver) detect(ctx context.Context) error {
	if d.closed {
		return errors.New("the driver is closed")
	}
	if d.det != nil || d.apc != nil {
		return nil
	}
	// A PDU the cache knows to be an APC is confirmed by power/apc with
	// one request; if it is not what the cache says, detection starts
	// over below.
	if a, err := d.apcDriver(nil); err == nil && a.Cached() {
		if err := a.Detect(ctx); err == nil {
			d.apc = a
			return nil
		}
	}
	descr, id, err := identify(ctx, d.snmp)
	if err != nil {
		return fmt.Errorf("detecting the PDU: %w", err)
	}
	var tried []string
	p := &prober{c: d.snmp}
	for _, group := range d.candidates(id) {
		if group == nil { // APC
			if err := d.probeAPC(ctx, &apc.System{Descr: descr, ObjectID: id}); err == nil {
				return nil
			} else if !errors.Is(err, apc.ErrNoOutletTable) {
				return apcSaid{err}
			}
			tried = append(tried, "apc")
			continue
		}
		det, err := discoverGroup(ctx, p, group, descr)
		if err != nil {
			return fmt.Errorf("detecting the PDU: %w", err)
		}
		if det != nil {
			d.det = det
			return nil
		}
		for _, m := range group {
			tried = append(tried, m.label())
		}
	}
	return fmt.Errorf("detecting the PDU: no outlet table answers (tried %s)", strings.Join(tried, ", "))
}

// discoverGroup probes the outlet tables of the MIBs of group, their first
// rows in one request, and discovers the first whose table answers; nil if
// none does.
func discoverGroup(ctx context.Context, p *prober, group []*mib, descr string) (*detection, error) {
	firsts, err := p.next(ctx, firstAsks(group))
	if err != nil {
		return nil, fmt.Errorf("probing the outlet tables: %w", err)
	}
	for _, m := range group {
		det, err := m.discover(ctx, p, firsts)
		if errors.Is(err, errNoTable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		det.info.Model, det.info.Firmware = m.identify(descr, p.seen)
		return det, nil
	}
	return nil, nil
}

// probeAPC hands the session to power/apc and lets it detect, with the
// system group read already.
func (d *Driver) probeAPC(ctx context.Context, sys *apc.System) error {
	a, err := d.apcDriver(sys)
	if err != nil {
		return err
	}
	if err := a.Detect(ctx); err != nil {
		return err
	}
	d.apc = a
	return nil
}

// apcDriver returns a power/apc driver over d's session.
func (d *Driver) apcDriver(sys *apc.System) (*apc.Driver, error) {
	if d.cfg.Vendor != "auto" && d.cfg.Vendor != "apc" {
		return nil, errors.New("the config names another vendor")
	}
	dialect := "auto"
	if d.cfg.Vendor == "apc" {
		dialect = d.cfg.Dialect
	}
	c := d.cfg.Config
	c.OnEvent = nil // the session d.snmp, shared, tells of its events already
	return apc.NewOver(apc.Config{Config: c, Dialect: dialect, Cache: d.cfg.Cache, System: sys}, d.snmp)
}

// candidates lists the MIBs to probe for a PDU whose sysObjectID is id, in
// order, in groups whose outlet tables are probed together: the MIBs id
// names, then the others of its enterprise, then the rest. nil stands for
// APC, probed alone by power/apc.
func (d *Driver) candidates(id string) [][]*mib {
	var all []*mib
	if d.cfg.Vendor == "auto" || d.cfg.Vendor == "apc" {
		all = append(all, nil)
	}
	for _, m := range catalogue {
		if d.cfg.Vendor != "auto" && m.vendorKey != d.cfg.Vendor {
			continue
		}
		if d.cfg.Dialect != "auto" && m.dialect != d.cfg.Dialect {
			continue
		}
		all = append(all, m)
	}
	ent := enterprise(id)
	hinted := func(m *mib) int {
		switch {
		case m == nil && ent == apcEnterprise, m != nil && m.hinted(id):
			return 0
		case m != nil && m.enterprise == ent:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(all, func(a, b *mib) int { return cmp.Compare(hinted(a), hinted(b)) })
	var groups [][]*mib
	for i, m := range all {
		switch {
		case m == nil:
			groups = append(groups, nil)
		case i > 0 && all[i-1] != nil && hinted(all[i-1]) == hinted(m):
			groups[len(groups)-1] = append(groups[len(groups)-1], m)
		default:
			groups = append(groups, []*mib{m})
		}
	}
	return groups
}

// enterprise returns the enterprise number of a sysObjectID, or -1.
func enterprise(id string) int {
	rest, ok := strings.CutPrefix(id, enterprises)
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(strings.SplitN(rest, ".", 2)[0])
	if err != nil {
		return -1
	}
	return n
}

// identify reads sysDescr and sysObjectID. It is also the first sign of
// life: no answer here ends detection.
func identify(ctx context.Context, c snmp.Client) (descr, id string, err error) {
	vbs, err := c.Get(ctx, []string{sysDescr, sysObjectID})
	var ae *snmp.AgentError
	if errors.As(err, &ae) {
		// No system group: odd but not fatal, the outlet tables decide.
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading sysDescr: %w", err)
	}
	for _, v := range vbs {
		switch {
		case v.OID == sysDescr && v.Kind == snmp.KindString:
			descr = v.Str
		case v.OID == sysObjectID && v.Kind == snmp.KindOID:
			id = "." + strings.TrimPrefix(v.Str, ".")
		}
	}
	return descr, id, nil
}
