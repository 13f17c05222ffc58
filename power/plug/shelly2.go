package plug

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// gen2 is a Shelly of the second generation or later (Plus, Pro, Gen3,
// Gen4): JSON-RPC 2.0 over POST /rpc, with SHA-256 digest auth when a
// password is set.
type gen2 struct {
	d  *Driver
	id int // the JSON-RPC request id, counted up
}

type rpcAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// rpc calls method and returns its result. An error answer is a refusal:
// the plug did not carry out the call.
func (g *gen2) rpc(ctx context.Context, method string, params any) (json.RawMessage, error) {
	g.id++
	body, err := json.Marshal(map[string]any{"id": g.id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	b, err := g.d.call(ctx, "POST", "/rpc", nil, body, authDigest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	var a rpcAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: the answer %s is not JSON-RPC", method, snippet(b))
	}
	if a.Error != nil {
		return nil, fmt.Errorf("%s: the plug answered error %d %q: %w", method, a.Error.Code, a.Error.Message, power.ErrRefused)
	}
	return a.Result, nil
}

type gen2Switch struct {
	ID      int      `json:"id"`
	Output  *bool    `json:"output"`
	APower  *float64 `json:"apower"`
	AEnergy *struct {
		Total *float64 `json:"total"` // watt-hours
	} `json:"aenergy"`
}

// read takes every switch from one Shelly.GetStatus: its "switch:<id>"
// components hold what Switch.GetStatus answers for each.
func (g *gen2) read(ctx context.Context) (power.Reading, error) {
	res, err := g.rpc(ctx, "Shelly.GetStatus", nil)
	if err != nil {
		return power.Reading{}, err
	}
	var comps map[string]json.RawMessage
	if err := json.Unmarshal(res, &comps); err != nil {
		return power.Reading{}, fmt.Errorf("Shelly.GetStatus: the result is not an object: %v", err)
	}
	var sws []gen2Switch
	for k, v := range comps {
		if _, id, ok := strings.Cut(k, ":"); ok && strings.HasPrefix(k, "switch:") {
			var s gen2Switch
			if json.Unmarshal(v, &s) == nil {
				s.ID, _ = strconv.Atoi(id)
				sws = append(sws, s)
			}
		}
	}
	if len(sws) == 0 {
		return power.Reading{}, fmt.Errorf("Shelly.GetStatus: the plug has no switch component")
	}
	slices.SortFunc(sws, func(a, b gen2Switch) int { return a.ID - b.ID })
	var r power.Reading
	var m meterSum
	for _, s := range sws {
		o := power.Outlet{Number: s.ID + 1, State: power.Unknown, PowerWatts: s.APower}
		if s.Output != nil {
			o.State = stateOf(*s.Output)
		}
		m.addPower(s.APower)
		if s.AEnergy != nil && s.AEnergy.Total != nil {
			m.addEnergy(*s.AEnergy.Total * 3600)
		}
		r.Outlets = append(r.Outlets, o)
	}
	r.Meter = m.meter()
	return r, nil
}

func (g *gen2) switchOutlet(ctx context.Context, outlet int, on bool) error {
	_, err := g.rpc(ctx, "Switch.Set", map[string]any{"id": outlet - 1, "on": on})
	return err
}

// cycle switches off with toggle_after: the plug flips the output back on
// by itself after that many seconds.
func (g *gen2) cycle(ctx context.Context, outlet int, offFor time.Duration) error {
	_, err := g.rpc(ctx, "Switch.Set", map[string]any{"id": outlet - 1, "on": false, "toggle_after": wholeSeconds(offFor)})
	return err
}
