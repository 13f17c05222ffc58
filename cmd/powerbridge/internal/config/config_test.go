package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGoodConfig(t *testing.T) {
	f, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Auth.Tokens[0].Token.Reveal(); got != "s3cret-token" {
		t.Errorf("token from file = %q (trailing newline must be dropped)", got)
	}
	r1, r2 := f.PDUs[0], f.PDUs[1]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"listen", f.Listen, "127.0.0.1:9000"},
		{"state_dir default", f.StateDir, DefaultStateDir},
		{"status timeout default", f.Timeouts.Status.Std(), 10 * time.Second},
		{"rack1 dialect default", r1.Dialect, "auto"},
		{"rack1 read community", r1.SNMP.ReadCommunity.Reveal(), "public"},
		{"rack1 power_on_delay default", r1.PowerOnDelay.Std(), 5 * time.Second},
		{"rack1 snmp timeout default", r1.SNMP.Timeout.Std(), 2 * time.Second},
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
		{"unknown-key", []string{`testdata/unknown-key.yaml:6: pdus[0].snmp.comunity: unknown key (known keys: version, community, read_community, user, auth_protocol, auth_passphrase, auth_passphrase_file, priv_protocol, priv_passphrase, priv_passphrase_file, timeout, retries)`}},
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
		{"bad-dialect", []string{`testdata/bad-dialect.yaml:3: pdus[0].dialect: "rpdu3" is not one of auto, spdu, rpdu, rpdu2`}},
		{"address-and-simulate", []string{
			`testdata/address-and-simulate.yaml:3: pdus[0].simulate: a PDU has either an address or simulate, not both`,
			`testdata/address-and-simulate.yaml:4: pdus[1].address: required: the PDU's host or host:port`,
			`testdata/address-and-simulate.yaml:4: pdus[1].snmp.community: required for SNMP v1 (APC's factory write community is "private")`,
		}},
		{"wrong-kind", []string{
			`testdata/wrong-kind.yaml:1: auth.tokens: expected a list, found a mapping`,
			`testdata/wrong-kind.yaml:2: machines[0].outlets: expected a list, found "rack1/1"`,
		}},
		{"action-timeout", []string{`testdata/action-timeout.yaml:2: timeouts.action: 6m0s is too long: MAAS gives up on a power action after 5 minutes; use at most 4m30s`}},
		{"shutdown-bad", []string{
			`testdata/shutdown-bad.yaml:9: machines[0].shutdown.ssh.key_file: required unless agent: true`,
			`testdata/shutdown-bad.yaml:9: machines[0].shutdown.ssh.insecure_ignore_host_key: cannot be set with known_hosts`,
			`testdata/shutdown-bad.yaml:10: machines[0].shutdown.timeout: 50s leaves too little of timeouts.action (1m0s) to switch the outlets off; use at most 40s`,
			`testdata/shutdown-bad.yaml:11: machines[0].shutdown.on_failure: "shrug" is not cut or fail`,
			`testdata/shutdown-bad.yaml:14: machines[1].liveness.tcp: required: host:port to probe (usually the machine's ssh port)`,
			`testdata/shutdown-bad.yaml:14: machines[1].liveness.failures: must be at least 1`,
		}},
		{"syntax", []string{`testdata/syntax.yaml:1: did not find expected ',' or '}'`}},
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
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x-secret-value\n"), 0o600); err != nil {
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
