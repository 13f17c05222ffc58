// Package maassync points MAAS machines at powerbridge: for every machine in
// powerbridge's config it finds the MAAS machine of that hostname and sets
// MAAS's webhook power type, with the machine's three URIs and the token, or
// MAAS's redfish power type (2.5 and later), with powerbridge's address, an
// auth.users account and the machine's name as node_id.
//
// A plan is made first from what MAAS has now (the machine list, then each
// machine's power parameters), and names only what differs; applying it
// changes those machines and nothing else, and reads each one back. So a
// second apply finds nothing to do. Machines known to only one side are
// listed, never changed.
//
// It reaches MAAS only through package maas and knows nothing of PDUs or of
// the HTTP service. The token and the password are never printed: not the
// ones set, not the ones found.
package maassync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
)

// MAAS's webhook driver's parameter names (without the power_parameters_
// prefix of the update form) and its default regexes, from
// src/provisioningserver/drivers/power/webhook.py.
const (
	PowerType = "webhook"

	OnURI    = "power_on_uri"
	OffURI   = "power_off_uri"
	QueryURI = "power_query_uri"
	Token    = "power_token"
	OnRegex  = "power_on_regex"
	OffRegex = "power_off_regex"

	DefaultOnRegex  = `status.*\:.*running`
	DefaultOffRegex = `status.*\:.*stopped`
)

// MAAS's redfish driver's power type and parameter names, from
// src/provisioningserver/drivers/power/redfish.py (2.5 and later).
const (
	RedfishPowerType = "redfish"

	RedfishAddress = "power_address"
	RedfishUser    = "power_user"
	RedfishPass    = "power_pass"
	RedfishNodeID  = "node_id"
)

// Account is the auth.users account MAAS's redfish driver sends as Basic
// credentials.
type Account struct {
	User, Password string
}

// Target is what MAAS is to be told.
type Target struct {
	// Base is powerbridge's URL as MAAS's rack controllers reach it, from
	// CheckBaseURL: "http://192.168.23.1:8080".
	Base string
	// Token is the bearer token MAAS sends (power_token).
	Token string
	// Redfish, when set, makes the power type redfish, MAAS sending this
	// account; Token is then not used.
	Redfish *Account
}

// PowerType is the power type t sets.
func (t Target) PowerType() string {
	if t.Redfish != nil {
		return RedfishPowerType
	}
	return PowerType
}

// keys are t's power parameters, in the order they are shown.
func (t Target) keys() []string {
	if t.Redfish != nil {
		return []string{RedfishAddress, RedfishUser, RedfishPass, RedfishNodeID}
	}
	return []string{OnURI, OffURI, QueryURI, Token}
}

func isSecret(param string) bool { return param == Token || param == RedfishPass }

// Params returns the power parameters of machine name. Webhook: the three
// routes that name the machine (two machines with identical parameters may
// be merged onto one BMC by MAAS, so the name must be in the path) and the
// token. Redfish: powerbridge's address (MAAS adds /redfish/v1/...), the
// account, and the machine's name as node_id, the system MAAS drives (with
// none it would drive the first system listed).
func (t Target) Params(name string) map[string]string {
	if a := t.Redfish; a != nil {
		return map[string]string{RedfishAddress: t.Base, RedfishUser: a.User, RedfishPass: a.Password, RedfishNodeID: name}
	}
	base := t.Base + "/v1/machines/" + url.PathEscape(name)
	return map[string]string{
		OnURI:    base + "/on",
		OffURI:   base + "/off",
		QueryURI: base + "/status",
		Token:    t.Token,
	}
}

// CheckBaseURL checks powerbridge's URL as MAAS is to call it and returns it
// without a trailing slash. A loopback or unspecified host is refused: MAAS
// picks the rack controller that runs a machine's power actions by the host
// of its power_query_uri, and a loopback address picks none ("Error
// determining BMC task queue"); were one picked, it would call itself.
func CheckBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", errors.New("not a URL: want http://ADDRESS:PORT, e.g. http://192.168.23.1:8080")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%q: want http://ADDRESS:PORT, e.g. http://192.168.23.1:8080", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%q: want only scheme, address, port and path (credentials go in the token, not the URL)", u.Redacted())
	}
	host := strings.ToLower(u.Hostname())
	loopback := host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "localhost.localdomain"
	unspecified := false
	if a, err := netip.ParseAddr(host); err == nil {
		loopback = loopback || a.IsLoopback() || a.Unmap().IsLoopback()
		unspecified = a.IsUnspecified()
	}
	switch {
	case loopback:
		return "", fmt.Errorf("%s is a loopback address: MAAS picks the rack controller that runs a machine's power actions by the host of its power query URI, "+
			"and a loopback host picks none (\"Error determining BMC task queue\"); give an address of powerbridge that the rack controllers reach, "+
			"such as the MAAS host's cluster address: http://192.168.23.1:8080", u.Host)
	case unspecified:
		return "", fmt.Errorf("%s is a listen address, not one MAAS can call: give an address of powerbridge that the rack controllers reach, such as http://192.168.23.1:8080", u.Host)
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return "", fmt.Errorf("%q: bad port %q", raw, p)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// Change is one parameter to change on one machine.
type Change struct {
	Param    string // "power_type" or a power parameter's name
	Old, New string
	Secret   bool // never print Old or New
}

// Machine is one machine found on both sides.
type Machine struct {
	Name      string // as in powerbridge's config
	SystemID  string
	PowerType string // as MAAS has it now
	Changes   []Change
	// Err is why Apply failed to change the machine.
	Err error
}

// Plan is what MAAS has and what would change.
type Plan struct {
	MAASURL string
	Base    string
	// Machines are the config's machines that MAAS knows, in config order.
	Machines []Machine
	// OnlyInConfig are the config's machines MAAS does not know (yet: a new
	// machine is enlisted by booting it, which powerbridge can do).
	OnlyInConfig []string
	// OnlyInMAAS are MAAS's machines the config does not name, by hostname.
	OnlyInMAAS []maas.Machine
}

// ToChange counts the machines with changes.
func (p *Plan) ToChange() int {
	n := 0
	for _, m := range p.Machines {
		if len(m.Changes) > 0 {
			n++
		}
	}
	return n
}

// MakePlan compares each named machine's power settings in MAAS with what t
// says they should be. It changes nothing.
func MakePlan(ctx context.Context, c *maas.Client, names []string, t Target) (*Plan, error) {
	all, err := c.Machines(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing MAAS's machines: %w", err)
	}
	p := &Plan{MAASURL: c.URL(), Base: t.Base}
	byName := map[string]maas.Machine{}
	for _, m := range all {
		byName[m.Hostname] = m
		if m.FQDN != "" {
			byName[m.FQDN] = m
		}
	}
	used := map[string]bool{}
	for _, name := range names {
		m, ok := byName[name]
		if !ok {
			p.OnlyInConfig = append(p.OnlyInConfig, name)
			continue
		}
		used[m.SystemID] = true
		have, err := c.PowerParameters(ctx, m.SystemID)
		if err != nil {
			return nil, fmt.Errorf("reading the power parameters of %s (%s): %w", name, m.SystemID, forbidden(err))
		}
		p.Machines = append(p.Machines, Machine{
			Name: name, SystemID: m.SystemID, PowerType: m.PowerType,
			Changes: diff(t, m.PowerType, have, name),
		})
	}
	for _, m := range all {
		if !used[m.SystemID] {
			p.OnlyInMAAS = append(p.OnlyInMAAS, m)
		}
	}
	sort.Slice(p.OnlyInMAAS, func(i, j int) bool { return p.OnlyInMAAS[i].Hostname < p.OnlyInMAAS[j].Hostname })
	return p, nil
}

// diff lists what differs between a machine's power settings (its power
// type and parameters, have) and those t gives machine name, in a fixed
// order.
func diff(t Target, powerType string, have map[string]string, name string) []Change {
	var cs []Change
	if powerType != t.PowerType() {
		cs = append(cs, Change{Param: "power_type", Old: powerType, New: t.PowerType()})
	}
	want := t.Params(name)
	for _, k := range t.keys() {
		if have[k] != want[k] {
			cs = append(cs, Change{Param: k, Old: have[k], New: want[k], Secret: isSecret(k)})
		}
	}
	if t.Redfish != nil {
		return cs
	}
	// powerbridge's status body is matched by MAAS's default regexes; a
	// changed one may match neither word. An absent one is MAAS's default.
	for _, r := range [...]struct{ k, def string }{{OnRegex, DefaultOnRegex}, {OffRegex, DefaultOffRegex}} {
		if v := have[r.k]; v != "" && v != r.def {
			cs = append(cs, Change{Param: r.k, Old: v, New: r.def})
		}
	}
	return cs
}

// form is the update sent for a machine with changes. It holds the whole
// set of the power type, not just what differs: MAAS replaces a machine's
// parameters when its power type changes and checks the full set for the
// new type, so the outcome must not depend on which of them were already
// right.
func form(t Target, name string) url.Values {
	f := url.Values{"power_type": {t.PowerType()}}
	for k, v := range t.Params(name) {
		f.Set("power_parameters_"+k, v)
	}
	if t.Redfish != nil {
		return f
	}
	f.Set("power_parameters_"+OnRegex, DefaultOnRegex)
	f.Set("power_parameters_"+OffRegex, DefaultOffRegex)
	return f
}

// Apply changes the machines of p that have changes, then reads each back:
// a machine MAAS did not take the settings for is an error. It goes on past
// a machine that fails, notes each failure in the plan (Machine.Err) and
// returns them all.
func Apply(ctx context.Context, c *maas.Client, p *Plan, t Target) error {
	var errs []error
	for i := range p.Machines {
		m := &p.Machines[i]
		if len(m.Changes) == 0 {
			continue
		}
		m.Err = apply(ctx, c, m, t)
		if m.Err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", m.Name, m.SystemID, m.Err))
		}
	}
	return errors.Join(errs...)
}

func apply(ctx context.Context, c *maas.Client, m *Machine, t Target) error {
	got, err := c.UpdateMachine(ctx, m.SystemID, form(t, m.Name))
	if err != nil {
		return fmt.Errorf("setting the power parameters: %w", forbidden(err))
	}
	have, err := c.PowerParameters(ctx, m.SystemID)
	if err != nil {
		return fmt.Errorf("reading the power parameters back: %w", forbidden(err))
	}
	if left := diff(t, got.PowerType, have, m.Name); len(left) > 0 {
		var names []string
		for _, ch := range left {
			names = append(names, ch.Param)
		}
		return fmt.Errorf("MAAS did not keep the new power settings: %s still differ", strings.Join(names, ", "))
	}
	return nil
}

// forbidden explains MAAS's 403 on power parameters, which are for admins.
func forbidden(err error) error {
	var e *maas.Error
	if errors.As(err, &e) && e.StatusCode == 403 {
		return fmt.Errorf("%w (reading and setting power parameters needs an admin's API key)", err)
	}
	return err
}

// Print writes the plan for people: each machine's changes (the token as
// "set" or "changed", never its value), the machines known to one side
// only, and a summary. applied says whether the changes were made.
func (p *Plan) Print(w io.Writer, applied bool) {
	fmt.Fprintf(w, "MAAS %s, powerbridge %s\n", p.MAASURL, p.Base)
	upToDate, failed := 0, 0
	for _, m := range p.Machines {
		if len(m.Changes) == 0 {
			upToDate++
			fmt.Fprintf(w, "  %s (%s): up to date\n", m.Name, m.SystemID)
			continue
		}
		verb := "to change"
		switch {
		case applied && m.Err != nil:
			failed++
			verb = "FAILED: " + m.Err.Error()
		case applied:
			verb = "changed"
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", m.Name, m.SystemID, verb)
		for _, ch := range m.Changes {
			fmt.Fprintf(w, "      %-16s %s -> %s\n", ch.Param, show(ch, ch.Old, true), show(ch, ch.New, false))
		}
	}
	if len(p.OnlyInConfig) > 0 {
		fmt.Fprintf(w, "Only in powerbridge's config, not in MAAS (enlist them, then run this again): %s\n", strings.Join(p.OnlyInConfig, ", "))
	}
	if len(p.OnlyInMAAS) > 0 {
		var ms []string
		for _, m := range p.OnlyInMAAS {
			pt := m.PowerType
			if pt == "" {
				pt = "none"
			}
			ms = append(ms, fmt.Sprintf("%s (%s, power type %s)", m.Hostname, m.SystemID, pt))
		}
		fmt.Fprintf(w, "Only in MAAS, not in powerbridge's config (left alone): %s\n", strings.Join(ms, ", "))
	}
	n := p.ToChange()
	switch {
	case n == 0 && len(p.Machines) == 0:
		fmt.Fprintln(w, "Nothing to do: no machine of the config is in MAAS.")
	case n == 0:
		fmt.Fprintf(w, "Nothing to do: %s up to date.\n", machines(upToDate))
	case applied && failed > 0:
		fmt.Fprintf(w, "Changed %s, %s FAILED; %d up to date.\n", machines(n-failed), machines(failed), upToDate)
	case applied:
		fmt.Fprintf(w, "Changed %s; %d up to date.\n", machines(n), upToDate)
	default:
		fmt.Fprintf(w, "%s to change, %d up to date. Nothing has been changed: run with --apply to make these changes.\n", machines(n), upToDate)
	}
}

func machines(n int) string {
	if n == 1 {
		return "1 machine"
	}
	return fmt.Sprintf("%d machines", n)
}

// show prints one side of a change: a secret as whether it is set, a URI
// without credentials or query values (an old URI may carry either).
func show(ch Change, v string, old bool) string {
	switch {
	case v == "":
		return "(unset)"
	case ch.Secret && old:
		return "(set, a different one)"
	case ch.Secret && ch.Param == RedfishPass:
		return "(the password, not shown)"
	case ch.Secret:
		return "(the token, not shown)"
	case ch.Param == OnURI || ch.Param == OffURI || ch.Param == QueryURI || ch.Param == RedfishAddress:
		return safeURI(v)
	}
	return v
}

func safeURI(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a URL)"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
