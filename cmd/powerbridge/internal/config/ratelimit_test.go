package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// auth.rate_limit_exempt takes addresses and CIDR prefixes, and says which
// entry is neither.
func TestRateLimitExempt(t *testing.T) {
	_, err := Load("testdata/rate-limit-exempt.yaml")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	want := []string{
		`testdata/rate-limit-exempt.yaml:7: auth.rate_limit_exempt[3]: "rack1.maas" is neither an IP address nor a CIDR prefix (e.g. 192.168.23.1 or 10.20.0.0/24)`,
		`testdata/rate-limit-exempt.yaml:8: auth.rate_limit_exempt[4]: "10.20.0.0/33" is neither an IP address nor a CIDR prefix (e.g. 192.168.23.1 or 10.20.0.0/24)`,
		`testdata/rate-limit-exempt.yaml:9: auth.rate_limit_exempt[5]: "fe80::1%eth0" is neither an IP address nor a CIDR prefix (e.g. 192.168.23.1 or 10.20.0.0/24)`,
	}
	if got := ps.Error(); got != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}

	a := Auth{RateLimitExempt: []string{"192.168.23.1", "10.20.0.7/24", "2001:db8:1:2::10"}}
	if got, want := fmt.Sprint(a.RateLimitExemptPrefixes()), "[192.168.23.1/32 10.20.0.0/24 2001:db8:1:2::10/128]"; got != want {
		t.Errorf("prefixes %s, want %s", got, want)
	}
}
