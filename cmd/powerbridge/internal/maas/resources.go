package maas

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The types below hold the fields of MAAS's answers that powerbridge reads;
// MAAS sends many more. A JSON null (MAAS's "none") decodes as the zero value.

// Version is GET version/.
type Version struct {
	Version      string   `json:"version"`
	Subversion   string   `json:"subversion"`
	Capabilities []string `json:"capabilities"`
}

// VLAN is a VLAN on a fabric. ID is MAAS's object id (5001...), VID the
// 802.1Q tag (0 for "untagged").
type VLAN struct {
	ID            int    `json:"id"`
	VID           int    `json:"vid"`
	Name          string `json:"name"`
	Fabric        string `json:"fabric"`
	FabricID      int    `json:"fabric_id"`
	MTU           int    `json:"mtu"`
	DHCPOn        bool   `json:"dhcp_on"`
	PrimaryRack   string `json:"primary_rack"`   // a system_id, or "" for none
	SecondaryRack string `json:"secondary_rack"` // a system_id, or "" for none
	ExternalDHCP  string `json:"external_dhcp"`  // a DHCP server MAAS saw on the VLAN that is not its own
	Space         string `json:"space"`
}

// String names the VLAN the way the MAAS UI does.
func (v VLAN) String() string {
	return fmt.Sprintf("%s.%s (id %d)", v.Fabric, v.Name, v.ID)
}

// Subnet is a subnet on a VLAN.
type Subnet struct {
	ID         int      `json:"id"`
	Name       string   `json:"name"`
	CIDR       string   `json:"cidr"`
	VLAN       VLAN     `json:"vlan"`
	GatewayIP  string   `json:"gateway_ip"`
	DNSServers []string `json:"dns_servers"`
	Managed    bool     `json:"managed"`
	AllowDNS   bool     `json:"allow_dns"`
	Space      string   `json:"space"`
}

// IPRange is a dynamic (DHCP pool) or reserved range on a subnet.
type IPRange struct {
	ID      int    `json:"id"`
	Type    string `json:"type"` // "dynamic" or "reserved"
	StartIP string `json:"start_ip"`
	EndIP   string `json:"end_ip"`
	Comment string `json:"comment"`
	Subnet  Subnet `json:"subnet"`
}

// Range types, as MAAS spells them.
const (
	Dynamic  = "dynamic"
	Reserved = "reserved"
)

// Link is an address configured on an interface.
type Link struct {
	ID        int     `json:"id"`
	Mode      string  `json:"mode"` // static, auto, dhcp, link_up
	IPAddress string  `json:"ip_address"`
	Subnet    *Subnet `json:"subnet"`
}

// Interface is a network interface of a node.
type Interface struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	MACAddress string `json:"mac_address"`
	Enabled    bool   `json:"enabled"`
	VLAN       *VLAN  `json:"vlan"` // nil when disconnected
	Links      []Link `json:"links"`
}

// RackController is a rack controller (MAAS's DHCP, TFTP and proxy agent).
type RackController struct {
	SystemID     string      `json:"system_id"`
	Hostname     string      `json:"hostname"`
	FQDN         string      `json:"fqdn"`
	IPAddresses  []string    `json:"ip_addresses"`
	InterfaceSet []Interface `json:"interface_set"`
}

// Machine is a machine MAAS manages.
type Machine struct {
	SystemID   string `json:"system_id"`
	Hostname   string `json:"hostname"`
	FQDN       string `json:"fqdn"`
	PowerType  string `json:"power_type"`
	PowerState string `json:"power_state"`
	StatusName string `json:"status_name"`
}

// Version reads MAAS's version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	err := c.Get(ctx, "version/", nil, &v)
	return v, err
}

// Subnets lists every subnet.
func (c *Client) Subnets(ctx context.Context) ([]Subnet, error) {
	var s []Subnet
	err := c.Get(ctx, "subnets/", nil, &s)
	return s, err
}

// UpdateSubnet changes the fields in form (gateway_ip, dns_servers, ...) of
// subnet id and returns the subnet as MAAS now has it.
func (c *Client) UpdateSubnet(ctx context.Context, id int, form url.Values) (Subnet, error) {
	var s Subnet
	err := c.Put(ctx, "subnets/"+strconv.Itoa(id)+"/", form, &s)
	return s, err
}

// IPRanges lists every IP range.
func (c *Client) IPRanges(ctx context.Context) ([]IPRange, error) {
	var r []IPRange
	err := c.Get(ctx, "ipranges/", nil, &r)
	return r, err
}

// CreateIPRange creates a range. MAAS infers the subnet from start_ip.
func (c *Client) CreateIPRange(ctx context.Context, typ, start, end, comment string) (IPRange, error) {
	var r IPRange
	form := url.Values{"type": {typ}, "start_ip": {start}, "end_ip": {end}}
	if comment != "" {
		form.Set("comment", comment)
	}
	err := c.Post(ctx, "ipranges/", form, &r)
	return r, err
}

// UpdateIPRange changes the fields in form of range id.
func (c *Client) UpdateIPRange(ctx context.Context, id int, form url.Values) (IPRange, error) {
	var r IPRange
	err := c.Put(ctx, "ipranges/"+strconv.Itoa(id)+"/", form, &r)
	return r, err
}

// RackControllers lists the rack controllers with their interfaces.
func (c *Client) RackControllers(ctx context.Context) ([]RackController, error) {
	var r []RackController
	err := c.Get(ctx, "rackcontrollers/", nil, &r)
	return r, err
}

// VLAN reads the VLAN with object id id.
func (c *Client) VLAN(ctx context.Context, id int) (VLAN, error) {
	var v VLAN
	err := c.Get(ctx, "vlans/"+strconv.Itoa(id)+"/", nil, &v)
	return v, err
}

// UpdateVLAN changes the fields in form of the VLAN with object id id. Use
// Bool for boolean fields.
func (c *Client) UpdateVLAN(ctx context.Context, id int, form url.Values) (VLAN, error) {
	var v VLAN
	err := c.Put(ctx, "vlans/"+strconv.Itoa(id)+"/", form, &v)
	return v, err
}

// Bool spells a boolean form value the one way MAAS reads it safely: MAAS
// takes only "true" and "false" as booleans and any other non-empty string
// as true, so "0" or "off" would turn a setting on.
func Bool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// GetConfig reads a MAAS setting. A string setting comes back as itself, an
// unset one as "", any other as its JSON text.
func (c *Client) GetConfig(ctx context.Context, name string) (string, error) {
	var raw json.RawMessage
	if err := c.Get(ctx, "maas/", url.Values{"op": {"get_config"}, "name": {name}}, &raw); err != nil {
		return "", err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("MAAS setting %s: %w", name, err)
	}
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return string(raw), nil
}

// SetConfig changes a MAAS setting. MAAS reads name and value from the body
// only: in the query string it answers "No provided name!".
func (c *Client) SetConfig(ctx context.Context, name, value string) error {
	return c.Post(ctx, "maas/?op=set_config", url.Values{"name": {name}, "value": {value}}, nil)
}

// Machines lists the machines.
func (c *Client) Machines(ctx context.Context) ([]Machine, error) {
	var m []Machine
	err := c.Get(ctx, "machines/", nil, &m)
	return m, err
}

// UpdateMachine changes the fields in form (power_type, power_parameters_*,
// ...) of a machine.
func (c *Client) UpdateMachine(ctx context.Context, systemID string, form url.Values) (Machine, error) {
	var m Machine
	err := c.Put(ctx, "machines/"+url.PathEscape(systemID)+"/", form, &m)
	return m, err
}

// SplitList splits a MAAS address list ("1.1.1.1 8.8.8.8" or "a,b"), the way
// MAAS itself reads upstream_dns and dns_servers.
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}
