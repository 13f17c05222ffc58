// Package config reads powerbridge's YAML configuration file.
//
// Loading is strict: an unknown key, a value of the wrong kind, a bad duration
// or an inconsistent mapping is an error that names the file, the line and the
// key, and every such error is reported, not just the first. A loaded File is a
// valid File: defaults are applied and secrets read from their files.
//
// The package knows nothing of SNMP, HTTP or ssh; cmd/powerbridge turns a File
// into the parts that do. What the domain and the drivers define, it takes
// from them rather than keeping a copy: outlets decode into power.OutletRef,
// and the PDU dialects and SNMPv3 protocols it accepts are the ones power/apc
// lists.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string
	Line int
	Key  string // dotted path, e.g. "pdus[0].snmp.version"; empty for the whole file
	Msg  string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a file, in the order of the file.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates the configuration file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path)
}

// Parse validates a configuration held in memory; name is what errors call it.
// Relative *_file paths are read relative to the working directory.
func Parse(data []byte, name string) (*File, error) {
	c := &checker{file: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: name, Msg: "the file is empty"}}
		}
		return nil, Problems{syntaxProblem(name, err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	var f File
	c.decode(root, &f, "")
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	f.validate(c.section(root, ""))
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	return &f, nil
}

// Decode strictly decodes one section of a file into out (a pointer to a
// struct with yaml tags), for parts of the program that own a section of
// their own. key is the section's path, file the file's name for messages.
func Decode(file string, n *yaml.Node, key string, out any) error {
	c := &checker{file: file}
	c.decode(n, out, key)
	if len(c.problems) > 0 {
		return c.problems
	}
	return nil
}

// syntaxProblem turns a YAML syntax error ("yaml: line 3: ...") into a Problem.
func syntaxProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return Problem{File: file, Line: line, Msg: msg}
}
