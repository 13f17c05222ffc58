package config

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/powerbridge/powerbridge/power"
)

// File is the whole configuration file.
type File struct {
	Listen   string   `yaml:"listen"`
	TLS      *TLS     `yaml:"tls"`
	Auth     Auth     `yaml:"auth"`
	Timeouts Timeouts `yaml:"timeouts"`
	StateDir string   `yaml:"state_dir"`
	// AuditLog, when set, is a file that every power action is appended to
	// as a JSON line, synced to disk before the action is answered.
	AuditLog string    `yaml:"audit_log"`
	PDUs     []PDU     `yaml:"pdus"`
	Machines []Machine `yaml:"machines"`
	// Groups are machines switched together (see racks.go).
	Groups []Group `yaml:"groups"`
	// Redfish is how the Redfish face treats every machine.
	Redfish Redfish `yaml:"redfish"`
	// PDUDaemon, when set, serves pdudaemon's HTTP API on a listener of
	// its own.
	PDUDaemon *PDUDaemon `yaml:"pdudaemon"`
	// TLSListen, when set, is a second listener serving HTTPS (TLS 1.2+):
	// with tls's certificate, else a self-signed one made once in
	// state_dir. MAAS makes a redfish address with no scheme https://.
	TLSListen string `yaml:"tls_listen"`

	// Gateway is the gateway helper's section, decoded by that helper with
	// Decode; the service itself does not read it.
	Gateway yaml.Node `yaml:"gateway"`
}

// TLS makes the server speak HTTPS.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Auth lists who may call the API. MAAS sends either a bearer token
// (power_token) or Basic credentials (power_user / power_pass).
type Auth struct {
	Tokens []Token `yaml:"tokens"`
	Users  []User  `yaml:"users"`
	// InsecureNoAuth lets anyone switch power. Off unless set, and loudly named
	// so that it cannot be switched on by accident.
	InsecureNoAuth bool `yaml:"insecure_no_auth"`
	// MetricsToken, when set, is the bearer token /metrics requires; without
	// it /metrics is open, as Prometheus scrapes usually are.
	MetricsToken     Secret `yaml:"metrics_token"`
	MetricsTokenFile string `yaml:"metrics_token_file"`
	// RateLimitExempt are the addresses or CIDR prefixes of clients the
	// failed-authentication limit never holds back: MAAS's rack
	// controllers, which anyone sharing their address could lock out.
	RateLimitExempt []string `yaml:"rate_limit_exempt"`
}

// Token is a bearer token; Name is the principal written to the log.
type Token struct {
	Name      string `yaml:"name"`
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

// User is a Basic-auth user, also the sign-in of the web page.
type User struct {
	Name         string `yaml:"name"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// Role is what the user may do: RoleOperator (the default) reads and
	// switches, RoleViewer only reads, on every face.
	Role string `yaml:"role"`
}

// Roles are the values of a user's role: an operator reads and switches
// power, a viewer only reads.
var Roles = []string{RoleOperator, RoleViewer}

const (
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// checkRole defaults the role to RoleOperator, or refuses one not in Roles.
func (u *User) checkRole(s section) {
	if u.Role == "" {
		u.Role = RoleOperator
	} else if !slices.Contains(Roles, u.Role) {
		s.errorf("%q is not one of %s", u.Role, strings.Join(Roles, ", "))
	}
}

// Timeouts bound how long the HTTP API takes to answer.
type Timeouts struct {
	// Status bounds a state query. MAAS's background poller waits forever on
	// a query, so a silent PDU must turn into an error answer within this.
	Status Duration `yaml:"status"`
	// Action bounds on / off / cycle, graceful shutdown included. MAAS gives
	// a power action five minutes in all; this must stay well inside that.
	Action Duration `yaml:"action"`
}

// PDU is one power distribution unit.
type PDU struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	// Vendor names the protocol the PDU speaks (see Vendors); "auto"
	// finds it, by SNMP or, at a URL, by HTTP.
	Vendor string `yaml:"vendor"`
	// Simulate serves a simulated PDU on loopback instead of a real one: a
	// built-in model of power/pdusim ("ap7900", "ap8941", "eaton-g3",
	// "raritan-px3", ...) or a .snmprec recording's path; or a simulated
	// plug (plugsim.Models: "shelly-gen1", "shelly-gen2", "tasmota").
	Simulate string `yaml:"simulate"`
	Dialect  string `yaml:"dialect"`
	SNMP     SNMP   `yaml:"snmp"`
	// HTTP is a smart plug's section (see IsPlug).
	HTTP HTTP `yaml:"http"`
	// PowerOnDelay is the least time an outlet stays off before it is
	// switched on again, so that power supplies drain and the BIOS sees AC loss.
	PowerOnDelay Duration `yaml:"power_on_delay"`
	// InrushDelay is the least time between two power-ons of the PDU's
	// outlets, whoever asks for them (see racks.go).
	InrushDelay Duration `yaml:"inrush_delay"`
	// Phases lists the outlets of each phase or circuit, as "1-8": each
	// has an inrush guard of its own (see racks.go).
	Phases []string `yaml:"phases"`
	// MaxAmperes, when set, is the PDU's power budget; a power-on over it
	// waits up to BudgetWait, then is refused (see racks.go).
	MaxAmperes float64  `yaml:"max_amperes"`
	BudgetWait Duration `yaml:"budget_wait"`
	// MaxAmperesPerPhase caps the load of each of Phases, the breaker
	// rating of a phase or bank (see racks.go).
	MaxAmperesPerPhase float64 `yaml:"max_amperes_per_phase"`
	// SyncOutletNames writes each machine's name into its outlets' names
	// on the PDU, where they differ.
	SyncOutletNames bool `yaml:"sync_outlet_names"`
	// RestoreAfterPDURestart puts outlets back as they were after the PDU
	// restarted (SNMPv3, which tells of a restart).
	RestoreAfterPDURestart bool `yaml:"restore_after_pdu_restart"`
	// SwitchTimeout bounds the read-back that verifies a switch.
	SwitchTimeout Duration `yaml:"switch_timeout"`
	// PollInterval is how often the PDU is read in the background, for
	// metrics and so that MAAS's queries are answered from memory.
	PollInterval Duration `yaml:"poll_interval"`
}

// SNMP holds a PDU's SNMP credentials.
type SNMP struct {
	Version       string `yaml:"version"`
	Community     Secret `yaml:"community"`
	ReadCommunity Secret `yaml:"read_community"`

	User               string   `yaml:"user"`
	AuthProtocol       string   `yaml:"auth_protocol"`
	AuthPassphrase     Secret   `yaml:"auth_passphrase"`
	AuthPassphraseFile string   `yaml:"auth_passphrase_file"`
	PrivProtocol       string   `yaml:"priv_protocol"`
	PrivPassphrase     Secret   `yaml:"priv_passphrase"`
	PrivPassphraseFile string   `yaml:"priv_passphrase_file"`
	Timeout            Duration `yaml:"timeout"`
	// MaxTimeout bounds the time a request is given as the PDU's
	// answers slow down; Timeout is the least (see snmp.Config).
	MaxTimeout Duration `yaml:"max_timeout"`
	Retries    int      `yaml:"retries"`
}

// Machine is a MAAS machine and the outlets that feed it.
type Machine struct {
	Name     string            `yaml:"name"`
	Outlets  []power.OutletRef `yaml:"outlets"`
	Shutdown *Shutdown         `yaml:"shutdown"`
	Liveness *Liveness         `yaml:"liveness"`
	// WakeOnLAN, when set, wakes the machine by LAN: instead of outlets, or
	// after them.
	WakeOnLAN *WakeOnLAN `yaml:"wake_on_lan"`
	// ExpectedAmperes is what the machine draws running, for its PDUs'
	// power budgets; 0: learned from metered outlets.
	ExpectedAmperes float64 `yaml:"expected_amperes"`
	// Redfish, when set, overrides the file's redfish section.
	Redfish *Redfish `yaml:"redfish"`
}

// Redfish is how the Redfish face treats a machine.
type Redfish struct {
	// ForceOff is what a Redfish ForceOff does: "shutdown" (the default:
	// the machine's normal off, clean shutdown first; MAAS sends only
	// ForceOff) or "cut" (power off at once).
	ForceOff string `yaml:"force_off"`
}

// PDUDaemon is pdudaemon's HTTP API (LAVA, labgrid), which sends no
// credentials: only the networks in Allow may use it.
type PDUDaemon struct {
	Listen string   `yaml:"listen"`
	Allow  []string `yaml:"allow"`
}

// ForceOffCuts tells whether a Redfish ForceOff of machine is a plain cut.
func (f *File) ForceOffCuts(machine string) bool {
	for _, m := range f.Machines {
		if m.Name == machine && m.Redfish != nil && m.Redfish.ForceOff != "" {
			return m.Redfish.ForceOff == "cut"
		}
	}
	return f.Redfish.ForceOff == "cut"
}

// Shutdown shuts the machine's OS down over ssh before power is cut.
type Shutdown struct {
	SSH     SSH    `yaml:"ssh"`
	Command string `yaml:"command"`
	// Timeout bounds the whole graceful shutdown: login, command, and
	// waiting for the host to go down.
	Timeout Duration `yaml:"timeout"`
	// OnFailure is what happens when the OS is not seen going down: "cut"
	// power anyway, or "fail" and leave it on. Left out, it is cut, or fail
	// for a machine with no outlet.
	OnFailure string `yaml:"on_failure"`
}

// SSH is how to log in to a machine.
type SSH struct {
	Host              string `yaml:"host"` // host or host:port
	Port              int    `yaml:"port"`
	User              string `yaml:"user"`
	KeyFile           string `yaml:"key_file"`
	KeyPassphraseFile string `yaml:"key_passphrase_file"`
	Agent             bool   `yaml:"agent"`
	// KnownHosts, when set, is a known_hosts file that must list the
	// machine's key. Without it the first key seen is pinned under state_dir.
	KnownHosts string `yaml:"known_hosts"`
	// InsecureIgnoreHostKey accepts any host key: anyone answering at the
	// machine's address gets the login. Loudly named on purpose.
	InsecureIgnoreHostKey bool     `yaml:"insecure_ignore_host_key"`
	ConnectTimeout        Duration `yaml:"connect_timeout"`
}

// Liveness tells whether the machine's OS is up.
type Liveness struct {
	// TCP is host:port to connect to, usually sshd's; defaults to the
	// shutdown ssh address.
	TCP string `yaml:"tcp"`
	// Failures in a row, Interval apart, mean the host is down during a
	// shutdown; Settle is waited after that for disks to finish.
	Failures int      `yaml:"failures"`
	Interval Duration `yaml:"interval"`
	Settle   Duration `yaml:"settle"`
	// BootGrace is how long a host may fail its probe before it counts as
	// halted, and how long after a power-on it may fail at all.
	BootGrace Duration `yaml:"boot_grace"`
	// PollInterval is how often the probe runs in the background.
	PollInterval Duration `yaml:"poll_interval"`
	// PowerBelowWatts, on a PDU that meters its outlets, counts the host
	// as down once the machine's outlets draw less than this.
	PowerBelowWatts float64 `yaml:"power_below_watts"`
}

// Duration is a time.Duration written as "5s" in YAML.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// Secret is a string that never shows itself: in logs, errors, %v and JSON it
// reads "<secret>". Reveal returns the value for the one place that needs it.
type Secret string

const redacted = "<secret>"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) MarshalYAML() (any, error)    { return redacted, nil }
func (s Secret) Reveal() string               { return string(s) }
