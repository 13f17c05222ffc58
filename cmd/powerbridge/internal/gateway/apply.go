package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
)

// manifest records what an apply changed, in its backup directory, so that
// rollback can put it back.
type manifest struct {
	Created time.Time   `json:"created"`
	Files   []savedFile `json:"files"`
	// IPForward is net.ipv4.ip_forward before apply; nil under --root.
	IPForward *bool `json:"ip_forward_before,omitempty"`
	// MAAS lists the API changes made, with their old values.
	MAAS []string `json:"maas_changes,omitempty"`
}

type savedFile struct {
	Path    string      `json:"path"`    // on the target system
	Existed bool        `json:"existed"` // false: apply created it, rollback removes it
	Mode    fs.FileMode `json:"mode,omitempty"`
	Saved   string      `json:"saved,omitempty"` // the old content, relative to the backup directory
}

const backupsDir = "gateway-backups"

// backupRoot is the directory of all backups, on the target system.
func (e *Env) backupRoot() string { return filepath.Join(e.stateDir, backupsDir) }

type backup struct {
	dir string // on this system (under root)
	m   manifest
}

func (e *Env) newBackup(p *plan) (*backup, error) {
	now := e.now().UTC()
	// Nanoseconds keep two applies within a second apart, and the names sort by time.
	name := now.Format("20060102T150405.000000000Z")
	b := &backup{dir: e.path(filepath.Join(e.backupRoot(), name)), m: manifest{Created: now}}
	if e.host != nil {
		fwd := p.ipForward
		b.m.IPForward = &fwd
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the backup directory: %w", err)
	}
	return b, nil
}

// save keeps a file's old content before it is changed.
func (b *backup) save(f fileChange) error {
	s := savedFile{Path: f.Path, Existed: f.Old != nil, Mode: f.OldMode}
	if f.Old != nil {
		s.Saved = filepath.Join("files", f.Path)
		if err := atomicfile.Write(filepath.Join(b.dir, s.Saved), f.Old, 0o600); err != nil {
			return fmt.Errorf("backing up %s: %w", f.Path, err)
		}
	}
	b.m.Files = append(b.m.Files, s)
	return b.write()
}

func (b *backup) write() error {
	data, err := json.MarshalIndent(b.m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(b.dir, "manifest.json"), append(data, '\n'), 0o600)
}

// Apply makes the plan real: backup, files, live system, MAAS. It stops at
// the first failure and says what was done and how to undo it.
func Apply(ctx context.Context, e *Env, s *Spec) error {
	p, err := makePlan(ctx, e, s)
	if err != nil {
		return err
	}
	w := e.out
	if p.empty() {
		if p.maasErr != nil {
			return fmt.Errorf("MAAS: %w", p.maasErr)
		}
		fmt.Fprintln(w, "No changes: the gateway is set up as configured.")
		for _, n := range p.notes {
			fmt.Fprintf(w, "Note: %s\n", n)
		}
		return nil
	}
	b, err := e.newBackup(p)
	if err != nil {
		return err
	}
	if err := b.write(); err != nil {
		return err
	}
	undo := fmt.Sprintf("powerbridge gateway rollback restores the files from %s", b.dir)
	if err := p.writeFiles(e, b, undo); err != nil {
		return err
	}
	for _, a := range p.live {
		fmt.Fprintf(w, "running: %s\n", a.Desc)
		if err := a.do(ctx); err != nil {
			return fmt.Errorf("%s: %w\nThe files are written; %s", a.Desc, err, undo)
		}
	}
	if p.maasErr != nil {
		return fmt.Errorf("MAAS: %w", p.maasErr)
	}
	if err := p.changeMAAS(ctx, e, b); err != nil {
		return err
	}
	for _, n := range p.notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	fmt.Fprintf(w, "Done: %d change(s). Backup in %s (powerbridge gateway rollback restores it).\n", p.count(), b.dir)
	return nil
}

// writeFiles saves each file's old content to the backup, then writes,
// removes or moves it aside.
func (p *plan) writeFiles(e *Env, b *backup, undo string) error {
	for _, f := range p.files {
		if err := b.save(f); err != nil {
			return err
		}
		target := e.path(f.Path)
		var err error
		switch f.Op {
		case opMoveAside, opRemove:
			err = os.Remove(target)
		default:
			err = atomicfile.Write(target, f.New, f.Mode)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w\n%s", f.Op, f.Path, err, undo)
		}
		fmt.Fprintf(e.out, "%s %s\n", opPast[f.Op], f.Path)
	}
	return nil
}

// changeMAAS makes the API changes in order, each recorded in the backup's
// manifest as soon as it is made.
func (p *plan) changeMAAS(ctx context.Context, e *Env, b *backup) error {
	for _, c := range p.maas {
		if err := c.do(ctx, e.maas); err != nil {
			return fmt.Errorf("MAAS: %s: %w", c.Desc, err)
		}
		b.m.MAAS = append(b.m.MAAS, c.Desc)
		if err := b.write(); err != nil {
			return err
		}
		fmt.Fprintf(e.out, "MAAS: %s\n", c.Desc)
	}
	return nil
}

var opPast = map[string]string{opCreate: "created", opUpdate: "updated", opRemove: "removed", opMoveAside: "moved aside"}

// Rollback restores the files saved by the newest apply not yet rolled back
// (or the backup named), and marks that backup as rolled back so that the
// next rollback goes one further back. MAAS changes are listed, not undone:
// putting back MAAS's .254 gateway would only break the nodes again.
func Rollback(ctx context.Context, e *Env, name string) error {
	dir, err := e.findBackup(name)
	if err != nil {
		return err
	}
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	w := e.out
	fmt.Fprintf(w, "Rolling back to before the apply of %s (%s).\n", m.Created.Format(time.RFC3339), dir)
	if e.host != nil && m.removes(UnitFile) {
		// Stop it while systemd still knows it: its ExecStop removes the rules.
		fmt.Fprintf(w, "running: systemctl disable --now %s\n", UnitName)
		if err := e.host.Run(ctx, "systemctl", "disable", "--now", UnitName); err != nil {
			fmt.Fprintf(w, "warning: %v\n", err)
		}
	}
	touched, err := m.restoreFiles(e, dir)
	if err != nil {
		return err
	}
	if e.host != nil {
		m.rollbackLive(ctx, e, touched)
	}
	m.printLeftToDo(w, touched)
	if err := os.Rename(dir, dir+".rolled-back"); err != nil {
		return fmt.Errorf("marking the backup as rolled back: %w", err)
	}
	fmt.Fprintln(w, "Rolled back.")
	return nil
}

func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the backup: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// removes tells whether the apply created the file at p, so that rollback
// removes it.
func (m *manifest) removes(p string) bool {
	for _, f := range m.Files {
		if f.Path == p && !f.Existed {
			return true
		}
	}
	return false
}

// restoreFiles puts back every file the apply changed, last first, and
// returns the paths it touched.
func (m *manifest) restoreFiles(e *Env, dir string) (map[string]bool, error) {
	touched := map[string]bool{}
	for i := len(m.Files) - 1; i >= 0; i-- {
		f := m.Files[i]
		target := e.path(f.Path)
		touched[f.Path] = true
		if !f.Existed {
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("removing %s: %w", f.Path, err)
			}
			fmt.Fprintf(e.out, "removed %s\n", f.Path)
			continue
		}
		old, err := os.ReadFile(filepath.Join(dir, f.Saved))
		if err != nil {
			return nil, fmt.Errorf("reading the saved %s: %w", f.Path, err)
		}
		if err := atomicfile.Write(target, old, f.Mode); err != nil {
			return nil, fmt.Errorf("restoring %s: %w", f.Path, err)
		}
		fmt.Fprintf(e.out, "restored %s\n", f.Path)
	}
	return touched, nil
}

// rollbackLive reloads what the restored files feed: systemd and the unit,
// and forwarding when it was off before the apply. A step that fails is a
// warning: the files are back either way.
func (m *manifest) rollbackLive(ctx context.Context, e *Env, touched map[string]bool) {
	step := func(argv ...string) {
		fmt.Fprintf(e.out, "running: %s\n", strings.Join(argv, " "))
		if err := e.host.Run(ctx, argv...); err != nil {
			fmt.Fprintf(e.out, "warning: %v\n", err)
		}
	}
	if touched[UnitFile] {
		step("systemctl", "daemon-reload")
		if !m.removes(UnitFile) {
			step("systemctl", "reload-or-restart", UnitName)
		}
	}
	if touched[SysctlFile] && m.IPForward != nil && !*m.IPForward {
		step("sysctl", "-w", "net.ipv4.ip_forward=0")
	}
}

// printLeftToDo says what rollback does not do: bring the old network up,
// undo MAAS's changes.
func (m *manifest) printLeftToDo(w io.Writer, touched map[string]bool) {
	var netplanFiles []string
	for p := range touched {
		if strings.HasPrefix(p, "/etc/netplan/") {
			netplanFiles = append(netplanFiles, p)
		}
	}
	sort.Strings(netplanFiles)
	if len(netplanFiles) > 0 {
		fmt.Fprintf(w, "The network configuration (%s) is restored on disk but not live: run \"netplan try\" to bring it up.\n", strings.Join(netplanFiles, ", "))
	}
	if len(m.MAAS) > 0 {
		fmt.Fprintln(w, "MAAS is not rolled back (its old gateway would break the nodes again); apply changed:")
		for _, c := range m.MAAS {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	}
}

// findBackup returns the named backup, or the newest one not rolled back.
func (e *Env) findBackup(name string) (string, error) {
	root := e.path(e.backupRoot())
	if name != "" {
		dir := filepath.Join(root, filepath.Base(name))
		if !isDir(dir) {
			return "", fmt.Errorf("no backup %s in %s", name, root)
		}
		return dir, nil
	}
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var names []string
	for _, en := range entries {
		if en.IsDir() && !strings.HasSuffix(en.Name(), ".rolled-back") {
			names = append(names, en.Name())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("nothing to roll back: no backups in %s", root)
	}
	sort.Strings(names)
	return filepath.Join(root, names[len(names)-1]), nil
}
