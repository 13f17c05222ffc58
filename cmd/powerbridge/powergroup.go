package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/server"
)

// withGroup is the positional arguments of `power ACTION --group NAME` as
// those of `power ACTION MACHINE`, NAME in MACHINE's place; with a machine
// given as well, none, which is a usage error.
func withGroup(pos []string, group string) []string {
	switch {
	case group == "":
		return pos
	case len(pos) == 1:
		return append(pos, group)
	}
	return nil
}

// group runs action (or reads the state) of every machine of a group and
// prints one line per machine. Exit 0 when every member's action
// succeeded (status: every member is on), 3 for status when every member
// is off, 1 otherwise.
func (c *powerClient) group(ctx context.Context, action, name string) int {
	method, path := http.MethodPost, "/v1/groups/"+url.PathEscape(name)+"/"+action
	if action == "status" {
		method, path = http.MethodGet, "/v1/groups/"+url.PathEscape(name)
	}
	a, err := c.do(ctx, method, path)
	if err != nil {
		fmt.Fprintf(c.errw, "powerbridge power: %v\n", err)
		return exitFail
	}
	if c.json {
		c.out.Write(a.body)
	}
	if action == "status" {
		return c.groupStatus(a, name)
	}
	var r server.GroupResult
	if err := json.Unmarshal(a.body, &r); err != nil || r.Group == "" {
		return c.groupFailed(a, name)
	}
	for _, m := range r.Machines {
		if c.json {
			break
		}
		if !m.OK {
			fmt.Fprintf(c.out, "%s: %s failed: %s\n", m.Machine, action, m.Error)
			continue
		}
		how := fmt.Sprintf("switched %s in %.1fs", action, m.Result.Seconds)
		if !m.Result.Changed {
			how = "already " + m.Result.State.String()
		}
		fmt.Fprintf(c.out, "%s: %s (%s)\n", m.Machine, m.Result.State, how)
	}
	if r.Failed > 0 {
		fmt.Fprintf(c.errw, "powerbridge power: group %s: %s failed for %d of %d machines\n", name, action, r.Failed, len(r.Machines))
		return exitFail
	}
	return exitOK
}

func (c *powerClient) groupStatus(a answer, name string) int {
	var st server.GroupStatus
	if a.code != http.StatusOK || json.Unmarshal(a.body, &st) != nil || st.Group == "" {
		return c.groupFailed(a, name)
	}
	on, off := 0, 0
	for _, m := range st.Machines {
		switch {
		case m.Error != "":
			if !c.json {
				fmt.Fprintf(c.out, "%s: cannot be told: %s\n", m.Machine, m.Error)
			}
			continue
		case m.State == power.On:
			on++
		case m.State == power.Off:
			off++
		}
		if !c.json {
			fmt.Fprintf(c.out, "%s: %s\n", m.Machine, m.State)
		}
	}
	switch len(st.Machines) {
	case on:
		return exitOK
	case off:
		return exitPowerOff
	}
	return exitFail
}

// groupFailed reports an answer that is not a group's; an unknown group
// is exit 4.
func (c *powerClient) groupFailed(a answer, name string) int {
	var e server.Error
	msg := http.StatusText(a.code)
	if json.Unmarshal(a.body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch a.code {
	case http.StatusUnauthorized, http.StatusForbidden:
		fmt.Fprintf(c.errw, "powerbridge power: %s refused the credentials (%d): give a token of its auth.tokens with --token-file or POWERBRIDGE_TOKEN\n", c.base.Redacted(), a.code)
		return exitAuthRefused
	case http.StatusBadRequest:
		fmt.Fprintf(c.errw, "powerbridge power: group %s: %s\n", name, msg)
		return exitUnknownTarget
	}
	fmt.Fprintf(c.errw, "powerbridge power: group %s: %s (%d)\n", name, msg, a.code)
	return exitFail
}
