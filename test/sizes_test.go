package test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Size limits, measured on the source: package main of cmd/powerbridge stays
// wiring (under 1,500 lines), no file outgrows one idea (500 lines), and a
// function over 60 lines is long only where a table or a straight sequence
// reads better whole, which its doc comment says ("Over 60 lines, ...").
// Test files are not counted.
const (
	maxMainLines = 1500
	maxFileLines = 500
	maxFuncLines = 60
)

func TestSizes(t *testing.T) {
	root := ".."
	fset := token.NewFileSet()
	mainLines := 0
	offends := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		lines := fset.File(f.Pos()).LineCount()
		if filepath.Dir(rel) == "cmd/powerbridge" {
			mainLines += lines
		}
		if lines > maxFileLines {
			offends[rel] = fmt.Sprintf("is %d lines long, over %d", lines, maxFileLines)
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if n > maxFuncLines && !strings.Contains(strings.ToLower(fd.Doc.Text()), "over 60 lines") {
				offends[rel+":"+fd.Name.Name] = fmt.Sprintf("is %d lines long, over %d, and its doc comment does not say why (\"Over 60 lines, ...\")", n, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if mainLines == 0 {
		t.Fatal("no non-test lines found in cmd/powerbridge: the walk is looking in the wrong place")
	}
	if mainLines >= maxMainLines {
		t.Errorf("package main of cmd/powerbridge has %d non-test lines, %d or more: move what is not wiring into a package", mainLines, maxMainLines)
	}
	for what, why := range offends {
		t.Errorf("%s %s", what, why)
	}
}
