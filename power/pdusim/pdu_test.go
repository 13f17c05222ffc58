package pdusim

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// TestCounter64InV1 checks that SNMPv1, which cannot carry a Counter64,
// neither gets nor walks one (RFC 3584 §4.2.2), while v2c does.
func TestCounter64InV1(t *testing.T) {
	d, err := Parse(strings.NewReader(minimal+
		"1.3.6.1.2.1.31.1.1.1.5.1|65|7\n"+
		"1.3.6.1.2.1.31.1.1.1.6.1|70|123456789012\n"+
		"1.3.6.1.2.1.31.1.1.1.7.1|65|8\n"), "c64.snmprec", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(version gosnmp.SnmpVersion, pdu gosnmp.PDUType, name string) result {
		return d.answer(&gosnmp.SnmpPacket{Version: version, PDUType: pdu,
			Variables: []gosnmp.SnmpPDU{{Name: name, Type: gosnmp.Null}}}, readOnly)
	}
	c64 := ".1.3.6.1.2.1.31.1.1.1.6.1"
	if res := ask(gosnmp.Version1, gosnmp.GetRequest, c64); res.status != gosnmp.NoSuchName || res.index != 1 {
		t.Errorf("v1 GET of a Counter64: %v at %d, want noSuchName at 1", res.status, res.index)
	}
	if res := ask(gosnmp.Version1, gosnmp.GetNextRequest, ".1.3.6.1.2.1.31.1.1.1.5.1"); res.vars[0].Name != ".1.3.6.1.2.1.31.1.1.1.7.1" {
		t.Errorf("v1 GETNEXT stepped onto %s, want over the Counter64", res.vars[0].Name)
	}
	want := gosnmp.SnmpPDU{Name: c64, Type: gosnmp.Counter64, Value: uint64(123456789012)}
	if res := ask(gosnmp.Version2c, gosnmp.GetRequest, c64); !reflect.DeepEqual(res.vars[0], want) {
		t.Errorf("v2c GET: %+v, want %+v", res.vars[0], want)
	}
}

// TestGetBulk follows RFC 3416's GETBULK: non-repeaters once, repeaters
// max-repetitions times, endOfMibView once all repeaters are past the end.
func TestGetBulk(t *testing.T) {
	d, err := Parse(strings.NewReader(minimal+
		"1.3.6.1.2.1.1.1.0|4|descr\n1.3.6.1.2.1.1.5.0|4|name\n1.3.6.1.2.1.1.6.0|4|here\n"), "bulk.snmprec", Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := d.answer(&gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.GetBulkRequest, NonRepeaters: 1, MaxRepetitions: 3,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.1.0"}, {Name: ".1.3.6.1.2.1.1.1.0"}, {Name: ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1"}}}, readOnly)
	var got []string
	for _, v := range res.vars {
		got = append(got, v.Name+" "+v.Type.String())
	}
	want := []string{
		".1.3.6.1.2.1.1.5.0 OctetString", // the non-repeater
		".1.3.6.1.2.1.1.5.0 OctetString", ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1 EndOfMibView",
		".1.3.6.1.2.1.1.6.0 OctetString", ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1 EndOfMibView",
		".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1 Integer", ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1 EndOfMibView",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GETBULK\n got %q\nwant %q", got, want)
	}
}
