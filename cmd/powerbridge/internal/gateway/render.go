package gateway

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"text/template"
)

// Where the helper's files go on the target system (under --root when set).
const (
	NetplanFile      = "/etc/netplan/60-powerbridge-gateway.yaml"
	SysctlFile       = "/etc/sysctl.d/99-zz-powerbridge-gateway.conf"
	NFTFile          = "/etc/powerbridge/gateway.nft"
	IPTablesFile     = "/etc/powerbridge/gateway.iptables"
	UnitName         = "powerbridge-gateway-firewall.service"
	UnitFile         = "/etc/systemd/system/" + UnitName
	CloudInitDisable = "/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg"

	NFTTable       = "powerbridge_gw"
	IPTForward     = "PB-GW-FORWARD"
	IPTPostrouting = "PB-GW-POSTROUTING"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Option("missingkey=error").ParseFS(templateFS, "templates/*.tmpl"))

// File is one file the helper owns: its path on the target system, its
// mode and content.
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

// view is what the templates see.
type view struct {
	*Spec
	FirewallFile   string
	Unit           string
	NFTTable       string
	IPTForward     string
	IPTPostrouting string
}

// Render returns the files for s, in the order they are applied: network,
// forwarding, firewall rules, then the unit that loads them.
func Render(s *Spec) ([]File, error) {
	v := view{Spec: s, Unit: UnitName, NFTTable: NFTTable, IPTForward: IPTForward, IPTPostrouting: IPTPostrouting}
	fwTmpl, unitTmpl := "gateway.nft.tmpl", "gateway-nftables.service.tmpl"
	if s.Firewall == IPTables {
		fwTmpl, unitTmpl = "gateway.iptables.tmpl", "gateway-iptables.service.tmpl"
	}
	v.FirewallFile = s.firewallFile()
	files := []struct {
		path, tmpl string
		mode       fs.FileMode
	}{
		// netplan warns about (newer releases refuse) a file others can read.
		{NetplanFile, "netplan.yaml.tmpl", 0o600},
		{SysctlFile, "sysctl.conf.tmpl", 0o644},
		{v.FirewallFile, fwTmpl, 0o644},
		{UnitFile, unitTmpl, 0o644},
	}
	out := make([]File, 0, len(files))
	for _, f := range files {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, f.tmpl, v); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", f.path, err)
		}
		out = append(out, File{Path: f.path, Mode: f.mode, Data: b.Bytes()})
	}
	return out, nil
}

// firewallFile is where the rules of s's backend go.
func (s *Spec) firewallFile() string {
	if s.Firewall == IPTables {
		return IPTablesFile
	}
	return NFTFile
}

// fileAt returns the file with path p from files.
func fileAt(files []File, p string) File {
	for _, f := range files {
		if f.Path == p {
			return f
		}
	}
	panic("gateway: no rendered " + p) // Render always makes them
}

// cloudInitDisable is the drop-in that stops cloud-init from writing the
// network configuration again.
func cloudInitDisable() File {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "cloud-init-disable.cfg.tmpl", nil); err != nil {
		panic(err) // a constant template
	}
	return File{Path: CloudInitDisable, Mode: 0o644, Data: b.Bytes()}
}
