package test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/powerbridge/powerbridge"

// The layering the package comments state, checked on the import graph
// (go list -deps -json): the domain speaks no protocol; nothing under power
// knows the server or the command; the server knows neither SNMP, ssh nor
// the APC driver; nothing outside cmd reaches into it.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
		Deps       []string
		Standard   bool
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
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
	rules := []struct {
		what    string
		applies func(pkg string) bool
		deps    bool // the whole graph below, not only direct imports
		banned  func(dep string) bool
	}{
		{"the domain package power speaks no protocol", func(p string) bool { return p == module+"/power" }, true,
			func(d string) bool {
				return d == "net/http" || under(d, "github.com/gosnmp/gosnmp") || under(d, "golang.org/x/crypto/ssh")
			}},
		{"nothing under power knows the server or the command", func(p string) bool { return under(p, module+"/power") }, true,
			func(d string) bool { return under(d, module+"/server") || under(d, module+"/cmd") }},
		{"the server knows neither SNMP, ssh nor the APC driver", func(p string) bool { return under(p, module+"/server") }, true,
			func(d string) bool {
				return under(d, "github.com/gosnmp/gosnmp") || under(d, "golang.org/x/crypto/ssh") || under(d, module+"/power/apc")
			}},
		{"nothing outside cmd imports cmd", func(p string) bool { return !under(p, module+"/cmd") }, false,
			func(d string) bool { return under(d, module+"/cmd") }},
	}
	checked := 0
	for _, r := range rules {
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
					t.Errorf("%s: %s imports %s", r.what, p.ImportPath, d)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages checked: go list found %d of the module's", checked, len(pkgs))
	}
}
