package gateway

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
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
	e := &env{root: root, stateDir: "/var/lib/powerbridge", out: &bytes.Buffer{}}
	err := apply(context.Background(), e, s)
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

func TestMainUsage(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := Main(context.Background(), args, nil, exampleConfig, &o, &e)
		return code, o.String(), e.String()
	}
	if code, out, _ := run("--help"); code != 0 || !strings.Contains(out, "Commands:") || !strings.Contains(out, "-skip-maas") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	if code, out, _ := run("plan", "-h"); code != 0 || !strings.Contains(out, "Usage: powerbridge") {
		t.Errorf("plan -h: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(); code != 2 || !strings.Contains(errOut, "which command?") {
		t.Errorf("no command: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run("launch"); code != 2 || !strings.Contains(errOut, `unknown command "launch"`) {
		t.Errorf("unknown command: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run("plan", "--bogus"); code != 2 || !strings.Contains(errOut, "flag provided but not defined: -bogus") {
		t.Errorf("bad flag: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run("plan", "extra"); code != 2 || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("extra argument: exit %d\n%s", code, errOut)
	}
	// The example's key file does not exist here: a clear error, exit 1.
	if code, _, errOut := run("plan", "--root", t.TempDir()); code != 1 || !strings.Contains(errOut, "reading the MAAS API key") || !strings.Contains(errOut, "--skip-maas") {
		t.Errorf("missing key file: exit %d\n%s", code, errOut)
	}
}

// TestMainWithLoadedConfig: main passes the File it loaded; the gateway:
// section is taken from it, and its problems carry the file's line numbers.
func TestMainWithLoadedConfig(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	data := []byte(`auth: {insecure_no_auth: true}
gateway:
  corp: {name: corp0, address: 192.0.2.10/24, router: 192.0.2.1}
  cluster: {name: cluster0, cidr: 198.51.100.0/24, address: 198.51.100.1}
`)
	cfg, err := config.Parse(data, "powerbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	root := t.TempDir()
	if code := Main(context.Background(), []string{"apply", "--skip-maas", "--root", root}, cfg, "powerbridge.yaml", &o, &e); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o.String(), e.String())
	}
	if _, err := os.Stat(filepath.Join(root, NetplanFile)); err != nil {
		t.Error(err)
	}

	bad, err := config.Parse([]byte("auth: {insecure_no_auth: true}\ngateway:\n  corp: {name: corp0, address: 192.0.2.10/24, router: 203.0.113.1}\n"), "powerbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o.Reset()
	e.Reset()
	code := Main(context.Background(), []string{"plan", "--skip-maas", "--root", root}, bad, "powerbridge.yaml", &o, &e)
	if code != 1 || !strings.Contains(e.String(), "powerbridge.yaml:3: gateway.corp.router: 203.0.113.1 is not on the corp network 192.0.2.0/24") ||
		!strings.Contains(e.String(), "gateway.cluster.cidr: required") {
		t.Errorf("exit %d\n%s", code, e.String())
	}

	none, _ := config.Parse([]byte("auth: {insecure_no_auth: true}\n"), "powerbridge.yaml")
	e.Reset()
	if code := Main(context.Background(), []string{"plan", "--root", root}, none, "powerbridge.yaml", &o, &e); code != 1 || !strings.Contains(e.String(), "has no gateway: section") {
		t.Errorf("no section: exit %d\n%s", code, e.String())
	}
}

// TestConfigFlag: main may pass no path and leave --config to the helper.
func TestConfigFlag(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	var o, e bytes.Buffer
	code := Main(context.Background(), []string{"plan", "--config", "testdata/doclab.yaml", "--skip-maas", "--root", t.TempDir()}, nil, "", &o, &e)
	if code != 0 || !strings.Contains(o.String(), "198.51.100.0/24") {
		t.Errorf("exit %d\n%s%s", code, o.String(), e.String())
	}
	o.Reset()
	e.Reset()
	if code := Main(context.Background(), []string{"plan", "--skip-maas", "--root", t.TempDir()}, nil, "", &o, &e); code != 1 || !strings.Contains(e.String(), "no config file: give one with --config FILE") {
		t.Errorf("no config: exit %d\n%s", code, e.String())
	}
}
