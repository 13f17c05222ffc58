package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/server"
)

// Exit codes of `powerbridge power`, beyond exitOK, exitFail and exitUsage.
// 3 for "off" is what an LSB init script's status answers for a service
// that is not running, so `power status X && ...` reads as "if X is on".
const (
	exitPowerOff      = 3
	exitUnknownTarget = 4
	exitAuthRefused   = 5
)

const powerUsage = `Usage: powerbridge power on|off|cycle|status MACHINE [flags]
       powerbridge power on|off|cycle|status --group GROUP [flags]

Asks a running powerbridge to switch a machine on, off (a clean shutdown
first, when the machine has one configured) or off-and-on, and waits until
it is done; or tells whether it is on. With --group, does so for every
machine of a group of the server's config, machine by machine in its order
(off: all at once), and prints each one's outcome. Flags may come anywhere.

The server and the token come from the flags, else from the environment:
  POWERBRIDGE_URL    the server (default http://127.0.0.1:8080)
  POWERBRIDGE_TOKEN  a bearer token of the server's auth.tokens

Exit status, for scripts:
  0  done; for status: the machine is on
  1  failed: the server or a PDU failed, the state cannot be told, or the
     server cannot be reached
  2  usage error
  3  status: the machine is off
  4  the server has no such machine
     (with --group: 0 when every machine's action succeeded, for status
     when every machine is on; 3 when all are off; 4 for no such group)
  5  the server refused the credentials (none given, or a wrong token)

Examples:
  powerbridge power status node1 && echo "node1 is on"
  powerbridge power off node1 --url http://192.168.23.1:8080 --token-file /etc/powerbridge/maas.token
  POWERBRIDGE_TOKEN=... powerbridge power cycle bigboy --json

Flags:
`

func powerCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("power", "", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, powerUsage)
		fs.PrintDefaults()
	}
	urlFlag := fs.String("url", "", "the server's `URL` (default $POWERBRIDGE_URL, else http://127.0.0.1:8080)")
	tokenFile := fs.String("token-file", "", "read the bearer token from `file` (default $POWERBRIDGE_TOKEN)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer instead of a line of text")
	group := fs.String("group", "", "act on every machine of the server's group `GROUP` instead of one machine")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long (an off with a clean shutdown may take the server's whole timeouts.action)")
	pos, code, done := parseInterspersed(fs, args)
	if done {
		return code
	}
	pos = withGroup(pos, *group)
	if len(pos) != 2 {
		fmt.Fprintln(stderr, "powerbridge power: want an action and a machine: powerbridge power on|off|cycle|status MACHINE")
		fs.Usage()
		return exitUsage
	}
	action, machine := pos[0], pos[1]
	if !slices.Contains([]string{"on", "off", "cycle", "status"}, action) {
		fmt.Fprintf(stderr, "powerbridge power: unknown action %q: use on, off, cycle or status\n", action)
		return exitUsage
	}

	c := powerClient{out: stdout, errw: stderr, json: *asJSON, groupName: *group}
	raw := *urlFlag
	if raw == "" {
		raw = os.Getenv("POWERBRIDGE_URL")
	}
	if raw == "" {
		raw = "http://127.0.0.1:8080"
	}
	base, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" {
		fmt.Fprintln(stderr, "powerbridge power: the server's URL is not http(s)://HOST:PORT (from --url or POWERBRIDGE_URL)")
		return exitUsage
	}
	c.base = base
	switch {
	case *tokenFile != "":
		if c.token, err = config.ReadSecretFile(*tokenFile); err != nil {
			fmt.Fprintf(stderr, "powerbridge power: --token-file: %v\n", err)
			return exitUsage
		}
	default:
		c.token = strings.TrimSpace(os.Getenv("POWERBRIDGE_TOKEN"))
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if action == "status" && c.groupName == "" {
		return c.status(ctx, machine)
	}
	return c.act(ctx, action, machine)
}

// powerClient is one call of `powerbridge power`.
type powerClient struct {
	base  *url.URL
	token string
	json  bool
	out   io.Writer
	errw  io.Writer
	// groupName, when set, is the group acted on instead of one machine.
	groupName string
}

// answer is an HTTP answer read whole.
type answer struct {
	code int
	body []byte
}

var cliHTTP = &http.Client{
	// No route of powerbridge redirects; following one would turn a power
	// POST into a GET.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (c *powerClient) do(ctx context.Context, method, path string) (answer, error) {
	u := c.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "powerbridge-cli/"+buildVersion())
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := cliHTTP.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return answer{}, fmt.Errorf("no answer from %s within --timeout", c.base.Redacted())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named already
		}
		return answer{}, fmt.Errorf("cannot reach %s: %w", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, fmt.Errorf("reading the answer of %s: %w", c.base.Redacted(), err)
	}
	return answer{code: resp.StatusCode, body: body}, nil
}

func (c *powerClient) status(ctx context.Context, machine string) int {
	a, err := c.do(ctx, http.MethodGet, "/v1/machines/"+url.PathEscape(machine))
	if err != nil {
		fmt.Fprintf(c.errw, "powerbridge power: %v\n", err)
		return exitFail
	}
	if a.code != http.StatusOK {
		return c.failed(ctx, a, machine)
	}
	var st server.MachineStatus
	if err := json.Unmarshal(a.body, &st); err != nil {
		fmt.Fprintf(c.errw, "powerbridge power: the server's answer is not the JSON expected: %v\n", err)
		return exitFail
	}
	if c.json {
		c.out.Write(a.body)
	} else {
		var outlets []string
		for _, o := range st.Outlets {
			outlets = append(outlets, fmt.Sprintf("%s/%d %s", o.PDU, o.Outlet, o.State))
		}
		if len(outlets) == 0 {
			outlets = []string{"no outlets: state from the liveness probe"}
		}
		line := fmt.Sprintf("%s: %s (%s)", machine, st.State, strings.Join(outlets, ", "))
		if st.ShuttingDown {
			line += ", shutting down"
		}
		fmt.Fprintln(c.out, line)
	}
	switch st.State {
	case power.On:
		return exitOK
	case power.Off:
		return exitPowerOff
	}
	fmt.Fprintf(c.errw, "powerbridge power: the power state of %s cannot be told\n", machine)
	return exitFail
}

func (c *powerClient) act(ctx context.Context, action, machine string) int {
	if c.groupName != "" {
		return c.group(ctx, action, c.groupName)
	}
	a, err := c.do(ctx, http.MethodPost, "/v1/machines/"+url.PathEscape(machine)+"/"+action)
	if err != nil {
		fmt.Fprintf(c.errw, "powerbridge power: %v\n", err)
		return exitFail
	}
	if a.code != http.StatusOK {
		return c.failed(ctx, a, machine)
	}
	var r server.ActionResult
	if err := json.Unmarshal(a.body, &r); err != nil {
		fmt.Fprintf(c.errw, "powerbridge power: the server's answer is not the JSON expected: %v\n", err)
		return exitFail
	}
	if c.json {
		c.out.Write(a.body)
		return exitOK
	}
	took := fmt.Sprintf("%.1fs", r.Seconds)
	var how string
	switch {
	case !r.Changed:
		how = "already " + r.State.String()
	case action == "cycle":
		how = "cycled in " + took
	case r.Shutdown == "graceful":
		how = "shut down cleanly, then switched off, in " + took
	case r.Shutdown == "cut":
		how = "switched off without a clean shutdown (" + r.Reason + "), in " + took
	default:
		how = "switched " + action + " in " + took
	}
	fmt.Fprintf(c.out, "%s: %s (%s)\n", machine, r.State, how)
	for _, n := range r.Notes {
		fmt.Fprintf(c.out, "  note: %s\n", n)
	}
	return exitOK
}

// failed reports an answer other than 200 and picks the exit code. The
// server answers 400 for an unknown machine as for any bad request (never
// 404, which MAAS's driver takes as success), so the machine list decides.
func (c *powerClient) failed(ctx context.Context, a answer, machine string) int {
	if c.json {
		c.out.Write(a.body)
	}
	var e server.Error
	msg := http.StatusText(a.code)
	if json.Unmarshal(a.body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch a.code {
	case http.StatusUnauthorized, http.StatusForbidden:
		if c.token == "" {
			fmt.Fprintf(c.errw, "powerbridge power: %s wants credentials: give a token with --token-file or POWERBRIDGE_TOKEN\n", c.base.Redacted())
		} else {
			fmt.Fprintf(c.errw, "powerbridge power: %s refused the token (%d): it is not one of the server's auth.tokens\n", c.base.Redacted(), a.code)
		}
		return exitAuthRefused
	case http.StatusBadRequest:
		if names, ok := c.machines(ctx); ok && !slices.Contains(names, machine) {
			fmt.Fprintf(c.errw, "powerbridge power: %s has no machine %q; it has: %s\n", c.base.Redacted(), machine, strings.Join(names, ", "))
			return exitUnknownTarget
		}
	}
	fmt.Fprintf(c.errw, "powerbridge power: %s: %s (%d)\n", machine, msg, a.code)
	return exitFail
}

// machines lists the server's machines; ok is false when that fails.
func (c *powerClient) machines(ctx context.Context) (names []string, ok bool) {
	a, err := c.do(ctx, http.MethodGet, "/v1/machines")
	if err != nil || a.code != http.StatusOK {
		return nil, false
	}
	var list server.MachineList
	if json.Unmarshal(a.body, &list) != nil {
		return nil, false
	}
	for _, m := range list.Machines {
		names = append(names, m.Name)
	}
	return names, true
}
