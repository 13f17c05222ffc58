package test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// What ships: deploy/build.sh (the one place powerbridge is built), the
// Dockerfile that must keep to it, the systemd unit and sysusers file, and
// the release tarball. There is no Docker engine here: the Dockerfile's build
// stage is reproduced by running the same script on a copy of the tree
// without what .dockerignore leaves out, and the Dockerfile itself is held
// to that script by TestDockerfileKeepsToTheBuildScript.

const repo = ".." // the tests run in test/

// runScript runs a shell script of the repository with extra environment
// and returns its combined output, failing the test if it fails.
func runScript(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildStatic builds powerbridge with deploy/build.sh from repo into out.
func buildStatic(t *testing.T, out, version string) {
	t.Helper()
	runScript(t, repo, []string{"VERSION=" + version}, "deploy/build.sh", out)
}

// checkStatic fails unless path is a static, stripped ELF executable that
// runs and reports version.
func checkStatic(t *testing.T, path, version string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s is not an ELF file: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader (PT_INTERP): it is not static", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", path, libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s has a symbol table: it was not built with -s -w", path)
	}
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil || string(out) != "powerbridge "+version+"\n" {
		t.Errorf("%s version: %q, %v; want %q", path, out, err, "powerbridge "+version+"\n")
	}
}

// dockerContext copies the tree as `docker build .` would send it: without
// the top-level names .dockerignore lists. A pattern it cannot reproduce
// fails the test rather than being skipped.
func dockerContext(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ignored := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(line, "/"), "/")
		if strings.ContainsAny(name, "*?[!/") {
			t.Fatalf(".dockerignore pattern %q: this test reproduces top-level names only; extend it with the pattern", line)
		}
		ignored[name] = true
	}
	dst := t.TempDir()
	root, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		if top, _, _ := strings.Cut(rel, string(filepath.Separator)); ignored[top] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil // sockets, links: nothing the build reads
	})
	if err != nil {
		t.Fatalf("copying the build context: %v", err)
	}
	return dst
}

// The Dockerfile's build stage, reproduced: deploy/build.sh on the build
// context (no .git), with a version passed as the build argument is.
func TestBuildScriptMakesAStaticBinary(t *testing.T) {
	ctx := dockerContext(t)
	out := filepath.Join(t.TempDir(), "powerbridge")
	runScript(t, ctx, []string{"VERSION=v0.0.0-docker"}, "deploy/build.sh", out)
	checkStatic(t, out, "v0.0.0-docker")
}

// dockerfile is a Dockerfile's instructions by stage.
type dockerStage struct {
	from, name string
	ins        []string // "RUN ...", continuation lines joined
}

func parseDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []dockerStage
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		in := cur.String()
		cur.Reset()
		if f := strings.Fields(in); strings.EqualFold(f[0], "FROM") {
			st := dockerStage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				st.name = f[3]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before any FROM", in)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	return stages
}

// execForm decodes the JSON array of an instruction such as
// `ENTRYPOINT ["/bin/x"]`; distroless has no shell for the shell form.
func execForm(t *testing.T, in, keyword string) []string {
	t.Helper()
	rest := strings.TrimSpace(strings.TrimPrefix(in, keyword))
	var argv []string
	if err := json.Unmarshal([]byte(rest), &argv); err != nil || len(argv) == 0 {
		t.Errorf("Dockerfile: %q is not in exec form (a JSON array): the final image has no shell", in)
	}
	return argv
}

// The Dockerfile builds with deploy/build.sh and nothing else, on the Go
// release go.mod asks for, and runs the binary it built, as a non-root user,
// with a HEALTHCHECK of `powerbridge healthcheck`.
func TestDockerfileKeepsToTheBuildScript(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, then the final image)", len(stages))
	}
	build, final := stages[0], stages[1]

	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if want := "golang:" + string(m[1]) + "-"; !strings.HasPrefix(build.from, want) {
		t.Errorf("build stage FROM %s; go.mod asks for Go %s: want %s...", build.from, m[1], want)
	}

	const out = "/out/powerbridge"
	var builds int
	for _, st := range stages {
		for _, in := range st.ins {
			if strings.Contains(in, "go build") || strings.Contains(in, "go install") {
				t.Errorf("Dockerfile builds Go itself (%q): build with deploy/build.sh, the one place builds are defined", in)
			}
			if strings.HasPrefix(in, "RUN ") && strings.Contains(in, "deploy/build.sh "+out) {
				builds++
			}
		}
	}
	if builds != 1 {
		t.Errorf("Dockerfile runs deploy/build.sh %s %d times, want once", out, builds)
	}

	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s, want a distroless/static image (the binary is static)", final.from)
	}
	var bin, user string
	var entry, health []string
	for _, in := range final.ins {
		f := strings.Fields(in)
		switch strings.ToUpper(f[0]) {
		case "COPY":
			if slices.Contains(f, "--from="+build.name) && slices.Contains(f, out) {
				bin = f[len(f)-1]
			}
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = execForm(t, in, f[0])
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(in, " CMD ")
			if !ok {
				t.Errorf("HEALTHCHECK %q has no CMD", in)
				continue
			}
			health = execForm(t, "CMD "+strings.TrimSpace(cmd), "CMD")
		}
	}
	switch {
	case bin == "":
		t.Errorf("the final stage does not COPY %s from the %s stage", out, build.name)
	case len(entry) != 1 || entry[0] != bin:
		t.Errorf("ENTRYPOINT %q, want [%q], the binary the build stage made", entry, bin)
	case len(health) < 2 || health[0] != bin || health[1] != "healthcheck":
		t.Errorf("HEALTHCHECK runs %q, want [%q healthcheck ...]", health, bin)
	}
	if uid, _, _ := strings.Cut(user, ":"); user == "" || uid == "root" || uid == "0" {
		t.Errorf("the final image runs as %q, want a non-root user", user)
	}
}

// systemdRoot makes a root directory for systemd-analyze: the host's unit
// files (aliases left out: systemd cannot follow them under --root) so that
// sysinit.target and the targets our unit names resolve as on a real host.
func systemdRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	units := filepath.Join(root, "usr/lib/systemd/system")
	if err := os.MkdirAll(units, 0o755); err != nil {
		t.Fatal(err)
	}
	hostUnits := "/usr/lib/systemd/system"
	if _, err := os.Stat(hostUnits); err != nil {
		hostUnits = "/lib/systemd/system"
	}
	entries, err := os.ReadDir(hostUnits)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(hostUnits, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(units, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// verifyUnit runs systemd-analyze verify on unit (a path inside root) and
// returns its complaints about powerbridge's units; it also exits 0 on
// some errors it prints, so the output decides. --man=no: verify would
// otherwise run man on any man: Documentation link, and fail on a host
// without man pages (a minimal install, a container).
func verifyUnit(t *testing.T, root, unit string) []string {
	t.Helper()
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root, unit).CombinedOutput()
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line = strings.ReplaceAll(line, root, "ROOT")
		if strings.Contains(line, "powerbridge") {
			bad = append(bad, line)
		} else if line != "" {
			t.Logf("systemd-analyze, about another unit: %s", line)
		}
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("systemd-analyze: %v", err)
	}
	if err != nil && len(bad) == 0 {
		bad = append(bad, fmt.Sprintf("systemd-analyze verify failed (%v):\n%s", err, out))
	}
	return bad
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (test/run.sh installs it)", tool)
		}
	}
}

// execStart returns the program of the unit's ExecStart.
func execStart(t *testing.T, unit []byte) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^ExecStart=[-@:+!]*(\S+)`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("the unit has no ExecStart")
	}
	return string(m[1])
}

// hostPrograms copies into root the programs of the unit's other Exec*
// lines (such as /bin/kill for ExecReload) from this host, where a real
// install finds them: verify checks that each one is there.
func hostPrograms(t *testing.T, root string, unit []byte) {
	t.Helper()
	for _, m := range regexp.MustCompile(`(?m)^Exec(?:Start(?:Pre|Post)|Reload|Stop(?:Post)?|Condition)=[-@:+!]*(\S+)`).FindAllSubmatch(unit, -1) {
		prog := string(m[1])
		data, err := os.ReadFile(prog)
		if err != nil {
			t.Fatalf("the unit runs %s, which this host lacks: %v", prog, err)
		}
		dst := filepath.Join(root, prog)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// deploy/powerbridge.service, unchanged, passes systemd-analyze verify with
// the binary where its ExecStart says (verify checks it is there and
// executable), keeps a low exposure in systemd-analyze security, and a
// broken copy of it is caught, so that a quiet verify means something.
func TestSystemdUnitVerifies(t *testing.T) {
	needTools(t, "systemd-analyze")
	unit, err := os.ReadFile(filepath.Join(repo, "deploy/powerbridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	root := systemdRoot(t)
	bin := filepath.Join(root, execStart(t, unit))
	buildStatic(t, bin, "v0.0.0-unit")
	hostPrograms(t, root, unit)
	dir := filepath.Join(root, "etc/systemd/system")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "powerbridge.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("verify", func(t *testing.T) {
		if bad := verifyUnit(t, root, "/etc/systemd/system/powerbridge.service"); len(bad) > 0 {
			t.Errorf("systemd-analyze verify complains about deploy/powerbridge.service:\n%s", strings.Join(bad, "\n"))
		}
	})
	t.Run("security", func(t *testing.T) {
		// --threshold is ten times the exposure level: 20 is 2.0 of 10.
		out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--root="+root, "--threshold=20",
			"/etc/systemd/system/powerbridge.service").CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze security: exposure above 2.0 (%v):\n%s", err, out)
		}
	})
	t.Run("a broken copy is caught", func(t *testing.T) {
		broken := strings.Replace(string(unit), "NoNewPrivileges=yes", "NoNewPrivilege=yes", 1)
		if err := os.WriteFile(filepath.Join(dir, "powerbridge-broken.service"), []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		if bad := verifyUnit(t, root, "/etc/systemd/system/powerbridge-broken.service"); len(bad) == 0 {
			t.Error("systemd-analyze verify says nothing of an unknown key: this test cannot see a broken unit")
		}
	})
}

// deploy/powerbridge.sysusers makes the user and group the unit runs as.
func TestSysusersMakesTheServiceUser(t *testing.T) {
	needTools(t, "systemd-sysusers")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	conf, err := filepath.Abs(filepath.Join(repo, "deploy/powerbridge.sysusers"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-sysusers", "--root="+root, conf).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	checkServiceUser(t, root)
}

func checkServiceUser(t *testing.T, root string) {
	t.Helper()
	unit, err := os.ReadFile(filepath.Join(repo, "deploy/powerbridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []struct{ key, file string }{{"User", "passwd"}, {"Group", "group"}} {
		m := regexp.MustCompile(`(?m)^` + kv.key + `=(\S+)`).FindSubmatch(unit)
		if m == nil {
			t.Errorf("the unit sets no %s=", kv.key)
			continue
		}
		db, _ := os.ReadFile(filepath.Join(root, "etc", kv.file))
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(string(m[1])) + `:`).Match(db) {
			t.Errorf("%s=%s of the unit is not in the %s file systemd-sysusers wrote:\n%s", kv.key, m[1], kv.file, db)
		}
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !regexp.MustCompile(`(?m)^powerbridge:.*:/usr/sbin/nologin$`).Match(passwd) {
		t.Errorf("the powerbridge user can log in:\n%s", passwd)
	}
}

// deploy/release.sh makes the documented tarball: its layout, files equal
// to their sources, the same bytes from the same inputs, and an install by
// the README's command that systemd accepts as it is.
func TestReleaseTarball(t *testing.T) {
	const version = "v9.9.9-e2e"
	outdir := t.TempDir()
	env := []string{"VERSION=" + version, "SOURCE_DATE_EPOCH=1700000000"}
	printed := strings.TrimSpace(runScript(t, repo, env, "deploy/release.sh", outdir))
	name := fmt.Sprintf("powerbridge-%s-%s-%s", version, runtime.GOOS, runtime.GOARCH)
	tarball := filepath.Join(outdir, name+".tar.gz")
	if !strings.HasSuffix(printed, tarball) {
		t.Fatalf("release.sh printed %q, want the tarball's path %s", printed, tarball)
	}
	first, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("layout", func(t *testing.T) {
		want := map[string]struct {
			mode   int64
			source string
		}{
			name + "/bin/powerbridge":                          {0o755, ""},
			name + "/etc/powerbridge/powerbridge.example.yaml": {0o644, "deploy/powerbridge.example.yaml"},
			name + "/lib/systemd/system/powerbridge.service":   {0o644, "deploy/powerbridge.service"},
			name + "/lib/sysusers.d/powerbridge.conf":          {0o644, "deploy/powerbridge.sysusers"},
			name + "/share/doc/powerbridge/README.md":          {0o644, "README.md"},
		}
		zr, err := gzip.NewReader(bytes.NewReader(first))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		seen := map[string]bool{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s is owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
			}
			if h.Typeflag == tar.TypeDir {
				if !strings.HasPrefix(h.Name, name+"/") || h.Mode&0o777 != 0o755 {
					t.Errorf("directory %s mode %o, want under %s/ with mode 755", h.Name, h.Mode, name)
				}
				continue
			}
			w, ok := want[h.Name]
			if !ok {
				t.Errorf("unexpected %s in the tarball", h.Name)
				continue
			}
			seen[h.Name] = true
			if h.Mode&0o777 != w.mode {
				t.Errorf("%s mode %o, want %o", h.Name, h.Mode&0o777, w.mode)
			}
			if w.source == "" {
				continue
			}
			got, _ := io.ReadAll(tr)
			src, err := os.ReadFile(filepath.Join(repo, w.source))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, src) {
				t.Errorf("%s differs from %s", h.Name, w.source)
			}
		}
		for n := range want {
			if !seen[n] {
				t.Errorf("the tarball lacks %s", n)
			}
		}
	})

	t.Run("same inputs, same bytes", func(t *testing.T) {
		again := t.TempDir()
		runScript(t, repo, env, "deploy/release.sh", again)
		second, err := os.ReadFile(filepath.Join(again, name+".tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Error("two runs of release.sh on the same tree made different tarballs")
		}
	})

	t.Run("install into /usr/local", func(t *testing.T) {
		needTools(t, "tar", "systemd-analyze", "systemd-sysusers")
		root := systemdRoot(t)
		local := filepath.Join(root, "usr/local")
		os.MkdirAll(local, 0o755)
		os.MkdirAll(filepath.Join(root, "etc"), 0o755)
		// The README's install command, with --root's directory for /.
		if out, err := exec.Command("tar", "-C", local, "--strip-components=1", "-xzf", tarball).CombinedOutput(); err != nil {
			t.Fatalf("tar: %v\n%s", err, out)
		}
		checkStatic(t, filepath.Join(local, "bin/powerbridge"), version)
		// systemd-sysusers reads /usr/local/lib/sysusers.d by itself.
		if out, err := exec.Command("systemd-sysusers", "--root="+root).CombinedOutput(); err != nil {
			t.Fatalf("systemd-sysusers: %v\n%s", err, out)
		}
		checkServiceUser(t, root)
		// systemd reads /usr/local/lib/systemd/system, and the unit's
		// ExecStart must be where the tarball put the binary.
		unit, err := os.ReadFile(filepath.Join(local, "lib/systemd/system/powerbridge.service"))
		if err != nil {
			t.Fatal(err)
		}
		hostPrograms(t, root, unit)
		if bad := verifyUnit(t, root, "/usr/local/lib/systemd/system/powerbridge.service"); len(bad) > 0 {
			t.Errorf("the installed unit does not verify:\n%s", strings.Join(bad, "\n"))
		}
	})
}
