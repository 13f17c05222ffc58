package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content, want, err string
	}{
		{"tok\n", "tok", ""},
		{"tok\r\n", "tok", ""},
		{"tok", "tok", ""},
		{"\n", "", "is empty"},
		{"a\nb\n", "", "more than one line"},
	} {
		p := filepath.Join(dir, "secret")
		os.WriteFile(p, []byte(tc.content), 0o600)
		got, err := ReadSecretFile(p)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %q, %v; want %q", tc.content, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %q, %v; want an error with %q", tc.content, got, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "b"+"\n"):
			t.Errorf("the error shows the file's content: %v", err)
		}
	}
	// Not a small regular file: refused before a byte is read.
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, maxSecretFile+1), 0o600)
	for _, p := range []string{"/dev/zero", dir, big} {
		if _, err := ReadSecretFile(p); err == nil || !strings.Contains(err.Error(), "want a regular file of at most") {
			t.Errorf("%s: %v, want it refused as no secret file", p, err)
		}
	}
	if _, err := ReadSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
