package apc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/snmp"
)

func TestNewRejectsBadConfig(t *testing.T) {
	v1 := Config{Config: snmp.Config{Address: "pdu", Community: "private"}}
	v3 := Config{Config: snmp.Config{Address: "pdu", Version: "3", User: "apc", AuthProtocol: "SHA", AuthPassphrase: "auth-secret-1", PrivProtocol: "AES", PrivPassphrase: "priv-secret-1"}}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no address", with(v1, func(c *Config) { c.Address = "" }), "apc: Address is required: the PDU's host or host:port"},
		{"bad port", with(v1, func(c *Config) { c.Address = "pdu:snmp" }), `apc: Address "pdu:snmp": port "snmp" is not a number from 1 to 65535`},
		{"port 0", with(v1, func(c *Config) { c.Address = "pdu:0" }), `apc: Address "pdu:0": port "0" is not a number from 1 to 65535`},
		{"ambiguous", with(v1, func(c *Config) { c.Address = "pdu:1:2" }), `apc: Address "pdu:1:2" is not host, host:port or [IPv6]:port`},
		{"no host", with(v1, func(c *Config) { c.Address = ":161" }), `apc: Address ":161" has no valid host`},
		{"dialect", with(v1, func(c *Config) { c.Dialect = "rpdu3" }), `apc: Dialect "rpdu3" is not one of auto, rpdu2, rpdu, spdu`},
		{"version", with(v1, func(c *Config) { c.Version = "2" }), `apc: Version "2" is not an SNMP version: use "1", "2c" or "3"`},
		{"timeout", with(v1, func(c *Config) { c.Timeout = -time.Second }), "apc: Timeout -1s is negative"},
		{"retries", with(v1, func(c *Config) { c.Retries = -1 }), "apc: Retries -1 is not between 0 and 10"},
		{"no community", with(v1, func(c *Config) { c.Community = "" }), "apc: Community is required for SNMP v1"},
		{"no community v2c", with(v1, func(c *Config) { c.Community, c.Version = "", "2c" }), "apc: Community is required for SNMP v2c"},
		{"v3 field under v2c", with(v1, func(c *Config) { c.Version, c.User = "2c", "apc" }), "apc: User is for SNMP v3, not v2c"},
		{"no user", with(v3, func(c *Config) { c.User = "" }), "apc: User is required for SNMP v3"},
		{"community under v3", with(v3, func(c *Config) { c.Community = "private" }), "apc: Community and ReadCommunity are for SNMP v1 and v2c, not v3"},
		{"auth protocol", with(v3, func(c *Config) { c.AuthProtocol = "SHA1" }), `apc: AuthProtocol "SHA1" is not one of MD5, SHA, SHA224, SHA256, SHA384, SHA512`},
		{"priv protocol", with(v3, func(c *Config) { c.PrivProtocol = "3DES" }), `apc: PrivProtocol "3DES" is not one of DES, AES, AES192, AES256`},
		{"no auth passphrase", with(v3, func(c *Config) { c.AuthPassphrase = "" }), "apc: AuthPassphrase is required with AuthProtocol SHA"},
		{"short passphrase", with(v3, func(c *Config) { c.PrivPassphrase = "hunter2" }), "apc: PrivPassphrase is shorter than 8 characters, which SNMP v3 does not allow"},
		{"passphrase without protocol", with(v3, func(c *Config) { c.PrivProtocol = "" }), "apc: PrivPassphrase is set but PrivProtocol is not"},
		{"priv without auth", with(v3, func(c *Config) { c.AuthProtocol, c.AuthPassphrase = "", "" }), "apc: PrivProtocol needs AuthProtocol: SNMP v3 has no privacy without authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.cfg)
			if err == nil {
				t.Fatalf("New accepted it: %v", d)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestNewAcceptsGoodConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // String()
	}{
		{Config{Config: snmp.Config{Address: "pdu", Community: "private"}}, "apc pdu:161 dialect auto SNMP v1"},
		{Config{Config: snmp.Config{Address: "10.0.0.5:1161", Version: "2c", Community: "w", ReadCommunity: "r"}, Dialect: "rpdu2"}, "apc 10.0.0.5:1161 dialect rpdu2 SNMP v2c"},
		{Config{Config: snmp.Config{Address: "[fe80::1]:161", Version: "2c", Community: "private"}}, "apc [fe80::1]:161 dialect auto SNMP v2c"},
		{Config{Config: snmp.Config{Address: "[fe80::1]", Community: "private"}}, "apc [fe80::1]:161 dialect auto SNMP v1"},
		{Config{Config: snmp.Config{Address: "fe80::1", Community: "private"}}, "apc [fe80::1]:161 dialect auto SNMP v1"},
		{Config{Config: snmp.Config{Address: "pdu", Version: "3", User: "apc"}}, `apc pdu:161 dialect auto SNMP v3 user "apc" noAuthNoPriv`},
		{Config{Config: snmp.Config{Address: "pdu", Version: "3", User: "apc", AuthProtocol: "md5", AuthPassphrase: "12345678"}}, `apc pdu:161 dialect auto SNMP v3 user "apc" authNoPriv MD5`},
		{Config{Config: snmp.Config{Address: "pdu", Version: "3", User: "apc", AuthProtocol: "SHA256", AuthPassphrase: "12345678", PrivProtocol: "aes256", PrivPassphrase: "87654321"}}, `apc pdu:161 dialect auto SNMP v3 user "apc" authPriv SHA256/AES256`},
	} {
		d, err := New(tc.cfg)
		if err != nil {
			t.Errorf("New(%s): %v", tc.cfg, err)
			continue
		}
		if got := d.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close of a driver that never spoke: %v", err)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Config{Config: snmp.Config{Address: "pdu", Community: "private"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Dialect != "auto" || c.Version != "1" || c.Timeout != 2*time.Second || c.ReadCommunity != "private" || c.Retries != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestSecretsNeverShow(t *testing.T) {
	secrets := []string{"write-s3cret", "read-s3cret", "auth-s3cret", "priv-s3cret"}
	cfgs := []Config{
		{Config: snmp.Config{Address: "pdu", Version: "2c", Community: secrets[0], ReadCommunity: secrets[1]}},
		{Config: snmp.Config{Address: "pdu", Version: "3", User: "apc", AuthProtocol: "SHA", AuthPassphrase: secrets[2], PrivProtocol: "AES", PrivPassphrase: secrets[3]}},
	}
	for _, c := range cfgs {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("pdu", "config", c)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("pdu", "config", c)
		js, _ := json.Marshal(c.LogValue().Resolve().Group())
		d, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		out := strings.Join([]string{
			fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", d), d.String(),
			buf.String(), string(js),
		}, "\n")
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("a secret shows:\n%s", out)
			}
		}
	}
	// Nor in validation errors.
	_, err := New(Config{Config: snmp.Config{Address: "pdu", Version: "3", User: "apc", AuthProtocol: "SHA", AuthPassphrase: "hunt3r"}})
	if err == nil || strings.Contains(err.Error(), "hunt3r") {
		t.Errorf("error %v", err)
	}
}
