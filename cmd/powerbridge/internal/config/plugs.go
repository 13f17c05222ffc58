package config

import (
	"slices"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power/plug"
	"github.com/powerbridge/powerbridge/power/plugsim"
)

// PlugVendors are the vendor keys of HTTP smart plugs: `shelly` (either
// generation, told apart by GET /shelly, or forced with
// http.generation) and `tasmota`.
var PlugVendors = []string{"shelly", "tasmota"}

// VendorAuto detects what a PDU is. For an address with an http:// or
// https:// scheme that is which plug it is (GET /shelly, Tasmota's
// Status 0).
const VendorAuto = "auto"

// defaultPlugTimeout bounds one request to a plug.
const defaultPlugTimeout = plug.DefaultTimeout

// HTTP holds a smart plug's credentials and how long a request may take.
type HTTP struct {
	// User defaults to admin: Shelly's digest auth allows no other, and
	// Tasmota ships with it.
	User         string `yaml:"user"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// Generation forces a Shelly's API ("1" or "2"; 2 for Gen2, Gen3,
	// Gen4, Plus and Pro) instead of asking GET /shelly.
	Generation string   `yaml:"generation"`
	Timeout    Duration `yaml:"timeout"`
}

func (h *HTTP) defaults() {
	h.Timeout = Duration(defaultPlugTimeout)
}

// IsPlug tells whether the PDU is a smart plug driven over HTTP.
func (p PDU) IsPlug() bool {
	return slices.Contains(PlugVendors, p.Vendor) ||
		(p.Vendor == VendorAuto && plug.HasScheme(p.Address)) ||
		slices.Contains(plugsim.Models(), p.Simulate)
}

// PlugKind is the power/plug kind of a plug PDU's config.
func (p PDU) PlugKind() plug.Kind {
	switch {
	case p.Vendor == "tasmota":
		return plug.Tasmota
	case p.Vendor == "shelly" && p.HTTP.Generation == "1":
		return plug.ShellyGen1
	case p.Vendor == "shelly" && p.HTTP.Generation == "2":
		return plug.ShellyGen2
	case p.Vendor == "shelly":
		return plug.Shelly
	}
	return plug.Any
}

// simulatedPlugVendor is the vendor of a simulated plug model.
func simulatedPlugVendor(model string) string {
	if strings.HasPrefix(model, "shelly") {
		return "shelly"
	}
	return "tasmota"
}

// validatePlug checks a PDU's address as its kind wants it, and what a plug
// PDU has beyond: vendor, simulated model and http section. It reports
// whether the PDU is a plug; an SNMP PDU is left to the SNMP checks, and
// must not have an http section.
func (p *PDU) validatePlug(s section) bool {
	if !p.IsPlug() {
		p.validateNotPlug(s)
		return false
	}
	positive(s.field("switch_timeout"), p.SwitchTimeout)
	if p.PollInterval.Std() < time.Second {
		s.field("poll_interval").errorf("%s is too often for a plug; use 1s or more", p.PollInterval)
	}
	if p.Dialect != "auto" {
		s.field("dialect").errorf("is for APC PDUs; a plug's protocol is its vendor's (and a Shelly's http.generation)")
	}
	if p.SNMP.Community != "" || p.SNMP.ReadCommunity != "" || p.SNMP.User != "" {
		s.field("snmp").errorf("is for SNMP PDUs; a plug's credentials go in its http section")
	}
	if p.Simulate != "" {
		p.validateSimulatedPlug(s)
	}
	if p.Address != "" {
		if _, err := plug.BaseURL(p.Address); err != nil {
			s.field("address").errorf("%v", err)
		}
	}
	p.HTTP.validate(s.field("http"), p.Vendor)
	return true
}

// validateNotPlug checks an SNMP PDU's address, and that it has nothing of
// a plug's.
func (p *PDU) validateNotPlug(s section) {
	if p.HTTP.Password != "" || p.HTTP.PasswordFile != "" || p.HTTP.User != "" || p.HTTP.Generation != "" {
		s.field("http").errorf("is for smart plugs (vendor %s); this PDU speaks SNMP (vendor %s)", strings.Join(PlugVendors, ", "), p.Vendor)
	}
	switch {
	case plug.HasScheme(p.Address):
		s.field("address").errorf("%q is a URL, for a plug (vendor %s or %s); an SNMP PDU's address is host or host:port", p.Address, strings.Join(PlugVendors, ", "), VendorAuto)
	case p.Address != "" && !validAddress(p.Address):
		s.field("address").errorf("%q is not a host or host:port", p.Address)
	}
}

// validateSimulatedPlug takes the vendor from the simulated model.
func (p *PDU) validateSimulatedPlug(s section) {
	want := simulatedPlugVendor(p.Simulate)
	switch {
	case p.Vendor == "apc" || p.Vendor == VendorAuto: // the default, or left to detection
		p.Vendor = want
	case p.Vendor != want:
		s.field("simulate").errorf("%q is a %s plug, but the PDU's vendor is %s", p.Simulate, want, p.Vendor)
	}
	if p.Simulate == plugsim.ShellyGen1 && p.HTTP.Generation == "" {
		p.HTTP.Generation = "1"
	}
}

func (h *HTTP) validate(s section, vendor string) {
	switch h.Generation {
	case "", "1", "2":
		if h.Generation != "" && vendor != "shelly" {
			s.field("generation").errorf("is for a Shelly; this plug's vendor is %s", vendor)
		}
	default:
		s.field("generation").errorf("%q is not a Shelly generation: use \"1\" or \"2\" (Gen2 and later)", h.Generation)
	}
	if h.Password != "" || h.PasswordFile != "" {
		h.Password = readSecret(s, "password", h.Password, h.PasswordFile)
	}
	if h.User == "" {
		h.User = plug.DefaultUser
	}
	positive(s.field("timeout"), h.Timeout)
	if h.Timeout.Std() > time.Minute {
		s.field("timeout").errorf("%s is too long for one request to a plug; use at most 1m", h.Timeout)
	}
}
