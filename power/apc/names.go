package apc

import (
	"context"
	"errors"
	"fmt"

	"github.com/powerbridge/powerbridge/power"
)

// The writable name objects, one per tree. The status and control tables'
// names are read-only copies of these (PowerNet-MIB: "This OID is provided
// for informational purposes only").
var (
	sPDUOutletName                = object{"sPDUOutletName", ".1.3.6.1.4.1.318.1.1.4.5.2.1.3"}
	rPDUOutletConfigOutletName    = object{"rPDUOutletConfigOutletName", ".1.3.6.1.4.1.318.1.1.12.3.4.1.1.2"}
	rPDU2OutletSwitchedConfigName = object{"rPDU2OutletSwitchedConfigName", ".1.3.6.1.4.1.318.1.1.26.9.2.1.1.3"}
)

// MaxOutletName is the longest outlet name written: sPDUOutletName's
// "Maximum size is 20 characters"; the newer trees' limit is "device
// dependent", and 20 is what every APC card we know takes.
const MaxOutletName = 20

var _ power.OutletNamer = (*Driver)(nil)

// stringSetter is an SNMP client that can write an OCTET STRING.
type stringSetter interface {
	SetString(ctx context.Context, oid, value string) error
}

// MaxNameLength is the longest outlet name the PDU takes.
func (d *Driver) MaxNameLength() int { return MaxOutletName }

// NameOutlet writes name into outlet n's name on the PDU, in the writable
// name object of the tree the PDU was detected to speak.
func (d *Driver) NameOutlet(ctx context.Context, n int, name string) error {
	if len(name) > MaxOutletName {
		return fmt.Errorf("naming outlet %d %q: longer than %d characters", n, name, MaxOutletName)
	}
	ss, ok := d.snmp.(stringSetter)
	if !ok {
		return errors.New("this SNMP client cannot write outlet names")
	}
	det, err := d.detection(ctx)
	if err != nil {
		return fmt.Errorf("naming outlet %d: %w", n, err)
	}
	o, ok := det.outlet(n)
	if !ok {
		return fmt.Errorf("naming outlet %d: the PDU has no such outlet (%s)", n, outletRange(det))
	}
	var in instance
	switch det.dialect.(type) {
	case spdu:
		in = sPDUOutletName.row(o.number)
	case rpdu:
		in = rPDUOutletConfigOutletName.row(o.number)
	case rpdu2:
		// The config table's rows are the control table's on the
		// firmware we know.
		in = rPDU2OutletSwitchedConfigName.row(o.ctlRow)
	default:
		return fmt.Errorf("naming outlet %d: the %s tree has no outlet name to write", n, nameOf(det.dialect))
	}
	if err := ss.SetString(ctx, in.OID, name); err != nil {
		return fmt.Errorf("naming outlet %d %q (%s): %w", n, name, in.name, d.setError(err))
	}
	// Reads take the names from the detection's walk of the table.
	for i := range det.layout.outlets {
		if det.layout.outlets[i].number == n {
			det.layout.outlets[i].name = name
		}
	}
	d.cache(det) // or a restart would read the old name from the cache
	return nil
}
