package plug

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// tasmota is a plug running Tasmota: every request is a command to
// GET /cm?cmnd=..., with user= and password= when a password is set.
type tasmota struct {
	d       *Driver
	metered bool     // Status 0 showed an ENERGY sensor
	names   []string // the relays' FriendlyName, from Status 0
}

// maxTasmotaDelay is the longest Delay a Backlog takes (3600 tenths).
const maxTasmotaDelay = 360 * time.Second

// cmd sends one command and returns its answer's fields.
func (t *tasmota) cmd(ctx context.Context, command string) (map[string]json.RawMessage, error) {
	b, err := t.d.call(ctx, "GET", "/cm", url.Values{"cmnd": {command}}, nil, authQuery)
	if err != nil {
		return nil, err
	}
	var a map[string]json.RawMessage
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("GET /cm %q: the answer %s is not Tasmota's JSON", command, snippet(b))
	}
	// Tasmota answers a request without the right password with a
	// WARNING, and a command it does not know with "Command":"Unknown".
	if _, ok := a["WARNING"]; ok {
		return nil, fmt.Errorf("GET /cm %q: %w: %w", command, errAuth, power.ErrRefused)
	}
	if c, ok := a["Command"]; ok && strings.Contains(string(c), "Unknown") {
		return nil, fmt.Errorf("GET /cm %q: Tasmota does not know the command: %w", command, power.ErrRefused)
	}
	return a, nil
}

// read takes the relays from Status 11 and, on a metered plug, the meters
// from Status 8.
func (t *tasmota) read(ctx context.Context) (power.Reading, error) {
	a, err := t.cmd(ctx, "Status 11")
	if err != nil {
		return power.Reading{}, err
	}
	var sts map[string]json.RawMessage
	if err := json.Unmarshal(a["StatusSTS"], &sts); err != nil {
		return power.Reading{}, fmt.Errorf("Status 11: the answer has no StatusSTS")
	}
	r := power.Reading{Outlets: tasmotaRelays(sts)}
	if len(r.Outlets) == 0 {
		return power.Reading{}, fmt.Errorf("Status 11: the answer shows no POWER relay")
	}
	for i := range r.Outlets {
		if i < len(t.names) {
			r.Outlets[i].Name = t.names[i]
		}
	}
	if !t.metered {
		return r, nil
	}
	a, err = t.cmd(ctx, "Status 8")
	if err != nil {
		return power.Reading{}, err
	}
	t.addMeters(&r, a)
	return r, nil
}

// tasmotaRelays reads POWER (a single relay) or POWER1..POWERn.
func tasmotaRelays(sts map[string]json.RawMessage) []power.Outlet {
	var outs []power.Outlet
	for n := 1; ; n++ {
		v, ok := sts["POWER"+strconv.Itoa(n)]
		if !ok && n == 1 {
			v, ok = sts["POWER"]
		}
		if !ok {
			return outs
		}
		outs = append(outs, power.Outlet{Number: n, State: tasmotaState(v)})
	}
}

func tasmotaState(v json.RawMessage) power.State {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return power.Unknown
	}
	switch strings.ToUpper(s) {
	case "ON", "1":
		return power.On
	case "OFF", "0":
		return power.Off
	}
	return power.Unknown
}

// addMeters reads StatusSNS.ENERGY: Power in watts and Total in kWh, each a
// number, or (Tasmota 14 and multi-channel meters) an array, one a relay.
func (t *tasmota) addMeters(r *power.Reading, a map[string]json.RawMessage) {
	var sns struct {
		Energy struct {
			Power json.RawMessage `json:"Power"`
			Total json.RawMessage `json:"Total"`
		} `json:"ENERGY"`
	}
	if json.Unmarshal(a["StatusSNS"], &sns) != nil {
		return
	}
	var m meterSum
	for i, w := range numbers(sns.Energy.Power) {
		if i < len(r.Outlets) {
			w := w
			r.Outlets[i].PowerWatts = &w
		}
		m.addPower(&w)
	}
	for _, kwh := range numbers(sns.Energy.Total) {
		m.addEnergy(kwh * 3.6e6)
	}
	r.Meter = m.meter()
}

// numbers reads a number or an array of numbers.
func numbers(v json.RawMessage) []float64 {
	var one float64
	if json.Unmarshal(v, &one) == nil {
		return []float64{one}
	}
	var many []float64
	if json.Unmarshal(v, &many) == nil {
		return many
	}
	return nil
}

func (t *tasmota) switchOutlet(ctx context.Context, outlet int, on bool) error {
	word := map[bool]string{true: "On", false: "Off"}[on]
	a, err := t.cmd(ctx, fmt.Sprintf("Power%d %s", outlet, word))
	if err != nil {
		return err
	}
	if _, ok := a[fmt.Sprintf("POWER%d", outlet)]; !ok && a["POWER"] == nil {
		return fmt.Errorf("Power%d %s: the answer names no POWER: %w", outlet, word, power.ErrRefused)
	}
	return nil
}

// cycle runs a Backlog on the plug: off, a Delay (in tenths of a second),
// on. The plug carries it out by itself once it has the request.
func (t *tasmota) cycle(ctx context.Context, outlet int, offFor time.Duration) error {
	if offFor > maxTasmotaDelay {
		return fmt.Errorf("a Tasmota Backlog delays at most %s, not %s: %w", maxTasmotaDelay, offFor, power.ErrRefused)
	}
	tenths := max(2, int((offFor+100*time.Millisecond-1)/(100*time.Millisecond)))
	_, err := t.cmd(ctx, fmt.Sprintf("Backlog Power%d Off; Delay %d; Power%d On", outlet, tenths, outlet))
	return err
}
