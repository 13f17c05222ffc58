package mibs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// A mib describes one vendor MIB's outlet table: everything a driver needs
// to find the outlets, read them in one request, and switch one. Each
// vendor's file fills one in; catalogue lists them all.
type mib struct {
	vendor     string // as people know it: "Eaton"
	vendorKey  string // as a config names it: "eaton"
	dialect    string // the MIB, as a config may force it: "g3"
	enterprise int    // sysObjectID's enterprise number
	// objectIDs are sysObjectIDs, or their prefixes, that name a device of
	// this MIB above all others of the vendor; they only order the probes.
	objectIDs []string

	// rows is the column whose rows are the outlets, indexed by whatever
	// the MIB indexes outlets with (an outlet number, unit.outlet,
	// tower.infeed.outlet). Outlets are numbered 1, 2, ... in that index
	// order, so a PDU of one unit keeps its own outlet numbers.
	rows string
	// states are the places the state may be read from, tried in order at
	// detection; the first that answers for the first outlet is used.
	states []stateSource
	// name is the outlet name column ("" if none); unnamed outlets are
	// "Outlet N". userName, when set, is a user-set name column read before
	// it: where an outlet has one, it is the name. nameMax is the longest
	// name the MIB lets be written into name; 0 when it is not written
	// (names.go).
	name, userName string
	nameMax        int
	// switchable, when set, is a column whose value tells whether an
	// outlet can be switched at all.
	switchable   string
	isSwitchable func(int64) bool
	outletMeters []outletMeter // in order of priority
	pduMeters    []pduMeter
	identObjects []string // scalars read once at detection, for identify
	identify     func(sysDescr string, objects map[string]snmp.Varbind) (model, firmware string)
	// control returns the object whose write switches the outlet of
	// index to state to, by name (for messages) and OID, and the value.
	control func(index string, to power.State) (name, oid string, value int)
}

// stateSource is a column an outlet's state can be read from: the
// instance of outlet index i is col.i followed by suffix.
type stateSource struct {
	name   string
	col    string
	suffix string
	decode func(int64) outletState
}

// outletState is a state value decoded.
type outletState struct {
	state   power.State
	pending bool
	// locked: the device refuses to switch the outlet as it stands
	// (Sentry4 lockedOn, fixedOn), with why.
	locked string
}

// outletMeter is a per-outlet meter column: instance col.i+suffix, in
// units of scale (or of 10^-decimals, decimals read from a column at
// detection).
type outletMeter struct {
	field    field
	col      string
	suffix   string
	scale    float64
	decimals string // column of decimal digits, instance decimals.i+suffix
}

type field int

const (
	fieldCurrent field = iota // amperes
	fieldPower                // watts
)

// pduMeter is a PDU-wide meter column: every row (whose index ends in
// suffix) is read; currents are kept per row (phase, bank, inlet), power
// and energy are summed over the rows (units, inputs).
type pduMeter struct {
	quantity quantity
	col      string
	suffix   string
	scale    float64 // to amperes, watts or joules
	decimals string  // as in outletMeter
	// kind, when set, is a column of the same rows whose value says
	// whether a row is one to read (Eaton's neutral wire is not a phase).
	kind string
	keep func(int64) bool
}

type quantity int

const (
	phaseCurrent quantity = iota
	totalPower
	totalEnergy
)

func (m *mib) label() string { return m.vendorKey + " " + m.dialect }

// hinted reports whether sysObjectID id names a device of m above all.
func (m *mib) hinted(id string) bool {
	for _, p := range m.objectIDs {
		if id == p || strings.HasPrefix(id, p+".") {
			return true
		}
	}
	return false
}

// detection is what discovery learnt of a PDU.
type detection struct {
	mib     *mib
	info    power.Info
	outlets []outlet
	state   stateSource
	meters  []outletMeter // those that answered, and fit in one request
	scales  map[string]float64
	pdu     []pduInstance
	// locked is what the last read said of each outlet that cannot be
	// switched as it stands.
	locked map[int]string
}

type outlet struct {
	number     int
	index      string
	name       string
	unswitched bool // the MIB says it cannot be switched
}

type pduInstance struct {
	quantity quantity
	oid      string
	scale    float64
}

// errGone marks a read that found the outlet table other than detection
// left it; the driver then detects again.
var errGone = errors.New("the outlet table no longer answers as it did")

// read fetches every outlet's state and meters, and the PDU's meters, in
// one GET wherever they fit in snmp.MaxVarbinds.
func (det *detection) read(ctx context.Context, c snmp.Client) (power.Reading, error) {
	var oids []string
	for _, p := range det.pdu {
		oids = append(oids, p.oid)
	}
	for _, o := range det.outlets {
		oids = append(oids, det.state.col+"."+o.index+det.state.suffix)
		for _, om := range det.meters {
			oids = append(oids, om.col+"."+o.index+om.suffix)
		}
	}
	got := map[string]snmp.Varbind{}
	err := snmp.GetAll(ctx, c, oids, got)
	if snmp.IsStatus(err, snmp.NoSuchName) {
		// SNMPv1 fails the whole GET for one missing object.
		return power.Reading{}, fmt.Errorf("%w: %w", errGone, err)
	}
	if err != nil {
		return power.Reading{}, err
	}
	r := power.Reading{Info: det.info}
	for _, o := range det.outlets {
		in := det.state.col + "." + o.index + det.state.suffix
		v, ok := got[in].Integer()
		if !ok {
			return power.Reading{}, fmt.Errorf("%w: no %s for outlet %d", errGone, det.state.name, o.number)
		}
		out := det.decodeState(o, v)
		for _, om := range det.meters {
			oid := om.col + "." + o.index + om.suffix
			n, ok := got[oid].Integer()
			if !ok || n < 0 {
				continue // not measured: no reading rather than a wrong one
			}
			scale := om.scale
			if s, ok := det.scales[oid]; ok {
				scale = s
			}
			f := float64(n) * scale
			switch om.field {
			case fieldCurrent:
				out.CurrentAmperes = &f
			case fieldPower:
				out.PowerWatts = &f
			}
		}
		r.Outlets = append(r.Outlets, out)
	}
	r.Meter = det.meter(got)
	return r, nil
}

// readStates fetches the state of the given outlets alone, one varbind
// each, in one GET (power.StateReader). An outlet the PDU does not have is
// left out.
func (det *detection) readStates(ctx context.Context, c snmp.Client, outlets []int) ([]power.Outlet, error) {
	var asked []outlet
	var oids []string
	for _, o := range det.outlets {
		if slices.Contains(outlets, o.number) {
			asked = append(asked, o)
			oids = append(oids, det.state.col+"."+o.index+det.state.suffix)
		}
	}
	if len(oids) == 0 {
		return nil, nil
	}
	got := map[string]snmp.Varbind{}
	err := snmp.GetAll(ctx, c, oids, got)
	if snmp.IsStatus(err, snmp.NoSuchName) {
		return nil, fmt.Errorf("%w: %w", errGone, err)
	}
	if err != nil {
		return nil, err
	}
	os := make([]power.Outlet, 0, len(asked))
	for i, o := range asked {
		v, ok := got[oids[i]].Integer()
		if !ok {
			return nil, fmt.Errorf("%w: no %s for outlet %d", errGone, det.state.name, o.number)
		}
		os = append(os, det.decodeState(o, v))
	}
	return os, nil
}

// decodeState decodes outlet o's state value v, and notes whether it is
// locked.
func (det *detection) decodeState(o outlet, v int64) power.Outlet {
	st := det.state.decode(v)
	if st.locked != "" {
		det.locked[o.number] = st.locked
	} else {
		delete(det.locked, o.number)
	}
	return power.Outlet{Number: o.number, Name: o.name, State: st.state, Pending: st.pending}
}

// meter decodes the PDU-wide meters.
func (det *detection) meter(got map[string]snmp.Varbind) power.Meter {
	var m power.Meter
	var watts, joules float64
	var hasW, hasJ, currentsOK = false, false, true
	var currents []float64
	for _, p := range det.pdu {
		n, ok := got[p.oid].Integer()
		if !ok || n < 0 {
			if p.quantity == phaseCurrent {
				currentsOK = false // a gap would shift the phases
			}
			continue
		}
		f := float64(n) * p.scale
		switch p.quantity {
		case phaseCurrent:
			currents = append(currents, f)
		case totalPower:
			watts, hasW = watts+f, true
		case totalEnergy:
			joules, hasJ = joules+f, true
		}
	}
	if currentsOK {
		m.CurrentAmperes = currents
	}
	if hasW {
		m.PowerWatts = &watts
	}
	if hasJ {
		m.EnergyJoules = &joules
	}
	return m
}

// switchOutlet sends the one SET that switches outlet n.
func (det *detection) switchOutlet(ctx context.Context, c snmp.Client, n int, to power.State) error {
	var o *outlet
	for i := range det.outlets {
		if det.outlets[i].number == n {
			o = &det.outlets[i]
		}
	}
	if o == nil {
		return fmt.Errorf("switching outlet %d %v: the PDU has no such outlet (it has outlets 1 to %d): %w", n, to, len(det.outlets), power.ErrRefused)
	}
	if o.unswitched {
		return fmt.Errorf("switching outlet %d %v: the PDU says outlet %d (%s) cannot be switched: %w", n, to, n, o.name, power.ErrRefused)
	}
	if why := det.locked[n]; why != "" {
		return fmt.Errorf("switching outlet %d %v: outlet %d (%s) is %s, which the PDU does not let anyone switch: %w", n, to, n, o.name, why, power.ErrRefused)
	}
	name, oid, value := det.mib.control(o.index, to)
	if err := c.Set(ctx, oid, value); err != nil {
		return fmt.Errorf("switching outlet %d %v (%s.%s): %w", n, to, name, o.index, snmp.SetError(err, ""))
	}
	return nil
}
