package gateway

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas/maastest"
)

// cloudInitNetplan is what cloud-init leaves on a fresh install: DHCP on
// both NICs, matched by MAC.
const cloudInitNetplan = `# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.  To disable cloud-init's
# network configuration capabilities, write a file
# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:
# network: {config: disabled}
network:
    ethernets:
        ens3:
            dhcp4: true
            match:
                macaddress: 52:54:00:a0:01:95
            set-name: ens3
        ens4:
            dhcp4: true
            match:
                macaddress: 52:54:00:a0:23:01
            set-name: ens4
    version: 2
`

// lab is the seed lab: a target root as a fresh MAAS host leaves it, a fake
// MAAS that discovered the cluster subnet with its default .254 gateway, and
// a config file pointing at both.
type lab struct {
	root, config, keyFile string
	maas                  *maastest.Server
	clusterVLAN           int
	subnet                int
	rack                  string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{root: t.TempDir(), maas: maastest.New(t)}
	writePlain(filepath.Join(l.root, "etc/netplan/50-cloud-init.yaml"), []byte(cloudInitNetplan), 0o644)
	writePlain(filepath.Join(l.root, "etc/cloud/cloud.cfg"), []byte("# cloud-init\n"), 0o644)
	writePlain(filepath.Join(l.root, "etc/sysctl.d/99-sysctl.conf"), []byte("#net.ipv4.ip_forward=1\n"), 0o644)

	corpVLAN := l.maas.AddVLAN(0, 0)
	l.clusterVLAN = l.maas.AddVLAN(1, 0)
	l.maas.AddSubnet("192.168.1.0/24", corpVLAN, "192.168.1.1")
	l.subnet = l.maas.AddSubnet("192.168.23.0/24", l.clusterVLAN, "192.168.23.254")
	l.rack = l.maas.AddRack("maas",
		maastest.Iface{Name: "ens3", MAC: "52:54:00:a0:01:95", VLAN: corpVLAN, IP: "192.168.1.195"},
		maastest.Iface{Name: "ens4", MAC: "52:54:00:a0:23:01", VLAN: l.clusterVLAN, IP: "192.168.23.1"})

	dir := t.TempDir()
	l.keyFile = filepath.Join(dir, "maas-api.key")
	os.WriteFile(l.keyFile, []byte(maastest.Key+"\n"), 0o600)
	l.config = filepath.Join(dir, "gateway.yaml")
	l.writeConfig(t)
	return l
}

// writeConfig writes the shipped example, pointed at the fake MAAS.
func (l *lab) writeConfig(t *testing.T) {
	t.Helper()
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(example), "url: http://192.168.1.195:5240/MAAS/", "url: "+l.maas.MAASURL(), 1)
	cfg = strings.Replace(cfg, "api_key_file: /etc/powerbridge/maas-api.key", "api_key_file: "+l.keyFile, 1)
	if err := os.WriteFile(l.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (l *lab) client(t *testing.T) *maas.Client {
	t.Helper()
	k, _ := maas.ParseAPIKey(maastest.Key)
	c, err := maas.New(l.maas.MAASURL(), k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs a command on the lab's copy of a host (no live system), as
// "powerbridge gateway ARGS --root ROOT" does: ARGS is plan, apply, check or
// rollback, and "--skip-maas" may follow. code is the exit status the
// command would have, stdout what it writes, stderr its error.
func (l *lab) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out bytes.Buffer
	e := NewEnv(l.root, config.DefaultStateDir, &out)
	problems, err := l.runCmd(e, args[0], slices.Contains(args[1:], "--skip-maas"))
	switch {
	case err != nil:
		return 1, out.String(), err.Error()
	case problems > 0:
		return 1, out.String(), ""
	}
	return 0, out.String(), ""
}

func (l *lab) runCmd(e *Env, cmd string, skipMAAS bool) (problems int, err error) {
	ctx := context.Background()
	if cmd == "rollback" {
		return 0, Rollback(ctx, e, "")
	}
	s, err := LoadSpec(nil, l.config, Overrides{}, !skipMAAS)
	if err != nil {
		return 0, err
	}
	if !skipMAAS {
		if err := e.ConnectMAAS(s); err != nil {
			return 0, err
		}
	}
	switch cmd {
	case "plan":
		return 0, Plan(ctx, e, s)
	case "apply":
		return 0, Apply(ctx, e, s)
	case "check":
		return Check(ctx, e, s)
	}
	panic("lab: no command " + cmd)
}

// snapshot reads every file under root, for "nothing changed" assertions.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			st, _ := os.Stat(p)
			m[strings.TrimPrefix(p, root)] = st.Mode().String() + " " + string(b)
		}
		return nil
	})
	return m
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// TestPlanApplyApply is the acceptance test: plan shows every file
// diff and API change and touches nothing; check finds the planted .254
// gateway; apply makes it all so (moving cloud-init's netplan file aside and
// turning DHCP on only after the dynamic range exists); a second apply
// changes nothing; check is then clean; rollback restores the files.
func TestPlanApplyApply(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	l := newLab(t)
	before := snapshot(t, l.root)

	code, out, errOut := l.run(t, "plan")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "plan", out,
		"create /etc/netplan/60-powerbridge-gateway.yaml (mode 0600)",
		"+        - 192.168.23.1/24",
		"move aside /etc/netplan/50-cloud-init.yaml to the backup: it defines ens3, ens4",
		"-            dhcp4: true",
		"create /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg",
		"create /etc/sysctl.d/99-zz-powerbridge-gateway.conf",
		"+net.ipv4.ip_forward = 1",
		"create /etc/powerbridge/gateway.nft",
		`+		oifname "corp0" ip saddr 192.168.23.0/24 masquerade`,
		"create /etc/systemd/system/powerbridge-gateway-firewall.service",
		"subnet 192.168.23.0/24: gateway_ip 192.168.23.254 → 192.168.23.1, dns_servers - → 192.168.23.1",
		`create reserved range 192.168.23.100 "apc-pdu"`,
		"create dynamic range 192.168.23.150-192.168.23.250",
		"dhcp_on false → true, primary_rack - → "+l.rack+" (maas)",
		"upstream_dns - → 192.168.1.1",
		"Validated with: netplan generate",
	)
	if got := snapshot(t, l.root); !mapsEqual(got, before) {
		t.Error("plan changed files")
	}
	if m := l.maas.Mutations(); len(m) > 0 {
		t.Errorf("plan changed MAAS: %q", m)
	}

	code, out, _ = l.run(t, "check")
	if code != 1 {
		t.Errorf("check before apply: exit %d, want 1", code)
	}
	mustContain(t, "check", out,
		"problem: MAAS subnet 192.168.23.0/24 hands out gateway 192.168.23.254, not this host's cluster address 192.168.23.1: the nodes have no internet (.254 is MAAS's default",
		"recommission or redeploy them",
		"problem: DHCP is off on VLAN",
		"problem: /etc/netplan/50-cloud-init.yaml: it defines ens3, ens4, and netplan would merge it with ours",
	)

	code, out, errOut = l.run(t, "apply")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "apply", out, "moved aside /etc/netplan/50-cloud-init.yaml", "Done: ")

	// The files.
	for path, mode := range map[string]os.FileMode{
		NetplanFile: 0o600, SysctlFile: 0o644, NFTFile: 0o644, UnitFile: 0o644, CloudInitDisable: 0o644,
	} {
		st, err := os.Stat(filepath.Join(l.root, path))
		if err != nil {
			t.Errorf("apply did not write %s: %v", path, err)
		} else if st.Mode().Perm() != mode {
			t.Errorf("%s has mode %04o, want %04o", path, st.Mode().Perm(), mode)
		}
	}
	if _, err := os.Stat(filepath.Join(l.root, "etc/netplan/50-cloud-init.yaml")); err == nil {
		t.Error("cloud-init's netplan file is still in /etc/netplan")
	}
	saved, _ := filepath.Glob(filepath.Join(l.root, "var/lib/powerbridge/gateway-backups/*/files/etc/netplan/50-cloud-init.yaml"))
	if len(saved) != 1 {
		t.Errorf("cloud-init's netplan file is not in the backup: %v", saved)
	}

	// MAAS.
	if gw, dns := l.maas.Subnet(l.subnet); gw != "192.168.23.1" || !slices.Equal(dns, []string{"192.168.23.1"}) {
		t.Errorf("subnet gateway %s dns %v", gw, dns)
	}
	if on, primary := l.maas.DHCP(l.clusterVLAN); !on || primary != l.rack {
		t.Errorf("DHCP on=%t primary=%q", on, primary)
	}
	if got := l.maas.Ranges(); !slices.Equal(got, []string{"dynamic 192.168.23.150-192.168.23.250 powerbridge gateway: DHCP pool", "reserved 192.168.23.100-192.168.23.100 apc-pdu"}) {
		t.Errorf("ranges %q", got)
	}
	if got := l.maas.Config("upstream_dns"); got != "192.168.1.1" {
		t.Errorf("upstream_dns %v", got)
	}
	muts := l.maas.Mutations()
	order := func(prefix string) int {
		return slices.IndexFunc(muts, func(m string) bool { return strings.HasPrefix(m, prefix) })
	}
	if !(order("PUT subnets/") < order("POST ipranges/ ") && order("POST ipranges/ end_ip=192.168.23.250") < order("PUT vlans/")) {
		t.Errorf("MAAS changes out of order (gateway, ranges, dynamic range before DHCP): %q", muts)
	}
	if i := order("PUT vlans/"); i < 0 || !strings.Contains(muts[i], "dhcp_on=true") {
		t.Errorf("DHCP not turned on with dhcp_on=true: %q", muts)
	}

	// Again: nothing to do.
	afterFirst := snapshot(t, l.root)
	code, out, errOut = l.run(t, "apply")
	if code != 0 {
		t.Fatalf("second apply: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "second apply", out, "No changes")
	if got := l.maas.Mutations(); len(got) != len(muts) {
		t.Errorf("second apply changed MAAS: %q", got[len(muts):])
	}
	if got := snapshot(t, l.root); !mapsEqual(got, afterFirst) {
		t.Error("second apply changed files (or made a backup)")
	}
	code, out, _ = l.run(t, "plan")
	if code != 0 || !strings.Contains(out, "No changes") {
		t.Errorf("plan after apply: exit %d\n%s", code, out)
	}
	code, out, _ = l.run(t, "check")
	if code != 0 || !strings.Contains(out, "No problems found.") {
		t.Errorf("check after apply: exit %d\n%s", code, out)
	}

	// Rollback puts the files back as they were.
	code, out, errOut = l.run(t, "rollback")
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "rollback", out, "restored /etc/netplan/50-cloud-init.yaml", "removed "+NetplanFile, "MAAS is not rolled back", "gateway_ip 192.168.23.254 → 192.168.23.1")
	restored := snapshot(t, l.root)
	for p, want := range before {
		if restored[p] != want {
			t.Errorf("rollback: %s is %q, want %q", p, restored[p], want)
		}
	}
	for p := range restored {
		if _, ok := before[p]; !ok && !strings.HasPrefix(p, "/var/lib/powerbridge/gateway-backups/") {
			t.Errorf("rollback left %s", p)
		}
	}
	code, _, errOut = l.run(t, "rollback")
	if code != 1 || !strings.Contains(errOut, "nothing to roll back") {
		t.Errorf("second rollback: exit %d %s", code, errOut)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCheckFindsPlantedGateway: a subnet whose gateway someone set to .254
// after apply is found again, with its fix.
func TestCheckFindsPlantedGateway(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	l := newLab(t)
	if code, out, errOut := l.run(t, "apply"); code != 0 {
		t.Fatalf("apply: %d\n%s%s", code, out, errOut)
	}
	// As someone in MAAS's UI might: put the gateway back to MAAS's default.
	if _, err := l.client(t).UpdateSubnet(context.Background(), l.subnet, map[string][]string{"gateway_ip": {"192.168.23.254"}}); err != nil {
		t.Fatal(err)
	}
	code, out, _ := l.run(t, "check", "--skip-maas")
	if code != 0 {
		t.Errorf("check --skip-maas looks at MAAS:\n%s", out)
	}
	code, out, _ = l.run(t, "check")
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
	mustContain(t, "check", out, "hands out gateway 192.168.23.254", "fix: powerbridge gateway apply (sets gateway_ip)", "1 problem(s) found.")
}

func TestMAASRefusalIsPassedOn(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	l := newLab(t)
	// A range of someone else's covers the configured PDU address: MAAS
	// refuses our reserved range, and its reason reaches the user.
	l.maas.AddRange("reserved", "192.168.23.90", "192.168.23.110", "switches")
	code, _, errOut := l.run(t, "apply")
	if code != 1 {
		t.Fatalf("apply: exit %d, want 1", code)
	}
	mustContain(t, "apply error", errOut, "Requested reserved range conflicts with an existing range.")
	if strings.Contains(errOut, strings.Split(maastest.Key, ":")[2]) {
		t.Error("the error shows the API key's secret")
	}
}

func TestNoSubnetYet(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	l := newLab(t)
	l.maas = maastest.New(t) // a MAAS whose rack has not reported the cluster NIC yet
	l.writeConfig(t)

	code, out, errOut := l.run(t, "apply")
	if code != 1 {
		t.Fatalf("apply: exit %d, want 1", code)
	}
	mustContain(t, "apply", out, "created "+NetplanFile)
	mustContain(t, "apply error", errOut, "MAAS has no subnet 192.168.23.0/24", "then run apply again")
}

// TestPlanAfterFailedMAASRead: once the files are in place, a plan whose
// read of MAAS fails is an error that says why, never "No changes" (issue
// 12, defect 9).
func TestPlanAfterFailedMAASRead(t *testing.T) {
	t.Parallel()
	need(t, "netplan")
	for _, c := range []struct {
		name string
		fail func(l *lab)
		want string
	}{
		{"MAAS answers 503", func(l *lab) { l.maas.FailWith(http.StatusServiceUnavailable, "MAAS is starting") }, "503"},
		{"MAAS refuses the key", func(l *lab) { l.maas.SetKey("other:consumer1234:secret1234567890") }, "401"},
		{"nothing listens", func(l *lab) { l.maas.Close() }, "connection refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			if code, out, errOut := l.run(t, "apply"); code != 0 {
				t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
			}
			c.fail(l)
			code, out, errOut := l.run(t, "plan")
			if code != 1 {
				t.Errorf("plan: exit %d, want 1", code)
			}
			if strings.Contains(out, "No changes") {
				t.Errorf("plan says \"No changes\" after it failed to read MAAS:\n%s", out)
			}
			mustContain(t, "plan's error", errOut, "reading MAAS at "+l.maas.MAASURL(), c.want, "or run with --skip-maas")
			mustContain(t, "plan", out, "Incomplete: MAAS could not be read")
		})
	}
}
