package gateway

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pathWithoutMan makes PATH a directory holding systemd-analyze alone, the
// one program the unit check runs: a host without man pages (Ubuntu
// minimal, a container), whether or not this one has them.
func pathWithoutMan(t *testing.T) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	if err := os.Symlink(sa, filepath.Join(dir, "systemd-analyze")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
}

// TestUnitCheckNeedsNoManPages: the units carry Documentation=man: lines,
// and systemd-analyze verify runs man for them unless told not to; on a
// host without man the check must still pass (issue 20).
func TestUnitCheckNeedsNoManPages(t *testing.T) {
	pathWithoutMan(t)
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			files, err := Render(specFor(t, c.config, c.firewall))
			if err != nil {
				t.Fatal(err)
			}
			unit := fileAt(files, UnitFile)
			if !strings.Contains(string(unit.Data), "Documentation=man:") {
				t.Fatalf("the unit has no Documentation=man: line, so this test shows nothing:\n%s", unit.Data)
			}
			v := &validator{strict: true}
			if err := v.unit(context.Background(), unit); err != nil {
				t.Fatalf("without man: %v", err)
			}
			if len(v.ran) != 1 || v.ran[0] != "systemd-analyze verify" {
				t.Errorf("ran %q, notes %q; want systemd-analyze verify to have run", v.ran, v.notes)
			}
		})
	}
	// Still a check: a broken unit fails without man too.
	v := &validator{strict: true}
	err := v.unit(context.Background(), File{Path: UnitFile, Data: []byte("[Unit]\nDocumentation=man:nft(8)\n[Service]\nType=sometimes\nExecStart=/bin/true\n")})
	if err == nil || !strings.Contains(err.Error(), "service type") {
		t.Errorf("broken unit without man: err = %v, want systemd-analyze's complaint", err)
	}
}

// TestUnitCheckOlderSystemd: a systemd-analyze without --man (before 235)
// is run without it, and only its complaints about man pages are dropped.
// A script stands in for it.
func TestUnitCheckOlderSystemd(t *testing.T) {
	dir := t.TempDir()
	script := `#!/bin/sh
for a in "$@"; do
	case $a in --man*) echo "systemd-analyze: unrecognized option '$a'" >&2; exit 1;; esac
done
unit=$(basename "$2")
echo "$unit: Command 'man nft(8)' failed with code 1" >&2
if grep -q sometimes "$2"; then echo "$unit: Failed to parse service type, ignoring: sometimes" >&2; fi
exit 1
`
	if err := os.WriteFile(filepath.Join(dir, "systemd-analyze"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx := context.Background()

	v := &validator{strict: true}
	if err := v.unit(ctx, File{Path: UnitFile, Data: []byte("[Unit]\nDocumentation=man:nft(8)\n[Service]\nType=oneshot\nExecStart=/bin/true\n")}); err != nil {
		t.Errorf("good unit: %v", err)
	}
	err := v.unit(ctx, File{Path: UnitFile, Data: []byte("[Unit]\nDocumentation=man:nft(8)\n[Service]\nType=sometimes\nExecStart=/bin/true\n")})
	if err == nil || !strings.Contains(err.Error(), "service type") || strings.Contains(err.Error(), "man nft") {
		t.Errorf("broken unit: err = %v, want the service type complaint alone", err)
	}
}
