package apc

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// Config says how to reach one APC PDU.
//
// Communities and passphrases are secrets: String, GoString and LogValue
// leave them out, and no error of this package contains them.
type Config struct {
	// Address is "host" or "host:port" (port 161 by default); an IPv6
	// literal with a port goes in brackets: "[fe80::1]:161".
	Address string

	// Dialect is "auto" (the default, also for ""), or one of Dialects()
	// to skip the probing and speak that MIB tree only.
	Dialect string

	// Version is the SNMP version: "1" (the default, and what MAAS's own
	// apc driver speaks), "2c" or "3".
	Version string

	// Community is the write community (v1, v2c), used for switching.
	Community string
	// ReadCommunity is used for reading; it defaults to Community.
	ReadCommunity string

	// SNMPv3. The security level follows from what is set: no
	// AuthProtocol is noAuthNoPriv, AuthProtocol alone authNoPriv, both
	// protocols authPriv.
	User           string
	AuthProtocol   string // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassphrase string
	PrivProtocol   string // DES, AES, AES192, AES256
	PrivPassphrase string

	// Timeout bounds one request; 0 means 2s. A context deadline that comes
	// sooner wins.
	Timeout time.Duration

	// Retries is how often a read is sent again after a timeout. Switching
	// is never retried: an agent that was merely slow would carry out a
	// repeated SET twice.
	Retries int

	// OnEvent, when set, is told of what the driver notices about the PDU
	// besides the outcome of each call (see Event). It is called from the
	// goroutine that uses the driver, so it must not block.
	OnEvent func(Event)
}

// AuthProtocols lists the SNMPv3 authentication protocols Config.AuthProtocol
// may name, in upper case (the config accepts any case).
func AuthProtocols() []string { return snmp.AuthProtocols() }

// PrivProtocols lists the SNMPv3 privacy protocols Config.PrivProtocol may
// name, in upper case.
func PrivProtocols() []string { return snmp.PrivProtocols() }

// session is the part of c the SNMP session layer takes.
func (c Config) session() snmp.Config {
	return snmp.Config{
		Address: c.Address, Version: c.Version,
		Community: c.Community, ReadCommunity: c.ReadCommunity,
		User: c.User, AuthProtocol: c.AuthProtocol, AuthPassphrase: c.AuthPassphrase,
		PrivProtocol: c.PrivProtocol, PrivPassphrase: c.PrivPassphrase,
		Timeout: c.Timeout, Retries: c.Retries, OnEvent: c.OnEvent,
	}
}

// withDefaults returns c with its defaults filled in and its protocol names
// in upper case, or an error naming the first field that is wrong.
func (c Config) withDefaults() (Config, error) {
	if err := snmp.CheckAddress(c.Address); err != nil {
		return c, err
	}
	if c.Dialect == "" {
		c.Dialect = "auto"
	}
	if _, ok := dialects[c.Dialect]; !ok && c.Dialect != "auto" {
		return c, fmt.Errorf("Dialect %q is not one of auto, %s", c.Dialect, strings.Join(Dialects(), ", "))
	}
	s, err := c.session().WithDefaults()
	if err != nil {
		return c, err
	}
	c.Version, c.ReadCommunity, c.Timeout = s.Version, s.ReadCommunity, s.Timeout
	c.AuthProtocol, c.PrivProtocol = s.AuthProtocol, s.PrivProtocol
	return c, nil
}

// target returns the address in host:port form, for messages.
func (c Config) target() string { return c.session().Target() }

// String describes the config without its secrets.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s dialect %s SNMP v%s", c.target(), or(c.Dialect, "auto"), or(c.Version, "1"))
	if c.Version == "3" {
		fmt.Fprintf(&b, " user %q %s", c.User, c.session().SecurityLevel())
		if c.AuthProtocol != "" {
			fmt.Fprintf(&b, " %s", c.AuthProtocol)
		}
		if c.PrivProtocol != "" {
			fmt.Fprintf(&b, "/%s", c.PrivProtocol)
		}
	}
	return b.String()
}

// GoString keeps %#v from printing the secrets.
func (c Config) GoString() string { return "apc.Config{" + c.String() + "}" }

// LogValue keeps slog's handlers, the JSON one included, from printing the
// secrets.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("address", c.Address),
		slog.String("dialect", or(c.Dialect, "auto")),
		slog.String("version", or(c.Version, "1")),
	}
	if c.Version == "3" {
		attrs = append(attrs, slog.String("user", c.User), slog.String("level", c.session().SecurityLevel()),
			slog.String("auth", c.AuthProtocol), slog.String("priv", c.PrivProtocol))
	}
	return slog.GroupValue(attrs...)
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
