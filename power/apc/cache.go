package apc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// DetectionCache keeps what detection found, by a key that names the PDU
// and how it is reached, so that a restart need not detect again. The
// driver packages know nothing of where it is kept (powerbridge keeps it
// in its state directory).
type DetectionCache interface {
	// Load returns what Store last stored under key.
	Load(key string) ([]byte, bool)
	// Store keeps data under key, replacing what was there.
	Store(key string, data []byte) error
}

// cacheKey names the PDU and the way it is reached: its address, SNMP
// version, dialect asked for and credentials, so that a changed config is
// a miss. The credentials are hashed: the cache is no place for secrets.
func (c Config) cacheKey() string {
	h := sha256.Sum256([]byte(strings.Join([]string{c.Community, c.ReadCommunity, c.User,
		c.AuthProtocol, c.AuthPassphrase, c.PrivProtocol, c.PrivPassphrase}, "\x00")))
	return fmt.Sprintf("apc %s v%s %s %s", c.target(), c.Version, or(c.Dialect, "auto"), hex.EncodeToString(h[:8]))
}

// cached is a detection as the cache holds it.
type cached struct {
	System   System
	Model    string `json:",omitempty"`
	Firmware string `json:",omitempty"`
	Dialect  string
	Outlets  []cachedOutlet
	Columns  []cachedColumn
	Meters   []string // the PDU-wide meters' instances
}

type cachedOutlet struct {
	Number, Row, CtlRow int
	Name                string
}

type cachedColumn struct {
	Field field
	OID   string
	Rows  []int
	At    map[int]int
}

// encode returns det as the cache holds it.
func (det *detection) encode() ([]byte, error) {
	c := cached{System: det.system, Model: det.info.Model, Firmware: det.info.Firmware, Dialect: nameOf(det.dialect)}
	for _, o := range det.layout.outlets {
		c.Outlets = append(c.Outlets, cachedOutlet{Number: o.number, Row: o.row, CtlRow: o.ctlRow, Name: o.name})
	}
	for _, col := range det.layout.columns {
		c.Columns = append(c.Columns, cachedColumn{Field: col.field, OID: col.obj.OID, Rows: col.rows, At: col.at})
	}
	for _, m := range det.meters {
		c.Meters = append(c.Meters, m.inst.OID)
	}
	return json.Marshal(c)
}

// decode is encode's inverse. What no longer makes sense to this version of
// the package (an object or a dialect it does not know) is an error.
func decode(data []byte) (*detection, error) {
	var c cached
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	d, ok := dialects[c.Dialect]
	if !ok || len(c.Outlets) == 0 || len(c.Columns) < 2 {
		return nil, fmt.Errorf("dialect %q with %d outlets and %d columns is no detection", c.Dialect, len(c.Outlets), len(c.Columns))
	}
	det := &detection{system: c.System, dialect: d}
	det.info.Vendor, det.info.Dialect, det.info.Model, det.info.Firmware = "APC", c.Dialect, c.Model, c.Firmware
	for _, o := range c.Outlets {
		det.layout.outlets = append(det.layout.outlets, outlet{number: o.Number, name: o.Name, row: o.Row, ctlRow: o.CtlRow})
	}
	for _, cc := range c.Columns {
		k, ok := outletColumns[cc.OID]
		if !ok || k.field != cc.Field {
			return nil, fmt.Errorf("column %s is none this package reads", cc.OID)
		}
		det.layout.columns = append(det.layout.columns, column{field: cc.Field, obj: k.obj, rows: cc.Rows, at: cc.At, convert: k.convert})
	}
	for _, oid := range c.Meters {
		m, ok := meterAt(oid)
		if !ok {
			return nil, fmt.Errorf("meter %s is none this package reads", oid)
		}
		det.meters = append(det.meters, m)
	}
	return det, nil
}

// outletColumns are the per-outlet columns a layout may hold, by OID.
var outletColumns = func() map[string]column {
	m := map[string]column{}
	for _, c := range []column{
		{field: fieldState, obj: sPDUOutletCtl}, {field: fieldPending, obj: sPDUOutletPending},
		{field: fieldState, obj: rPDUOutletStatusOutletState}, {field: fieldPending, obj: rPDUOutletStatusCommandPending},
		{field: fieldCurrent, obj: rPDUOutletStatusLoad, convert: tenths},
		{field: fieldState, obj: rPDU2OutletSwitchedStatusState}, {field: fieldPending, obj: rPDU2OutletSwitchedStatusCommandPending},
		{field: fieldCurrent, obj: rPDU2OutletMeteredStatusCurrent, convert: tenths},
		{field: fieldPower, obj: rPDU2OutletMeteredStatusPower, convert: units},
	} {
		m[c.obj.OID] = c
	}
	return m
}()

// meterAt returns the meter instance at oid, from any dialect's sources.
func meterAt(oid string) (meterInstance, bool) {
	for _, d := range dialects {
		for _, s := range d.meters() {
			if r, ok := snmp.RowOf(oid, s.obj.OID); ok && (!s.scalar || r == 0) {
				return meterInstance{quantity: s.quantity, inst: s.obj.row(r), convert: s.convert}, true
			}
		}
	}
	return meterInstance{}, false
}

// errChanged is a cached detection the PDU no longer matches.
var errChanged = errors.New("the PDU is not the one the cache describes")

// confirm checks a cached detection against the PDU with one GET: its
// sysDescr, its sysObjectID and its first outlet's state, the least that
// tells a swapped PDU, new firmware or a moved outlet table. A mismatch
// (or, under SNMPv1, the state missing) is errChanged; no answer is the
// session's error.
func confirm(ctx context.Context, c snmp.Client, det *detection) error {
	o := det.layout.outlets[0]
	state := snmp.At(det.layout.columns[0].obj.OID, det.layout.columns[0].at[o.number])
	vbs, err := c.Get(ctx, []string{sysDescr, sysObjectID, state})
	var ae *snmp.AgentError
	if errors.As(err, &ae) {
		return fmt.Errorf("%w: %w", errChanged, err)
	}
	if err != nil {
		return err
	}
	var got System
	for _, v := range vbs {
		switch {
		case v.OID == sysDescr && v.Kind == snmp.KindString:
			got.Descr = v.Str
		case v.OID == sysObjectID && v.Kind == snmp.KindOID:
			got.ObjectID = "." + strings.TrimPrefix(v.Str, ".")
		case v.OID == state && v.Missing():
			return fmt.Errorf("%w: no %s", errChanged, state)
		}
	}
	if got != det.system {
		return fmt.Errorf("%w: it says it is %q (%s), the cache %q (%s)", errChanged, got.Descr, got.ObjectID, det.system.Descr, det.system.ObjectID)
	}
	return nil
}
