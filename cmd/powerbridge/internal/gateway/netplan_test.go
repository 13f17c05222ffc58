package gateway

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestScanNetplan(t *testing.T) {
	s := specFor(t, exampleConfig, "") // corp0 52:54:00:a0:01:95, cluster0 52:54:00:a0:23:01
	cases := []struct {
		name, yaml string
		ours       []string
		err        string
	}{
		{"by name", "network:\n  version: 2\n  ethernets:\n    corp0: {dhcp4: true}\n", []string{"corp0"}, ""},
		{"by MAC, any case", "network:\n  ethernets:\n    eth0:\n      match: {macaddress: \"52:54:00:A0:23:01\"}\n", []string{"eth0"}, ""},
		{"by set-name", "network:\n  ethernets:\n    x:\n      match: {driver: e1000}\n      set-name: cluster0\n", []string{"x"}, ""},
		{"by name glob", "network:\n  ethernets:\n    all:\n      match: {name: \"c*\"}\n      dhcp4: true\n", []string{"all"}, ""},
		{"not ours", "network:\n  ethernets:\n    eno3: {dhcp4: true}\n", nil, ""},
		{"ours and others", "network:\n  ethernets:\n    corp0: {dhcp4: true}\n  bridges:\n    br0: {interfaces: [eno3]}\n",
			nil, "defines corp0 and also br0 (bridges): it cannot be moved aside whole"},
		{"not YAML", "network: [\n", nil, "netplan would refuse it too"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writePlain(filepath.Join(root, "etc/netplan/50-x.yaml"), []byte(c.yaml), 0o600)
			// Our own file is never "foreign".
			writePlain(filepath.Join(root, NetplanFile), []byte("network: {ethernets: {corp0: {}}}\n"), 0o600)
			got, err := scanNetplan(root, s)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ours []string
			for _, f := range got {
				ours = append(ours, f.Ours...)
			}
			if !slices.Equal(ours, c.ours) {
				t.Errorf("ours = %q, want %q", ours, c.ours)
			}
		})
	}
}

// A netplan file that stays (it defines other NICs) and conflicts with ours
// stops the plan before anything is written.
func TestPlanRefusesWhatNetplanRefuses(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	root := t.TempDir()
	// Not ours by name or MAC, but it claims our cluster address range's
	// default route on another NIC: two default routes.
	writePlain(filepath.Join(root, "etc/netplan/70-extra.yaml"),
		[]byte("network:\n  version: 2\n  ethernets:\n    eno3:\n      addresses: [10.9.9.2/24]\n      routes: [{to: default, via: 10.9.9.1}]\n"), 0o600)
	s := specFor(t, exampleConfig, "")
	e := &Env{root: root, stateDir: "/var/lib/powerbridge", out: &bytes.Buffer{}}
	err := Apply(context.Background(), e, s)
	if err == nil || !strings.Contains(err.Error(), "Conflicting default route") {
		t.Fatalf("err = %v, want netplan's complaint", err)
	}
	if _, err := os.Stat(filepath.Join(root, NetplanFile)); err == nil {
		t.Error("apply wrote the netplan file although netplan refuses the result")
	}
}

func TestUnifiedDiff(t *testing.T) {
	a := []byte("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n")
	b := []byte("1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n12\n13\n")
	want := `--- a
+++ b
@@ -2,7 +2,7 @@
 2
 3
 4
-5
+five
 6
 7
 8
@@ -10,3 +10,4 @@
 10
 11
 12
+13
`
	if got := unifiedDiff("a", "b", a, b); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := unifiedDiff("a", "b", nil, []byte("x\n")); got != "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n" {
		t.Errorf("creation diff:\n%s", got)
	}
	if unifiedDiff("a", "b", a, a) != "" {
		t.Error("equal files differ")
	}
}
