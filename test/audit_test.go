package test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every power action, by machine or by outlet, is one JSON line in the audit
// file, with who asked and how it ended.
func TestAuditLog(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	audit := filepath.Join(t.TempDir(), "audit.log")
	b := startBridge(t, "audit_log: "+audit+"\n"+maasConfig(pdu))

	calls := []maasCall{
		{method: http.MethodPost, path: "/v1/machines/node1/on", auth: bearer(maasToken)},
		{method: http.MethodPost, path: "/v1/machines/node1/on", auth: bearer(maasToken)},
		{method: http.MethodPost, path: "/v1/pdus/rack1/outlets/7/on", auth: basic("admin", adminPass)},
	}
	for _, c := range calls {
		if code, body := b.maas(t, c); code != 200 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want 3:\n%s", len(lines), data)
	}
	type rec struct {
		Principal, Machine, Outlet, Action, Outcome, State string
		Changed                                            bool
	}
	want := []rec{
		{Principal: "maas", Machine: "node1", Action: "on", Outcome: "ok", State: "on", Changed: true},
		{Principal: "maas", Machine: "node1", Action: "on", Outcome: "ok", State: "on", Changed: false},
		{Principal: "admin", Outlet: "rack1/7", Action: "on", Outcome: "ok", Changed: true},
	}
	for i, line := range lines {
		var got rec
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("audit line %d %q: %v", i, line, err)
		}
		if got != want[i] {
			t.Errorf("audit line %d = %+v, want %+v", i, got, want[i])
		}
	}
}
