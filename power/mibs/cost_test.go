package mibs

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRequestsPerRead counts, at the simulated PDU, what a read costs once
// the PDU is detected (vendor auto), per model and capture and SNMP
// version, and what detection cost: BENCHMARKS.md quotes the table it
// logs. Every PDU reads in one request but the AP8641 capture (24 outlets
// metered by outlet, four columns each: two, see power/apc's fetch).
func TestRequestsPerRead(t *testing.T) {
	captures, _ := filepath.Glob(recordings + "*.snmprec")
	devices := append([]string{"ap7900", "ap8941", "eaton-g3", "raritan-px3", "servertech-sentry3", "servertech-sentry4",
		"cyberpower-epdu2", "tripplite-pdu", "geist-v5"}, captures...)
	var table []string
	for _, name := range devices {
		for _, version := range []string{"1", "2c", "3"} {
			creds := map[string]string{"1": "v1", "2c": "v2c", "3": "v3 SHA/AES"}[version]
			dev := simDevice(t, name)
			agent, err := dev.Listen("127.0.0.1:0", simAccess)
			if err != nil {
				t.Fatal(err)
			}
			sc := credentials[creds]
			sc.Address, sc.Timeout = agent.Addr(), 5*time.Second
			d, err := New(Config{Config: sc})
			if err != nil {
				t.Fatal(err)
			}
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatalf("%s v%s: %v", name, version, err)
			}
			detected := agent.Stats().Requests
			if _, err := d.Read(t.Context()); err != nil {
				t.Fatal(err)
			}
			perRead := agent.Stats().Requests - detected
			want := int64(1)
			if strings.HasSuffix(name, "apc-ap8641-snmpsimdata.snmprec") {
				want = 2
			}
			if perRead != want {
				t.Errorf("%s v%s: a read took %d requests, want %d", name, version, perRead, want)
			}
			table = append(table, fmt.Sprintf("| %s | %s %s | %d | v%s | %d | %d |", strings.TrimPrefix(name, recordings),
				r.Info.Vendor, r.Info.Dialect, len(r.Outlets), version, detected, perRead))
			d.Close()
			agent.Close()
		}
	}
	t.Logf("\n| device | vendor, dialect | outlets | SNMP | requests to detect | requests per read |\n|---|---|---|---|---|---|\n%s", strings.Join(table, "\n"))
}
