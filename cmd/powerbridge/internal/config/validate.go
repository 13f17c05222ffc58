package config

import (
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/powerbridge/powerbridge/power/apc"
)

// Defaults for keys a file leaves out.
const (
	DefaultListen        = "0.0.0.0:8080"
	DefaultStateDir      = "/var/lib/powerbridge"
	defaultStatusTimeout = 10 * time.Second
	// 150 s leaves MAAS (5 minutes per attempt) room for its own queries
	// after a slow graceful shutdown.
	defaultActionTimeout = 150 * time.Second
	maxActionTimeout     = 4*time.Minute + 30*time.Second
	defaultPowerOnDelay  = 5 * time.Second
	// fence_apc_snmp polls for 20 s after a switch; APC cards take seconds.
	defaultSwitchTimeout = 20 * time.Second
	defaultSNMPTimeout   = 2 * time.Second
	defaultSNMPMaxTime   = 30 * time.Second // or timeout, if longer
	defaultPollInterval  = 15 * time.Second

	DefaultShutdownCommand = "sudo systemctl poweroff"
	defaultShutdownTimeout = 120 * time.Second
	defaultSSHUser         = "ubuntu" // what MAAS deploys Ubuntu with
	defaultFailures        = 3
	defaultProbeInterval   = time.Second
	defaultSettle          = 5 * time.Second
	defaultBootGrace       = 5 * time.Minute
	defaultLivenessPoll    = 30 * time.Second
	// A switch is verified after the shutdown; leave it this much of the
	// action timeout.
	switchReserve      = 20 * time.Second
	defaultSNMPRetries = 1
	simulatedCommunity = "private"
	// maxSecretFile bounds a *_file secret.
	maxSecretFile = 64 << 10
)

var (
	// The SNMPv3 protocols are power/apc's, so that a protocol it learns
	// is one the config accepts.
	authProtocols = apc.AuthProtocols()
	privProtocols = apc.PrivProtocols()
	// A machine or PDU name is a path segment of the API and a MAAS hostname.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

func (f *File) validate(s section) {
	if _, _, err := net.SplitHostPort(f.Listen); err != nil {
		s.field("listen").errorf("%q is not host:port (e.g. 0.0.0.0:8080)", f.Listen)
	}
	if f.TLS != nil {
		f.TLS.validate(s.field("tls"))
	}
	f.validateTLSListen(s.field("tls_listen"))
	f.Auth.validate(s.field("auth"))
	f.Auth.validateRateLimitExempt(s.field("auth"))
	f.Timeouts.validate(s.field("timeouts"))
	f.Redfish.validate(s.field("redfish"))
	if f.PDUDaemon != nil {
		f.PDUDaemon.validate(s.field("pdudaemon"))
	}

	pdus := s.field("pdus")
	seen := map[string]bool{}
	for i := range f.PDUs {
		p := &f.PDUs[i]
		ps := pdus.index(i)
		p.validate(ps)
		if p.Name != "" && seen[p.Name] {
			ps.field("name").errorf("PDU %q is defined twice", p.Name)
		}
		seen[p.Name] = true
	}

	f.validateMachines(s.field("machines"), seen)
}

// validateMachines checks the machines: names, their outlets against the
// PDUs (pdus holds the names defined), each outlet mapped once, and their
// shutdown, liveness and Redfish sections.
func (f *File) validateMachines(machines section, pdus map[string]bool) {
	names := map[string]bool{}
	owner := map[string]string{} // "pdu/N" → machine
	for i := range f.Machines {
		m := &f.Machines[i]
		ms := machines.index(i)
		if !nameRE.MatchString(m.Name) {
			ms.field("name").errorf("%q is not a machine name (letters, digits, '.', '_', '-'; as its MAAS hostname)", m.Name)
		} else if names[m.Name] {
			ms.field("name").errorf("machine %q is defined twice", m.Name)
		}
		names[m.Name] = true
		os := ms.field("outlets")
		for j, ref := range m.Outlets { // parsed as they were decoded
			rs := os.index(j)
			if !pdus[ref.PDU] {
				rs.errorf("no PDU is named %q", ref.PDU)
				continue
			}
			key := ref.String()
			if other, dup := owner[key]; dup {
				rs.errorf("outlet %s is already mapped to machine %q", key, other)
				continue
			}
			owner[key] = m.Name
		}
		m.validateWake(ms) // outlets or wake_on_lan, and what a wake-up needs
		if m.Shutdown != nil {
			m.Shutdown.validate(ms.field("shutdown"), f.Timeouts.Action.Std())
		}
		if m.Liveness != nil {
			m.Liveness.validate(ms.field("liveness"), m.Shutdown)
		}
		if m.Redfish != nil {
			m.Redfish.validate(ms.field("redfish"))
		}
	}
}

func (sh *Shutdown) validate(s section, action time.Duration) {
	sh.SSH.validate(s.field("ssh"))
	if sh.Timeout == 0 { // its default depends on timeouts.action
		sh.Timeout = Duration(min(defaultShutdownTimeout, action-switchReserve))
	}
	if sh.Timeout.Std()+switchReserve > action {
		s.field("timeout").errorf("%s leaves too little of timeouts.action (%s) to switch the outlets off; use at most %s", sh.Timeout, action, action-switchReserve)
	}
	switch sh.OnFailure {
	case "cut", "fail":
	default:
		s.field("on_failure").errorf("%q is not cut or fail", sh.OnFailure)
	}
}

func (c *SSH) validate(s section) {
	if c.Host == "" {
		s.field("host").errorf("required: the machine's address as powerbridge reaches it")
	}
	if c.Port < 1 || c.Port > 65535 {
		s.field("port").errorf("%d is not a port", c.Port)
	}
	if c.User == "" {
		s.field("user").errorf("required")
	}
	if c.KeyFile == "" && !c.Agent {
		s.field("key_file").errorf("required unless agent: true")
	}
	for _, f := range []struct{ key, path string }{{"key_file", c.KeyFile}, {"key_passphrase_file", c.KeyPassphraseFile}, {"known_hosts", c.KnownHosts}} {
		if f.path == "" {
			continue
		}
		// It is read when a machine's shutdown is built, on a reload too: a
		// FIFO would hold the reload up until something writes to it.
		if fi, err := os.Stat(f.path); err != nil {
			s.field(f.key).errorf("%v", err)
		} else if !fi.Mode().IsRegular() {
			s.field(f.key).errorf("%s is %s; want a regular file", f.path, modeName(fi.Mode()))
		}
	}
	if c.KnownHosts != "" && c.InsecureIgnoreHostKey {
		s.field("insecure_ignore_host_key").errorf("cannot be set with known_hosts")
	}
	positive(s.field("connect_timeout"), c.ConnectTimeout)
}

// Addr is the ssh address, host:port.
func (c *SSH) Addr() string {
	if _, _, err := net.SplitHostPort(c.Host); err == nil {
		return c.Host
	}
	return net.JoinHostPort(strings.Trim(c.Host, "[]"), strconv.Itoa(c.Port))
}

func (l *Liveness) validate(s section, sh *Shutdown) {
	if l.TCP == "" {
		if sh == nil {
			s.field("tcp").errorf("required: host:port to probe (usually the machine's ssh port)")
		} else {
			l.TCP = sh.SSH.Addr()
		}
	} else if _, _, err := net.SplitHostPort(l.TCP); err != nil {
		s.field("tcp").errorf("%q is not host:port", l.TCP)
	}
	if l.Failures < 1 {
		s.field("failures").errorf("must be at least 1")
	}
	positive(s.field("interval"), l.Interval)
	positive(s.field("boot_grace"), l.BootGrace)
	positive(s.field("poll_interval"), l.PollInterval)
	if l.PowerBelowWatts < 0 {
		s.field("power_below_watts").errorf("cannot be negative")
	}
}

func positive(s section, d Duration) {
	if d <= 0 {
		s.errorf("must be more than 0")
	}
}

func (t *TLS) validate(s section) {
	if t.CertFile == "" {
		s.field("cert_file").errorf("required when tls is set")
	}
	if t.KeyFile == "" {
		s.field("key_file").errorf("required when tls is set")
	}
}

func (a *Auth) validate(s section) {
	names := map[string]bool{}
	checkName := func(ns section, name string) {
		switch {
		case name == "":
			ns.errorf("required: the principal written to the log")
		case names[name]:
			ns.errorf("%q is used twice", name)
		}
		names[name] = true
	}
	tokens := map[Secret]string{} // token → the key of its first use
	for i := range a.Tokens {
		t := &a.Tokens[i]
		ts := s.field("tokens").index(i)
		checkName(ts.field("name"), t.Name)
		t.Token = readSecret(ts, "token", t.Token, t.TokenFile)
		checkToken(secretField(ts, "token", t.TokenFile), t.Token, tokens)
	}
	for i := range a.Users {
		u := &a.Users[i]
		us := s.field("users").index(i)
		checkName(us.field("name"), u.Name)
		if strings.Contains(u.Name, ":") {
			us.field("name").errorf("a Basic-auth user name cannot contain ':'")
		}
		u.checkRole(us.field("role"))
		u.Password = readSecret(us, "password", u.Password, u.PasswordFile)
		checkPassword(secretField(us, "password", u.PasswordFile), u.Password)
	}
	if a.MetricsToken != "" || a.MetricsTokenFile != "" {
		a.MetricsToken = readSecret(s, "metrics_token", a.MetricsToken, a.MetricsTokenFile)
		ms := secretField(s, "metrics_token", a.MetricsTokenFile)
		if first, reused := tokens[a.MetricsToken]; reused && a.MetricsToken != "" {
			ms.errorf("is the same as %s: a scraper's token must not be able to switch power; make one of its own with: %s", first, makeToken)
		} else {
			checkToken(ms, a.MetricsToken, nil)
		}
	}
	switch {
	case len(a.Tokens)+len(a.Users) == 0 && !a.InsecureNoAuth:
		s.errorf("no tokens or users: anyone could switch power; add auth.tokens (MAAS's power_token) or set auth.insecure_no_auth: true")
	case len(a.Tokens)+len(a.Users) > 0 && a.InsecureNoAuth:
		s.field("insecure_no_auth").errorf("cannot be set with auth.tokens or auth.users: it would let anyone switch power and leave them unused; remove it, or remove them")
	}
}

// makeToken is how a message says to make a good token.
const makeToken = "openssl rand -hex 32"

// minTokenLength is the least length of a bearer token: 16 characters of
// `openssl rand -hex` are 64 bits, beyond guessing at the failed-login limit.
const minTokenLength = 16

// checkToken refuses a bearer token that is too short to be secret, or that
// no request can carry as it is written (whitespace, a line break, a control
// or non-ASCII character: HTTP trims the spaces around a header value and
// MAAS sends power_token as one line), or that is already used by the key
// in seen (then both principals would be one). The token is never quoted.
func checkToken(s section, t Secret, seen map[Secret]string) {
	v := t.Reveal()
	if v == "" {
		return // already a problem: required, or an empty file
	}
	switch {
	case strings.IndexFunc(v, unicode.IsSpace) >= 0:
		s.errorf("has whitespace or a line break in it, which no request can carry; make a token with: %s", makeToken)
		return
	case strings.IndexFunc(v, func(r rune) bool { return r < '!' || r > '~' }) >= 0:
		s.errorf("has a control or non-ASCII character in it, which an HTTP header cannot carry as it is; make a token with: %s", makeToken)
		return
	case len(v) < minTokenLength:
		s.errorf("is shorter than %d characters, too easy to guess; make a token with: %s", minTokenLength, makeToken)
		return
	}
	if seen == nil {
		return
	}
	if first, reused := seen[t]; reused {
		s.errorf("is the same as %s: give each client a token of its own, made with: %s", first, makeToken)
		return
	}
	seen[t] = s.key
}

// checkPassword refuses a Basic-auth password with whitespace at either end
// or a line break or control character anywhere. MAAS's power_pass is one
// line typed in a form; a space or newline around a password from a file is
// nearly always a slip, and trimming it quietly would change the secret.
// Spaces inside are allowed: people choose passphrases. Passwords get no
// length rule here (tokens are what MAAS is meant to use; the failed-login
// limit bounds guessing either way).
func checkPassword(s section, p Secret) {
	v := p.Reveal()
	switch {
	case v == "":
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		s.errorf("has a line break or control character in it, which MAAS's power_pass cannot hold")
	case strings.TrimFunc(v, unicode.IsSpace) != v:
		s.errorf("has whitespace at its start or end, which is nearly always a slip; remove it (trailing line breaks in a file are dropped already)")
	}
}

// secretField is where a secret given inline as key or in key+"_file" was
// written, for a problem with its value.
func secretField(s section, key, file string) section {
	if file != "" {
		return s.field(key + "_file")
	}
	return s.field(key)
}

// readSecret resolves a secret given inline as key or in the file key+"_file":
// exactly one of them, never empty. A trailing newline in the file is dropped.
func readSecret(s section, key string, inline Secret, file string) Secret {
	switch {
	case inline != "" && file != "":
		s.field(key).errorf("set either %s or %s_file, not both", key, key)
	case file != "":
		v, err := ReadSecretFile(file)
		if err != nil {
			s.field(key+"_file").errorf("%v", err)
			return ""
		}
		return Secret(v)
	case inline == "":
		s.field(key).errorf("required (or %s_file)", key)
	}
	return inline
}

func (t *Timeouts) validate(s section) {
	positive(s.field("status"), t.Status)
	positive(s.field("action"), t.Action)
	if t.Action.Std() > maxActionTimeout {
		s.field("action").errorf("%s is too long: MAAS gives up on a power action after 5 minutes; use at most %s", t.Action, maxActionTimeout)
	}
}

func (p *PDU) validate(s section) {
	if !nameRE.MatchString(p.Name) {
		s.field("name").errorf("%q is not a PDU name (letters, digits, '.', '_', '-')", p.Name)
	}
	switch {
	case p.Address == "" && p.Simulate == "":
		s.field("address").errorf("required: the PDU's host or host:port")
	case p.Address != "" && p.Simulate != "":
		s.field("simulate").errorf("a PDU has either an address or simulate, not both")
	}
	if !slices.Contains(Vendors, p.Vendor) {
		s.field("vendor").errorf("%q is not one of %s", p.Vendor, strings.Join(Vendors, ", "))
	}
	if p.validatePlug(s) {
		return
	}
	p.checkDialect(s)
	positive(s.field("switch_timeout"), p.SwitchTimeout)
	if p.PollInterval.Std() < time.Second {
		s.field("poll_interval").errorf("%s is too often for an APC card; use 1s or more", p.PollInterval)
	}
	if p.Simulate != "" && p.SNMP.Community == "" && p.SNMP.User == "" {
		p.SNMP.Community = simulatedCommunity
	}
	p.SNMP.validate(s.field("snmp"))
}

// validAddress accepts host, host:port, [v6] and [v6]:port.
func validAddress(a string) bool {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		host, port = strings.Trim(a, "[]"), "161"
	}
	if host == "" || strings.ContainsAny(host, " /") {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}

func (c *SNMP) validate(s section) {
	positive(s.field("timeout"), c.Timeout)
	switch {
	case c.MaxTimeout == 0: // its default depends on timeout
		c.MaxTimeout = Duration(max(defaultSNMPMaxTime, c.Timeout.Std()))
	case c.MaxTimeout < c.Timeout:
		s.field("max_timeout").errorf("%s is less than timeout (%s): a request is given timeout at least and max_timeout at most, as slow as the PDU's answers have been", c.MaxTimeout, c.Timeout)
	}
	if c.Retries < 0 {
		s.field("retries").errorf("cannot be negative")
	}
	switch c.Version {
	case "1", "2c":
		if c.Community == "" {
			s.field("community").errorf("required for SNMP v%s (APC's factory write community is \"private\")", c.Version)
		}
		if c.ReadCommunity == "" {
			c.ReadCommunity = c.Community
		}
		for _, kv := range [][2]string{{"user", c.User}, {"auth_protocol", c.AuthProtocol}, {"priv_protocol", c.PrivProtocol}} {
			if kv[1] != "" {
				s.field(kv[0]).errorf("is for SNMP v3; this PDU uses v%s", c.Version)
			}
		}
	case "3":
		if c.User == "" {
			s.field("user").errorf("required for SNMP v3")
		}
		if c.Community != "" || c.ReadCommunity != "" {
			s.field("community").errorf("is for SNMP v1/v2c; this PDU uses v3")
		}
		c.AuthProtocol = strings.ToUpper(c.AuthProtocol)
		c.PrivProtocol = strings.ToUpper(c.PrivProtocol)
		if c.AuthProtocol != "" {
			if !slices.Contains(authProtocols, c.AuthProtocol) {
				s.field("auth_protocol").errorf("%q is not one of %s", c.AuthProtocol, strings.Join(authProtocols, ", "))
			}
			c.AuthPassphrase = readSecret(s, "auth_passphrase", c.AuthPassphrase, c.AuthPassphraseFile)
			checkPassphrase(s.field("auth_passphrase"), c.AuthPassphrase)
		}
		if c.PrivProtocol != "" {
			if c.AuthProtocol == "" {
				s.field("priv_protocol").errorf("needs auth_protocol too: SNMP v3 has no privacy without authentication")
			}
			if !slices.Contains(privProtocols, c.PrivProtocol) {
				s.field("priv_protocol").errorf("%q is not one of %s", c.PrivProtocol, strings.Join(privProtocols, ", "))
			}
			c.PrivPassphrase = readSecret(s, "priv_passphrase", c.PrivPassphrase, c.PrivPassphraseFile)
			checkPassphrase(s.field("priv_passphrase"), c.PrivPassphrase)
		}
	default:
		s.field("version").errorf("%q is not an SNMP version: use \"1\", \"2c\" or \"3\"", c.Version)
	}
}

// USM (RFC 3414) derives keys from passphrases of at least 8 characters;
// agents refuse shorter ones.
func checkPassphrase(s section, p Secret) {
	if p != "" && len(p) < 8 {
		s.errorf("must be at least 8 characters (an SNMPv3 rule)")
	}
}

func (r *Redfish) validate(s section) {
	switch r.ForceOff {
	case "", "shutdown", "cut":
	default:
		s.field("force_off").errorf("%q is not shutdown or cut", r.ForceOff)
	}
}

// DefaultPDUDaemonListen is pdudaemon's own port, on loopback.
const DefaultPDUDaemonListen = "127.0.0.1:16421"

func (p *PDUDaemon) validate(s section) {
	if p.Listen == "" {
		p.Listen = DefaultPDUDaemonListen
	}
	if _, _, err := net.SplitHostPort(p.Listen); err != nil {
		s.field("listen").errorf("%q is not host:port (e.g. %s)", p.Listen, DefaultPDUDaemonListen)
	}
	if len(p.Allow) == 0 {
		p.Allow = []string{"127.0.0.0/8", "::1/128"}
	}
	for i, a := range p.Allow {
		if _, err := netip.ParsePrefix(a); err != nil {
			s.field("allow").index(i).errorf("%q is not a network (e.g. 192.168.23.0/24)", a)
		}
	}
}
