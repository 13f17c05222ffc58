package apc

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/powerbridge/powerbridge/power/snmp"
)

// Config says how to reach one APC PDU.
//
// Communities and passphrases are secrets: String, GoString and LogValue
// leave them out, and no error of this package contains them.
type Config struct {
	// Config is how to reach the PDU: its address, SNMP version,
	// credentials, timeout and retries (see snmp.Config).
	snmp.Config

	// Dialect is "auto" (the default, also for ""), or one of Dialects()
	// to skip the probing and speak that MIB tree only.
	Dialect string

	// Cache, if set, keeps what detection found across restarts: a
	// driver whose PDU is in it costs the PDU one confirming request on
	// start instead of a detection. Nil detects on every start.
	Cache DetectionCache

	// System, if set, is the PDU's system group as the caller read it
	// already (a driver probing several vendors' MIBs), which detection
	// then does not read again.
	System *System
}

// AuthProtocols lists the SNMPv3 authentication protocols Config.AuthProtocol
// may name, in upper case (the config accepts any case).
func AuthProtocols() []string { return snmp.AuthProtocols() }

// PrivProtocols lists the SNMPv3 privacy protocols Config.PrivProtocol may
// name, in upper case.
func PrivProtocols() []string { return snmp.PrivProtocols() }

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
	s, err := c.Config.WithDefaults()
	if err != nil {
		return c, err
	}
	c.Config = s
	return c, nil
}

// target returns the address in host:port form, for messages.
func (c Config) target() string { return c.Config.Target() }

// String describes the config without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("%s dialect %s %s", c.target(), or(c.Dialect, "auto"), c.Config.Security())
}

// GoString keeps %#v from printing the secrets.
func (c Config) GoString() string { return "apc.Config{" + c.String() + "}" }

// LogValue keeps slog's handlers, the JSON one included, from printing the
// secrets: the session's attributes and the dialect.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("dialect", or(c.Dialect, "auto"))}
	return slog.GroupValue(append(attrs, c.Config.LogValue().Group()...)...)
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
