package plug

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/powerbridge/powerbridge/power"
)

// Detect asks the plug at cfg.Address what it is, the way a Driver of kind
// Any does on its first call: GET /shelly (open on every Shelly, with
// "gen" from Gen2 on), then Tasmota's Status 0. It returns the kind found
// (ShellyGen1, ShellyGen2 or Tasmota) and what the plug says of itself.
// A Driver of kind Any needs no Detect beforehand: it detects within its
// PDU's worker, so that its requests stay one at a time; Detect is for
// where no driver is talking to the plug yet.
func Detect(ctx context.Context, cfg Config) (Kind, power.Info, error) {
	cfg.Kind = Any
	d, err := New(cfg)
	if err != nil {
		return "", power.Info{}, err
	}
	defer d.Close()
	proto, info, err := d.probe(ctx)
	if err != nil {
		return "", power.Info{}, err
	}
	return kindOf(proto), info, nil
}

func kindOf(p protocol) Kind {
	switch p.(type) {
	case gen1:
		return ShellyGen1
	case *gen2:
		return ShellyGen2
	}
	return Tasmota
}

// probe finds the plug's protocol as cfg.Kind allows.
func (d *Driver) probe(ctx context.Context) (protocol, power.Info, error) {
	switch d.cfg.Kind {
	case ShellyGen1:
		return gen1{d}, power.Info{Vendor: "Shelly", Dialect: string(ShellyGen1)}, nil
	case ShellyGen2:
		return &gen2{d: d}, power.Info{Vendor: "Shelly", Dialect: string(ShellyGen2)}, nil
	case Tasmota:
		return d.probeTasmota(ctx)
	}
	proto, info, err := d.probeShelly(ctx)
	if err == nil || d.cfg.Kind == Shelly || errors.Is(err, power.ErrNoAnswer) {
		if err != nil {
			err = fmt.Errorf("detecting the Shelly's generation: %w", err)
		}
		return proto, info, err
	}
	proto, info, terr := d.probeTasmota(ctx)
	if terr != nil {
		return nil, power.Info{}, fmt.Errorf("the plug at %s is neither a Shelly (%v) nor a Tasmota (%v)", d.base.Host, err, terr)
	}
	return proto, info, nil
}

// shellyInfo is GET /shelly's answer: Gen1 names type and fw, Gen2 and later
// gen, model, app and ver.
type shellyInfo struct {
	Gen   int    `json:"gen"`
	Type  string `json:"type"`
	FW    string `json:"fw"`
	Model string `json:"model"`
	App   string `json:"app"`
	Ver   string `json:"ver"`
}

func (d *Driver) probeShelly(ctx context.Context) (protocol, power.Info, error) {
	b, err := d.call(ctx, "GET", "/shelly", nil, nil, authNone)
	if err != nil {
		return nil, power.Info{}, err
	}
	var si shellyInfo
	if json.Unmarshal(b, &si) != nil {
		return nil, power.Info{}, fmt.Errorf("GET /shelly: the answer %s is not a Shelly's", snippet(b))
	}
	switch {
	case si.Gen >= 2:
		model := si.Model
		if si.App != "" {
			model = strings.TrimSpace(si.App + " " + si.Model)
		}
		return &gen2{d: d}, power.Info{Vendor: "Shelly", Model: model, Firmware: si.Ver, Dialect: string(ShellyGen2)}, nil
	case si.Type != "":
		return gen1{d}, power.Info{Vendor: "Shelly", Model: si.Type, Firmware: si.FW, Dialect: string(ShellyGen1)}, nil
	}
	return nil, power.Info{}, fmt.Errorf("GET /shelly: the answer %s names neither a gen nor a type", snippet(b))
}

func (d *Driver) probeTasmota(ctx context.Context) (protocol, power.Info, error) {
	t := &tasmota{d: d}
	a, err := t.cmd(ctx, "Status 0")
	if err != nil {
		return nil, power.Info{}, err
	}
	var st struct {
		DeviceName   string          `json:"DeviceName"`
		FriendlyName json.RawMessage `json:"FriendlyName"`
	}
	var fw struct {
		Version string `json:"Version"`
	}
	if json.Unmarshal(a["Status"], &st) != nil || a["StatusSTS"] == nil {
		return nil, power.Info{}, fmt.Errorf("Status 0: the answer is not a Tasmota's status")
	}
	json.Unmarshal(a["StatusFWR"], &fw)
	// A list of names, one a relay; a single string before Tasmota 8.
	if json.Unmarshal(st.FriendlyName, &t.names) != nil {
		var one string
		if json.Unmarshal(st.FriendlyName, &one) == nil {
			t.names = []string{one}
		}
	}
	var sns struct {
		Energy json.RawMessage `json:"ENERGY"`
	}
	if json.Unmarshal(a["StatusSNS"], &sns) == nil && sns.Energy != nil {
		t.metered = true
	}
	return t, power.Info{Vendor: "Tasmota", Model: st.DeviceName, Firmware: fw.Version, Dialect: string(Tasmota)}, nil
}
