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

// Dialects are the values of a PDU's dialect key; "auto" probes the device.
var Dialects = []string{"auto", "spdu", "rpdu", "rpdu2"}

var (
	authProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	privProtocols = []string{"DES", "AES", "AES192", "AES256"}
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
	f.Auth.validate(s.field("auth"))
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

	machines := s.field("machines")
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
		if len(m.Outlets) == 0 {
			os.errorf("machine %q needs at least one outlet, as \"pdu/N\"", m.Name)
		}
		for j, ref := range m.Outlets {
			rs := os.index(j)
			pdu, n, ok := ParseOutlet(ref)
			switch {
			case !ok:
				rs.errorf("%q is not an outlet; write \"pdu/N\" with N from 1", ref)
				continue
			case !seen[pdu]:
				rs.errorf("no PDU is named %q", pdu)
				continue
			}
			key := pdu + "/" + strconv.Itoa(n)
			if other, dup := owner[key]; dup {
				rs.errorf("outlet %s is already mapped to machine %q", key, other)
				continue
			}
			owner[key] = m.Name
		}
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
		if _, err := os.Stat(f.path); err != nil {
			s.field(f.key).errorf("%v", err)
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

// ParseOutlet splits "pdu/N" into the PDU's name and the outlet number.
func ParseOutlet(ref string) (pdu string, n int, ok bool) {
	pdu, num, found := strings.Cut(ref, "/")
	if !found || pdu == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return pdu, n, true
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
	for i := range a.Tokens {
		t := &a.Tokens[i]
		ts := s.field("tokens").index(i)
		checkName(ts.field("name"), t.Name)
		t.Token = readSecret(ts, "token", t.Token, t.TokenFile)
	}
	for i := range a.Users {
		u := &a.Users[i]
		us := s.field("users").index(i)
		checkName(us.field("name"), u.Name)
		if strings.Contains(u.Name, ":") {
			us.field("name").errorf("a Basic-auth user name cannot contain ':'")
		}
		u.Password = readSecret(us, "password", u.Password, u.PasswordFile)
	}
	if a.MetricsToken != "" || a.MetricsTokenFile != "" {
		a.MetricsToken = readSecret(s, "metrics_token", a.MetricsToken, a.MetricsTokenFile)
	}
	if len(a.Tokens)+len(a.Users) == 0 && !a.InsecureNoAuth {
		s.errorf("no tokens or users: anyone could switch power; add auth.tokens (MAAS's power_token) or set auth.insecure_no_auth: true")
	}
}

// readSecret resolves a secret given inline as key or in the file key+"_file":
// exactly one of them, never empty. A trailing newline in the file is dropped.
func readSecret(s section, key string, inline Secret, file string) Secret {
	switch {
	case inline != "" && file != "":
		s.field(key).errorf("set either %s or %s_file, not both", key, key)
	case file != "":
		// A secret is a small regular file: /dev/zero, a FIFO or a log
		// file given by mistake must be an error, not a read that never
		// ends or fills memory.
		if fi, err := os.Stat(file); err == nil && (!fi.Mode().IsRegular() || fi.Size() > maxSecretFile) {
			s.field(key+"_file").errorf("%s is not a secret file: want a regular file of at most %d bytes", file, maxSecretFile)
			return ""
		}
		data, err := os.ReadFile(file)
		if err != nil {
			s.field(key+"_file").errorf("%v", err)
			return ""
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			s.field(key+"_file").errorf("%s is empty", file)
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
	case p.Address != "":
		if !validAddress(p.Address) {
			s.field("address").errorf("%q is not a host or host:port", p.Address)
		}
	}
	if !slices.Contains(Dialects, p.Dialect) {
		s.field("dialect").errorf("%q is not one of %s", p.Dialect, strings.Join(Dialects, ", "))
	}
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
