package plug

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// gen1 is a Shelly of the first generation: GET /relay/<id> switches,
// GET /status reads every relay and meter at once, Basic auth when set.
type gen1 struct{ d *Driver }

type gen1Status struct {
	Relays []struct {
		IsOn *bool `json:"ison"`
	} `json:"relays"`
	Meters []struct {
		Power   *float64 `json:"power"`
		IsValid *bool    `json:"is_valid"`
		Total   *float64 `json:"total"` // watt-minutes
	} `json:"meters"`
}

func (g gen1) read(ctx context.Context) (power.Reading, error) {
	b, err := g.d.call(ctx, "GET", "/status", nil, nil, authBasic)
	if err != nil {
		return power.Reading{}, err
	}
	var st gen1Status
	if err := json.Unmarshal(b, &st); err != nil {
		return power.Reading{}, fmt.Errorf("GET /status: the answer is not a Shelly's status: %v", err)
	}
	if len(st.Relays) == 0 {
		return power.Reading{}, fmt.Errorf("GET /status: the answer lists no relays")
	}
	var r power.Reading
	var m meterSum
	for i, rel := range st.Relays {
		o := power.Outlet{Number: i + 1, State: power.Unknown}
		if rel.IsOn != nil {
			o.State = stateOf(*rel.IsOn)
		}
		if i < len(st.Meters) && (st.Meters[i].IsValid == nil || *st.Meters[i].IsValid) {
			mt := st.Meters[i]
			o.PowerWatts = mt.Power
			if mt.Total != nil {
				m.addEnergy(*mt.Total * 60)
			}
		}
		m.addPower(o.PowerWatts)
		r.Outlets = append(r.Outlets, o)
	}
	r.Meter = m.meter()
	return r, nil
}

func (g gen1) switchOutlet(ctx context.Context, outlet int, on bool) error {
	turn := map[bool]string{true: "on", false: "off"}[on]
	return g.relay(ctx, outlet, url.Values{"turn": {turn}})
}

// cycle uses Gen1's timer, which flips the relay back after the given
// seconds.
func (g gen1) cycle(ctx context.Context, outlet int, offFor time.Duration) error {
	return g.relay(ctx, outlet, url.Values{"turn": {"off"}, "timer": {strconv.Itoa(wholeSeconds(offFor))}})
}

func (g gen1) relay(ctx context.Context, outlet int, q url.Values) error {
	path := fmt.Sprintf("/relay/%d", outlet-1)
	b, err := g.d.call(ctx, "GET", path, q, nil, authBasic)
	if err != nil {
		return err
	}
	var ans struct {
		IsOn *bool `json:"ison"`
	}
	if json.Unmarshal(b, &ans) != nil || ans.IsOn == nil {
		// Answered, but not as a relay: the outcome is for the read-back.
		return fmt.Errorf("GET %s: the answer %s is not a relay's", path, snippet(b))
	}
	return nil
}

// wholeSeconds rounds d up to whole seconds, at least one: a timer set
// shorter than asked would cut the power-on delay short.
func wholeSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

func stateOf(on bool) power.State {
	if on {
		return power.On
	}
	return power.Off
}

// meterSum adds the meters of a plug's relays into the PDU-wide Meter.
type meterSum struct {
	watts, joules       float64
	hasWatts, hasJoules bool
}

func (m *meterSum) addPower(w *float64) {
	if w != nil {
		m.watts += *w
		m.hasWatts = true
	}
}

func (m *meterSum) addEnergy(j float64) {
	m.joules += j
	m.hasJoules = true
}

func (m meterSum) meter() power.Meter {
	var out power.Meter
	if m.hasWatts {
		w := m.watts
		out.PowerWatts = &w
	}
	if m.hasJoules {
		j := m.joules
		out.EnergyJoules = &j
	}
	return out
}
