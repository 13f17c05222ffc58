package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// validator checks files with the real tools before anything is written.
// When a tool cannot run at all (not installed, no privileges) that is a note
// for a review under --root, and an error for the live system (strict).
type validator struct {
	strict bool
	notes  []string
	ran    []string
}

// toolTimeout bounds one tool run; they take milliseconds.
const toolTimeout = 30 * time.Second

// errUnavailable means a tool could not run, as opposed to rejecting a file.
var errUnavailable = errors.New("tool unavailable")

func run(ctx context.Context, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	err = cmd.Run()
	if errors.Is(err, exec.ErrNotFound) {
		err = fmt.Errorf("%w: %s is not installed", errUnavailable, name)
	}
	return o.String(), e.String(), err
}

// inScratchNetns runs a check in a new, empty network namespace, so that
// "nft -c" and "iptables-restore --test" never see or touch the host's
// rules, and work without root through a user namespace.
func inScratchNetns(ctx context.Context, name string, args ...string) (string, string, error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", "", fmt.Errorf("%w: %s is not installed", errUnavailable, name)
	}
	pre := []string{"--net"}
	if os.Geteuid() != 0 {
		pre = []string{"--user", "--map-root-user", "--net"}
	}
	out, errOut, err := run(ctx, "unshare", append(append(pre, name), args...)...)
	if err != nil && (errors.Is(err, errUnavailable) || strings.HasPrefix(errOut, "unshare:")) {
		if os.Geteuid() != 0 {
			return out, errOut, fmt.Errorf("%w: %s needs root or user namespaces (unshare: %s)", errUnavailable, name, strings.TrimSpace(errOut))
		}
		return run(ctx, name, args...)
	}
	return out, errOut, err
}

// all checks the network configuration, the firewall rules and the unit
// that files make, with netplan's view of root's other netplan files
// (those moved aside left out).
func (v *validator) all(ctx context.Context, root string, s *Spec, files []File, movedAside map[string]bool) error {
	if err := v.netplan(ctx, root, fileAt(files, NetplanFile), movedAside); err != nil {
		return err
	}
	if err := v.firewall(ctx, s.Firewall, fileAt(files, s.firewallFile())); err != nil {
		return err
	}
	return v.unit(ctx, fileAt(files, UnitFile))
}

func (v *validator) unavailable(what string, err error) error {
	if v.strict {
		return fmt.Errorf("cannot validate %s: %w", what, err)
	}
	v.notes = append(v.notes, fmt.Sprintf("not validated: %s (%v)", what, strings.TrimPrefix(err.Error(), errUnavailable.Error()+": ")))
	return nil
}

// netplan runs "netplan generate --root-dir" over the YAML netplan would
// read after apply: every file in /lib, /etc and /run/netplan under root
// except those moved aside, plus ours. netplan's exit status is not enough:
// conflicting default routes print "Error: Conflicting default route
// declarations" and exit 0, so any output on stderr is a failure.
func (v *validator) netplan(ctx context.Context, root string, ours File, movedAside map[string]bool) error {
	tmp, err := os.MkdirTemp("", "powerbridge-netplan-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, dir := range []string{"/lib/netplan", "/etc/netplan", "/run/netplan"} {
		names, _ := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
		for _, n := range names {
			p := filepath.Join(dir, filepath.Base(n))
			if p == ours.Path || movedAside[p] {
				continue
			}
			data, err := os.ReadFile(n)
			if err != nil {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			if err := writePlain(filepath.Join(tmp, p), data, 0o600); err != nil {
				return err
			}
		}
	}
	if err := writePlain(filepath.Join(tmp, ours.Path), ours.Data, 0o600); err != nil {
		return err
	}
	_, stderr, err := run(ctx, "netplan", "generate", "--root-dir", tmp)
	if errors.Is(err, errUnavailable) {
		return v.unavailable(ours.Path, err)
	}
	stderr = strings.TrimSpace(strings.ReplaceAll(stderr, tmp, ""))
	if err != nil || stderr != "" {
		if stderr == "" {
			stderr = err.Error()
		}
		return fmt.Errorf("netplan generate rejects the network configuration %s would make:\n%s", ours.Path, indent(stderr))
	}
	v.ran = append(v.ran, "netplan generate")
	return nil
}

// firewall checks the rules file with nft -c or iptables-restore --test.
func (v *validator) firewall(ctx context.Context, backend string, f File) error {
	tmp, err := os.MkdirTemp("", "powerbridge-fw-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p := filepath.Join(tmp, filepath.Base(f.Path))
	if err := writePlain(p, f.Data, 0o644); err != nil {
		return err
	}
	tool, args := "nft", []string{"-c", "-f", p}
	if backend == IPTables {
		tool, args = "iptables-restore", []string{"--test", "--noflush", p}
	}
	_, stderr, err := inScratchNetns(ctx, tool, args...)
	if errors.Is(err, errUnavailable) {
		return v.unavailable(f.Path, err)
	}
	if err != nil {
		msg := strings.TrimSpace(strings.ReplaceAll(stderr, p, f.Path))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s rejects %s:\n%s", tool, f.Path, indent(msg))
	}
	v.ran = append(v.ran, strings.Join(append([]string{tool}, args[:len(args)-1]...), " "))
	return nil
}

// unit runs systemd-analyze verify, which also exits 0 on errors it prints:
// any stderr line about our unit is a failure (lines about other units on
// the system are not ours to judge).
func (v *validator) unit(ctx context.Context, f File) error {
	tmp, err := os.MkdirTemp("", "powerbridge-unit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p := filepath.Join(tmp, filepath.Base(f.Path))
	if err := writePlain(p, f.Data, 0o644); err != nil {
		return err
	}
	stderr, err := verifyUnit(ctx, p)
	if errors.Is(err, errUnavailable) {
		// Not every system has systemd; the unit is then only rendered.
		v.notes = append(v.notes, "not validated: "+f.Path+" (systemd-analyze is not installed)")
		return nil
	}
	var bad []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, UnitName) {
			bad = append(bad, strings.ReplaceAll(line, p, f.Path))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("systemd-analyze verify rejects %s:\n%s", f.Path, indent(strings.Join(bad, "\n")))
	}
	v.ran = append(v.ran, "systemd-analyze verify")
	return nil
}

// verifyUnit runs "systemd-analyze verify" on the unit file p and returns
// its stderr. Without --man=no, verify runs man(1) for every
// Documentation=man: line and fails the unit when man or the page is
// missing ("Command 'man nft(8)' failed"), which is every host without
// man-db: Ubuntu minimal, containers that leave out /usr/share/man. Man
// pages are for the reader; whether they are installed says nothing about
// the unit. systemd-analyze before 235 has no --man: it is run without the
// flag and its lines about man pages are dropped.
func verifyUnit(ctx context.Context, p string) (string, error) {
	_, stderr, err := run(ctx, "systemd-analyze", "verify", "--man=no", p)
	if err == nil || !strings.Contains(stderr, "--man") || !strings.Contains(strings.ToLower(stderr), "unrecognized option") {
		return stderr, err
	}
	_, stderr, err = run(ctx, "systemd-analyze", "verify", p)
	var kept []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, "Command 'man ") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n"), err
}

func writePlain(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile's mode passes through the umask
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
