package test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/plugsim"
)

// The plugs' secrets never show: not the passwords (inline, from a file,
// or wrong), not Shelly Gen1's Basic credentials, not a Gen2 digest's
// HA1 (a password equivalent), not Tasmota's password query parameter, in
// check-config's output for a good and a bad file, serve's debug log, the
// answers of every route that touches a plug (queries, switches, a cycle,
// a plug that refuses the credentials), or /metrics.
func TestNoPlugSecretInAnyOutput(t *testing.T) {
	s := map[string]string{
		"gen1 password":      "S3CRET-gen1-pass-5a5a",
		"gen2 password":      "S3CRET-gen2-digest-6b6b",
		"tasmota password":   "S3CRET-tasmota-pass-7c7c",
		"password from file": "S3CRET-file-plug-pass-8d8d",
		"wrong password":     "S3CRET-wrong-plug-pass-9e9e",
		"bad file password":  "S3CRET-bad-file-plug-pass",
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gen1 := startPlug(t, plugsim.ShellyGen1, plugsim.Options{Password: s["gen1 password"]})
	gen2 := startPlug(t, plugsim.ShellyGen2, plugsim.Options{Password: s["gen2 password"]})
	taz := startPlug(t, plugsim.Tasmota, plugsim.Options{Password: s["tasmota password"]})
	fromFile := startPlug(t, plugsim.ShellyGen2, plugsim.Options{Password: s["password from file"]})
	wrong := startPlug(t, plugsim.ShellyGen2, plugsim.Options{Password: s["gen2 password"]})
	ha1 := func(realm, pass string) string {
		sum := sha256.Sum256([]byte("admin:" + realm + ":" + pass))
		return hex.EncodeToString(sum[:])
	}
	forms := map[string]string{
		"gen1 Basic credentials": base64.StdEncoding.EncodeToString([]byte("admin:" + s["gen1 password"])),
		"gen2 digest HA1":        ha1(gen2.ID(), s["gen2 password"]),
		"wrong digest HA1":       ha1(wrong.ID(), s["wrong password"]),
		"file digest HA1":        ha1(fromFile.ID(), s["password from file"]),
	}

	listen := freePort(t)
	good := fmt.Sprintf(`listen: %q
state_dir: %q
auth:
  tokens: [{name: maas, token: %s}]
timeouts: {status: 3s, action: 30s}
pdus:
  - {name: gen1, vendor: shelly, address: %q, http: {generation: "1", password: %s}, power_on_delay: 100ms}
  - {name: gen2, vendor: shelly, address: %q, http: {password: %s}, power_on_delay: 100ms}
  - {name: taz, vendor: tasmota, address: %q, http: {password: %s}, power_on_delay: 100ms}
  - {name: filed, vendor: auto, address: %q, http: {password_file: %q}, power_on_delay: 100ms}
  - {name: wrong, vendor: shelly, address: %q, http: {password: %s}}
machines:
  - {name: m1, outlets: ["gen1/1"]}
  - {name: m2, outlets: ["gen2/1"]}
  - {name: m3, outlets: ["taz/1"]}
  - {name: m4, outlets: ["filed/1"]}
  - {name: m5, outlets: ["wrong/1"]}
`, listen, filepath.Join(dir, "state"), maasToken,
		gen1.URL(), s["gen1 password"], gen2.URL(), s["gen2 password"], taz.URL(), s["tasmota password"],
		fromFile.URL(), write("plug.pass", s["password from file"]+"\n"), wrong.URL(), s["wrong password"])
	goodFile := write("powerbridge.yaml", good)
	badFile := write("bad.yaml", good+"  - {name: bad, vendor: shelly, address: \"http://x\", http: {password: "+s["bad file password"]+", bogus: 1}}\n")

	leaks := &leakCheck{}
	for _, f := range []string{goodFile, badFile} {
		code, out, errs := cli(t, nil, "check-config", f)
		leaks.add("check-config "+f, out+errs)
		if (f == goodFile) != (code == 0) {
			t.Errorf("check-config %s: exit %d\n%s%s", f, code, out, errs)
		}
	}
	b := startProcess(t, "http://"+listen, "serve", "--config", goodFile, "--log-level", "debug")
	for _, r := range [][2]string{
		{"GET", "/v1/pdus"}, {"GET", "/v1/pdus/gen2/outlets"}, {"GET", "/v1/pdus/wrong/outlets"},
		{"GET", "/v1/machines"}, {"GET", "/readyz"},
		{"POST", "/v1/machines/m1/on"}, {"POST", "/v1/machines/m2/on"}, {"POST", "/v1/machines/m3/on"},
		{"POST", "/v1/machines/m4/on"}, {"POST", "/v1/machines/m5/on"}, {"GET", "/v1/machines/m5/status"},
		{"POST", "/v1/machines/m2/cycle"}, {"POST", "/v1/machines/m3/off"}, {"POST", "/v1/pdus/taz/outlets/1/cycle"},
		{"GET", "/metrics"},
	} {
		req, _ := http.NewRequest(r[0], b.URL+r[1], http.NoBody)
		req.Header.Set("Authorization", "Bearer "+maasToken)
		resp, err := maasClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r[0], r[1], err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		leaks.add(r[0]+" "+r[1]+" answer", fmt.Sprintf("%d %v\n%s", resp.StatusCode, resp.Header, body))
	}
	b.cmd.Process.Signal(os.Interrupt)
	waitUntil(t, 10*time.Second, "the bridge stops", func() bool { return strings.Contains(b.logs.String(), "shutting down") })
	leaks.add("serve's log", b.logs.String())

	all := strings.Join(leaks.outputs, "\n")
	for _, want := range []string{"refused the credentials", "unknown key", "powerbridge_outlet_power_watts", `"switched"`} {
		if !strings.Contains(all, want) {
			t.Errorf("no output says %q: the test missed a path", want)
		}
	}
	for name, v := range s {
		forms[name] = v
	}
	for name, v := range forms {
		for _, o := range leaks.outputs {
			if strings.Contains(o, v) {
				what, _, _ := strings.Cut(o, ":\n")
				t.Errorf("the %s shows in %s", name, what)
			}
		}
	}
	if gen2.AuthFailures()+gen1.AuthFailures()+taz.AuthFailures()+fromFile.AuthFailures() != 0 || wrong.AuthFailures() == 0 {
		t.Errorf("credentials refused: gen1 %d, gen2 %d, tasmota %d, from file %d, wrong %d (want only the wrong one)",
			gen1.AuthFailures(), gen2.AuthFailures(), taz.AuthFailures(), fromFile.AuthFailures(), wrong.AuthFailures())
	}
	t.Logf("searched %d outputs, %d bytes", len(leaks.outputs), len(all))
}
