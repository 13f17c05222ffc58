package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/mibs"
)

// The config accepts exactly the dialects and SNMPv3 protocols power/apc
// knows, and decodes outlets into the domain's OutletRef.
func TestVocabularyIsTheDriversAndTheDomains(t *testing.T) {
	for _, d := range append([]string{"auto"}, apc.Dialects()...) {
		for _, auth := range apc.AuthProtocols() {
			for _, priv := range apc.PrivProtocols() {
				text := fmt.Sprintf(`auth: {tokens: [{name: maas, token: a-token-of-16-chars-or-more}]}
pdus:
  - name: rack1
    address: 192.0.2.10
    dialect: %s
    snmp: {version: "3", user: pb, auth_protocol: %s, auth_passphrase: passphrase1, priv_protocol: %s, priv_passphrase: passphrase2}
machines:
  - {name: m1, outlets: ["rack1/3", "rack1/4"]}
`, d, strings.ToLower(auth), priv)
				f, err := Parse([]byte(text), "test")
				if err != nil {
					t.Fatalf("dialect %s, auth %s, priv %s: %v", d, auth, priv, err)
				}
				if want := []power.OutletRef{{PDU: "rack1", Outlet: 3}, {PDU: "rack1", Outlet: 4}}; len(f.Machines[0].Outlets) != 2 || f.Machines[0].Outlets[0] != want[0] || f.Machines[0].Outlets[1] != want[1] {
					t.Errorf("outlets decoded as %v, want %v", f.Machines[0].Outlets, want)
				}
			}
		}
	}
	if len(Dialects) != len(allDialects()) {
		t.Errorf("Dialects %v, want auto and every vendor's of power/mibs", Dialects)
	}
	for _, v := range mibs.Vendors() {
		for _, d := range mibs.Dialects(v) {
			text := fmt.Sprintf(`auth: {tokens: [{name: maas, token: a-token-of-16-chars-or-more}]}
pdus:
  - {name: rack1, address: 192.0.2.10, dialect: %s, snmp: {community: private}}
  - {name: rack2, address: 192.0.2.11, vendor: %s, dialect: %s, snmp: {community: private}}
`, d, v, d)
			f, err := Parse([]byte(text), "test")
			if err != nil {
				t.Fatalf("vendor %s dialect %s: %v", v, d, err)
			}
			// A dialect alone names its vendor.
			if f.PDUs[0].Vendor != v || f.PDUs[1].Vendor != v {
				t.Errorf("dialect %s: vendors %s and %s, want %s", d, f.PDUs[0].Vendor, f.PDUs[1].Vendor, v)
			}
		}
	}
}

// An outlet that is not "pdu/N" is a problem at its line, in the words of
// power.ParseOutletRef, and a value of the wrong kind says what is wanted.
func TestOutletProblems(t *testing.T) {
	text := `auth: {tokens: [{name: maas, token: a-token-of-16-chars-or-more}]}
pdus:
  - {name: rack1, address: 192.0.2.10, snmp: {community: private}}
machines:
  - {name: m1, outlets: ["rack1", [1]]}
`
	_, err := Parse([]byte(text), "test")
	want := []string{
		`test:5: machines[0].outlets[0]: "rack1" is not an outlet; write "pdu/N" with N from 1`,
		`test:5: machines[0].outlets[1]: expected a string, found a list`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("problems %v, want %s", err, w)
		}
	}
}
