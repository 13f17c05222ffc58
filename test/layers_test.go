package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/powerbridge/powerbridge"

// The layering the package comments state, checked on the import graph
// (go list -deps -json, which leaves out what only tests import): the domain
// speaks no protocol; nothing under power knows the server, the metrics or
// the command; the server knows neither SNMP, ssh nor the APC driver; the
// metrics know neither the HTTP face nor a protocol; nothing outside cmd
// reaches into it.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
		Deps       []string
		Standard   bool
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, module) {
			pkgs = append(pkgs, p)
		}
	}
	under := func(path, root string) bool { return path == root || strings.HasPrefix(path, root+"/") }
	protocol := func(d string) bool {
		return under(d, "github.com/gosnmp/gosnmp") || under(d, "golang.org/x/crypto/ssh")
	}
	// The banned paths must be spelt as go list spells them, or a rule
	// would pass on a graph that breaks it: the drivers below the domain
	// do import them.
	for path, dep := range map[string]string{
		module + "/power/apc":      "github.com/gosnmp/gosnmp",
		module + "/power/shutdown": "golang.org/x/crypto/ssh",
		module + "/server":         "net/http",
	} {
		i := slices.IndexFunc(pkgs, func(p pkg) bool { return p.ImportPath == path })
		if i < 0 || !slices.Contains(pkgs[i].Deps, dep) {
			t.Fatalf("go list shows no %s among the dependencies of %s: the rules below would see nothing", dep, path)
		}
	}
	rules := []struct {
		what    string
		applies func(pkg string) bool
		deps    bool // the whole graph below, not only direct imports
		banned  func(dep string) bool
	}{
		{"the domain package power speaks no protocol", func(p string) bool { return p == module+"/power" }, true,
			func(d string) bool { return d == "net/http" || protocol(d) }},
		{"nothing under power knows the server or the command", func(p string) bool { return under(p, module+"/power") }, true,
			func(d string) bool { return under(d, module+"/server") || under(d, module+"/cmd") }},
		{"the domain and its drivers do not know the metrics that observe them", func(p string) bool {
			return under(p, module+"/power") && !under(p, module+"/power/telemetry")
		}, true,
			func(d string) bool { return under(d, module+"/power/telemetry") }},
		{"the server knows neither SNMP, ssh nor the APC driver", func(p string) bool { return under(p, module+"/server") }, true,
			func(d string) bool { return protocol(d) || under(d, module+"/power/apc") }},
		{"the metrics know neither the HTTP face, SNMP, ssh nor the APC driver", func(p string) bool { return under(p, module+"/power/telemetry") }, true,
			func(d string) bool { return under(d, module+"/server") || protocol(d) || under(d, module+"/power/apc") }},
		{"nothing outside cmd imports cmd", func(p string) bool { return !under(p, module+"/cmd") }, false,
			func(d string) bool { return under(d, module+"/cmd") }},
		{"the faces and the metrics know no plug driver or simulator", func(p string) bool {
			return under(p, module+"/server") || under(p, module+"/power/telemetry")
		}, true,
			func(d string) bool { return under(d, module+"/power/plug") || under(d, module+"/power/plugsim") }},
		{"a plug driver knows no SNMP, and its simulator not the driver it is checked against", func(p string) bool {
			return p == module+"/power/plug" || p == module+"/power/plugsim"
		}, true,
			func(d string) bool {
				return protocol(d) || under(d, module+"/power/apc") || d == module+"/power/plug"
			}},
	}
	for _, r := range rules {
		checked := 0
		for _, p := range pkgs {
			if !r.applies(p.ImportPath) {
				continue
			}
			checked++
			deps := p.Imports
			if r.deps {
				deps = p.Deps
			}
			for _, d := range deps {
				if r.banned(d) {
					t.Errorf("%s: %s %s %s", r.what, p.ImportPath, map[bool]string{false: "imports", true: "depends on"}[r.deps], d)
				}
			}
		}
		// A rule that applies to nothing (a package renamed) checks nothing.
		if checked == 0 {
			t.Errorf("%s: no package of the %d go list found is one it applies to", r.what, len(pkgs))
		}
	}
}
