package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas/maastest"
)

const (
	syncToken1  = "maas-token-0123456789abcdef"
	syncBaseURL = "http://192.168.23.1:8080" // only written into the fake MAAS; never called
)

// syncSetup writes a config with two machines (and extra YAML appended) and
// an API key file, and starts a fake MAAS that knows node1 and a stranger.
func syncSetup(t *testing.T, extra string) (f *maastest.Server, cfgPath, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	keyPath = filepath.Join(dir, "maas-api.key")
	if err := os.WriteFile(keyPath, []byte(maastest.Key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "powerbridge.yaml")
	cfg := `
state_dir: ` + filepath.Join(dir, "state") + `
auth:
  tokens: [{name: maas, token: ` + syncToken1 + `}]
pdus:
  - {name: rack1, simulate: ap7900, snmp: {version: "1", community: private}}
machines:
  - {name: node1, outlets: ["rack1/1"]}
  - {name: bigboy, outlets: ["rack1/3", "rack1/4"]}
` + strings.ReplaceAll(extra, "KEYFILE", keyPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	f = maastest.New(t)
	f.AddMachine("node1")
	f.AddMachine("stranger")
	return f, cfgPath, keyPath
}

// runCmd runs the command line and returns the exit code and both outputs,
// failing the test if either shows a secret.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := run(args, &out, &errb)
	secret := maastest.Key[strings.LastIndex(maastest.Key, ":")+1:]
	for _, s := range []string{syncToken1, secret, "other-token-0123456789"} {
		if strings.Contains(out.String()+errb.String(), s) {
			t.Errorf("%v printed a secret:\nstdout:\n%s\nstderr:\n%s", args, out.String(), errb.String())
		}
	}
	return code, out.String(), errb.String()
}

func TestMAASSyncPlanApplyApplyAgain(t *testing.T) {
	f, cfg, key := syncSetup(t, "")
	args := []string{"maas", "sync", "--config", cfg, "--powerbridge-url", syncBaseURL, "--maas-url", f.MAASURL(), "--api-key-file", key}

	code, out, errs := runCmd(t, args...)
	if code != exitOK {
		t.Fatalf("plan: exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{
		"Token: auth.tokens[0] (maas) of " + cfg + "\n",
		"  node1 (mc0001): to change\n",
		"      power_on_uri     (unset) -> " + syncBaseURL + "/v1/machines/node1/on\n",
		"Only in powerbridge's config, not in MAAS (enlist them, then run this again): bigboy\n",
		"Only in MAAS, not in powerbridge's config (left alone): stranger (mc0002, power type manual)\n",
		"1 machine to change, 0 up to date. Nothing has been changed: run with --apply to make these changes.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if m := f.Mutations(); len(m) != 0 {
		t.Fatalf("the plan changed MAAS: %v", m)
	}

	code, out, errs = runCmd(t, append(args, "--apply")...)
	if code != exitOK || !strings.Contains(out, "  node1 (mc0001): changed\n") || !strings.Contains(out, "Changed 1 machine; 0 up to date.\n") {
		t.Fatalf("apply: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if pt, p := f.Machine("mc0001"); pt != "webhook" || p["power_token"] != syncToken1 || p["power_query_uri"] != syncBaseURL+"/v1/machines/node1/status" {
		t.Errorf("node1 in MAAS after apply: %s %v", pt, p)
	}
	if pt, _ := f.Machine("mc0002"); pt != "manual" {
		t.Errorf("the stranger's power type became %s", pt)
	}

	code, out, errs = runCmd(t, append(args, "--apply")...)
	if code != exitOK || !strings.Contains(out, "Nothing to do: 1 machine up to date.\n") {
		t.Fatalf("apply again: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if m := f.Mutations(); len(m) != 1 {
		t.Errorf("MAAS was changed %d times, want once: %v", len(m), m)
	}
}

// MAAS's address and key come from the gateway helper's section when the
// flags do not give them.
func TestMAASSyncReadsTheGatewaySection(t *testing.T) {
	f, cfg, _ := syncSetup(t, "gateway:\n  maas: {url: MAASURL, api_key_file: KEYFILE}\n")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.ReplaceAll(string(data), "MAASURL", f.MAASURL())), 0o600)

	code, out, errs := runCmd(t, "maas", "sync", "--apply", "--config", cfg, "--powerbridge-url", syncBaseURL)
	if code != exitOK || !strings.Contains(out, "Changed 1 machine") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

func TestMAASSyncRefusals(t *testing.T) {
	f, cfg, key := syncSetup(t, "")
	other := filepath.Join(t.TempDir(), "other.token")
	os.WriteFile(other, []byte("other-token-0123456789\n"), 0o600)
	wrongKey := filepath.Join(t.TempDir(), "wrong.key")
	os.WriteFile(wrongKey, []byte("cOnSuMeRkEy12345678:tOkEnKeY1234567890:WrOnGsEcReT\n"), 0o600)
	maasFlags := []string{"--maas-url", f.MAASURL(), "--api-key-file", key}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no powerbridge URL", append([]string{"--config", cfg}, maasFlags...), exitUsage,
			"--powerbridge-url is required"},
		{"localhost", append([]string{"--config", cfg, "--powerbridge-url", "http://localhost:8080"}, maasFlags...), exitUsage,
			"MAAS picks the rack controller that runs a machine's power actions by the host of its power query URI"},
		{"loopback address", append([]string{"--config", cfg, "--powerbridge-url", "http://127.0.0.1:8080"}, maasFlags...), exitUsage,
			"127.0.0.1:8080 is a loopback address"},
		{"no config", append([]string{"--powerbridge-url", syncBaseURL}, maasFlags...), exitUsage,
			"--config FILE is required"},
		{"no MAAS URL", []string{"--config", cfg, "--powerbridge-url", syncBaseURL, "--api-key-file", key}, exitUsage,
			"no MAAS URL: give --maas-url or set gateway.maas.url"},
		{"a token the config refuses", append([]string{"--config", cfg, "--powerbridge-url", syncBaseURL, "--token-file", other}, maasFlags...), exitFail,
			"is none of the auth.tokens of " + cfg + ": powerbridge would refuse MAAS's requests"},
		{"a wrong API key", []string{"--config", cfg, "--powerbridge-url", syncBaseURL, "--maas-url", f.MAASURL(), "--api-key-file", wrongKey}, exitFail,
			"MAAS refused the API key cOnSuMeRkEy12345678:tOkEnKeY1234567890:<secret>"},
		{"an argument", append([]string{"--config", cfg, "--powerbridge-url", syncBaseURL, "node1"}, maasFlags...), exitUsage,
			`unexpected argument "node1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, append([]string{"maas", "sync"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errs, tc.code, tc.msg)
			}
			if strings.Contains(errs, "WrOnGsEcReT") || strings.Contains(out, "WrOnGsEcReT") {
				t.Errorf("the wrong key's secret is printed")
			}
		})
	}
	if m := f.Mutations(); len(m) != 0 {
		t.Errorf("a refused run changed MAAS: %v", m)
	}
}

func TestMAASHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"maas"}, exitUsage, "sync"},
		{[]string{"maas", "--help"}, exitOK, "sync"},
		{[]string{"maas", "frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"maas", "sync", "--help"}, exitOK, "changes only machines whose settings differ"},
	} {
		var out, errb strings.Builder
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("%v: exit %d, output:\n%s%s\nwant exit %d and %q", tc.args, code, out.String(), errb.String(), tc.code, tc.want)
		}
	}
}

// --power-type redfish sets the address, the first auth.users account (or
// --user's) and node_id, and prints where the account came from, never its
// password.
func TestMAASSyncRedfish(t *testing.T) {
	const pass = "redfish-pass-0123456789"
	f, cfg, key := syncSetup(t, "")
	data, _ := os.ReadFile(cfg)
	users := "  users: [{name: admin, password: " + pass + "}, {name: rack, password: " + pass + "-2}]\n"
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "auth:\n", "auth:\n"+users, 1)), 0o600)
	args := []string{"maas", "sync", "--power-type", "redfish", "--config", cfg, "--powerbridge-url", "https://192.168.23.1:8443", "--maas-url", f.MAASURL(), "--api-key-file", key}

	code, out, errs := runCmd(t, append(args, "--apply", "--user", "rack")...)
	if code != exitOK || !strings.Contains(out, "Account: auth.users[1] (rack) of "+cfg+"\n") ||
		!strings.Contains(out, "      power_pass       (unset) -> (the password, not shown)\n") || strings.Contains(out, pass) {
		t.Fatalf("apply: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	pt, p := f.Machine("mc0001")
	if pt != "redfish" || p["power_address"] != "https://192.168.23.1:8443" || p["power_user"] != "rack" || p["power_pass"] != pass+"-2" || p["node_id"] != "node1" {
		t.Errorf("node1 in MAAS after apply: %s %v", pt, p)
	}
	for _, tc := range []struct {
		extra []string
		code  int
		msg   string
	}{
		{[]string{"--user", "nobody"}, exitFail, `--user "nobody" is none of the auth.users of ` + cfg},
		{[]string{"--token-file", key}, exitUsage, "--token-file is for --power-type webhook"},
		{[]string{"--power-type", "ipmi"}, exitUsage, `--power-type "ipmi": use webhook or redfish`},
	} {
		if code, _, errs := runCmd(t, append(args, tc.extra...)...); code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit %d and %q", tc.extra, code, errs, tc.code, tc.msg)
		}
	}
	if m := f.Mutations(); len(m) != 1 {
		t.Errorf("MAAS was changed %d times, want once: %v", len(m), m)
	}
}
