package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/gateway"
)

// gatewayExample is the shipped example: the seed lab.
const gatewayExample = "../../deploy/gateway.example.yaml"

func needTool(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s is not installed", tool)
	}
}

func TestGatewayUsage(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := gatewayMain(context.Background(), args, nil, gatewayExample, &o, &e)
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

// TestGatewayWithLoadedConfig: main passes the File it loaded; the gateway:
// section is taken from it, and its problems carry the file's line numbers.
func TestGatewayWithLoadedConfig(t *testing.T) {
	t.Parallel()
	needTool(t, "netplan")
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
	if code := gatewayMain(context.Background(), []string{"apply", "--skip-maas", "--root", root}, cfg, "powerbridge.yaml", &o, &e); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o.String(), e.String())
	}
	if _, err := os.Stat(filepath.Join(root, gateway.NetplanFile)); err != nil {
		t.Error(err)
	}

	bad, err := config.Parse([]byte("auth: {insecure_no_auth: true}\ngateway:\n  corp: {name: corp0, address: 192.0.2.10/24, router: 203.0.113.1}\n"), "powerbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o.Reset()
	e.Reset()
	code := gatewayMain(context.Background(), []string{"plan", "--skip-maas", "--root", root}, bad, "powerbridge.yaml", &o, &e)
	if code != 1 || !strings.Contains(e.String(), "powerbridge.yaml:3: gateway.corp.router: 203.0.113.1 is not on the corp network 192.0.2.0/24") ||
		!strings.Contains(e.String(), "gateway.cluster.cidr: required") {
		t.Errorf("exit %d\n%s", code, e.String())
	}

	none, _ := config.Parse([]byte("auth: {insecure_no_auth: true}\n"), "powerbridge.yaml")
	e.Reset()
	if code := gatewayMain(context.Background(), []string{"plan", "--root", root}, none, "powerbridge.yaml", &o, &e); code != 1 || !strings.Contains(e.String(), "has no gateway: section") {
		t.Errorf("no section: exit %d\n%s", code, e.String())
	}
}

// TestGatewayConfigFlag: main may pass no path and leave --config to the helper.
func TestGatewayConfigFlag(t *testing.T) {
	t.Parallel()
	needTool(t, "netplan")
	var o, e bytes.Buffer
	code := gatewayMain(context.Background(), []string{"plan", "--config", "internal/gateway/testdata/doclab.yaml", "--skip-maas", "--root", t.TempDir()}, nil, "", &o, &e)
	if code != 0 || !strings.Contains(o.String(), "198.51.100.0/24") {
		t.Errorf("exit %d\n%s%s", code, o.String(), e.String())
	}
	o.Reset()
	e.Reset()
	if code := gatewayMain(context.Background(), []string{"plan", "--skip-maas", "--root", t.TempDir()}, nil, "", &o, &e); code != 1 || !strings.Contains(e.String(), "no config file: give one with --config FILE") {
		t.Errorf("no config: exit %d\n%s", code, e.String())
	}
}
