package mibs

import (
	"context"
	"errors"
	"fmt"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/snmp"
)

var _ power.OutletNamer = (*Driver)(nil)

// stringSetter is an SNMP client that can write an OCTET STRING.
type stringSetter interface {
	SetString(ctx context.Context, oid, value string) error
}

// NameOutlet writes outlet n's name on the PDU: an APC's through
// power/apc, any other vendor's into its MIB's name column where the MIB
// has it read-write (mib.nameMax). A vendor whose names are not written
// here (no nameMax, or no name column) is power.ErrCannotName.
func (d *Driver) NameOutlet(ctx context.Context, n int, name string) error {
	if err := d.detect(ctx); err != nil {
		return fmt.Errorf("naming outlet %d: %w", n, err)
	}
	if d.apc != nil {
		return d.apc.NameOutlet(ctx, n, name)
	}
	m := d.det.mib
	if m.name == "" || m.nameMax == 0 {
		return fmt.Errorf("%w: names are written to APC, Eaton G3, Raritan PDU2 and ServerTech PDUs, and this is %s %s (%s)", power.ErrCannotName, d.det.info.Vendor, d.det.info.Model, m.label())
	}
	if len(name) > m.nameMax {
		return fmt.Errorf("naming outlet %d %q: longer than the %d characters %s takes", n, name, m.nameMax, m.label())
	}
	ss, ok := d.snmp.(stringSetter)
	if !ok {
		return errors.New("this SNMP client cannot write outlet names")
	}
	var o *outlet
	for i := range d.det.outlets {
		if d.det.outlets[i].number == n {
			o = &d.det.outlets[i]
		}
	}
	if o == nil {
		return fmt.Errorf("naming outlet %d: the PDU has no such outlet (it has outlets 1 to %d)", n, len(d.det.outlets))
	}
	oid := m.name + "." + o.index
	if err := ss.SetString(ctx, oid, name); err != nil {
		return fmt.Errorf("naming outlet %d %q (%s name column, %s): %w", n, name, m.label(), oid, snmp.SetError(err, ""))
	}
	// Reads take the names from the detection's walk of the table.
	o.name = name
	return nil
}

// MaxNameLength is the longest outlet name the PDU takes: the MIB's, once
// the PDU is detected (0 where they are not written); APC's 20 before.
func (d *Driver) MaxNameLength() int {
	if d.det != nil {
		return d.det.mib.nameMax
	}
	return apc.MaxOutletName
}
