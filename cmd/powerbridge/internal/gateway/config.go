package gateway

import (
	"fmt"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
)

// Config is the gateway: section of the configuration file, as written.
// See deploy/gateway.example.yaml for every key with its meaning.
type Config struct {
	// Firewall is "nftables" (the default) or "iptables".
	Firewall string  `yaml:"firewall"`
	Corp     Corp    `yaml:"corp"`
	Cluster  Cluster `yaml:"cluster"`
	MAAS     MAAS    `yaml:"maas"`
}

// Corp is the NIC on the network with the internet, where the MAAS UI lives.
type Corp struct {
	Name    string   `yaml:"name"`
	MAC     string   `yaml:"mac"`
	Address string   `yaml:"address"` // with its prefix: 192.168.1.195/24
	Router  string   `yaml:"router"`
	DNS     []string `yaml:"dns"`
}

// Cluster is the NIC on the network where MAAS serves DHCP and PXE.
type Cluster struct {
	Name    string `yaml:"name"`
	MAC     string `yaml:"mac"`
	CIDR    string `yaml:"cidr"`    // 192.168.23.0/24
	Address string `yaml:"address"` // this host's address in CIDR, the nodes' gateway
}

// MAAS is how to reach MAAS and what to set in it.
type MAAS struct {
	URL            string          `yaml:"url"`
	APIKeyFile     string          `yaml:"api_key_file"`
	RackController string          `yaml:"rack_controller"`
	DynamicRange   DynamicRange    `yaml:"dynamic_range"`
	Reserved       []ReservedRange `yaml:"reserved"`
	UpstreamDNS    []string        `yaml:"upstream_dns"`
	SubnetDNS      []string        `yaml:"subnet_dns"`
}

// DynamicRange is the pool MAAS's DHCP leases from.
type DynamicRange struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// ReservedRange keeps addresses out of MAAS's hands, e.g. a PDU's static one.
type ReservedRange struct {
	Name  string `yaml:"name"`
	Start string `yaml:"start"`
	End   string `yaml:"end"` // defaults to Start
}

// Firewall backends.
const (
	NFTables = "nftables"
	IPTables = "iptables"
)

// Default NIC names when a NIC is given by MAC only; netplan's set-name
// gives it that name.
const (
	defaultCorpName    = "corp0"
	defaultClusterName = "cluster0"
)

// Spec is a validated Config with its addresses parsed: what the helper
// renders files and MAAS changes from.
type Spec struct {
	Firewall string
	Corp     CorpSpec
	Cluster  ClusterSpec
	MAAS     MAASSpec
}

// CorpSpec is the validated corp NIC.
type CorpSpec struct {
	Name, MAC string
	Address   netip.Prefix // the host's address with the network's prefix
	Router    netip.Addr
	DNS       []netip.Addr
}

// Network is the corp network's prefix.
func (c CorpSpec) Network() netip.Prefix { return c.Address.Masked() }

// ClusterSpec is the validated cluster NIC.
type ClusterSpec struct {
	Name, MAC string
	CIDR      netip.Prefix
	Address   netip.Addr
}

// Prefix is the host's cluster address with the network's prefix.
func (c ClusterSpec) Prefix() netip.Prefix { return netip.PrefixFrom(c.Address, c.CIDR.Bits()) }

// MAASSpec is the validated MAAS part. URL is "" when the file has none.
type MAASSpec struct {
	URL            string
	APIKeyFile     string
	RackController string
	DynamicStart   netip.Addr
	DynamicEnd     netip.Addr
	Reserved       []ReservedSpec
	UpstreamDNS    []netip.Addr
	SubnetDNS      []netip.Addr
}

// ReservedSpec is a validated reserved range.
type ReservedSpec struct {
	Name       string
	Start, End netip.Addr
}

// overrides are command-line flags that replace keys of the file; problems
// with those keys name the flag rather than a line.
type overrides map[string]string // key path → flag

// ReadAPIKey reads and parses the MAAS API key file.
func (m MAASSpec) ReadAPIKey() (maas.APIKey, error) {
	text, err := config.ReadSecretFile(m.APIKeyFile)
	if err != nil {
		return maas.APIKey{}, fmt.Errorf("reading the MAAS API key: %w", err)
	}
	k, err := maas.ParseAPIKey(text)
	if err != nil {
		return maas.APIKey{}, fmt.Errorf("%s: %w", m.APIKeyFile, err)
	}
	return k, nil
}

// sectionOf finds the gateway: section in a configuration file's YAML, for
// a caller that has not loaded the whole file (the service's keys need not
// be valid, or present, for the gateway helper).
func sectionOf(data []byte, file string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, config.Problems{{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, config.Problems{{File: file, Line: root.Line, Msg: "expected a mapping of keys to values"}}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "gateway" {
			return root.Content[i+1], nil
		}
	}
	return nil, nil
}
