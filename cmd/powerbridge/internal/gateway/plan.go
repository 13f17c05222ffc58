package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// path is p on the target system, under root.
func (e *Env) path(p string) string { return filepath.Join(e.root, p) }

// File operations a plan can hold.
const (
	opCreate    = "create"
	opUpdate    = "update"
	opRemove    = "remove"
	opMoveAside = "move aside"
)

// fileChange is one file apply writes, removes or moves to the backup.
type fileChange struct {
	Op       string
	Path     string // on the target system
	Mode     fs.FileMode
	OldMode  fs.FileMode
	Old, New []byte
	Why      string
}

// action is one change to the live system, made after the files are written.
type action struct {
	Desc string
	do   func(ctx context.Context) error
}

// plan is everything apply would do, worked out without changing anything.
type plan struct {
	spec      *Spec
	files     []fileChange
	live      []action
	maasView  *maasView
	maas      []maasChange
	maasErr   error // MAAS could not be planned (e.g. the subnet is not there yet)
	notes     []string
	validated []string
	// ipForward is net.ipv4.ip_forward before apply, for rollback.
	ipForward bool
	// what changes, for the live actions and check
	netplanChanged, firewallChanged, unitChanged, sysctlChanged bool
	otherBackendRemoved                                         bool
}

func (p *plan) empty() bool {
	return len(p.files) == 0 && len(p.live) == 0 && len(p.maas) == 0
}

// makePlan works out the changes for s: renders and validates the files,
// compares them with what is on disk, reads the live system and MAAS.
func makePlan(ctx context.Context, e *Env, s *Spec) (*plan, error) {
	p := &plan{spec: s}
	files, moved, err := p.planFiles(e)
	if err != nil {
		return nil, err
	}
	// Everything is validated, changed or not: a file that is already in
	// place and now fails (a new netplan file beside it, say) is news too.
	v := &validator{strict: e.host != nil}
	if err := v.all(ctx, e.root, s, files, moved); err != nil {
		return nil, err
	}
	p.validated, p.notes = v.ran, append(p.notes, v.notes...)

	if e.host != nil {
		if err := p.planLive(ctx, e); err != nil {
			return nil, err
		}
	}
	if e.maas != nil {
		view, err := readMAAS(ctx, e.maas, s)
		if err != nil {
			p.maasErr = err
		} else {
			p.maasView = view
			var notes []string
			p.maas, notes = planMAAS(view, s)
			p.notes = append(p.notes, notes...)
		}
	}
	return p, nil
}

// planFiles lists what apply does to the files: ours written where they
// differ from the disk, the other firewall backend's rules removed, and
// other netplan files that define our NICs moved aside. It returns the
// files rendered and the paths moved aside, for validation.
func (p *plan) planFiles(e *Env) ([]File, map[string]bool, error) {
	s := p.spec
	files, err := Render(s)
	if err != nil {
		return nil, nil, err
	}
	foreigners, err := scanNetplan(e.root, s)
	if err != nil {
		return nil, nil, err
	}
	moves, moved, cloudInit := moveAside(foreigners)
	if cloudInit && isDir(e.path("/etc/cloud")) {
		files = append(files, cloudInitDisable())
	}
	for _, f := range files {
		if err := p.planFile(e, f); err != nil {
			return nil, nil, err
		}
	}
	other := IPTablesFile
	if s.firewallFile() == IPTablesFile {
		other = NFTFile
	}
	if data, mode, err := readFile(e.path(other)); err != nil {
		return nil, nil, err
	} else if data != nil {
		p.otherBackendRemoved = true
		p.files = append(p.files, fileChange{Op: opRemove, Path: other, OldMode: mode, Old: data, Why: "the firewall is now " + s.Firewall})
	}
	// Other files defining our NICs go last, after ours is written: a crash
	// in between leaves two definitions on disk rather than none.
	p.files = append(p.files, moves...)
	p.netplanChanged = p.netplanChanged || len(moves) > 0
	return files, moved, nil
}

// moveAside lists the foreign netplan files to move to the backup, and
// whether cloud-init wrote any of them.
func moveAside(foreigners []foreign) (moves []fileChange, moved map[string]bool, cloudInit bool) {
	moved = map[string]bool{}
	for _, f := range foreigners {
		moved[f.Path] = true
		cloudInit = cloudInit || f.CloudInit
		moves = append(moves, fileChange{
			Op: opMoveAside, Path: f.Path, OldMode: f.Mode, Old: f.Data,
			Why: "it defines " + strings.Join(f.Ours, ", ") + ", and netplan would merge it with ours (its DHCP and addresses stay on)",
		})
	}
	return moves, moved, cloudInit
}

// planFile compares a rendered file with the disk and, where they differ,
// plans its creation or update.
func (p *plan) planFile(e *Env, f File) error {
	old, mode, err := readFile(e.path(f.Path))
	if err != nil {
		return err
	}
	c := fileChange{Path: f.Path, Mode: f.Mode, OldMode: mode, Old: old, New: f.Data}
	switch {
	case old == nil:
		c.Op = opCreate
	case !bytes.Equal(old, f.Data) || mode != f.Mode:
		c.Op = opUpdate
	default:
		return nil
	}
	p.files = append(p.files, c)
	switch f.Path {
	case NetplanFile:
		p.netplanChanged = true
	case NFTFile, IPTablesFile:
		p.firewallChanged = true
	case UnitFile:
		p.unitChanged = true
	case SysctlFile:
		p.sysctlChanged = true
	}
	return nil
}

// planLive lists what apply does to the running system after writing the
// files: the firewall first (so that forwarding never runs without NAT and
// its filter), then forwarding, then the network.
func (p *plan) planLive(ctx context.Context, e *Env) error {
	h := e.host
	var err error
	if p.ipForward, err = h.IPForward(); err != nil {
		return fmt.Errorf("reading ip_forward: %w", err)
	}
	if err := p.planFirewall(ctx, h); err != nil {
		return err
	}
	p.planForwarding(h)
	p.planNetwork(ctx, h)
	return nil
}

// planFirewall reloads systemd for a new unit, removes the other backend's
// rules, enables the unit and (re)loads the rules when they changed or are
// not loaded.
func (p *plan) planFirewall(ctx context.Context, h Host) error {
	s := p.spec
	loaded, err := h.FirewallLoaded(ctx, s.Firewall)
	if err != nil {
		return fmt.Errorf("reading the firewall: %w", err)
	}
	enabled, err := h.UnitEnabled(ctx)
	if err != nil {
		return fmt.Errorf("reading %s: %w", UnitName, err)
	}
	run := func(desc string, argv ...string) {
		p.live = append(p.live, action{Desc: desc, do: func(ctx context.Context) error { return h.Run(ctx, argv...) }})
	}
	if p.unitChanged {
		run("systemctl daemon-reload", "systemctl", "daemon-reload")
	}
	if p.otherBackendRemoved {
		if s.Firewall == IPTables {
			run("remove the nftables table inet "+NFTTable, "sh", "-c", "nft delete table inet "+NFTTable+" 2>/dev/null || true")
		} else {
			run("remove the iptables chains "+IPTForward+", "+IPTPostrouting, "sh", "-c",
				"iptables -D FORWARD -j "+IPTForward+"; iptables -F "+IPTForward+"; iptables -X "+IPTForward+"; "+
					"iptables -t nat -D POSTROUTING -j "+IPTPostrouting+"; iptables -t nat -F "+IPTPostrouting+"; iptables -t nat -X "+IPTPostrouting+"; true")
		}
	}
	if !enabled {
		run("systemctl enable "+UnitName+" (loads the rules at boot)", "systemctl", "enable", UnitName)
	}
	if p.firewallChanged || p.unitChanged || !loaded {
		p.live = append(p.live, action{
			Desc: "systemctl reload-or-restart " + UnitName + " (loads the rules now), then check they are loaded",
			do: func(ctx context.Context) error {
				if err := h.Run(ctx, "systemctl", "reload-or-restart", UnitName); err != nil {
					return err
				}
				if ok, err := h.FirewallLoaded(ctx, s.Firewall); err != nil || !ok {
					return fmt.Errorf("%s ran but the rules are not loaded (%v): see journalctl -u %s", UnitName, err, UnitName)
				}
				return nil
			},
		})
	}
	return nil
}

// planForwarding loads the sysctl drop-in when it changed or forwarding is off.
func (p *plan) planForwarding(h Host) {
	if !p.sysctlChanged && p.ipForward {
		return
	}
	p.live = append(p.live, action{
		Desc: "sysctl -p " + SysctlFile + ", then check net.ipv4.ip_forward is 1",
		do: func(ctx context.Context) error {
			if err := h.Run(ctx, "sysctl", "-p", SysctlFile); err != nil {
				return err
			}
			if on, err := h.IPForward(); err != nil || !on {
				return fmt.Errorf("net.ipv4.ip_forward is still off after sysctl -p (%v): another sysctl.d file sorts after %s?", err, SysctlFile)
			}
			return nil
		},
	})
}

// planNetwork brings the network up with netplan try when it changed or
// the NICs lack their addresses.
func (p *plan) planNetwork(ctx context.Context, h Host) {
	s := p.spec
	ready := func(ctx context.Context) bool {
		a, _ := h.HasAddress(ctx, s.Corp.Address)
		b, _ := h.HasAddress(ctx, s.Cluster.Prefix())
		return a && b
	}
	if !p.netplanChanged && ready(ctx) {
		return
	}
	p.live = append(p.live, action{
		Desc: fmt.Sprintf("netplan try, confirmed once %s has %s and %s has %s (else netplan reverts)", s.Corp.Name, s.Corp.Address, s.Cluster.Name, s.Cluster.Prefix()),
		do:   func(ctx context.Context) error { return h.NetplanTry(ctx, ready) },
	})
}

// readFile returns a file's content and mode, or nil when it does not exist.
func readFile(path string) ([]byte, fs.FileMode, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, st.Mode().Perm(), nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// print writes the plan: every file diff, every live action, every MAAS change.
func (p *plan) print(w io.Writer, e *Env) {
	s := p.spec
	fmt.Fprintf(w, "Gateway for %s (%s, this host %s) through %s (%s), firewall %s.\n",
		s.Cluster.CIDR, s.Cluster.Name, s.Cluster.Address, s.Corp.Name, s.Corp.Address, s.Firewall)
	p.printFiles(w, e)
	p.printLive(w, e)
	p.printMAAS(w, e)
	if len(p.validated) > 0 {
		fmt.Fprintf(w, "\nValidated with: %s.\n", strings.Join(p.validated, ", "))
	}
	for _, n := range p.notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
}

func (p *plan) printFiles(w io.Writer, e *Env) {
	fmt.Fprintf(w, "\nFiles (under %s):\n", e.root)
	if len(p.files) == 0 {
		fmt.Fprintln(w, "  no changes")
	}
	for _, f := range p.files {
		switch f.Op {
		case opMoveAside:
			fmt.Fprintf(w, "  %s %s to the backup: %s\n", f.Op, f.Path, f.Why)
		case opRemove:
			fmt.Fprintf(w, "  %s %s: %s\n", f.Op, f.Path, f.Why)
		default:
			fmt.Fprintf(w, "  %s %s (mode %04o)", f.Op, f.Path, f.Mode)
			if f.Op == opUpdate && f.OldMode != f.Mode {
				fmt.Fprintf(w, ", mode was %04o", f.OldMode)
			}
			fmt.Fprintln(w)
		}
		a, b := "a"+f.Path, "b"+f.Path
		if f.Old == nil {
			a = "/dev/null"
		}
		if f.New == nil {
			b = "/dev/null"
		}
		if d := unifiedDiff(a, b, f.Old, f.New); d != "" {
			fmt.Fprint(w, indent(d)+"\n")
		}
	}
}

func (p *plan) printLive(w io.Writer, e *Env) {
	if e.host == nil {
		fmt.Fprintf(w, "\nLive system: untouched (--root %s)\n", e.root)
		return
	}
	fmt.Fprintln(w, "\nLive system:")
	if len(p.live) == 0 {
		fmt.Fprintln(w, "  no changes")
	}
	for _, a := range p.live {
		fmt.Fprintf(w, "  - %s\n", a.Desc)
	}
}

func (p *plan) printMAAS(w io.Writer, e *Env) {
	switch {
	case e.maas == nil:
		fmt.Fprintln(w, "\nMAAS: untouched (--skip-maas)")
		return
	case p.maasErr != nil:
		fmt.Fprintf(w, "\nMAAS at %s: cannot plan: %v\n", e.maas.URL(), p.maasErr)
		return
	}
	fmt.Fprintf(w, "\nMAAS at %s: %s\n", e.maas.URL(), p.maasView.summary())
	if len(p.maas) == 0 {
		fmt.Fprintln(w, "  no changes")
	}
	for _, c := range p.maas {
		fmt.Fprintf(w, "  - %s\n", c.Desc)
	}
}

func (p *plan) count() int { return len(p.files) + len(p.live) + len(p.maas) }
