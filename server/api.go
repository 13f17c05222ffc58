package server

import "github.com/powerbridge/powerbridge/power"

// The answers of the JSON API, one type per answer, and their mapping from
// the power domain. They are the wire format: a field here is a promise to
// every client, `powerbridge power` among them, which decodes these same
// types. The power domain's own types carry no encoding of their own.
//
// Fields of an answer that was once a map are in the map's (alphabetical)
// order, so that the bytes stayed the same when it became a type.

// Health is GET /healthz.
type Health struct {
	Health string `json:"health"`
}

// Error is the answer of every request that failed.
type Error struct {
	Error string `json:"error"`
}

// Ready is GET /readyz. Errors, which name PDUs and their addresses, are
// there only for a request that authenticated.
type Ready struct {
	Ready          bool `json:"ready"`
	PDUs           int  `json:"pdus"`
	UnreadablePDUs int  `json:"unreadable_pdus"`
	// Error says what is wrong, as on every other answer that is not a 200.
	Error  string            `json:"error,omitempty"`
	Errors map[string]string `json:"errors,omitempty"`
}

// MachineList is GET /v1/machines.
type MachineList struct {
	Machines []Machine `json:"machines"`
}

// Machine is one configured machine.
type Machine struct {
	Name    string   `json:"name"`
	Outlets []string `json:"outlets"` // "pdu/N"
	// Graceful is true when "off" shuts the OS down first.
	Graceful bool `json:"graceful_shutdown"`
	// WakeOnLAN is true when "on" wakes the machine by LAN (after its
	// outlets, if it has any).
	WakeOnLAN bool `json:"wake_on_lan,omitempty"`
}

// MachineStatus is GET /v1/machines/{name}.
type MachineStatus struct {
	Machine string `json:"machine"`
	// State is what MAAS is told: Power, except that a halted OS reads off.
	State power.State `json:"state"`
	// Power is what the outlets say.
	Power   power.State     `json:"power"`
	Outlets []MachineOutlet `json:"outlets"`
	Halted  bool            `json:"halted,omitempty"`
	// ShuttingDown is true while a graceful shutdown is under way.
	ShuttingDown bool `json:"shutting_down,omitempty"`
}

// MachineOutlet is one outlet of a machine, in its status.
type MachineOutlet struct {
	PDU    string      `json:"pdu"`
	Outlet int         `json:"outlet"`
	Name   string      `json:"name,omitempty"`
	State  power.State `json:"state"`
}

// ActionResult is POST /v1/machines/{name}/on, off and cycle.
type ActionResult struct {
	Machine string       `json:"machine"`
	Action  power.Action `json:"action"`
	State   power.State  `json:"state"`
	// Changed is true when an outlet was seen to change state.
	Changed bool `json:"changed"`
	// Switched lists the outlets ("pdu/N") that changed state, in order.
	Switched []string `json:"switched,omitempty"`
	// Shutdown says how an "off" ended: "graceful", "cut" (Reason says
	// why) or "" (no shutdown configured or nothing to do).
	Shutdown string   `json:"shutdown,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Phases   []Phase  `json:"phases,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	Seconds  float64  `json:"seconds"`
}

// Phase is one step of a graceful shutdown.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Outcome string  `json:"outcome"`
}

// ForgotHostKey is POST /v1/machines/{name}/forget-host-key.
type ForgotHostKey struct {
	ForgotHostKey bool   `json:"forgot_host_key"`
	Machine       string `json:"machine"`
}

// Reloaded is POST /-/reload.
type Reloaded struct {
	Reloaded bool `json:"reloaded"`
}

// PDUList is GET /v1/pdus.
type PDUList struct {
	PDUs []PDU `json:"pdus"`
}

// PDU is one PDU as last read; Error instead of the rest when it could not be.
type PDU struct {
	Name    string  `json:"name"`
	Info    PDUInfo `json:"info"`
	Outlets int     `json:"outlets"`
	Meter   *Meter  `json:"meter,omitempty"`
	Budget  *Budget `json:"budget,omitempty"` // see racks.go
	Error   string  `json:"error,omitempty"`

	// UnexpectedChanges are the latest outlets found in a state nobody
	// asked powerbridge for, oldest first.
	UnexpectedChanges []UnexpectedChange `json:"unexpected_changes,omitempty"`
}

// PDUInfo describes the device behind a PDU, as far as it tells.
type PDUInfo struct {
	Vendor   string `json:"vendor,omitempty"`
	Model    string `json:"model,omitempty"`
	Firmware string `json:"firmware,omitempty"`
	Dialect  string `json:"dialect,omitempty"`
}

// Meter is a metered PDU's PDU-wide readings, in base units.
type Meter struct {
	CurrentAmperes []float64 `json:"current_amperes,omitempty"`
	PowerWatts     *float64  `json:"power_watts,omitempty"`
	EnergyJoules   *float64  `json:"energy_joules,omitempty"`
}

// OutletList is GET /v1/pdus/{pdu}/outlets.
type OutletList struct {
	Outlets []Outlet `json:"outlets"`
	PDU     string   `json:"pdu"`
}

// Outlet is one outlet of a PDU and the machine it feeds, if any.
type Outlet struct {
	Number         int         `json:"number"`
	Name           string      `json:"name,omitempty"`
	State          power.State `json:"state"`
	Pending        bool        `json:"pending,omitempty"` // a command is still being carried out
	CurrentAmperes *float64    `json:"current_amperes,omitempty"`
	PowerWatts     *float64    `json:"power_watts,omitempty"`
	Machine        string      `json:"machine,omitempty"`
}

// OutletSwitch is POST /v1/pdus/{pdu}/outlets/{n}/{action}.
type OutletSwitch struct {
	PDU     string       `json:"pdu"`
	Outlet  int          `json:"outlet"`
	Action  power.Action `json:"action"`
	State   power.State  `json:"state"`
	Changed bool         `json:"changed"`
	// Machine is the machine the outlet feeds, if any.
	Machine string `json:"machine,omitempty"`
	// CutWithoutShutdown is true when a machine's outlet was switched off
	// without the machine's clean shutdown.
	CutWithoutShutdown bool     `json:"cut_without_shutdown,omitempty"`
	Notes              []string `json:"notes,omitempty"`
	Seconds            float64  `json:"seconds"`
}

func outletSwitchAnswer(r power.OutletResult) OutletSwitch {
	return OutletSwitch{PDU: r.PDU, Outlet: r.Outlet, Action: r.Action, State: r.State, Changed: r.Changed,
		Machine: r.Machine, CutWithoutShutdown: r.CutWithoutShutdown, Notes: r.Notes, Seconds: r.Duration.Seconds()}
}

func machineAnswer(m power.Machine) Machine {
	// A machine woken by LAN may have no outlet: [] then, not null.
	out := Machine{Name: m.Name, Outlets: []string{}, Graceful: m.Graceful != nil, WakeOnLAN: m.Wake != nil}
	for _, o := range m.Outlets {
		out.Outlets = append(out.Outlets, o.String())
	}
	return out
}

func statusAnswer(st power.MachineStatus) MachineStatus {
	out := MachineStatus{Machine: st.Machine, State: st.State, Power: st.Power, Halted: st.Halted, ShuttingDown: st.ShuttingDown}
	if st.Outlets != nil {
		out.Outlets = make([]MachineOutlet, len(st.Outlets))
	}
	for i, o := range st.Outlets {
		out.Outlets[i] = MachineOutlet{PDU: o.PDU, Outlet: o.Outlet, Name: o.Name, State: o.State}
	}
	return out
}

func resultAnswer(r power.Result) ActionResult {
	out := ActionResult{Machine: r.Machine, Action: r.Action, State: r.State, Changed: r.Changed, Switched: r.Switched,
		Shutdown: r.Shutdown, Reason: r.Reason, Notes: r.Notes, Seconds: r.Duration.Seconds()}
	for _, p := range r.Phases {
		out.Phases = append(out.Phases, Phase{Name: p.Name, Seconds: p.Duration.Seconds(), Outcome: p.Outcome})
	}
	return out
}

func pduAnswer(name string, rd power.Reading) PDU {
	return PDU{
		Name:    name,
		Info:    PDUInfo{Vendor: rd.Info.Vendor, Model: rd.Info.Model, Firmware: rd.Info.Firmware, Dialect: rd.Info.Dialect},
		Outlets: len(rd.Outlets),
		Meter:   &Meter{CurrentAmperes: rd.Meter.CurrentAmperes, PowerWatts: rd.Meter.PowerWatts, EnergyJoules: rd.Meter.EnergyJoules},
	}
}

func outletAnswer(o power.Outlet, machine string) Outlet {
	return Outlet{Number: o.Number, Name: o.Name, State: o.State, Pending: o.Pending,
		CurrentAmperes: o.CurrentAmperes, PowerWatts: o.PowerWatts, Machine: machine}
}
