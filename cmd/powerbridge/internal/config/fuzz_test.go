package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"
)

// secretKeys are the keys whose values are secrets, and the lists whose
// items a mistaken shape could turn into one (`tokens: [s3cret]`).
var secretKeys = map[string]bool{
	"token": true, "password": true, "metrics_token": true, "community": true, "read_community": true,
	"auth_passphrase": true, "priv_passphrase": true, "tokens": true, "users": true, "snmp": true,
}

// distinctive is a value long and odd enough that finding it in a message
// can only mean it was copied there, rather than a word every message has.
var distinctive = regexp.MustCompile(`^[A-Za-z0-9_-]{10,}$`)

// secretValues returns the scalars of data that stand where secrets do and
// occur once in it.
func secretValues(data []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []string
	var walk func(n *yaml.Node, secret bool)
	walk = func(n *yaml.Node, secret bool) {
		if n == nil {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			if secret && distinctive.MatchString(n.Value) && strings.Count(string(data), n.Value) == 1 {
				out = append(out, n.Value)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], secretKeys[n.Content[i].Value])
			}
		default:
			for _, c := range n.Content {
				walk(c, secret)
			}
		}
	}
	walk(&doc, false)
	return out
}

// revealed collects every Secret in v.
func revealed(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			revealed(v.Elem(), out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			revealed(v.Index(i), out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			revealed(v.Field(i), out)
		}
	case reflect.String:
		if v.Type() == secretType {
			*out = append(*out, v.String())
		}
	}
}

// FuzzParse holds the config loader to what it promises for any file: no
// panic; problems that name the file and a line inside it; no secret
// copied into a message; and a loaded config that prints and encodes
// without its secrets.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %T %v is not Problems", err, err)
			}
			// YAML breaks lines at \n, \r\n and a lone \r.
			lines := strings.Count(string(data), "\n") + strings.Count(string(data), "\r") + 2
			for _, p := range ps {
				if p.File != "fuzz.yaml" || p.Msg == "" || p.Line < 0 || p.Line > lines {
					t.Errorf("problem %+v: want the file's name, a message, a line from 0 to %d", p, lines)
				}
			}
			for _, secret := range secretValues(data) {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("a problem shows the secret %q:\n%v", secret, err)
				}
			}
			return
		}
		if file == nil {
			t.Fatal("nil File and nil error")
		}
		var secrets []string
		revealed(reflect.ValueOf(file), &secrets)
		printed := fmt.Sprintf("%v %+v %#v", *file, *file, *file)
		encoded, err := json.Marshal(file)
		if err != nil {
			t.Fatalf("encoding a loaded config: %v", err)
		}
		for _, s := range secrets {
			if !distinctive.MatchString(s) || strings.Count(string(data), s) != 1 {
				continue
			}
			if strings.Contains(printed, s) || strings.Contains(string(encoded), s) {
				t.Errorf("a loaded config shows its secret %q", s)
			}
		}
	})
}

// Values in the wrong shape where secrets belong are not quoted back: a
// token written as a list item, a community given as the whole snmp
// section.
func TestSecretsInTheWrongShapeAreNotShown(t *testing.T) {
	_, err := Load("testdata/secret-shape.yaml")
	want := []string{
		`testdata/secret-shape.yaml:2: auth.tokens[0]: expected a mapping of keys to values, found a value (not shown: this part of the file holds secrets)`,
		`testdata/secret-shape.yaml:6: pdus[0].snmp: expected a mapping of keys to values, found a value (not shown: this part of the file holds secrets)`,
		`testdata/secret-shape.yaml:8: machines[0].outlets: expected a list, found "rack1/1"`,
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load: %v", err)
	}
	got := strings.Split(ps.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, secret := range []string{"s3cret-token-as-list-item", "s3cret-community-as-section"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the problems show %q", secret)
		}
	}
}

// A secret file that is not a small regular file is refused, not read:
// /dev/zero would never end, a FIFO would block.
func TestSecretFileMustBeARegularFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "token.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, is := range map[string]string{"/dev/zero": "a character device", "testdata": "a directory", fifo: "a named pipe (FIFO)"} {
		_, err := Parse([]byte("auth:\n  tokens: [{name: maas, token_file: "+path+"}]\n"), "x.yaml")
		want := fmt.Sprintf("x.yaml:2: auth.tokens[0].token_file: %s is %s; want a regular file of at most 64 KiB", path, is)
		if err == nil || err.Error() != want {
			t.Errorf("token_file %s: %v\nwant %s", path, err, want)
		}
	}
}
