package snmp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config says how to reach one agent: its address and credentials.
//
// Communities and passphrases are secrets: String, GoString and LogValue
// leave them out, and no error of this package contains them.
type Config struct {
	// Address is "host" or "host:port" (port 161 by default); an IPv6
	// literal with a port goes in brackets: "[fe80::1]:161".
	Address string

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

	// Timeout is the least time a request is given; 0 means 2s. It is all
	// a request is given before the agent's first answer; from then on a
	// request is given as long as the agent's answers have been taking
	// for its size, and more, up to MaxTimeout. A context deadline that
	// comes sooner wins.
	Timeout time.Duration

	// MaxTimeout bounds the time a request is given however slow the
	// agent's answers have been: how long a card that stops answering
	// takes at most to fail a request. 0 means 30s, or Timeout if that is
	// longer; it must not be less than Timeout.
	MaxTimeout time.Duration

	// Retries is how often a read is sent again after a timeout. Switching
	// is never retried: an agent that was merely slow would carry out a
	// repeated SET twice.
	Retries int

	// OnEvent, when set, is told of what the session notices about the
	// agent besides the outcome of each call (see Event). It is called from
	// the goroutine that uses the session, so it must not block.
	OnEvent func(Event)
}

const (
	defaultPort    = 161
	defaultTimeout = 2 * time.Second
	// defaultMaxTimeout lets a card take 30 s over a request, as a
	// 60-varbind read at half a second a varbind would; a caller's
	// deadline (a status call's) still ends a wait sooner.
	defaultMaxTimeout = 30 * time.Second
	maxRetries        = 10
)

var (
	authProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	privProtocols = []string{"DES", "AES", "AES192", "AES256"}
)

// AuthProtocols lists the SNMPv3 authentication protocols Config.AuthProtocol
// may name, in upper case (the config accepts any case).
func AuthProtocols() []string { return slices.Clone(authProtocols) }

// PrivProtocols lists the SNMPv3 privacy protocols Config.PrivProtocol may
// name, in upper case.
func PrivProtocols() []string { return slices.Clone(privProtocols) }

// WithDefaults returns c with its defaults filled in and its protocol names
// in upper case, or an error naming the first field that is wrong.
func (c Config) WithDefaults() (Config, error) {
	if _, _, err := splitAddress(c.Address); err != nil {
		return c, err
	}
	if c.Version == "" {
		c.Version = "1"
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("Timeout %v is negative", c.Timeout)
	}
	switch {
	case c.MaxTimeout == 0:
		c.MaxTimeout = max(defaultMaxTimeout, c.Timeout)
	case c.MaxTimeout < c.Timeout:
		return c, fmt.Errorf("MaxTimeout %v is less than Timeout %v: it bounds the time a request is given from above, Timeout from below", c.MaxTimeout, c.Timeout)
	}
	if c.Retries < 0 || c.Retries > maxRetries {
		return c, fmt.Errorf("Retries %d is not between 0 and %d", c.Retries, maxRetries)
	}
	c.AuthProtocol = strings.ToUpper(c.AuthProtocol)
	c.PrivProtocol = strings.ToUpper(c.PrivProtocol)
	return c.withCredentials()
}

// withCredentials checks the credentials of c's SNMP version, and defaults
// the read community to the community.
func (c Config) withCredentials() (Config, error) {
	switch c.Version {
	case "1", "2c":
		if c.Community == "" {
			return c, fmt.Errorf("Community is required for SNMP v%s", c.Version)
		}
		if c.ReadCommunity == "" {
			c.ReadCommunity = c.Community
		}
		for _, f := range []struct{ name, value string }{
			{"User", c.User}, {"AuthProtocol", c.AuthProtocol}, {"AuthPassphrase", c.AuthPassphrase},
			{"PrivProtocol", c.PrivProtocol}, {"PrivPassphrase", c.PrivPassphrase},
		} {
			if f.value != "" {
				return c, fmt.Errorf("%s is for SNMP v3, not v%s", f.name, c.Version)
			}
		}
	case "3":
		if c.User == "" {
			return c, errors.New("User is required for SNMP v3")
		}
		if c.Community != "" || c.ReadCommunity != "" {
			return c, errors.New("Community and ReadCommunity are for SNMP v1 and v2c, not v3")
		}
		if err := checkProtocol("Auth", c.AuthProtocol, c.AuthPassphrase, authProtocols); err != nil {
			return c, err
		}
		if err := checkProtocol("Priv", c.PrivProtocol, c.PrivPassphrase, privProtocols); err != nil {
			return c, err
		}
		if c.PrivProtocol != "" && c.AuthProtocol == "" {
			return c, errors.New("PrivProtocol needs AuthProtocol: SNMP v3 has no privacy without authentication")
		}
	default:
		return c, fmt.Errorf("Version %q is not an SNMP version: use \"1\", \"2c\" or \"3\"", c.Version)
	}
	return c, nil
}

// checkProtocol checks an SNMPv3 protocol and its passphrase; kind is "Auth"
// or "Priv".
func checkProtocol(kind, protocol, passphrase string, known []string) error {
	switch {
	case protocol == "" && passphrase != "":
		return fmt.Errorf("%sPassphrase is set but %sProtocol is not", kind, kind)
	case protocol == "":
		return nil
	case !slices.Contains(known, protocol):
		return fmt.Errorf("%sProtocol %q is not one of %s", kind, protocol, strings.Join(known, ", "))
	case passphrase == "":
		return fmt.Errorf("%sPassphrase is required with %sProtocol %s", kind, kind, protocol)
	case len(passphrase) < 8:
		// USM (RFC 3414) derives keys from at least 8 characters;
		// agents refuse shorter passphrases.
		return fmt.Errorf("%sPassphrase is shorter than 8 characters, which SNMP v3 does not allow", kind)
	}
	return nil
}

// SecurityLevel names the SNMPv3 security level the config implies.
func (c Config) SecurityLevel() string {
	switch {
	case c.PrivProtocol != "":
		return "authPriv"
	case c.AuthProtocol != "":
		return "authNoPriv"
	}
	return "noAuthNoPriv"
}

// splitAddress splits "host", "host:port", "[v6]", "[v6]:port" and a bare
// IPv6 literal into host and port.
func splitAddress(addr string) (string, uint16, error) {
	if addr == "" {
		return "", 0, errors.New("Address is required: the PDU's host or host:port")
	}
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err == nil:
	case strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]"):
		host, port = addr[1:len(addr)-1], ""
	case net.ParseIP(addr) != nil: // a bare IPv6 literal, which cannot carry a port
		host, port = addr, ""
	case !strings.Contains(addr, ":"):
		host, port = addr, ""
	default:
		return "", 0, fmt.Errorf("Address %q is not host, host:port or [IPv6]:port", addr)
	}
	if host == "" || strings.ContainsAny(host, " /[]") {
		return "", 0, fmt.Errorf("Address %q has no valid host", addr)
	}
	if port == "" {
		return host, defaultPort, nil
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("Address %q: port %q is not a number from 1 to 65535", addr, port)
	}
	return host, uint16(n), nil
}

// Target returns the address in host:port form, for messages.
func (c Config) Target() string {
	host, port, err := splitAddress(c.Address)
	if err != nil {
		return c.Address
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// String describes the config without its secrets.
func (c Config) String() string { return c.Target() + " " + c.Security() }

// Security describes the SNMP version and credentials without the secrets:
// "SNMP v2c", `SNMP v3 user "apc" authPriv SHA/AES`.
func (c Config) Security() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SNMP v%s", or(c.Version, "1"))
	if c.Version == "3" {
		fmt.Fprintf(&b, " user %q %s", c.User, c.SecurityLevel())
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
func (c Config) GoString() string { return "snmp.Config{" + c.String() + "}" }

// LogValue keeps slog's handlers, the JSON one included, from printing the
// secrets.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("address", c.Address),
		slog.String("version", or(c.Version, "1")),
	}
	if c.Version == "3" {
		attrs = append(attrs, slog.String("user", c.User), slog.String("level", c.SecurityLevel()),
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

// CheckAddress checks an agent's address the way WithDefaults does, for a
// driver that checks its own fields after the address and before the rest.
func CheckAddress(addr string) error {
	_, _, err := splitAddress(addr)
	return err
}
