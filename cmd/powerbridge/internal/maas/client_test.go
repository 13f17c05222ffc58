package maas_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas/maastest"
)

func newClient(t *testing.T, f *maastest.Server, key string) *maas.Client {
	t.Helper()
	k, err := maas.ParseAPIKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := maas.New(f.MAASURL(), k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func secretOf(key string) string { return key[strings.LastIndex(key, ":")+1:] }

func TestParseAPIKeyNeverShowsTheSecret(t *testing.T) {
	secret := secretOf(maastest.Key)
	k, err := maas.ParseAPIKey(maastest.Key + "\n")
	if err != nil {
		t.Fatal(err)
	}
	type holder struct{ Key maas.APIKey }
	for _, s := range []string{
		k.String(), fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k),
		fmt.Sprintf("%v %+v %#v", holder{k}, holder{k}, holder{k}),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("printed key shows the secret: %s", s)
		}
	}
	for _, bad := range []string{"", "onlyone", "a:b", "a:b:c:" + secret, "a::" + secret, ":b:" + secret, "a:b:", "a:b:sec ret" + secret} {
		_, err := maas.ParseAPIKey(bad)
		if err == nil {
			t.Errorf("ParseAPIKey(%q) accepted a bad key", bad)
			continue
		}
		if strings.Contains(err.Error(), secret) || (len(bad) > 3 && strings.Contains(err.Error(), bad)) {
			t.Errorf("ParseAPIKey(%q) error shows the key: %v", bad, err)
		}
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://maas:5240/MAAS":              "http://maas:5240/MAAS/api/2.0/",
		"http://maas:5240/MAAS/":             "http://maas:5240/MAAS/api/2.0/",
		"http://maas:5240/MAAS/api/2.0":      "http://maas:5240/MAAS/api/2.0/",
		"https://maas.example/MAAS/api/2.0/": "https://maas.example/MAAS/api/2.0/",
		"http://192.168.1.195:5240":          "http://192.168.1.195:5240/MAAS/api/2.0/",
	} {
		u, err := maas.BaseURL(in)
		if err != nil || u.String() != want {
			t.Errorf("BaseURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "maas:5240", "ftp://maas/MAAS/", "http:///MAAS/", "http://u:p@maas/MAAS/", "http://maas/MAAS/?x=1"} {
		if _, err := maas.BaseURL(bad); err == nil {
			t.Errorf("BaseURL(%q) accepted it", bad)
		}
	}
}

// headerRecorder keeps every Authorization header the client sends.
type headerRecorder struct {
	mu      sync.Mutex
	headers []string
	next    http.RoundTripper
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.headers = append(h.headers, r.Header.Get("Authorization"))
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

var oauthField = regexp.MustCompile(`(\w+)="([^"]*)"`)

func TestOAuthHeader(t *testing.T) {
	f := maastest.New(t)
	rec := &headerRecorder{next: http.DefaultTransport}
	k, _ := maas.ParseAPIKey(maastest.Key)
	c, err := maas.New(f.MAASURL(), k, &http.Client{Transport: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := c.Version(ctx); err != nil {
			t.Fatal(err)
		}
	}
	nonces := map[string]bool{}
	for _, h := range rec.headers {
		if !strings.HasPrefix(h, "OAuth ") {
			t.Fatalf("header %q is not OAuth", h)
		}
		got := map[string]string{}
		for _, m := range oauthField.FindAllStringSubmatch(h, -1) {
			got[m[1]] = m[2]
		}
		parts := strings.Split(maastest.Key, ":")
		want := map[string]string{
			"oauth_version": "1.0", "oauth_signature_method": "PLAINTEXT",
			"oauth_consumer_key": parts[0], "oauth_token": parts[1], "oauth_signature": "&" + parts[2],
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(got["oauth_timestamp"]) {
			t.Errorf("oauth_timestamp %q is not an integer", got["oauth_timestamp"])
		}
		if len(got["oauth_nonce"]) < 16 || nonces[got["oauth_nonce"]] {
			t.Errorf("nonce %q is short or reused", got["oauth_nonce"])
		}
		nonces[got["oauth_nonce"]] = true
	}
}

func TestWrongSecretIsNeverPrinted(t *testing.T) {
	f := maastest.New(t)
	parts := strings.Split(maastest.Key, ":")
	wrong := parts[0] + ":" + parts[1] + ":notTheRightSecret0000"
	c := newClient(t, f, wrong)
	_, err := c.Subnets(context.Background())
	var me *maas.Error
	if !errors.As(err, &me) || me.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 maas.Error", err)
	}
	// The fake, like MAAS, echoes the real secret in its 401 body.
	for _, s := range []string{parts[2], "notTheRightSecret0000", "Expected signature base string"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error passes MAAS's 401 body on: %v", err)
		}
	}
	if !strings.Contains(err.Error(), "secret is wrong") {
		t.Errorf("error does not say what is wrong: %v", err)
	}

	// A fresh nonce per request: a retry with the right key works at once.
	good := newClient(t, f, maastest.Key)
	if _, err := good.Subnets(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownTokenAndClockSkew(t *testing.T) {
	f := maastest.New(t)
	parts := strings.Split(maastest.Key, ":")
	c := newClient(t, f, parts[0]+":otherToken:"+parts[2])
	if _, err := c.Subnets(context.Background()); err == nil || strings.Contains(err.Error(), parts[2]) {
		t.Errorf("unknown token: err = %v", err)
	}

	c = newClient(t, f, maastest.Key)
	c.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
	_, err := c.Subnets(context.Background())
	var me *maas.Error
	if !errors.As(err, &me) || me.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("skewed clock: err = %v, want MAAS's 400 about the timestamp", err)
	}
}

func TestValidationErrorsArePassedOn(t *testing.T) {
	f := maastest.New(t)
	v := f.AddVLAN(0, 0)
	f.AddSubnet("192.0.2.0/24", v, "")
	rack := f.AddRack("maas", maastest.Iface{Name: "eth1", VLAN: v, IP: "192.0.2.1"})
	c := newClient(t, f, maastest.Key)
	ctx := context.Background()

	_, err := c.UpdateVLAN(ctx, v, url.Values{"dhcp_on": {maas.Bool(true)}, "primary_rack": {rack}})
	if err == nil || !strings.Contains(err.Error(), "dhcp_on: dhcp can only be turned on when a dynamic IP range is defined.") {
		t.Fatalf("err = %v, want MAAS's message about the dynamic range", err)
	}
	_, err = c.CreateIPRange(ctx, maas.Dynamic, "192.0.2.1", "192.0.2.50", "")
	if err == nil || !strings.Contains(err.Error(), "conflicts with an existing IP address") {
		t.Fatalf("dynamic range over the rack's address: err = %v", err)
	}
	if _, err := c.CreateIPRange(ctx, maas.Dynamic, "192.0.2.100", "192.0.2.200", "dhcp"); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateVLAN(ctx, v, url.Values{"dhcp_on": {maas.Bool(true)}})
	if err == nil || !strings.Contains(err.Error(), "primary rack controller is set") {
		t.Fatalf("err = %v, want MAAS's message about the primary rack", err)
	}
	got, err := c.UpdateVLAN(ctx, v, url.Values{"dhcp_on": {maas.Bool(true)}, "primary_rack": {rack}})
	if err != nil || !got.DHCPOn || got.PrimaryRack != rack {
		t.Fatalf("UpdateVLAN = %+v, %v", got, err)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	f := maastest.New(t)
	c := newClient(t, f, maastest.Key)
	ctx := context.Background()
	if v, err := c.GetConfig(ctx, "upstream_dns"); err != nil || v != "" {
		t.Fatalf("unset upstream_dns = %q, %v", v, err)
	}
	if err := c.SetConfig(ctx, "upstream_dns", "192.0.2.53 198.51.100.53"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetConfig(ctx, "upstream_dns"); err != nil || v != "192.0.2.53 198.51.100.53" {
		t.Fatalf("upstream_dns = %q, %v", v, err)
	}
	if err := c.SetConfig(ctx, "upstream_dns", "not-an-address"); err == nil || !strings.Contains(err.Error(), "Invalid IP address") {
		t.Fatalf("bad upstream_dns: err = %v", err)
	}
	if _, err := c.GetConfig(ctx, "no_such_setting"); err == nil {
		t.Fatal("unknown setting accepted")
	}
}

func TestNotFound(t *testing.T) {
	f := maastest.New(t)
	c := newClient(t, f, maastest.Key)
	_, err := c.VLAN(context.Background(), 9999)
	if !maas.IsNotFound(err) {
		t.Fatalf("err = %v, want a 404", err)
	}
}

func TestMachines(t *testing.T) {
	f := maastest.New(t)
	id := f.AddMachine("bigboy")
	c := newClient(t, f, maastest.Key)
	ctx := context.Background()
	ms, err := c.Machines(ctx)
	if err != nil || len(ms) != 1 || ms[0].Hostname != "bigboy" || ms[0].SystemID != id {
		t.Fatalf("Machines = %+v, %v", ms, err)
	}
	_, err = c.UpdateMachine(ctx, id, url.Values{"power_type": {"webhook"}, "power_parameters_power_on_uri": {"http://192.0.2.1:8080/v1/machines/bigboy/on"}})
	if err != nil {
		t.Fatal(err)
	}
	pt, params := f.Machine(id)
	if pt != "webhook" || params["power_on_uri"] == "" {
		t.Fatalf("machine = %s %v", pt, params)
	}
}

func TestBool(t *testing.T) {
	if maas.Bool(true) != "true" || maas.Bool(false) != "false" {
		t.Fatal("MAAS reads only true/false as booleans")
	}
}
