package main

import (
	"context"
	"fmt"
	"io"

	"github.com/powerbridge/powerbridge/power/shutdown"
)

func forgetHostKey(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("forget-host-key", "--config FILE MACHINE", stderr)
	cfgPath := fs.String("config", "", "the config `file`")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *cfgPath == "" || fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	name := fs.Arg(0)
	for _, m := range cfg.Machines {
		if m.Name != name {
			continue
		}
		if m.Shutdown == nil || m.Shutdown.SSH.KnownHosts != "" || m.Shutdown.SSH.InsecureIgnoreHostKey {
			fmt.Fprintf(stderr, "machine %s pins no host key (no shutdown, a known_hosts file, or insecure_ignore_host_key)\n", name)
			return exitFail
		}
		if err := shutdown.ForgetPin(cfg.StateDir, name); err != nil {
			fmt.Fprintf(stderr, "forgetting the host key of %s: %v\n", name, err)
			return exitFail
		}
		fmt.Fprintf(stdout, "forgot the pinned host key of %s; the next shutdown pins the key it is offered\n", name)
		return exitOK
	}
	fmt.Fprintf(stderr, "no machine named %q in %s\n", name, *cfgPath)
	return exitFail
}
