package gateway

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// exampleConfig is the shipped example: the seed lab.
const exampleConfig = "../../../../deploy/gateway.example.yaml"

type renderCase struct {
	name, config, firewall string
}

var renderCases = []renderCase{
	{"seedlab-nftables", exampleConfig, ""},
	{"seedlab-iptables", exampleConfig, IPTables},
	{"doclab-nftables", "testdata/doclab.yaml", ""},
	{"doclab-iptables", "testdata/doclab.yaml", IPTables},
}

func specFor(t *testing.T, config, firewall string) *Spec {
	t.Helper()
	s, err := LoadSpec(nil, config, Overrides{Firewall: firewall}, true)
	if err != nil {
		t.Fatalf("%s: %v", config, err)
	}
	return s
}

// TestGolden pins every rendered file. Run with -update after a deliberate
// change and review the diff.
func TestGolden(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			files, err := Render(specFor(t, c.config, c.firewall))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata/golden", c.name)
			if *update {
				os.RemoveAll(dir)
			}
			for _, f := range files {
				golden := filepath.Join(dir, filepath.Base(f.Path))
				if *update {
					if err := writePlain(golden, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if d := unifiedDiff(golden, "rendered", want, f.Data); d != "" {
					t.Errorf("%s differs from its golden file:\n%s", f.Path, d)
				}
			}
			if !*update {
				entries, _ := os.ReadDir(dir)
				if len(entries) != len(files) {
					t.Errorf("%s holds %d files, Render makes %d", dir, len(entries), len(files))
				}
			}
		})
	}
}

// TestGoldenCloudInitDisable pins the drop-in that stops cloud-init from
// writing its netplan file again, and checks it says what cloud-init reads.
func TestGoldenCloudInitDisable(t *testing.T) {
	f := cloudInitDisable()
	golden := "testdata/golden/cloud-init/" + filepath.Base(f.Path)
	if *update {
		if err := writePlain(golden, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := unifiedDiff(golden, "rendered", want, f.Data); d != "" {
		t.Errorf("differs from its golden file:\n%s", d)
	}
	var doc struct {
		Network struct {
			Config string `yaml:"config"`
		} `yaml:"network"`
	}
	if err := yaml.Unmarshal(f.Data, &doc); err != nil || doc.Network.Config != "disabled" {
		t.Errorf("network.config = %q, %v; cloud-init wants disabled", doc.Network.Config, err)
	}
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

// TestRenderedNetplanPassesNetplanGenerate: netplan accepts every rendered
// file with nothing at all on stderr (its exit status alone hides errors
// such as conflicting default routes), and renders both NICs.
func TestRenderedNetplanPassesNetplanGenerate(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			s := specFor(t, c.config, c.firewall)
			files, _ := Render(s)
			root := t.TempDir()
			if err := writePlain(filepath.Join(root, NetplanFile), fileAt(files, NetplanFile).Data, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("netplan", "generate", "--root-dir", root)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Fatalf("netplan generate: %v, stderr:\n%s", err, stderr.String())
			}
			for nic, want := range map[string]string{
				s.Corp.Name:    "Address=" + s.Corp.Address.String(),
				s.Cluster.Name: "Address=" + s.Cluster.Prefix().String(),
			} {
				out, err := os.ReadFile(filepath.Join(root, "run/systemd/network/10-netplan-"+nic+".network"))
				if err != nil {
					t.Fatalf("netplan rendered nothing for %s: %v", nic, err)
				}
				if !strings.Contains(string(out), want) {
					t.Errorf("%s's network file lacks %s:\n%s", nic, want, out)
				}
			}
			cluster, _ := os.ReadFile(filepath.Join(root, "run/systemd/network/10-netplan-"+s.Cluster.Name+".network"))
			if strings.Contains(string(cluster), "Gateway=") {
				t.Errorf("the cluster NIC has a gateway of its own:\n%s", cluster)
			}
		})
	}
}

// TestRenderedRulesPassTheirTools: nft -c -f for nftables files,
// iptables-restore --test for iptables ones (each in a scratch network
// namespace), and systemd-analyze verify for the units.
func TestRenderedRulesPassTheirTools(t *testing.T) {
	t.Parallel()
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			s := specFor(t, c.config, c.firewall)
			files, _ := Render(s)
			v := &validator{strict: true}
			err := v.firewall(context.Background(), s.Firewall, fileAt(files, s.firewallFile()))
			if errors.Is(err, errUnavailable) {
				t.Skipf("cannot run the firewall check here: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := v.unit(context.Background(), fileAt(files, UnitFile)); err != nil {
				t.Fatal(err)
			}
			t.Logf("ran: %v; notes: %v", v.ran, v.notes)
		})
	}
}

// TestValidatorsCatchBrokenFiles: the checks fail on bad input, with the
// tool's message, so that a passing check means something.
func TestValidatorsCatchBrokenFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := &validator{strict: true}

	t.Run("netplan conflicting default routes", func(t *testing.T) {
		need(t, "netplan")
		root := t.TempDir()
		// A leftover file giving the cluster NIC a default route too:
		// netplan exits 0 and only says so on stderr.
		other := "network:\n  version: 2\n  ethernets:\n    cluster0:\n      routes: [{to: default, via: 192.168.23.254}]\n"
		writePlain(filepath.Join(root, "etc/netplan/70-other.yaml"), []byte(other), 0o600)
		s := specFor(t, exampleConfig, "")
		files, _ := Render(s)
		err := v.netplan(ctx, root, fileAt(files, NetplanFile), nil)
		if err == nil || !strings.Contains(err.Error(), "Conflicting default route") {
			t.Fatalf("err = %v, want netplan's complaint about the default routes", err)
		}
	})
	t.Run("nft syntax error", func(t *testing.T) {
		err := v.firewall(ctx, NFTables, File{Path: NFTFile, Data: []byte("table inet x {\n chain y { type filter hook forward priority filter; policy sometimes; }\n}\n")})
		if errors.Is(err, errUnavailable) {
			t.Skip(err)
		}
		if err == nil || !strings.Contains(err.Error(), NFTFile) {
			t.Fatalf("err = %v, want nft's error naming %s", err, NFTFile)
		}
	})
	t.Run("iptables bad ctstate", func(t *testing.T) {
		err := v.firewall(ctx, IPTables, File{Path: IPTablesFile, Data: []byte("*filter\n:X - [0:0]\n-A X -m conntrack --ctstate NOPE -j ACCEPT\nCOMMIT\n")})
		if errors.Is(err, errUnavailable) {
			t.Skip(err)
		}
		if err == nil || !strings.Contains(err.Error(), "NOPE") {
			t.Fatalf("err = %v, want iptables-restore's complaint", err)
		}
	})
	t.Run("systemd unit", func(t *testing.T) {
		need(t, "systemd-analyze")
		err := v.unit(ctx, File{Path: UnitFile, Data: []byte("[Service]\nType=sometimes\nExecStart=/bin/true\n")})
		if err == nil || !strings.Contains(err.Error(), "service type") {
			t.Fatalf("err = %v, want systemd-analyze's complaint", err)
		}
	})
}
