package mibs

// catalogue lists every MIB this package speaks, in the order detection
// probes them when sysObjectID gives no hint (APC is probed before all of
// them): a new vendor is a new file and a line here.
var catalogue = []*mib{
	eatonG3,
	raritanPDU2,
	sentry4,
	sentry3,
	cyberPowerEPDU2,
	cyberPowerEPDU,
	trippLitePDU,
	geistV5,
}
