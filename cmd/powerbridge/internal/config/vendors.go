package config

import (
	"slices"
	"strings"

	"github.com/powerbridge/powerbridge/power/mibs"
)

// Vendors are the values of a PDU's vendor key: the protocols a PDU can be
// driven with, the SNMP PDUs' from power/mibs and the plugs'; "auto" (the
// default) finds the vendor: by SNMP at host[:port], by HTTP at a URL.
var Vendors = append(append([]string{VendorAuto}, mibs.Vendors()...), PlugVendors...)

// Dialects are the values of a PDU's dialect key, every vendor's, each
// vendor's oldest first; "auto" probes the device.
var Dialects = allDialects()

func allDialects() []string {
	d := []string{"auto"}
	for _, v := range mibs.Vendors() {
		d = append(d, mibs.Dialects(v)...)
	}
	return d
}

// dialectVendor returns the vendor whose dialect d is ("" for auto): a
// dialect names its vendor, so "dialect: rpdu2" alone still means APC.
func dialectVendor(d string) string {
	for _, v := range mibs.Vendors() {
		if slices.Contains(mibs.Dialects(v), d) {
			return v
		}
	}
	return ""
}

// checkDialect checks the dialect against the vendor's, and makes a
// dialect given with vendor auto name its vendor.
func (p *PDU) checkDialect(s section) {
	owner := dialectVendor(p.Dialect)
	switch {
	case p.Dialect == "auto":
	case owner == "":
		allowed := Dialects
		if p.Vendor != "auto" && slices.Contains(Vendors, p.Vendor) {
			allowed = append([]string{"auto"}, mibs.Dialects(p.Vendor)...)
		}
		s.field("dialect").errorf("%q is not one of %s", p.Dialect, strings.Join(allowed, ", "))
	case p.Vendor == "auto":
		p.Vendor = owner
	case p.Vendor != owner && slices.Contains(Vendors, p.Vendor):
		s.field("dialect").errorf("%q is a dialect of vendor %s, not %s (which has %s)", p.Dialect, owner, p.Vendor,
			strings.Join(append([]string{"auto"}, mibs.Dialects(p.Vendor)...), ", "))
	}
}
