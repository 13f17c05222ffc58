package config

import (
	"errors"
	"net/netip"
	"strings"
)

// validateRateLimitExempt checks auth.rate_limit_exempt: each entry an IP
// address or a CIDR prefix.
func (a *Auth) validateRateLimitExempt(s section) {
	es := s.field("rate_limit_exempt")
	for i, e := range a.RateLimitExempt {
		if _, err := parsePrefix(e); err != nil {
			es.index(i).errorf("%q is neither an IP address nor a CIDR prefix (e.g. 192.168.23.1 or 10.20.0.0/24)", e)
		}
	}
}

// RateLimitExemptPrefixes is auth.rate_limit_exempt as prefixes; an address
// is its own /32 or /128. The config has been validated.
func (a Auth) RateLimitExemptPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, e := range a.RateLimitExempt {
		if p, err := parsePrefix(e); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix reads an address or a CIDR prefix in its plain form: an IPv4
// address as such (remote addresses are compared unmapped), no zone.
func parsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, err
		}
		if a.Zone() != "" {
			return p, errors.New("an address with a zone")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, errors.New("an IPv4-mapped address")
	}
	return p.Masked(), nil
}
