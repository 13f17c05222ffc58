package test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/test/sshd"
)

// The secrets of the secrets test: every kind the config holds, each a
// string that can only be found where it was copied.
var testSecrets = map[string]string{
	"maas token":              "S3CRET-maas-token-7f3a9c",
	"token from a file":       "S3CRET-file-token-b81d05",
	"admin password":          "S3CRET-admin-pass-42e1aa",
	"metrics token":           "S3CRET-metrics-token-99c0",
	"write community":         "S3CRET-write-community-11",
	"read community":          "S3CRET-read-community-22",
	"v3 auth passphrase":      "S3CRET-v3-auth-pass-3333",
	"v3 priv passphrase":      "S3CRET-v3-priv-pass-4444",
	"wrong community":         "S3CRET-wrong-community-55",
	"wrong v3 auth":           "S3CRET-v3-wrong-auth-777",
	"ssh key passphrase":      "S3CRET-key-passphrase-66",
	"wrong ssh passphrase":    "S3CRET-wrong-key-pass-99",
	"token in a wrong shape":  "S3CRET-shape-token-8888",
	"community in a bad file": "S3CRET-bad-file-community",
}

// leakCheck gathers everything powerbridge shows, to search for secrets.
type leakCheck struct {
	outputs []string
}

func (l *leakCheck) add(what, text string) { l.outputs = append(l.outputs, what+":\n"+text) }

// Every path, with known secrets: the config check of good and bad files,
// serve's log, every route's answer (queries, actions, a graceful shutdown
// with an encrypted ssh key, a PDU that answers nothing, wrong SNMPv3 keys,
// reloads good and bad, failed and rate-limited authentication with
// near-miss credentials), /metrics, the CLI, the audit log, the state
// directory, and a start that fails on a wrong key passphrase. None of it
// shows a secret.
func TestNoSecretInAnyOutput(t *testing.T) {
	s := testSecrets
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaks := &leakCheck{}

	// PDUs: v1 with its communities, v3 with its passphrases, one that
	// knows none of the bridge's community (silence), one whose v3 keys
	// the bridge has wrong.
	sim := func(acc pdusim.Access) *pdusim.Agent {
		t.Helper()
		dev, err := pdusim.New("ap7900", pdusim.Options{SwitchDelay: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= dev.Outlets(); n++ {
			dev.SetOutletState(n, power.Off)
		}
		a, err := dev.Listen("127.0.0.1:0", acc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	v3user := pdusim.User{Name: "pb", AuthProtocol: "SHA", AuthPassphrase: s["v3 auth passphrase"], PrivProtocol: "AES", PrivPassphrase: s["v3 priv passphrase"]}
	rack1 := sim(pdusim.Access{Community: s["read community"], WriteCommunity: s["write community"]})
	rack2 := sim(pdusim.Access{Users: []pdusim.User{v3user}})
	rack3 := sim(pdusim.Access{Community: "public", WriteCommunity: "private"})
	rack4 := sim(pdusim.Access{Users: []pdusim.User{v3user}})

	srv := sshd.Start(t, sshd.Options{})
	keyFile := srv.NewClientKey(t, "encrypted", s["ssh key passphrase"], true)
	host, port, _ := net.SplitHostPort(srv.Addr)
	listen := freePort(t)
	stateDir := filepath.Join(dir, "state")
	audit := filepath.Join(dir, "audit.log")
	config := func(keyPassFile string) string {
		return fmt.Sprintf(`listen: %q
state_dir: %q
audit_log: %q
auth:
  tokens:
    - {name: maas, token: %s}
    - {name: other, token_file: %q}
  users: [{name: admin, password: %s}]
  metrics_token: %s
timeouts: {status: 2s, action: 30s}
pdus:
  - {name: rack1, address: %q, snmp: {version: "1", community: %s, read_community: %s, timeout: 300ms}, power_on_delay: 100ms}
  - name: rack2
    address: %q
    snmp: {version: "3", user: pb, auth_protocol: SHA, auth_passphrase: %s, priv_protocol: AES, priv_passphrase_file: %q, timeout: 300ms}
    power_on_delay: 100ms
  - {name: rack3, address: %q, snmp: {version: "2c", community: %s, timeout: 300ms}}
  - {name: rack4, address: %q, snmp: {version: "3", user: pb, auth_protocol: SHA, auth_passphrase: %s, priv_protocol: AES, priv_passphrase: %s, timeout: 300ms}}
machines:
  - name: node1
    outlets: ["rack1/1"]
    shutdown:
      ssh: {host: %q, port: %s, user: %q, key_file: %q, key_passphrase_file: %q}
      timeout: 8s
    liveness: {failures: 2, interval: 200ms, settle: 300ms, poll_interval: 500ms}
  - {name: twin, outlets: ["rack1/2", "rack2/1"]}
  - {name: lost, outlets: ["rack3/1"]}
  - {name: wrongkeys, outlets: ["rack4/1"]}
`, listen, stateDir, audit, s["maas token"], write("token", s["token from a file"]+"\n"), s["admin password"], s["metrics token"],
			rack1.Addr(), s["write community"], s["read community"],
			rack2.Addr(), s["v3 auth passphrase"], write("priv.pass", s["v3 priv passphrase"]),
			rack3.Addr(), s["wrong community"],
			rack4.Addr(), s["wrong v3 auth"], s["v3 priv passphrase"],
			host, port, srv.User, keyFile, keyPassFile)
	}
	good := config(write("key.pass", s["ssh key passphrase"]+"\n"))
	goodFile := write("powerbridge.yaml", good)
	badFile := write("bad.yaml", strings.Replace(good, "auth:\n  tokens:\n", "auth:\n  tokens:\n    - "+s["token in a wrong shape"]+"\n", 1)+
		"  - {name: rack9, address: 127.0.0.1, snmp: {version: \"1\", community: "+s["community in a bad file"]+", bogus: 1}}\n")

	// check-config, good and bad.
	for _, f := range []string{goodFile, badFile} {
		code, out, errs := cli(t, nil, "check-config", f)
		leaks.add("check-config "+f, out+errs)
		if (f == goodFile) != (code == 0) {
			t.Errorf("check-config %s: exit %d\n%s%s", f, code, out, errs)
		}
	}

	b := startProcess(t, "http://"+listen, "serve", "--config", goodFile, "--log-level", "debug")
	type req struct {
		method, path, auth string
	}
	bearerOf := func(tok string) string { return "Bearer " + tok }
	basicOf := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	maasAuth := bearerOf(s["maas token"])
	reqs := []req{
		{"GET", "/healthz", ""},
		{"GET", "/readyz", ""},
		{"GET", "/metrics", ""},
		{"GET", "/metrics", bearerOf(s["metrics token"] + "x")},
		{"GET", "/v1/machines", maasAuth},
		{"GET", "/v1/machines/node1", bearerOf(s["token from a file"])},
		{"GET", "/v1/machines/node1/status", basicOf("admin", s["admin password"])},
		{"GET", "/v1/machines/lost/status", maasAuth},
		{"GET", "/v1/machines/wrongkeys/status", maasAuth},
		{"GET", "/v1/pdus", maasAuth},
		{"GET", "/v1/pdus/rack1/outlets", maasAuth},
		{"GET", "/v1/pdus/rack3/outlets", maasAuth},
		{"POST", "/v1/machines/node1/on", maasAuth},
		{"POST", "/v1/machines/twin/cycle", maasAuth},
		{"POST", "/v1/pdus/rack1/outlets/5/on", maasAuth},
		{"POST", "/v1/pdus/rack4/outlets/5/on", maasAuth},
		{"POST", "/v1/machines/lost/on", maasAuth},
		{"POST", "/v1/machines/node1/off", maasAuth}, // graceful, with the encrypted key
		{"POST", "/v1/machines/node1/forget-host-key", maasAuth},
		{"POST", "/-/reload", maasAuth},
		{"GET", "/v1/machines/twin/status", maasAuth},
		{"GET", "/metrics", bearerOf(s["metrics token"])},
	}
	// Near-miss credentials, enough of them to be rate-limited, from an
	// address of their own: once it is limited, the right credentials from
	// it are refused too.
	var nearMiss []req
	for range 6 {
		nearMiss = append(nearMiss,
			req{"POST", "/v1/machines/node1/on", bearerOf(s["maas token"] + "x")},
			req{"GET", "/v1/machines/node1/status", basicOf("admin", s["admin password"]+"x")},
			req{"GET", "/v1/machines", basicOf(s["maas token"], s["admin password"])},
		)
	}
	client := maasClient
	send := func(r req) {
		t.Helper()
		hr, err := http.NewRequest(r.method, b.URL+r.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.auth != "" {
			hr.Header.Set("Authorization", r.auth)
		}
		resp, err := client.Do(hr)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		leaks.add(fmt.Sprintf("%s %s answer", r.method, r.path), fmt.Sprintf("%d %v\n%s", resp.StatusCode, resp.Header, body))
	}
	for _, r := range reqs {
		send(r)
	}
	client = fromAddress("127.0.0.7")
	for _, r := range nearMiss {
		send(r)
	}
	client = maasClient
	if n := len(srv.Commands(t)); n != 1 {
		t.Errorf("%d shutdown commands over ssh with the encrypted key, want 1", n)
	}

	// Reload a bad file, by HTTP and by SIGHUP: refused with its problems.
	if err := os.Rename(badFile, goodFile); err != nil {
		t.Fatal(err)
	}
	send(req{"POST", "/-/reload", maasAuth})
	b.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, 10*time.Second, "the SIGHUP reload is refused", func() bool {
		return len(b.logs.lines("config reload refused")) >= 2
	})

	// The CLI, right and wrong.
	tf := tokenFile(t, s["maas token"])
	for _, args := range [][]string{
		{"power", "status", "node1", "--url", b.URL, "--token-file", tf},
		{"power", "on", "twin", "--url", b.URL, "--token-file", tf, "--json"},
		{"power", "status", "lost", "--url", b.URL, "--token-file", tf},
	} {
		_, out, errs := cli(t, nil, args...)
		leaks.add("powerbridge "+strings.Join(args, " "), out+errs)
	}
	_, out, errs := cli(t, []string{"POWERBRIDGE_URL=" + b.URL, "POWERBRIDGE_TOKEN=" + s["maas token"] + "x"}, "power", "off", "node1")
	leaks.add("powerbridge power off with a wrong token", out+errs)

	code, scrape := get(t, b.URL+"/metrics", s["metrics token"])
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	leaks.add("/metrics", scrape)

	// A start that fails: the ssh key's passphrase is wrong.
	wrongKey := write("wrong.yaml", strings.Replace(config(write("wrong.pass", s["wrong ssh passphrase"])), listen, freePort(t), 1))
	code, out, errs = cli(t, nil, "serve", "--config", wrongKey)
	if code == 0 {
		t.Error("serve started with a wrong key passphrase")
	}
	leaks.add("serve with a wrong key passphrase", out+errs)

	b.cmd.Process.Signal(os.Interrupt)
	waitUntil(t, 10*time.Second, "the bridge stops", func() bool {
		return strings.Contains(b.logs.String(), "shutting down")
	})
	leaks.add("serve's log", b.logs.String())
	if data, err := os.ReadFile(audit); err == nil {
		leaks.add("audit log", string(data))
	} else {
		t.Errorf("no audit log: %v", err)
	}
	filepath.WalkDir(stateDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			leaks.add("state file "+p, string(data))
		}
		return nil
	})

	// What was seen, so that a test that saw nothing cannot pass.
	all := strings.Join(leaks.outputs, "\n")
	for _, want := range []string{"authentication failed", "too many failed authentication attempts", "PDU cannot be read",
		"does not authenticate", "graceful shutdown", "config reload refused", "not shown", "powerbridge_auth_failures_total",
		"wrong passphrase in", "unknown key"} {
		if !strings.Contains(all, want) {
			t.Errorf("no output says %q: the test missed a path", want)
		}
	}
	for name, secret := range s {
		forms := map[string]string{"": secret, " (base64)": base64.StdEncoding.EncodeToString([]byte(secret))}
		for form, v := range forms {
			for _, o := range leaks.outputs {
				if strings.Contains(o, v) {
					what, _, _ := strings.Cut(o, ":\n")
					t.Errorf("the %s%s shows in %s", name, form, what)
				}
			}
		}
	}
	for _, u := range []string{"admin:" + s["admin password"], "admin:" + s["admin password"] + "x"} {
		enc := base64.StdEncoding.EncodeToString([]byte(u))
		if strings.Contains(all, enc) {
			t.Errorf("Basic credentials show in the output")
		}
	}
	t.Logf("searched %d outputs, %d bytes", len(leaks.outputs), len(all))
}
