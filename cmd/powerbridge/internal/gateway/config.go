package gateway

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
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

// problems collects validation problems with the line of the key they are about.
type problems struct {
	file  string
	root  *yaml.Node // the gateway: mapping
	flags overrides
	list  config.Problems
}

func (p *problems) add(key, format string, args ...any) {
	pr := config.Problem{File: p.file, Key: "gateway." + key, Msg: fmt.Sprintf(format, args...)}
	if flag, ok := p.flags[key]; ok {
		pr.File, pr.Key = "flag "+flag, ""
	} else {
		pr.Line = lineOf(p.root, key)
	}
	p.list = append(p.list, pr)
}

// lineOf finds the line of key path (e.g. "maas.reserved[0].start") under
// n, or of the nearest enclosing key present, so that a missing key is
// reported where it belongs.
func lineOf(n *yaml.Node, path string) int {
	if n == nil || n.Kind == 0 {
		return 0
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

var ifnameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,14}$`)

// validate checks c and resolves defaults. file names the config in
// messages and node is its gateway: section (for line numbers). needMAAS is
// false with --skip-maas, when the maas: keys may be absent.
func (c *Config) validate(file string, node *yaml.Node, flags overrides, needMAAS bool) (*Spec, error) {
	p := &problems{file: file, root: node, flags: flags}
	s := &Spec{}

	switch c.Firewall {
	case "", NFTables:
		s.Firewall = NFTables
	case IPTables:
		s.Firewall = IPTables
	default:
		p.add("firewall", "%q is not a firewall backend: use nftables (the default) or iptables", c.Firewall)
	}

	s.Corp.Name, s.Corp.MAC = nic(p, "corp", c.Corp.Name, c.Corp.MAC, defaultCorpName)
	s.Cluster.Name, s.Cluster.MAC = nic(p, "cluster", c.Cluster.Name, c.Cluster.MAC, defaultClusterName)
	if s.Corp.Name != "" && s.Corp.Name == s.Cluster.Name {
		p.add("cluster.name", "the cluster NIC cannot have the corp NIC's name %q", s.Corp.Name)
	}
	if s.Corp.MAC != "" && s.Corp.MAC == s.Cluster.MAC {
		p.add("cluster.mac", "the cluster NIC cannot have the corp NIC's MAC %s", s.Corp.MAC)
	}

	// corp
	if c.Corp.Address == "" {
		p.add("corp.address", "required: this host's corp address with its prefix, e.g. 192.168.1.195/24")
	} else if pfx, err := netip.ParsePrefix(c.Corp.Address); err != nil || !pfx.Addr().Is4() {
		p.add("corp.address", "%q is not an IPv4 address with a prefix, e.g. 192.168.1.195/24", c.Corp.Address)
	} else if pfx.Addr() == pfx.Masked().Addr() || pfx.Addr() == lastAddr(pfx) {
		p.add("corp.address", "%s is the network's own or broadcast address, not a host's", pfx.Addr())
	} else {
		s.Corp.Address = pfx
	}
	if c.Corp.Router == "" {
		p.add("corp.router", "required: the corp router, the host's default gateway")
	} else if a, ok := ipv4(p, "corp.router", c.Corp.Router); ok {
		if s.Corp.Address.IsValid() && !s.Corp.Network().Contains(a) {
			p.add("corp.router", "%s is not on the corp network %s", a, s.Corp.Network())
		} else if a == s.Corp.Address.Addr() {
			p.add("corp.router", "%s is this host's own address", a)
		}
		s.Corp.Router = a
	}
	s.Corp.DNS = ipv4List(p, "corp.dns", c.Corp.DNS)
	if len(c.Corp.DNS) == 0 && s.Corp.Router.IsValid() {
		s.Corp.DNS = []netip.Addr{s.Corp.Router} // home routers answer DNS
	}

	// cluster
	if c.Cluster.CIDR == "" {
		p.add("cluster.cidr", "required: the cluster network, e.g. 192.168.23.0/24")
	} else if pfx, err := netip.ParsePrefix(c.Cluster.CIDR); err != nil || !pfx.Addr().Is4() {
		p.add("cluster.cidr", "%q is not an IPv4 network, e.g. 192.168.23.0/24", c.Cluster.CIDR)
	} else if pfx != pfx.Masked() {
		p.add("cluster.cidr", "%s has host bits set: the network is %s (this host's address goes in cluster.address)", pfx, pfx.Masked())
	} else if pfx.Bits() > 30 {
		p.add("cluster.cidr", "%s is too small for a cluster network", pfx)
	} else {
		s.Cluster.CIDR = pfx
		if s.Corp.Address.IsValid() && pfx.Overlaps(s.Corp.Network()) {
			p.add("cluster.cidr", "%s overlaps the corp network %s: the two NICs need separate networks", pfx, s.Corp.Network())
		}
	}
	if c.Cluster.Address == "" {
		p.add("cluster.address", "required: this host's address on the cluster network, which becomes the nodes' gateway")
	} else {
		addr, bits := c.Cluster.Address, -1
		if a, b, ok := strings.Cut(addr, "/"); ok {
			addr = a
			if n, err := strconv.Atoi(b); err == nil {
				bits = n
			} else {
				bits = -2
			}
		}
		if a, ok := ipv4(p, "cluster.address", addr); ok {
			switch cidr := s.Cluster.CIDR; {
			case bits == -2 || cidr.IsValid() && bits >= 0 && bits != cidr.Bits():
				p.add("cluster.address", "%q: write the address alone; its prefix is cluster.cidr's", c.Cluster.Address)
			case cidr.IsValid() && !cidr.Contains(a):
				p.add("cluster.address", "%s is not in cluster.cidr %s", a, cidr)
			case cidr.IsValid() && (a == cidr.Addr() || a == lastAddr(cidr)):
				p.add("cluster.address", "%s is the network's own or broadcast address, not a host's", a)
			default:
				s.Cluster.Address = a
			}
		}
	}

	c.MAAS.validate(p, s, needMAAS)

	if len(p.list) > 0 {
		return nil, p.list
	}
	return s, nil
}

func (m *MAAS) validate(p *problems, s *Spec, need bool) {
	ms := &s.MAAS
	ms.RackController = m.RackController
	if m.URL == "" {
		if need {
			p.add("maas.url", "required (or run with --skip-maas): MAAS's address, e.g. http://192.168.1.195:5240/MAAS/")
		}
	} else if u, err := maas.BaseURL(m.URL); err != nil {
		p.add("maas.url", "%v", err)
	} else {
		ms.URL = u.String()
	}
	ms.APIKeyFile = m.APIKeyFile
	if m.APIKeyFile == "" && need {
		p.add("maas.api_key_file", "required (or run with --skip-maas): a file holding the MAAS API key (sudo maas apikey --username=admin > FILE; chmod 600 FILE)")
	}

	cidr := s.Cluster.CIDR
	inCluster := func(key string, a netip.Addr) bool {
		if !cidr.IsValid() {
			return false
		}
		switch {
		case !cidr.Contains(a):
			p.add(key, "%s is not in the cluster network %s", a, cidr)
		case a == cidr.Addr() || a == lastAddr(cidr):
			p.add(key, "%s is the cluster network's own or broadcast address", a)
		default:
			return true
		}
		return false
	}
	type span struct {
		key        string
		start, end netip.Addr
	}
	var spans []span
	checkRange := func(key string, start, end netip.Addr) bool {
		okS, okE := inCluster(key+".start", start), inCluster(key+".end", end)
		if !okS || !okE {
			return false
		}
		if end.Less(start) {
			p.add(key+".end", "%s comes before start %s", end, start)
			return false
		}
		if a := s.Cluster.Address; a.IsValid() && !a.Less(start) && !end.Less(a) {
			p.add(key, "%s contains this host's cluster address %s (the nodes' gateway); MAAS refuses that", spanAddr(start, end), a)
			return false
		}
		for _, o := range spans {
			if !o.end.Less(start) && !end.Less(o.start) {
				p.add(key, "%s overlaps %s (%s)", spanAddr(start, end), o.key, spanAddr(o.start, o.end))
				return false
			}
		}
		spans = append(spans, span{key, start, end})
		return true
	}

	d := m.DynamicRange
	if d.Start == "" && d.End == "" {
		if need {
			p.add("maas.dynamic_range", "required: the DHCP pool, e.g. {start: 192.168.23.150, end: 192.168.23.250}; MAAS will not turn DHCP on without one")
		}
	} else {
		start, okS := ipv4(p, "maas.dynamic_range.start", d.Start)
		end, okE := ipv4(p, "maas.dynamic_range.end", d.End)
		if okS && okE && checkRange("maas.dynamic_range", start, end) {
			ms.DynamicStart, ms.DynamicEnd = start, end
		}
	}

	names := map[string]bool{}
	for i, r := range m.Reserved {
		key := fmt.Sprintf("maas.reserved[%d]", i)
		switch {
		case r.Name == "":
			p.add(key+".name", "required: what the addresses are for (it becomes the range's comment in MAAS)")
		case names[r.Name]:
			p.add(key+".name", "%q is used twice", r.Name)
		}
		names[r.Name] = true
		if r.End == "" {
			r.End = r.Start
		}
		start, okS := ipv4(p, key+".start", r.Start)
		end, okE := ipv4(p, key+".end", r.End)
		if okS && okE && checkRange(key, start, end) {
			ms.Reserved = append(ms.Reserved, ReservedSpec{Name: r.Name, Start: start, End: end})
		}
	}

	ms.UpstreamDNS = ipv4List(p, "maas.upstream_dns", m.UpstreamDNS)
	if len(m.UpstreamDNS) == 0 {
		ms.UpstreamDNS = s.Corp.DNS
	}
	ms.SubnetDNS = ipv4List(p, "maas.subnet_dns", m.SubnetDNS)
	if len(m.SubnetDNS) == 0 && s.Cluster.Address.IsValid() {
		ms.SubnetDNS = []netip.Addr{s.Cluster.Address}
	}
	for _, a := range ms.UpstreamDNS {
		if a == s.Cluster.Address || s.Corp.Address.IsValid() && a == s.Corp.Address.Addr() {
			p.add("maas.upstream_dns", "%s is this host: MAAS would forward DNS queries to itself in a loop; use the corp DNS", a)
		}
	}
}

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

// nic validates a NIC's name and MAC; a NIC given by MAC alone gets def.
func nic(p *problems, key, name, mac, def string) (string, string) {
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			p.add(key+".mac", "%q is not a MAC address like 52:54:00:12:34:56", mac)
			mac = ""
		} else {
			mac = hw.String() // lower case, colons
		}
		if name == "" {
			name = def
		}
	}
	switch {
	case name == "" && mac == "":
		p.add(key+".name", "required: the NIC's name (e.g. %s), or give its mac and it is renamed %s", "eno1", def)
	case name != "" && !ifnameRE.MatchString(name):
		p.add(key+".name", "%q is not an interface name (a letter, then letters, digits, '_', '.', '-'; at most 15)", name)
		name = ""
	}
	return name, mac
}

func ipv4(p *problems, key, s string) (netip.Addr, bool) {
	if s == "" {
		p.add(key, "required: an IPv4 address")
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		p.add(key, "%q is not an IPv4 address", s)
		return netip.Addr{}, false
	}
	return a, true
}

func ipv4List(p *problems, key string, list []string) []netip.Addr {
	var out []netip.Addr
	for i, s := range list {
		if a, ok := ipv4(p, fmt.Sprintf("%s[%d]", key, i), s); ok {
			out = append(out, a)
		}
	}
	return out
}

func spanAddr(start, end netip.Addr) string { return span(start.String(), end.String()) }

// lastAddr is an IPv4 prefix's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a)
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
