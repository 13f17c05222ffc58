package apc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/powerbridge/powerbridge/power/snmp"
	"slices"
	"strings"

	"github.com/powerbridge/powerbridge/power"
)

const (
	sysDescr    = ".1.3.6.1.2.1.1.1.0"
	sysObjectID = ".1.3.6.1.2.1.1.2.0"

	// sysObjectIDPrefix is APC's masterSwitch product branch: every APC
	// switched PDU's sysObjectID is one of its children.
	sysObjectIDPrefix = ".1.3.6.1.4.1.318.1.3.4"
)

// ErrNoOutletTable is what Read answers, wrapped, when the PDU answers
// SNMP but none of APC's outlet tables: it is no APC switched PDU, or not
// one this package knows.
var ErrNoOutletTable = errors.New("no outlet table answers")

// detection is what the driver learnt of the PDU on first contact, and keeps
// until the PDU stops answering the way it did.
type detection struct {
	info    power.Info
	dialect dialect
	layout  layout
	meters  []meterInstance // PDU-wide meters that answered
}

// meterInstance is one PDU-wide reading a Read fetches.
type meterInstance struct {
	quantity quantity
	inst     instance
	convert  func(int64) float64
}

// outlet returns the outlet numbered n.
func (d *detection) outlet(n int) (outlet, bool) {
	for _, o := range d.layout.outlets {
		if o.number == n {
			return o, true
		}
	}
	return outlet{}, false
}

// detect identifies the PDU and finds a dialect whose outlet table answers.
//
// sysObjectID is only a hint: firmware serves older trees beside the newest
// (fence_apc_snmp drives AOS 6 units by reading sPDU and writing rPDU), and
// a capture or a simulator may hold less than the real device. So the
// hinted dialect is probed first, then the others newest first, and the
// newest that answers wins; a dialect older than one that answered is never
// probed. A forced dialect is the only one probed.
func detect(ctx context.Context, c snmp.Client, bulk bool, forced string) (*detection, error) {
	det := &detection{}
	id, err := identify(ctx, c, &det.info)
	if err != nil {
		return nil, err
	}

	var tried []string
	for _, d := range probeOrder(forced, id) {
		if det.dialect != nil && d.generation() < det.dialect.generation() {
			continue
		}
		l, err := d.discover(ctx, c, bulk)
		if errors.Is(err, errNoTable) {
			tried = append(tried, nameOf(d))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("probing the %s outlet table: %w", nameOf(d), err)
		}
		det.dialect, det.layout = d, l
	}
	if det.dialect == nil {
		return nil, fmt.Errorf("%w (tried %s)", ErrNoOutletTable, strings.Join(tried, ", "))
	}
	det.info.Vendor = "APC"
	det.info.Dialect = nameOf(det.dialect)

	// Meters come from the chosen tree first. Unless the dialect was
	// forced, the other trees fill what it lacks: an AP7900B whose rPDU2
	// outlet table is missing still reports its load in rPDU2's phase
	// table.
	sources := det.dialect.meters()
	if forced == "auto" {
		for _, name := range Dialects() {
			if d := dialects[name]; d != det.dialect {
				sources = append(sources, d.meters()...)
			}
		}
	}
	det.meters, err = discoverMeters(ctx, c, bulk, sources)
	if err != nil {
		return nil, err
	}
	return det, nil
}

// probeOrder is the order detect probes the dialects in for a PDU whose
// sysObjectID is id: the hinted dialect first, then the others newest
// first; only the forced one unless forced is "auto".
func probeOrder(forced, id string) []dialect {
	if forced != "auto" {
		return []dialect{dialects[forced]}
	}
	var order []dialect
	for _, d := range dialects {
		order = append(order, d)
	}
	slices.SortFunc(order, func(a, b dialect) int {
		if a.hinted(id) != b.hinted(id) {
			if a.hinted(id) {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.generation(), a.generation())
	})
	return order
}

// identify reads sysDescr and sysObjectID, fills in the model and firmware,
// and returns sysObjectID. It is also the first sign of life: no answer here
// ends detection.
func identify(ctx context.Context, c snmp.Client, info *power.Info) (string, error) {
	vbs, err := c.Get(ctx, []string{sysDescr, sysObjectID})
	var ae *snmp.AgentError
	if errors.As(err, &ae) {
		// An agent without MIB-II's system group is odd but not fatal:
		// the outlet tables decide.
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading sysDescr: %w", err)
	}
	var id string
	for _, v := range vbs {
		switch {
		case v.OID == sysDescr && v.Kind == snmp.KindString:
			info.Model, info.Firmware = parseSysDescr(v.Str)
		case v.OID == sysObjectID && v.Kind == snmp.KindOID:
			id = "." + strings.TrimPrefix(v.Str, ".")
		}
	}
	return id, nil
}

// parseSysDescr finds the model (after "MN:") and the firmware application
// (after "AN1:") in an APC management card's sysDescr, such as
// "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin
// AF1:v6.8.0 AN1:apc_hw05_rpdu2g_680.bin MN:AP7900B HR:B2 SN: ZA1732000177
// MD:08/07/2017)".
func parseSysDescr(s string) (model, firmware string) {
	for _, f := range strings.Fields(s) {
		f = strings.Trim(f, "(),")
		if v, ok := strings.CutPrefix(f, "MN:"); ok {
			model = v
		}
		if v, ok := strings.CutPrefix(f, "AN1:"); ok {
			firmware = v
		}
	}
	return model, firmware
}

// discoverMeters finds which of the sources answer with a supported value,
// keeping the first source of each quantity that does.
func discoverMeters(ctx context.Context, c snmp.Client, bulk bool, sources []meterSource) ([]meterInstance, error) {
	var found []meterInstance
	have := map[quantity]bool{}
	for _, s := range sources {
		if have[s.quantity] {
			continue
		}
		var rows []int
		var values map[int]snmp.Varbind
		if s.scalar {
			vbs, err := c.Get(ctx, []string{snmp.At(s.obj.OID, 0)})
			if snmp.IsStatus(err, snmp.NoSuchName) {
				continue // SNMPv1's way of saying the object is not there
			}
			if err != nil {
				return nil, fmt.Errorf("probing %s: %w", s.obj.name, err)
			}
			rows, values = []int{0}, map[int]snmp.Varbind{0: vbs[0]}
		} else {
			cols := []string{s.obj.OID}
			if s.module != "" {
				cols = append(cols, s.module)
			}
			got, err := snmp.WalkColumns(ctx, c, bulk, cols...)
			if err != nil {
				return nil, fmt.Errorf("probing %s: %w", s.obj.name, err)
			}
			values = got[0]
			modules := map[int]snmp.Varbind{}
			if s.module != "" {
				modules = got[1]
			}
			host := hostModule(modules)
			for _, r := range sortedRows(values) {
				if m, ok := modules[r].Integer(); !ok || m == host {
					rows = append(rows, r)
				}
			}
		}
		var instances []meterInstance
		for _, r := range rows {
			if v, ok := values[r].Integer(); ok && v != unsupported {
				instances = append(instances, meterInstance{quantity: s.quantity, inst: s.obj.row(r), convert: s.convert})
			}
		}
		if len(instances) > 0 {
			found = append(found, instances...)
			have[s.quantity] = true
		}
	}
	return found, nil
}
