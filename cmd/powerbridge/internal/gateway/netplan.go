package gateway

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// foreign is another netplan file that defines one of our NICs. netplan
// merges files in name order and appends lists, so a 50-cloud-init.yaml for
// the same NIC would leave its DHCP and addresses on beside ours: such a
// file is moved aside to the backup.
type foreign struct {
	Path      string // on the target system
	Mode      os.FileMode
	Data      []byte
	Ours      []string // the definitions of our NICs in it
	CloudInit bool     // written by cloud-init, which would write it again
}

// scanNetplan finds the files in /etc/netplan under root, other than ours,
// that define our NICs. A file that also defines other interfaces cannot be
// moved aside whole without taking those down: that is an error that says
// what to do by hand.
func scanNetplan(root string, s *Spec) ([]foreign, error) {
	names, err := filepath.Glob(filepath.Join(root, "etc/netplan/*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []foreign
	for _, n := range names {
		p := "/etc/netplan/" + filepath.Base(n)
		if p == NetplanFile {
			continue
		}
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		st, err := os.Stat(n)
		if err != nil {
			return nil, err
		}
		ours, others, err := netplanDefinitions(data, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (netplan would refuse it too)", p, err)
		}
		if len(ours) == 0 {
			continue
		}
		if len(others) > 0 {
			return nil, fmt.Errorf("%s defines %s and also %s: it cannot be moved aside whole without taking those down; "+
				"move the definitions of %s out of it by hand, then run plan again",
				p, strings.Join(ours, ", "), strings.Join(others, ", "), strings.Join(ours, ", "))
		}
		out = append(out, foreign{
			Path: p, Mode: st.Mode().Perm(), Data: data, Ours: ours,
			CloudInit: strings.Contains(filepath.Base(n), "cloud-init") || bytes.Contains(data, []byte("cloud-init")),
		})
	}
	return out, nil
}

// netplanDefinitions sorts a netplan file's device definitions into ours and
// others. An ethernet is ours when its id, set-name, match.name (a glob, as
// netplan reads it) or match.macaddress designates one of our NICs.
func netplanDefinitions(data []byte, s *Spec) (ours, others []string, err error) {
	var doc struct {
		Network map[string]yaml.Node `yaml:"network"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, err
	}
	nics := []nicID{{s.Corp.Name, s.Corp.MAC}, {s.Cluster.Name, s.Cluster.MAC}}
	for kind, node := range doc.Network {
		switch kind {
		case "version", "renderer":
			continue
		case "ethernets":
			var eths map[string]netplanEthernet
			if err := node.Decode(&eths); err != nil {
				return nil, nil, fmt.Errorf("network.ethernets: %w", err)
			}
			for id, e := range eths {
				if e.designates(id, nics) {
					ours = append(ours, id)
				} else {
					others = append(others, id)
				}
			}
		default:
			var devs map[string]yaml.Node
			if node.Decode(&devs) != nil {
				others = append(others, "network."+kind)
				continue
			}
			for id := range devs {
				others = append(others, id+" ("+kind+")")
			}
		}
	}
	slices.Sort(ours)
	slices.Sort(others)
	return ours, others, nil
}

// nicID is how netplan may designate one of our NICs.
type nicID struct{ name, mac string }

// netplanEthernet is what of a netplan ethernet definition says which NIC it is.
type netplanEthernet struct {
	Match struct {
		Name       string `yaml:"name"`
		MACAddress string `yaml:"macaddress"`
	} `yaml:"match"`
	SetName string `yaml:"set-name"`
}

// designates tells whether the ethernet with this id is one of nics.
func (e netplanEthernet) designates(id string, nics []nicID) bool {
	for _, n := range nics {
		if id == n.name || e.SetName == n.name {
			return true
		}
		if e.Match.Name != "" {
			if ok, _ := path.Match(e.Match.Name, n.name); ok {
				return true
			}
		}
		if n.mac != "" && strings.EqualFold(e.Match.MACAddress, n.mac) {
			return true
		}
	}
	return false
}
