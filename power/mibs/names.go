package mibs

import (
	"context"
	"fmt"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
)

var _ power.OutletNamer = (*Driver)(nil)

// NameOutlet writes outlet n's name on the PDU. Only an APC's names are
// written (through power/apc); the other vendors' names are read, and a
// write to one is power.ErrCannotName.
func (d *Driver) NameOutlet(ctx context.Context, n int, name string) error {
	if err := d.detect(ctx); err != nil {
		return fmt.Errorf("naming outlet %d: %w", n, err)
	}
	if d.apc == nil {
		return fmt.Errorf("%w: names are written to APC PDUs only, and this is %s %s", power.ErrCannotName, d.det.mib.vendor, d.det.info.Model)
	}
	return d.apc.NameOutlet(ctx, n, name)
}

// MaxNameLength is the longest outlet name written.
func (d *Driver) MaxNameLength() int { return apc.MaxOutletName }
