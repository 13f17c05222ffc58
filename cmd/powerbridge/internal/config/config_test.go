package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain points the default state_dir at a directory of the test's own:
// Load checks that it can be used, and the tests must not depend on
// whether /var/lib/powerbridge can be created where they run.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "powerbridge-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defaultStateDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestGoodConfig(t *testing.T) {
	f, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Auth.Tokens[0].Token.Reveal(); got != "s3cret-token-0123456789" {
		t.Errorf("token from file = %q (trailing newline must be dropped)", got)
	}
	r1, r2 := f.PDUs[0], f.PDUs[1]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"listen", f.Listen, "127.0.0.1:9000"},
		{"state_dir default", f.StateDir, defaultStateDir},
		{"the default state_dir outside tests", DefaultStateDir, "/var/lib/powerbridge"},
		{"status timeout default", f.Timeouts.Status.Std(), 10 * time.Second},
		{"rack1 dialect default", r1.Dialect, "auto"},
		{"rack1 read community", r1.SNMP.ReadCommunity.Reveal(), "public"},
		{"rack1 power_on_delay default", r1.PowerOnDelay.Std(), 5 * time.Second},
		{"rack1 snmp timeout default", r1.SNMP.Timeout.Std(), 2 * time.Second},
		{"rack1 snmp max_timeout default", r1.SNMP.MaxTimeout.Std(), 30 * time.Second},
		{"rack2 auth protocol upper-cased", r2.SNMP.AuthProtocol, "SHA"},
		{"rack2 auth passphrase from file", r2.SNMP.AuthPassphrase.Reveal(), "authpass123"},
		{"rack2 power_on_delay", r2.PowerOnDelay.Std(), 10 * time.Second},
		{"machines", len(f.Machines), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// Each file breaks one rule; its exact messages are part of the interface.
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"unknown-key", []string{`testdata/unknown-key.yaml:6: pdus[0].snmp.comunity: unknown key (known keys: version, community, read_community, user, auth_protocol, auth_passphrase, auth_passphrase_file, priv_protocol, priv_passphrase, priv_passphrase_file, timeout, max_timeout, retries)`,
			// The rules go on past a problem of decoding, so that every problem is listed.
			`testdata/unknown-key.yaml:6: pdus[0].snmp.community: required for SNMP v1 (APC's factory write community is "private")`,
		}},
		{"duplicate-machine", []string{`testdata/duplicate-machine.yaml:6: machines[1].name: machine "m1" is defined twice`}},
		{"duplicate-pdu", []string{`testdata/duplicate-pdu.yaml:4: pdus[1].name: PDU "rack1" is defined twice`}},
		{"outlet-twice", []string{`testdata/outlet-twice.yaml:6: machines[1].outlets[1]: outlet rack1/1 is already mapped to machine "m1"`}},
		{"unknown-pdu", []string{`testdata/unknown-pdu.yaml:5: machines[0].outlets[0]: no PDU is named "rack9"`}},
		{"bad-outlet", []string{`testdata/bad-outlet.yaml:5: machines[0].outlets[0]: "rack1/0" is not an outlet; write "pdu/N" with N from 1`}},
		{"bad-duration", []string{
			`testdata/bad-duration.yaml:3: pdus[0].snmp.timeout: "2" is not a duration (use a number with a unit: 500ms, 5s, 2m)`,
			`testdata/bad-duration.yaml:3: pdus[0].power_on_delay: "5x" is not a duration (use a number with a unit: 500ms, 5s, 2m)`,
		}},
		{"bad-version", []string{`testdata/bad-version.yaml:3: pdus[0].snmp.version: "2" is not an SNMP version: use "1", "2c" or "3"`}},
		{"community-missing", []string{`testdata/community-missing.yaml:3: pdus[0].snmp.community: required for SNMP v2c (APC's factory write community is "private")`}},
		{"v3-missing", []string{
			`testdata/v3-missing.yaml:5: pdus[0].snmp.user: required for SNMP v3`,
			`testdata/v3-missing.yaml:5: pdus[0].snmp.auth_protocol: "SHA1" is not one of MD5, SHA, SHA224, SHA256, SHA384, SHA512`,
			`testdata/v3-missing.yaml:5: pdus[0].snmp.auth_passphrase: required (or auth_passphrase_file)`,
			`testdata/v3-missing.yaml:5: pdus[0].snmp.priv_passphrase: must be at least 8 characters (an SNMPv3 rule)`,
		}},
		{"no-auth", []string{`testdata/no-auth.yaml:1: auth: no tokens or users: anyone could switch power; add auth.tokens (MAAS's power_token) or set auth.insecure_no_auth: true`}},
		{"token-both", []string{`testdata/token-both.yaml:1: auth.tokens[0].token: set either token or token_file, not both`}},
		{"token-file-missing", []string{`testdata/token-file-missing.yaml:1: auth.tokens[0].token_file: open testdata/no-such-file: no such file or directory`}},
		{"bad-role", []string{`testdata/bad-role.yaml:4: auth.users[1].role: "admin" is not one of operator, viewer`}},
		{"bad-dialect", []string{`testdata/bad-dialect.yaml:3: pdus[0].dialect: "rpdu3" is not one of auto, spdu, rpdu, rpdu2, g3, pdu2, sentry4, sentry3, epdu2, epdu, tlppdu, v5`}},
		{"bad-vendor", []string{`testdata/bad-vendor.yaml:3: pdus[0].vendor: "eaton-g3" is not one of auto, apc, eaton, raritan, servertech, cyberpower, tripplite, geist, shelly, tasmota`}},
		{"vendor-dialect", []string{`testdata/vendor-dialect.yaml:3: pdus[0].dialect: "rpdu2" is a dialect of vendor apc, not eaton (which has auto, g3)`}},
		{"address-and-simulate", []string{
			`testdata/address-and-simulate.yaml:3: pdus[0].simulate: a PDU has either an address or simulate, not both`,
			`testdata/address-and-simulate.yaml:4: pdus[1].address: required: the PDU's host or host:port`,
			`testdata/address-and-simulate.yaml:4: pdus[1].snmp.community: required for SNMP v1 (APC's factory write community is "private")`,
		}},
		{"wrong-kind", []string{
			`testdata/wrong-kind.yaml:1: auth.tokens: expected a list, found a mapping`,
			`testdata/wrong-kind.yaml:2: machines[0].outlets: expected a list, found "rack1/1"`,
		}},
		{"snmp-max-timeout", []string{`testdata/snmp-max-timeout.yaml:5: pdus[0].snmp.max_timeout: 3s is less than timeout (5s): a request is given timeout at least and max_timeout at most, as slow as the PDU's answers have been`}},
		{"action-timeout", []string{`testdata/action-timeout.yaml:2: timeouts.action: 6m0s is too long: MAAS gives up on a power action after 5 minutes; use at most 4m30s`}},
		{"shutdown-bad", []string{
			`testdata/shutdown-bad.yaml:9: machines[0].shutdown.ssh.key_file: required unless agent: true`,
			`testdata/shutdown-bad.yaml:9: machines[0].shutdown.ssh.insecure_ignore_host_key: cannot be set with known_hosts`,
			`testdata/shutdown-bad.yaml:10: machines[0].shutdown.timeout: 50s leaves too little of timeouts.action (1m0s) to switch the outlets off; use at most 40s`,
			`testdata/shutdown-bad.yaml:11: machines[0].shutdown.on_failure: "shrug" is not cut or fail`,
			`testdata/shutdown-bad.yaml:14: machines[1].liveness.tcp: required: host:port to probe (usually the machine's ssh port)`,
			`testdata/shutdown-bad.yaml:14: machines[1].liveness.failures: must be at least 1`,
		}},
		{"wol-bad", []string{
			`testdata/wol-bad.yaml:4: machines[0].wake_on_lan.mac: "52:54:00:12:34" is not a MAC address (write it as 52:54:00:12:34:56)`,
			`testdata/wol-bad.yaml:4: machines[0].wake_on_lan.broadcast: "fe80::1" is not an IPv4 address (255.255.255.255, or the subnet's broadcast such as 192.168.23.255)`,
			`testdata/wol-bad.yaml:4: machines[0].wake_on_lan.port: 0 is not a port`,
			`testdata/wol-bad.yaml:4: machines[0].wake_on_lan.interface: no network interface "nosuch0" on this host (ip link lists them)`,
			`testdata/wol-bad.yaml:4: machines[0].liveness: required with wake_on_lan: only the liveness probe tells whether the machine is on (e.g. liveness: {tcp: "host:22"})`,
			`testdata/wol-bad.yaml:4: machines[0].shutdown: required with wake_on_lan: a packet cannot switch a machine off, the clean ssh shutdown does`,
			`testdata/wol-bad.yaml:6: machines[1].wake_on_lan.mac: required: the MAC address of the NIC that wakes the machine (ip link shows it after link/ether)`,
			`testdata/wol-bad.yaml:6: machines[1].liveness: required with wake_on_lan: only the liveness probe tells whether the machine is on (e.g. liveness: {tcp: "host:22"})`,
			`testdata/wol-bad.yaml:6: machines[1].shutdown: required with wake_on_lan: a packet cannot switch a machine off, the clean ssh shutdown does`,
			`testdata/wol-bad.yaml:6: machines[1].wake_on_lan.reboot_command: needs shutdown.ssh to run it`,
			`testdata/wol-bad.yaml:9: machines[2].shutdown.on_failure: "cut" needs an outlet to cut, and this machine has only wake_on_lan: leave on_failure out, or write fail`,
			`testdata/wol-bad.yaml:10: machines[2].liveness.power_below_watts: needs an outlet on a metered PDU, and this machine has none`,
			`testdata/wol-bad.yaml:12: machines[3].outlets: machine "nuc4" needs at least one outlet, as "pdu/N", or wake_on_lan`,
		}},
		{"syntax", []string{`testdata/syntax.yaml:1: did not find expected ',' or '}'`}},
		{"ssh-key-device", []string{`testdata/ssh-key-device.yaml:8: machines[0].shutdown.ssh.key_file: /dev/null is a character device; want a regular file`}},

		// Issue 12 item 3: the config cannot open the API by accident.
		{"duplicate-key", []string{
			`testdata/duplicate-key.yaml:4: pdus[0].snmp.community: given twice on this line: write each key once`,
			`testdata/duplicate-key.yaml:5: auth: given twice, at lines 1 and 5: write each key once`,
			`testdata/duplicate-key.yaml:9: gateway.corp: given twice, at lines 8 and 9: write each key once`,
		}},
		{"insecure-with-tokens", []string{`testdata/insecure-with-tokens.yaml:4: auth.insecure_no_auth: cannot be set with auth.tokens or auth.users: it would let anyone switch power and leave them unused; remove it, or remove them`}},
		{"token-short", []string{
			`testdata/token-short.yaml:2: auth.tokens[0].token: is shorter than 16 characters, too easy to guess; make a token with: openssl rand -hex 32`,
			`testdata/token-short.yaml:2: auth.tokens[1].token: is shorter than 16 characters, too easy to guess; make a token with: openssl rand -hex 32`,
			`testdata/token-short.yaml:3: auth.metrics_token: is shorter than 16 characters, too easy to guess; make a token with: openssl rand -hex 32`,
		}},
		{"token-whitespace", []string{
			`testdata/token-whitespace.yaml:3: auth.tokens[0].token: has whitespace or a line break in it, which no request can carry; make a token with: openssl rand -hex 32`,
			`testdata/token-whitespace.yaml:4: auth.tokens[1].token: has whitespace or a line break in it, which no request can carry; make a token with: openssl rand -hex 32`,
			`testdata/token-whitespace.yaml:5: auth.tokens[2].token: has whitespace or a line break in it, which no request can carry; make a token with: openssl rand -hex 32`,
			`testdata/token-whitespace.yaml:6: auth.tokens[3].token_file: testdata/token-two-lines.txt holds more than one line; it should hold the secret alone`,
			`testdata/token-whitespace.yaml:7: auth.tokens[4].token: has a control or non-ASCII character in it, which an HTTP header cannot carry as it is; make a token with: openssl rand -hex 32`,
		}},
		{"token-reused", []string{
			`testdata/token-reused.yaml:4: auth.tokens[1].token: is the same as auth.tokens[0].token: give each client a token of its own, made with: openssl rand -hex 32`,
			`testdata/token-reused.yaml:5: auth.metrics_token: is the same as auth.tokens[0].token: a scraper's token must not be able to switch power; make one of its own with: openssl rand -hex 32`,
		}},
		{"metrics-token-reused", []string{`testdata/metrics-token-reused.yaml:3: auth.metrics_token: is the same as auth.tokens[0].token_file: a scraper's token must not be able to switch power; make one of its own with: openssl rand -hex 32`}},
		{"password-whitespace", []string{
			`testdata/password-whitespace.yaml:3: auth.users[0].password_file: has whitespace at its start or end, which is nearly always a slip; remove it (trailing line breaks in a file are dropped already)`,
			`testdata/password-whitespace.yaml:4: auth.users[1].password: has a line break or control character in it, which MAAS's power_pass cannot hold`,
			`testdata/password-whitespace.yaml:5: auth.users[2].password: has whitespace at its start or end, which is nearly always a slip; remove it (trailing line breaks in a file are dropped already)`,
		}},

		// Issue 12 item 9: every problem, type errors included; the paths
		// serve uses; tabs; one document.
		{"type-errors", []string{
			`testdata/type-errors.yaml:2: timeouts.status: "5" is not a duration (use a number with a unit: 500ms, 5s, 2m)`,
			`testdata/type-errors.yaml:2: timeouts.action: 6m0s is too long: MAAS gives up on a power action after 5 minutes; use at most 4m30s`,
			`testdata/type-errors.yaml:4: pdus[0].snmp.retries: "many" is not a whole number`,
			`testdata/type-errors.yaml:5: pdus[1].snmp.version: "4" is not an SNMP version: use "1", "2c" or "3"`,
			`testdata/type-errors.yaml:7: machines[0].outlets[0]: "rack1/0" is not an outlet; write "pdu/N" with N from 1`,
			`testdata/type-errors.yaml:7: machines[0].shutdown: expected a mapping of keys to values, found "yes"`,
		}},
		{"tls-listen", []string{`testdata/tls-listen.yaml:2: tls_listen: "127.0.0.1:8080" takes listen's port (0.0.0.0:8080); give the TLS listener a port of its own (e.g. 0.0.0.0:8443)`}},
		{"tls-listen-pdudaemon", []string{`testdata/tls-listen-pdudaemon.yaml:1: tls_listen: "127.0.0.1:16421" is pdudaemon.listen's address too; give the TLS listener a port of its own (e.g. 0.0.0.0:8443)`}},
		{"tls-listen-port", []string{`testdata/tls-listen-port.yaml:1: tls_listen: "8443" is not host:port (e.g. 0.0.0.0:8443)`}},
		{"state-dir-file", []string{`testdata/state-dir-file.yaml:2: state_dir: testdata/token.txt is not a directory`}},
		{"state-dir-under-file", []string{`testdata/state-dir-under-file.yaml:2: state_dir: testdata/token.txt/state cannot be created: testdata/token.txt is not a directory`}},
		{"state-dir-empty", []string{`testdata/state-dir-empty.yaml:2: state_dir: required: the directory for the switching journal and pinned ssh host keys (default /var/lib/powerbridge)`}},
		{"audit-log-dir", []string{`testdata/audit-log-dir.yaml:2: audit_log: testdata is a directory; want a regular file to append to`}},
		{"audit-log-no-dir", []string{`testdata/audit-log-no-dir.yaml:2: audit_log: testdata/no-such-dir/audit.log cannot be created: the directory testdata/no-such-dir does not exist`}},
		{"audit-log-under-file", []string{`testdata/audit-log-under-file.yaml:2: audit_log: testdata/token.txt/audit.log cannot be created: testdata/token.txt is not a directory`}},
		{"tab-first-line", []string{`testdata/tab-first-line.yaml:1: a tab in the indentation: YAML indents with spaces only`}},
		{"tab-indent", []string{`testdata/tab-indent.yaml:2: a tab in the indentation: YAML indents with spaces only`}},
		{"tab-nested", []string{`testdata/tab-nested.yaml:5: a tab in the indentation: YAML indents with spaces only`}},
		{"second-document", []string{`testdata/second-document.yaml:2: a second YAML document (after ---): the file must hold one config, not several`}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load("testdata/" + tc.file + ".yaml")
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			got := strings.Split(ps.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestShutdownDefaults(t *testing.T) {
	f, err := Load("testdata/shutdown-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sh, l := f.Machines[0].Shutdown, f.Machines[0].Liveness
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"command", sh.Command, "sudo systemctl poweroff"},
		{"timeout", sh.Timeout.Std(), 120 * time.Second},
		{"on_failure", sh.OnFailure, "cut"},
		{"user", sh.SSH.User, "ubuntu"},
		{"ssh addr", sh.SSH.Addr(), "m1.maas:22"},
		{"liveness tcp from ssh", l.TCP, "m1.maas:22"},
		{"failures", l.Failures, 3},
		{"boot_grace", l.BootGrace.Std(), 10 * time.Minute},
		{"power_below_watts", l.PowerBelowWatts, 12.5},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestWakeOnLANDefaults(t *testing.T) {
	f, err := Load("testdata/wol-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nuc, tower := f.Machines[0], f.Machines[1]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"broadcast", nuc.WakeOnLAN.Broadcast, "255.255.255.255"},
		{"port", nuc.WakeOnLAN.Port, 9},
		{"interface", nuc.WakeOnLAN.Interface, ""},
		{"on_failure with no outlet", nuc.Shutdown.OnFailure, "fail"},
		{"liveness tcp from ssh", nuc.Liveness.TCP, "nuc1.maas:22"},
		{"outlets", len(nuc.Outlets), 0},
		{"on_failure with an outlet", tower.Shutdown.OnFailure, "cut"},
		{"given broadcast", tower.WakeOnLAN.Broadcast, "192.168.23.255"},
		{"given port", tower.WakeOnLAN.Port, 7},
		{"reboot", tower.WakeOnLAN.RebootCommand, "sudo systemctl reboot"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// A key given as zero stays zero; only a key left out takes its default.
func TestZeroIsNotUnset(t *testing.T) {
	f, err := Load("testdata/zero.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := f.PDUs[0]
	if p.PowerOnDelay != 0 || p.SNMP.Retries != 0 || f.Machines[0].Liveness.Settle != 0 {
		t.Errorf("power_on_delay %s, retries %d, settle %s; want all 0 as written", p.PowerOnDelay, p.SNMP.Retries, f.Machines[0].Liveness.Settle)
	}
	if p.SwitchTimeout.Std() != 20*time.Second || f.Machines[0].Liveness.Failures != 3 {
		t.Errorf("defaults of keys left out: switch_timeout %s, failures %d", p.SwitchTimeout, f.Machines[0].Liveness.Failures)
	}
}

func TestEmptyFile(t *testing.T) {
	_, err := Parse(nil, "empty.yaml")
	if err == nil || err.Error() != "empty.yaml: the file is empty" {
		t.Errorf("err = %v", err)
	}
}

// A secret shows as <secret> however it is printed or encoded.
func TestSecretsNeverShow(t *testing.T) {
	f, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var j strings.Builder
	enc := json.NewEncoder(&j)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", f),
		"%+v":  fmt.Sprintf("%+v", f),
		"%#v":  fmt.Sprintf("%#v", f.PDUs),
		"%s":   fmt.Sprintf("%s", f.Auth.Tokens[0].Token),
		"json": j.String(),
	}
	for how, out := range outputs {
		for _, secret := range []string{"s3cret-token", "hunter22", "private", "public", "authpass123", "privpass123"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output shows secret %q", how, secret)
			}
		}
		if !strings.Contains(out, "<secret>") {
			t.Errorf("%s output has no <secret> placeholder: the test would not see a leak", how)
		}
	}
}

// The shipped example must stay a valid config: every key in it is real.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../../../deploy/powerbridge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"maas.token", "admin.pass", "id_ed25519"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x-secret-value-0123456789\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.ReplaceAll(string(data), "/etc/powerbridge/", dir+"/")
	f, err := Parse([]byte(text), "powerbridge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.PDUs) == 0 || len(f.Machines) == 0 || f.Machines[0].Shutdown == nil || f.Machines[0].Liveness == nil {
		t.Errorf("the example lost its PDUs, machines or shutdown: %+v", f)
	}
}

// Issue 12 item 8: the config is a regular file of at most 8 MiB, checked
// before it is read. A FIFO would block the read (a reload hung and SIGTERM
// waited on it), /dev/zero would fill memory. Load must answer at once.
func TestConfigMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Exactly the limit loads; a byte more does not.
	pad := func(n int) []byte {
		data := append([]byte{}, good...)
		line := "#" + strings.Repeat("x", 78) + "\n"
		for len(data)+len(line) <= n {
			data = append(data, line...)
		}
		for len(data) < n-1 {
			data = append(data, '#')
		}
		return append(data, '\n')
	}
	limit, over := filepath.Join(dir, "limit.yaml"), filepath.Join(dir, "over.yaml")
	for path, data := range map[string][]byte{limit: pad(MaxFileSize), over: pad(MaxFileSize + 1)} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load(limit); err != nil {
		t.Errorf("a config of exactly 8 MiB: %v", err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "reading config: " + fifo + " is a named pipe (FIFO); want a regular file of at most 8 MiB"},
		{"/dev/zero", "reading config: /dev/zero is a character device; want a regular file of at most 8 MiB"},
		{"testdata", "reading config: testdata is a directory; want a regular file of at most 8 MiB"},
		{over, "reading config: " + over + " is larger than 8 MiB; want a regular file of at most 8 MiB"},
	} {
		done := make(chan error, 1)
		go func() { _, err := Load(tc.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || err.Error() != tc.want {
				t.Errorf("Load(%s) = %v\nwant %s", tc.path, err, tc.want)
			}
		case <-time.After(time.Minute): // a deadline for a hang, not a measure
			t.Fatalf("Load(%s) has not returned after a minute", tc.path)
		}
	}
}

// ReadFile stops at the limit however large the file has grown since it
// was looked at: a file that grows while it is read is cut short, not read
// to its end.
func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(path, 10); err != nil || string(data) != "0123456789" {
		t.Errorf("ReadFile of 10 bytes, limit 10: %q, %v", data, err)
	}
	want := path + " is larger than 9 bytes; want a regular file of at most 9 bytes"
	if _, err := ReadFile(path, 9); err == nil || err.Error() != want {
		t.Errorf("ReadFile of 10 bytes, limit 9: %v\nwant %s", err, want)
	}
	var fe *FileError
	if _, err := ReadFile("/dev/null", 9); !errors.As(err, &fe) || fe.Path != "/dev/null" {
		t.Errorf("ReadFile(/dev/null): %v, want a *FileError", err)
	}
}

// A state directory that does not exist yet, but can be created, is fine;
// checking it creates nothing (serve creates it, check-config must not).
func TestStateDirIsCheckedNotCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	data := "auth: {tokens: [{name: maas, token: maas-token-0123456789}]}\nstate_dir: " + dir + "\naudit_log: " + filepath.Join(filepath.Dir(cfg), "audit.log") + "\n"
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(dir), filepath.Join(filepath.Dir(cfg), "audit.log")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v; checking the config must not create it", p, err)
		}
	}
}
