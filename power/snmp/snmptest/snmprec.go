// Package snmptest holds what the SNMP drivers' tests share.
package snmptest

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// LoadSnmprec reads a .snmprec recording (snmpsim's format: OID|TAG|VALUE,
// TAG the BER tag in decimal, "4x" for a hex-encoded string) into the
// varbinds an agent would answer, by OID with a leading dot. Lines of other
// tags, variation lines among them, are left out: the drivers' fakes need
// the plain values only.
func LoadSnmprec(t testing.TB, path string) map[string]snmp.Varbind {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objects := map[string]snmp.Varbind{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		oid, rest, ok1 := strings.Cut(sc.Text(), "|")
		tag, value, ok2 := strings.Cut(rest, "|")
		if !ok1 || !ok2 {
			continue
		}
		oid = "." + strings.TrimPrefix(oid, ".")
		var v snmp.Varbind
		switch tag {
		case "2", "65", "66", "67", "70":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, line, err)
			}
			v = snmp.Varbind{Kind: snmp.KindInt, Num: n}
		case "4", "64":
			v = snmp.Varbind{Kind: snmp.KindString, Str: value}
		case "4x":
			b, err := hex.DecodeString(value)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, line, err)
			}
			v = snmp.Varbind{Kind: snmp.KindString, Str: string(b)}
		case "6":
			v = snmp.Varbind{Kind: snmp.KindOID, Str: "." + strings.TrimPrefix(value, ".")}
		default:
			continue
		}
		v.OID = oid
		objects[oid] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return objects
}
