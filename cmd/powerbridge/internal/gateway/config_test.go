package gateway

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigProblems: one file per validation rule in testdata/config, each
// starting with "# want: " lines that give the exact messages, in order.
func TestConfigProblems(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/config files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			want := wantLines(t, file)
			_, err := LoadSpec(nil, file, Overrides{}, true)
			if err == nil {
				t.Fatal("accepted")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func wantLines(t *testing.T, file string) []string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w, ok := strings.CutPrefix(sc.Text(), "# want: ")
		if !ok {
			break
		}
		want = append(want, w)
	}
	return want
}

func TestExampleConfigIsValid(t *testing.T) {
	s, err := LoadSpec(nil, exampleConfig, Overrides{}, true)
	if err != nil {
		t.Fatal(err)
	}
	// The seed lab, as the issue describes it.
	for got, want := range map[string]string{
		s.Corp.Network().String():         "192.168.1.0/24",
		s.Cluster.CIDR.String():           "192.168.23.0/24",
		s.Cluster.Address.String():        "192.168.23.1",
		s.MAAS.Reserved[0].Start.String(): "192.168.23.100",
		s.Firewall:                        NFTables,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(`gateway:
  corp: {mac: "52:54:00:AA:BB:01", address: 192.0.2.10/24, router: 192.0.2.1}
  cluster: {mac: "52:54:00:aa:bb:02", cidr: 198.51.100.0/24, address: 198.51.100.1}
`), 0o644)
	s, err := LoadSpec(nil, path, Overrides{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Corp.Name != "corp0" || s.Cluster.Name != "cluster0" {
		t.Errorf("names %q %q, want the defaults for NICs given by MAC", s.Corp.Name, s.Cluster.Name)
	}
	if s.Corp.MAC != "52:54:00:aa:bb:01" {
		t.Errorf("MAC %q not normalised", s.Corp.MAC)
	}
	if len(s.Corp.DNS) != 1 || s.Corp.DNS[0] != s.Corp.Router {
		t.Errorf("corp DNS %v, want the router", s.Corp.DNS)
	}
	if s.Firewall != NFTables {
		t.Errorf("firewall %q", s.Firewall)
	}
	if len(s.MAAS.SubnetDNS) != 1 || s.MAAS.SubnetDNS[0] != s.Cluster.Address {
		t.Errorf("subnet DNS %v, want the cluster address", s.MAAS.SubnetDNS)
	}

	// Flags override keys, and problems with them name the flag.
	_, err = LoadSpec(nil, path, Overrides{Firewall: "pf", ClusterNIC: "eth9"}, false)
	if err == nil || err.Error() != `flag --firewall: "pf" is not a firewall backend: use nftables (the default) or iptables` {
		t.Errorf("err = %v", err)
	}
}

func TestNoGatewaySection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("listen: 0.0.0.0:8080\n"), 0o644)
	_, err := LoadSpec(nil, path, Overrides{}, true)
	if err == nil || !strings.Contains(err.Error(), "has no gateway: section") {
		t.Errorf("err = %v", err)
	}
}
