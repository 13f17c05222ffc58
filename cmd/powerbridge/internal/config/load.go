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
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds the configuration file. A rack's is a few KiB, and a
// fleet of 1,000 PDUs with a machine on each of 24,000 outlets about
// 1.3 MB; a log file or /dev/zero given by mistake must be an error, not a
// read that fills memory.
const MaxFileSize = 8 << 20

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

// Load reads and validates the configuration file at path, which must be a
// regular file of at most MaxFileSize bytes. Besides what Parse checks, it
// checks the paths the running service writes to (state_dir, audit_log) the
// way serve uses them, so that check-config refuses what serve would.
func Load(path string) (*File, error) {
	data, err := ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return parse(data, path, true)
}

// Parse validates a configuration held in memory; name is what errors call it.
// Relative *_file paths are read relative to the working directory. Unlike
// Load it leaves state_dir and audit_log unchecked: a config held in memory,
// such as the built-in demo, keeps no state.
func Parse(data []byte, name string) (*File, error) {
	return parse(data, name, false)
}

func parse(data []byte, name string, paths bool) (*File, error) {
	c := &checker{file: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: name, Msg: "the file is empty"}}
		}
		return nil, Problems{syntaxProblem(name, data, err)}
	}
	// yaml.v3 stops at the end of the first document; what follows a
	// "---" would be silently ignored.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, Problems{syntaxProblem(name, data, err)}
	default:
		return nil, Problems{{File: name, Line: next.Line, Msg: "a second YAML document (after ---): the file must hold one config, not several"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	c.duplicates(root, "")
	problems := c.problems
	c.problems = nil
	var f File
	c.decode(root, &f, "")
	// Validation goes on after a value of the wrong kind, so that every
	// problem is listed; but a rule about a key that could not be decoded
	// (or a section holding it, or a key inside it) would only repeat the
	// problem in other words, and is left out.
	undecoded := c.problems
	problems = append(problems, undecoded...)
	c.problems = nil
	f.validate(c.section(root, ""))
	f.validateRacks(c.section(root, ""))
	if paths {
		f.validatePaths(c.section(root, ""))
	}
	for _, p := range c.problems {
		if !about(undecoded, p.Key) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, problems
	}
	return &f, nil
}

// about reports whether key is one of the keys of ps, or a section holding
// one, or inside one.
func about(ps Problems, key string) bool {
	for _, p := range ps {
		if within(key, p.Key) || within(p.Key, key) {
			return true
		}
	}
	return false
}

// within reports whether key is outer or a key inside it.
func within(key, outer string) bool {
	if !strings.HasPrefix(key, outer) {
		return false
	}
	rest := key[len(outer):]
	return outer == "" || rest == "" || rest[0] == '.' || rest[0] == '['
}

// ReadFile reads the regular file at path, of at most limit bytes. Anything
// else (a FIFO, a device such as /dev/zero, a directory, a file larger than
// limit) is an error before a byte is read: the open does not wait for a
// FIFO's writer, and the read stops after limit+1 bytes however the file
// grows. Its errors name the file, never its content.
func ReadFile(path string, limit int64) ([]byte, error) {
	// O_NONBLOCK makes opening a FIFO return at once instead of waiting for
	// a writer; it changes nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &FileError{Path: path, Is: modeName(fi.Mode()), Limit: limit}
	}
	if fi.Size() > limit {
		return nil, &FileError{Path: path, Is: "larger than " + size(limit), Limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &FileError{Path: path, Is: "larger than " + size(limit), Limit: limit}
	}
	return data, nil
}

// FileError is a file ReadFile refused to read.
type FileError struct {
	Path  string
	Is    string // what the file is instead: "a named pipe (FIFO)", "larger than 8 MiB"
	Limit int64
}

func (e *FileError) Error() string {
	return fmt.Sprintf("%s is %s; want a regular file of at most %s", e.Path, e.Is, size(e.Limit))
}

func modeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// size writes n bytes the way a person would: 1 MiB, 64 KiB, 100 bytes.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Decode strictly decodes one section of a file into out (a pointer to a
// struct with yaml tags), for parts of the program that own a section of
// their own. key is the section's path, file the file's name for messages.
func Decode(file string, n *yaml.Node, key string, out any) error {
	c := &checker{file: file}
	c.duplicates(n, key)
	c.decode(n, out, key)
	if len(c.problems) > 0 {
		return c.problems
	}
	return nil
}

// syntaxProblem turns a YAML syntax error ("yaml: line 3: ...") into a Problem.
func syntaxProblem(file string, data []byte, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	// yaml.v3 gives a tab in the indentation no line on the first line and
	// the line before it on others ("found a tab character that violates
	// indentation"), and calls it a character that cannot start a token.
	tabby := strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token")
	if tab := tabIndented(data, max(line+1, 1)); tabby && tab > 0 {
		return Problem{File: file, Line: tab, Msg: "a tab in the indentation: YAML indents with spaces only"}
	}
	return Problem{File: file, Line: line, Msg: msg}
}

// tabIndented returns the first line up to line last whose indentation has
// a tab in it, or 0.
func tabIndented(data []byte, last int) int {
	for i, l := range bytes.SplitN(data, []byte("\n"), last+1) {
		if i == last {
			break
		}
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return i + 1
		}
	}
	return 0
}
