package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/gateway"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maassync"
)

// maasCommands are the subcommands of `powerbridge maas`.
func maasCommands() map[string]command {
	return map[string]command{
		"sync": {"point MAAS's machines at powerbridge: webhook (URIs and token) or redfish (address, account, node_id)", maasSync},
	}
}

func maasCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	subs := maasCommands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprintln(w, "Usage: powerbridge maas COMMAND [flags]   (powerbridge maas COMMAND --help for its flags)\n\nCommands:")
		names := make([]string, 0, len(subs))
		for name := range subs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			fmt.Fprintf(w, "  %-6s %s\n", name, subs[name].summary)
		}
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "powerbridge maas: unknown command %q (sync)\n", args[0])
		return exitUsage
	}
	return sub.run(ctx, args[1:], stdout, stderr)
}

const maasSyncUsage = `Usage: powerbridge maas sync --config FILE --powerbridge-url URL [--apply] [flags]

For every machine in powerbridge's config, finds the MAAS machine with that
hostname and sets its power type to webhook with three URIs that name it,
  URL/v1/machines/NAME/on, URL/v1/machines/NAME/off, URL/v1/machines/NAME/status,
and the token MAAS is to send; or, with --power-type redfish (MAAS 2.5 and
later, 2.7 included), to redfish with power_address URL, the power_user and
power_pass of an auth.users account, and node_id NAME. It reads each machine's power parameters first
and changes only machines whose settings differ, so running it twice changes
nothing the second time. Machines only MAAS knows, or only the config, are
listed and left alone.

Without --apply it shows every change and makes none. Tokens, passwords and
the API key are never printed.

MAAS's address and API key come from the flags, else from the config's
gateway.maas section (url, api_key_file). The API key must be an admin's:
  sudo maas apikey --username=admin > /etc/powerbridge/maas-api.key

Exit status: 0 done (or nothing to do), 1 failure, 2 usage error.

Flags:
`

// maasSync is `powerbridge maas sync`. Over 60 lines, it is one straight
// sequence (flags, config, MAAS, plan, apply) that reads best whole.
func maasSync(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("maas sync", "", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, maasSyncUsage)
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "", "powerbridge's config `file`: its machines, and by default its first auth token")
	baseURL := fs.String("powerbridge-url", "", "powerbridge's `URL` as MAAS's rack controllers reach it, e.g. http://192.168.23.1:8080 (required; not localhost: MAAS picks the rack controller by this host)")
	powerType := fs.String("power-type", maassync.PowerType, "the power type to set: webhook (MAAS 2.9.2+: URIs and a token) or redfish (MAAS 2.5+: address, user, password, node_id)")
	tokenFile := fs.String("token-file", "", "webhook: a `file` holding the token MAAS is to send (default: the config's first auth.tokens entry)")
	user := fs.String("user", "", "redfish: the auth.users account `name` MAAS is to log in as (default: the config's first auth.users entry)")
	maasURL := fs.String("maas-url", "", "MAAS's `URL`, e.g. http://192.168.1.195:5240/MAAS/ (default: the config's gateway.maas.url)")
	keyFile := fs.String("api-key-file", "", "a `file` holding a MAAS admin's API key (default: the config's gateway.maas.api_key_file)")
	doApply := fs.Bool("apply", false, "make the changes; without it they are only shown")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "powerbridge maas sync: "+format+"\n", a...)
		return code
	}
	switch {
	case fs.NArg() > 0:
		return fail(exitUsage, "unexpected argument %q", fs.Arg(0))
	case *cfgPath == "":
		return fail(exitUsage, "--config FILE is required: the machines come from powerbridge's config")
	case *baseURL == "":
		return fail(exitUsage, "--powerbridge-url is required: the address of powerbridge that MAAS's rack controllers reach, e.g. http://192.168.23.1:8080")
	case *powerType != maassync.PowerType && *powerType != maassync.RedfishPowerType:
		return fail(exitUsage, "--power-type %q: use webhook or redfish", *powerType)
	case *powerType == maassync.RedfishPowerType && *tokenFile != "":
		return fail(exitUsage, "--token-file is for --power-type webhook; MAAS's redfish driver logs in with an auth.users account (--user)")
	case *powerType == maassync.PowerType && *user != "":
		return fail(exitUsage, "--user is for --power-type redfish; MAAS's webhook driver sends a token (--token-file)")
	}
	base, err := maassync.CheckBaseURL(*baseURL)
	if err != nil {
		return fail(exitUsage, "--powerbridge-url: %v", err)
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}

	target := maassync.Target{Base: base}
	var from string
	if *powerType == maassync.RedfishPowerType {
		target.Redfish, from, err = syncAccount(cfg, *cfgPath, *user)
		from = "Account: " + from
	} else {
		target.Token, from, err = syncToken(cfg, *cfgPath, *tokenFile)
		from = "Token: " + from
	}
	if err != nil {
		return fail(exitFail, "%v", err)
	}
	murl, kfile := *maasURL, *keyFile
	if murl == "" || kfile == "" {
		gu, gk, err := gatewayMAAS(cfg, *cfgPath)
		if err != nil {
			return fail(exitFail, "reading MAAS's address from the config's gateway section: %v", err)
		}
		if murl == "" {
			murl = gu
		}
		if kfile == "" {
			kfile = gk
		}
	}
	switch {
	case murl == "":
		return fail(exitUsage, "no MAAS URL: give --maas-url or set gateway.maas.url in the config")
	case kfile == "":
		return fail(exitUsage, "no MAAS API key: give --api-key-file or set gateway.maas.api_key_file in the config")
	}
	keyText, err := config.ReadSecretFile(kfile)
	if err != nil {
		return fail(exitFail, "reading the MAAS API key: %v", err)
	}
	key, err := maas.ParseAPIKey(keyText)
	if err != nil {
		return fail(exitFail, "%s: %v", kfile, err)
	}
	client, err := maas.New(murl, key, nil)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	names := make([]string, len(cfg.Machines))
	for i, m := range cfg.Machines {
		names[i] = m.Name
	}
	plan, err := maassync.MakePlan(ctx, client, names, target)
	if err != nil {
		return fail(exitFail, "%v", err)
	}
	fmt.Fprintln(stdout, from)
	if !*doApply || plan.ToChange() == 0 {
		plan.Print(stdout, *doApply)
		return exitOK
	}
	err = maassync.Apply(ctx, client, plan, target)
	plan.Print(stdout, true)
	if err != nil {
		return fail(exitFail, "%v", err)
	}
	return exitOK
}

// syncToken picks the token MAAS is to send and says where it came from
// (never what it is). A token the config does not accept is refused: MAAS
// would fail every power action with it.
func syncToken(cfg *config.File, cfgPath, tokenFile string) (token, from string, err error) {
	if tokenFile == "" {
		if len(cfg.Auth.Tokens) == 0 {
			if cfg.Auth.InsecureNoAuth {
				return "", "none (the config has insecure_no_auth and no auth.tokens)", nil
			}
			return "", "", fmt.Errorf("%s has no auth.tokens: add one (MAAS sends it as power_token), or give --token-file", cfgPath)
		}
		t := cfg.Auth.Tokens[0]
		return t.Token.Reveal(), fmt.Sprintf("auth.tokens[0] (%s) of %s", t.Name, cfgPath), nil
	}
	token, err = config.ReadSecretFile(tokenFile)
	if err != nil {
		return "", "", fmt.Errorf("--token-file: %w", err)
	}
	for _, t := range cfg.Auth.Tokens {
		if t.Token.Reveal() == token {
			return token, fmt.Sprintf("%s (auth.tokens entry %s)", tokenFile, t.Name), nil
		}
	}
	if cfg.Auth.InsecureNoAuth {
		return token, tokenFile + " (the config lets anyone in: insecure_no_auth)", nil
	}
	return "", "", fmt.Errorf("the token in %s is none of the auth.tokens of %s: powerbridge would refuse MAAS's requests", tokenFile, cfgPath)
}

// syncAccount picks the auth.users account MAAS's redfish driver is to log
// in as, and says where it came from (never its password).
func syncAccount(cfg *config.File, cfgPath, user string) (*maassync.Account, string, error) {
	for i, u := range cfg.Auth.Users {
		if user == "" || u.Name == user {
			return &maassync.Account{User: u.Name, Password: u.Password.Reveal()}, fmt.Sprintf("auth.users[%d] (%s) of %s", i, u.Name, cfgPath), nil
		}
	}
	if user != "" {
		return nil, "", fmt.Errorf("--user %q is none of the auth.users of %s: powerbridge would refuse MAAS's requests", user, cfgPath)
	}
	return nil, "", fmt.Errorf("%s has no auth.users: add one (MAAS's redfish driver sends it as power_user and power_pass, with Basic auth)", cfgPath)
}

// gatewayMAAS reads MAAS's URL and API key file from the gateway helper's
// section of the config, when there is one.
func gatewayMAAS(cfg *config.File, cfgPath string) (url, keyFile string, err error) {
	if cfg.Gateway.Kind == 0 {
		return "", "", nil
	}
	var gw gateway.Config
	if err := config.Decode(cfgPath, &cfg.Gateway, "gateway", &gw); err != nil {
		return "", "", err
	}
	return gw.MAAS.URL, gw.MAAS.APIKeyFile, nil
}
