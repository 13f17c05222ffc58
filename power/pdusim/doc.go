// Package pdusim is a simulated switched PDU with a real SNMP agent: APC's
// first, and since then every vendor powerbridge drives. It is the project's stand-in for hardware in `powerbridge
// serve --simulate`, in unit, integration and end-to-end tests, and in
// fault-injection and benchmark tests.
//
// A Device is an object store (OID → typed value, built from a built-in model
// or a .snmprec recording of a real PDU) with live outlets layered on top:
// every PowerNet-MIB outlet table the store holds (sPDU, rPDU, rPDU2) reads
// and switches the same outlets, with the pending/delay behaviour of real
// firmware; a store of another vendor's PDU (Eaton, Raritan, ServerTech,
// CyberPower, Tripp Lite, Geist) gets that vendor's outlet tables live, as
// its MIB describes them (vendors.go, vendortables.go). An Agent serves a
// Device over SNMP v1, v2c and v3 (USM) on UDP, answering errors the way
// net-snmp and the cards do.
//
// It must stay a faithful device and nothing more: it knows nothing of
// powerbridge's drivers, its configuration, HTTP or MAAS, so that it can
// catch a driver in the mistakes a real PDU would (computing rPDU2 row
// indexes, writing Eaton's Off column to switch on, reading Sentry3's
// control state for its status, retrying a SET, reading a pending outlet as
// failed). The only project type it uses is power.State.
package pdusim
