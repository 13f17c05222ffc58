package config

import (
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/plug"
)

func TestPlugConfig(t *testing.T) {
	f, err := Load("testdata/plug-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]PDU{}
	for _, x := range f.PDUs {
		p[x.Name] = x
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"password from file", p["desk-plug"].HTTP.Password.Reveal(), "digest-pass"},
		{"user default", p["desk-plug"].HTTP.User, "admin"},
		{"timeout default", p["desk-plug"].HTTP.Timeout.Std(), plug.DefaultTimeout},
		{"shelly kind", p["desk-plug"].PlugKind(), plug.Shelly},
		{"forced gen1", p["gen1"].PlugKind(), plug.ShellyGen1},
		{"gen1 user", p["gen1"].HTTP.User, "me"},
		{"gen1 timeout", p["gen1"].HTTP.Timeout.Std(), time.Second},
		{"tasmota kind", p["taz"].PlugKind(), plug.Tasmota},
		{"auto at a URL is a plug", p["found"].IsPlug(), true},
		{"auto kind", p["found"].PlugKind(), plug.Any},
		{"simulated plug's vendor", p["sim"].Vendor, "shelly"},
		{"an SNMP PDU is not a plug", (&PDU{Vendor: "apc", Address: "192.0.2.1"}).IsPlug(), false},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestPlugProblems(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"plug-bad", []string{
			`testdata/plug-bad.yaml:3: pdus[0].address: "http://admin:pw@plug.lan" is not a plug address (http://host[:port], https://host[:port] or host[:port])`,
			`testdata/plug-bad.yaml:4: pdus[1].http.generation: "3" is not a Shelly generation: use "1" or "2" (Gen2 and later)`,
			`testdata/plug-bad.yaml:5: pdus[2].http.generation: is for a Shelly; this plug's vendor is tasmota`,
			`testdata/plug-bad.yaml:6: pdus[3].http.password: set either password or password_file, not both`,
			`testdata/plug-bad.yaml:7: pdus[4].simulate: "shelly-gen2" is a shelly plug, but the PDU's vendor is tasmota`,
			`testdata/plug-bad.yaml:8: pdus[5].http.timeout: must be more than 0`,
			`testdata/plug-bad.yaml:9: pdus[6].poll_interval: 100ms is too often for a plug; use 1s or more`,
			`testdata/plug-bad.yaml:9: pdus[6].dialect: is for APC PDUs; a plug's protocol is its vendor's (and a Shelly's http.generation)`,
			`testdata/plug-bad.yaml:9: pdus[6].snmp: is for SNMP PDUs; a plug's credentials go in its http section`,
		}},
		{"plug-not-snmp", []string{
			`testdata/plug-not-snmp.yaml:3: pdus[0].http: is for smart plugs (vendor shelly, tasmota); this PDU speaks SNMP (vendor auto)`,
			`testdata/plug-not-snmp.yaml:4: pdus[1].address: "http://192.0.2.11" is a URL, for a plug (vendor shelly, tasmota or auto); an SNMP PDU's address is host or host:port`,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load("testdata/" + tc.file + ".yaml")
			if err == nil {
				t.Fatal("loaded")
			}
			got := strings.Split(strings.TrimSpace(err.Error()), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
