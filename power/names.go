package power

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OutletNamer is a Driver that can write an outlet's name on the PDU, for
// vendors whose MIB has a writable name. It is optional: a Driver without
// it cannot have its names kept in step.
type OutletNamer interface {
	// NameOutlet writes name as outlet n's name, with one request.
	NameOutlet(ctx context.Context, n int, name string) error
	// MaxNameLength is the longest name the PDU takes.
	MaxNameLength() int
}

// ErrCannotName is returned for a PDU whose driver cannot write names.
var ErrCannotName = errors.New("the PDU's driver cannot write outlet names")

// NameOutlet writes name as outlet n's name on the PDU, through its
// worker. Reads after it see the new name.
func (p *PDU) NameOutlet(ctx context.Context, n int, name string) error {
	namer, ok := p.cfg.Driver.(OutletNamer)
	if !ok {
		return ErrCannotName
	}
	var err error
	if derr := p.do(ctx, func() {
		start := time.Now()
		err = namer.NameOutlet(ctx, n, name)
		p.cfg.Observer.DeviceCall(p.cfg.Name, "name", time.Since(start), err)
	}); derr != nil {
		return derr
	}
	p.invalidate()
	return err
}

// NameChange is an outlet whose name SyncOutletNames wrote, or failed to.
type NameChange struct {
	Outlet   int
	From, To string
	Err      error
}

// SyncOutletNames writes each machine's name into the names of its outlets
// on the PDU named pdu, where the name there differs; an outlet that feeds
// no machine is never touched. A name longer than the PDU takes is cut to
// fit: the start of a hostname on the PDU's panel says more than the
// vendor's default, and the config's name is what the rest of powerbridge
// goes by anyway. It returns what it wrote, or tried to.
func (f *Fleet) SyncOutletNames(ctx context.Context, pdu string) ([]NameChange, error) {
	p, err := f.PDU(pdu)
	if err != nil {
		return nil, err
	}
	namer, ok := p.cfg.Driver.(OutletNamer)
	if !ok {
		return nil, fmt.Errorf("PDU %s: %w", pdu, ErrCannotName)
	}
	r, err := p.ReadFresh(ctx)
	if err != nil {
		return nil, err
	}
	// The driver knows its limit once it has detected the PDU, which
	// the read did; it is asked in the PDU's worker, like every call.
	limit := 0
	if err := p.do(ctx, func() { limit = namer.MaxNameLength() }); err != nil {
		return nil, err
	}
	var out []NameChange
	for _, name := range f.order {
		want := name
		if limit > 0 && len(want) > limit {
			want = want[:limit]
		}
		for _, ref := range f.machines[name].Outlets {
			o, ok := r.Outlet(ref.Outlet)
			if ref.PDU != pdu || !ok || o.Name == want {
				continue
			}
			c := NameChange{Outlet: ref.Outlet, From: o.Name, To: want}
			c.Err = p.NameOutlet(ctx, ref.Outlet, want)
			if errors.Is(c.Err, ErrCannotName) {
				// Known only once the driver has detected the PDU.
				return out, fmt.Errorf("PDU %s: %w", pdu, c.Err)
			}
			if c.Err != nil {
				f.log.Warn("writing the machine's name into its outlet's name on the PDU failed", "outlet", ref.String(), "machine", name, "error", c.Err.Error())
			} else {
				f.log.Info("wrote the machine's name into its outlet's name on the PDU", "outlet", ref.String(), "machine", name, "was", o.Name)
			}
			out = append(out, c)
		}
	}
	return out, nil
}
