package main

import "flag"

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
