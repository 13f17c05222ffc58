package test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gatewayConfig is the doc-range lab's gateway: section
// (cmd/powerbridge/internal/gateway/testdata/doclab.yaml) with MAAS at url
// and its key in keyFile.
func gatewayConfig(t *testing.T, url, keyFile string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	cfg := `gateway:
  corp: {name: corp0, address: 203.0.113.2/24, router: 203.0.113.1}
  cluster: {name: cluster0, cidr: 198.51.100.0/24, address: 198.51.100.1}
  maas:
    url: ` + url + `
    api_key_file: ` + keyFile + `
    dynamic_range: {start: 198.51.100.100, end: 198.51.100.200}
    reserved:
      - {name: pdu, start: 198.51.100.10}
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// manDB is what man-db installs on PATH.
var manDB = map[string]bool{
	"man": true, "apropos": true, "whatis": true, "mandb": true, "manpath": true,
	"catman": true, "lexgrog": true, "man-recode": true, "accessdb": true,
}

// pathWithoutMan returns a PATH of links to every program on this one but
// man-db's: a host without man pages (Ubuntu minimal, a container),
// whether or not this one has them.
func pathWithoutMan(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			name := e.Name()
			if manDB[name] {
				continue
			}
			// The first of a name on PATH wins, as for the shell.
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				continue
			}
			os.Symlink(filepath.Join(d, name), filepath.Join(dir, name))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "man")); err == nil {
		t.Fatal("man is still on the PATH made without it")
	}
	return dir
}

// TestGatewayPlanWithoutManPages: the gateway's unit carries a
// Documentation=man: line, and systemd-analyze verify runs man for it
// unless told not to. On a host without man-db, plan must still validate
// the unit and succeed (issue 20, defect 1).
func TestGatewayPlanWithoutManPages(t *testing.T) {
	t.Parallel()
	needTools(t, "systemd-analyze")
	config := gatewayConfig(t, "http://127.0.0.1:1/MAAS/", "/nonexistent")
	for _, firewall := range []string{"nftables", "iptables"} {
		t.Run(firewall, func(t *testing.T) {
			path := pathWithoutMan(t)
			code, out, errs := cli(t, []string{"PATH=" + path}, "gateway", "plan", "--config", config,
				"--skip-maas", "--firewall", firewall, "--root", t.TempDir())
			if code != 0 {
				t.Fatalf("gateway plan without man: exit %d\n%s%s", code, out, errs)
			}
			validated := ""
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "Validated with: ") {
					validated = line
				}
			}
			if !strings.Contains(validated, "systemd-analyze verify") {
				t.Errorf("the unit was not validated (want systemd-analyze verify in the Validated with: line):\n%s", out)
			}
			if man, err := exec.LookPath("man"); err == nil {
				t.Logf("man is installed here (%s); the plan ran with a PATH that hides it", man)
			}
		})
	}
}

// TestGatewayPlanFailedMAASRead: with the files in place, a plan that
// cannot read MAAS (down, failing, refusing the key) exits 1 with the
// reason and never says "No changes" (issue 12, defect 9).
func TestGatewayPlanFailedMAASRead(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "maas-api.key")
	key := "cOnSuMeRkEy12345678:tOkEnKeY1234567890:SeCrEtToKeNsEcReT1234567890abcd"
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, body, status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/MAAS/"
	}
	for _, c := range []struct {
		name, url, want string
	}{
		{"nothing listening", "http://" + freePort(t) + "/MAAS/", "connection refused"},
		{"an internal error", answer(http.StatusInternalServerError, "Internal Server Error"), "500"},
		{"the key refused", answer(http.StatusUnauthorized, "Invalid consumer."), "401"},
	} {
		t.Run(c.name, func(t *testing.T) {
			config, root := gatewayConfig(t, c.url, keyFile), t.TempDir()
			if code, out, errs := cli(t, nil, "gateway", "apply", "--config", config, "--skip-maas", "--root", root); code != 0 {
				t.Fatalf("gateway apply --skip-maas: exit %d\n%s%s", code, out, errs)
			}
			code, out, errs := cli(t, nil, "gateway", "plan", "--config", config, "--root", root)
			if code != 1 {
				t.Errorf("gateway plan: exit %d, want 1", code)
			}
			if strings.Contains(out, "No changes") {
				t.Errorf("gateway plan says \"No changes\" after it failed to read MAAS:\n%s", out)
			}
			for _, want := range []string{"powerbridge gateway plan: reading MAAS at " + c.url, c.want} {
				if !strings.Contains(errs, want) {
					t.Errorf("gateway plan's error lacks %q:\n%s", want, errs)
				}
			}
			if strings.Contains(out+errs, "SeCrEtToKeN") {
				t.Error("the output shows the API key's secret")
			}
		})
	}
}
