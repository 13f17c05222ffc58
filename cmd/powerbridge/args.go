package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// parseInterspersed parses flags that come before, between or after the
// positional arguments ("power on node1 --json"); flag.Parse alone stops at
// the first argument that is not a flag. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) (pos []string, exit int, done bool) {
	for {
		if code, done := parseFlags(fs, args); done {
			return nil, code, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, false
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), 0, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// readSecretFile reads a one-line secret (a token, an API key) the way the
// config's *_file keys are read: a trailing newline is dropped. Its errors
// name the file, never its content.
func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(data), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New(path + " holds more than one line; it should hold the secret alone")
	}
	return s, nil
}
