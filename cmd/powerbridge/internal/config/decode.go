package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checker decodes YAML nodes into the config types and collects problems with
// their line and key path.
//
// It exists because yaml.v3's strict mode (KnownFields) is lost inside any
// custom UnmarshalYAML and reports neither the key path nor more than the
// problems of one kind; a config type here is plain data and the checker is
// the one place that knows how YAML maps onto it.
type checker struct {
	file     string
	problems Problems
}

func (c *checker) addf(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	c.problems = append(c.problems, Problem{File: c.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeFor[Duration]()
	secretType   = reflect.TypeFor[Secret]()
	nodeType     = reflect.TypeFor[yaml.Node]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode sets out (a pointer) from n. key is n's path, for messages.
func (c *checker) decode(n *yaml.Node, out any, key string) {
	c.value(n, reflect.ValueOf(out).Elem(), key)
}

func (c *checker) value(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// "key:" with nothing after it leaves the default; for an optional
		// section it turns the section on with its defaults.
		if v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct && v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			if d, ok := v.Interface().(defaulter); ok {
				d.defaults()
			}
		}
		return
	}
	if c.named(n, v, key) || c.text(n, v, key) || c.basic(n, v, key) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		c.value(n, v.Elem(), key)
	case reflect.Struct:
		c.mapping(n, v, key)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.addf(n, key, "expected a list, found %s", shown(n, v.Type()))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			c.value(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
	default:
		panic(fmt.Sprintf("config: no YAML mapping for %s", v.Type()))
	}
}

// named decodes the config's own value types and a raw node; it reports
// whether v is one of them.
func (c *checker) named(n *yaml.Node, v reflect.Value, key string) bool {
	switch v.Type() {
	case nodeType:
		v.Set(reflect.ValueOf(*n))
	case durationType:
		if !c.scalar(n, key, "a duration such as 5s or 2m") {
			break
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil || d < 0 {
			c.addf(n, key, "%q is not a duration (use a number with a unit: 500ms, 5s, 2m)", n.Value)
			break
		}
		v.Set(reflect.ValueOf(Duration(d)))
	case secretType:
		if c.scalar(n, key, "a string") {
			v.Set(reflect.ValueOf(Secret(n.Value)))
		}
	default:
		return false
	}
	return true
}

// basic decodes a string, whole number, number or boolean; it reports
// whether v is one of them.
func (c *checker) basic(n *yaml.Node, v reflect.Value, key string) bool {
	switch v.Kind() {
	case reflect.String:
		if c.scalar(n, key, "a string") {
			v.SetString(n.Value)
		}
	case reflect.Int:
		if !c.scalar(n, key, "a whole number") {
			return true
		}
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			c.addf(n, key, "%q is not a whole number", n.Value)
			return true
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		if !c.scalar(n, key, "a number") {
			return true
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			c.addf(n, key, "%q is not a number", n.Value)
			return true
		}
		v.SetFloat(f)
	case reflect.Bool:
		if !c.scalar(n, key, "true or false") {
			return true
		}
		switch strings.ToLower(n.Value) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			c.addf(n, key, "%q is not true or false", n.Value)
		}
	default:
		return false
	}
	return true
}

// text decodes a value of a type that reads itself from text, such as
// power.OutletRef: it is written as one scalar, and its error says what is
// wrong with it. It reports whether v is of such a type.
func (c *checker) text(n *yaml.Node, v reflect.Value, key string) bool {
	if v.Kind() == reflect.Pointer || !v.CanAddr() || !v.Addr().Type().Implements(textType) {
		return false
	}
	if c.scalar(n, key, "a string") {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			c.addf(n, key, "%v", err)
		}
	}
	return true
}

func (c *checker) scalar(n *yaml.Node, key, want string) bool {
	if n.Kind != yaml.ScalarNode {
		c.addf(n, key, "expected %s, found %s", want, kindName(n))
		return false
	}
	return true
}

func (c *checker) mapping(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		c.addf(n, key, "expected a mapping of keys to values, found %s", shown(n, v.Type()))
		return
	}
	if d, ok := v.Addr().Interface().(defaulter); ok {
		d.defaults()
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			continue // a problem of its own (duplicates); the first one counts
		}
		seen[k.Value] = true
		path := k.Value
		if key != "" {
			path = key + "." + k.Value
		}
		idx, ok := fields[k.Value]
		if !ok {
			c.addf(k, path, "unknown key (known keys: %s)", knownKeys(v.Type()))
			continue
		}
		c.value(val, v.Field(idx), path)
	}
}

// duplicates reports every key given twice in a mapping anywhere in n,
// sections of unknown keys and raw sections included. yaml.v3 refuses a
// duplicate only when it decodes into a map or struct, not into a Node, and
// a merged second "auth:" block must not switch a setting unnoticed.
func (c *checker) duplicates(n *yaml.Node, key string) {
	switch n.Kind {
	case yaml.MappingNode:
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			path := k.Value
			if key != "" {
				path = key + "." + k.Value
			}
			if line, dup := first[k.Value]; dup {
				if line == k.Line {
					c.addf(k, path, "given twice on this line: write each key once")
				} else {
					c.addf(k, path, "given twice, at lines %d and %d: write each key once", line, k.Line)
				}
				continue
			}
			first[k.Value] = k.Line
			c.duplicates(val, path)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			c.duplicates(item, fmt.Sprintf("%s[%d]", key, i))
		}
	case yaml.DocumentNode:
		for _, item := range n.Content {
			c.duplicates(item, key)
		}
	}
	// An alias is checked where its anchor is.
}

// yamlFields maps each yaml tag name of struct type t to its field index.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func knownKeys(t reflect.Type) string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// shown is kindName, except that a value found where a section holding
// secrets belongs is not quoted: a token written as `tokens: [s3cret]` must
// not come back in an error message, a log or check-config's output.
func shown(n *yaml.Node, t reflect.Type) string {
	if n.Kind == yaml.ScalarNode && holdsSecret(t) {
		return "a value (not shown: this part of the file holds secrets)"
	}
	return kindName(n)
}

// holdsSecret reports whether a value of type t has a Secret in it. A raw
// YAML node (a section another part of the program decodes) is not
// looked into: it is recursive.
func holdsSecret(t reflect.Type) bool {
	if t == nodeType {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		return holdsSecret(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if ft := t.Field(i).Type; ft == secretType || holdsSecret(ft) {
				return true
			}
		}
	}
	return t == secretType
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// section is a place in the file, for validation messages.
type section struct {
	c    *checker
	node *yaml.Node
	key  string
}

func (c *checker) section(n *yaml.Node, key string) section { return section{c: c, node: n, key: key} }

// field returns the section of key k inside s; its node is s's own when s has
// no such key (a default), so that messages still point near the right place.
func (s section) field(k string) section {
	path := k
	if s.key != "" {
		path = s.key + "." + k
	}
	if s.node != nil && s.node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(s.node.Content); i += 2 {
			if s.node.Content[i].Value == k {
				return section{c: s.c, node: s.node.Content[i+1], key: path}
			}
		}
	}
	return section{c: s.c, node: s.node, key: path}
}

func (s section) index(i int) section {
	path := fmt.Sprintf("%s[%d]", s.key, i)
	if s.node != nil && s.node.Kind == yaml.SequenceNode && i < len(s.node.Content) {
		return section{c: s.c, node: s.node.Content[i], key: path}
	}
	return section{c: s.c, node: s.node, key: path}
}

func (s section) errorf(format string, args ...any) {
	s.c.addf(s.node, s.key, format, args...)
}
