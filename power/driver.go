// Package power is the domain of powerbridge: PDUs and their outlets, machines
// mapped onto outlets, and the on / off / cycle / status sequences MAAS asks for.
//
// It knows nothing of HTTP, SNMP or YAML, nor of any wire format: its types
// carry no encoding tags, and each face (server's JSON API, telemetry's
// metrics) maps them to its own. A vendor protocol plugs in as a Driver
// (power/apc is the APC one); the rules every vendor must obey (one request at a
// time per PDU, verify every switch, never retry a switch blindly, respect the
// power-on delay) live here, once, so that a driver only has to speak its protocol.
package power

import (
	"context"
	"errors"
	"fmt"
)

// State is the power state of an outlet or a machine.
type State int

const (
	Unknown State = iota
	On
	Off
)

func (s State) String() string {
	switch s {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "unknown"
}

// MarshalText makes a State read as its word wherever it is written as
// text: logs, and the answers of whatever face encodes it.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a State's word back.
func (s *State) UnmarshalText(b []byte) error {
	switch string(b) {
	case "on":
		*s = On
	case "off":
		*s = Off
	case "unknown":
		*s = Unknown
	default:
		return fmt.Errorf("%q is not a power state (on, off, unknown)", b)
	}
	return nil
}

// Driver speaks one vendor's protocol to one PDU.
//
// The PDU's worker calls a Driver from one goroutine at a time, so an
// implementation need not be safe for concurrent use. Every call must honour
// ctx's deadline.
type Driver interface {
	// Read returns every outlet of the PDU, and whatever meters it has, in as
	// few requests as the protocol allows (one for APC).
	Read(ctx context.Context) (Reading, error)

	// Switch asks the PDU to turn one outlet on or off. It sends the request
	// exactly once and never retries it: a retried switch can be executed
	// twice by the device. The caller verifies the outcome by reading back.
	//
	// A definite refusal by the device (wrong community, read-only object,
	// bad value) is wrapped with ErrRefused. A request that got no answer at
	// all (a timeout) is wrapped with ErrNoAnswer. Any other error, such as
	// an APC card's genErr, is an answer that leaves the outcome open: the
	// switch may well have happened.
	//
	// Before Switch returns ErrNoAnswer it has given the device time to
	// answer late: the request counts as outstanding at the device until
	// the late answer came or a give-up period passed, and nothing else is
	// sent to it meanwhile. So the caller may read the outlet back at once,
	// and, if it still reads the old state, send the absolute switch again.
	Switch(ctx context.Context, outlet int, to State) error

	// Close releases the driver's connection.
	Close() error
}

// ErrRefused marks an error from Driver.Switch where the device definitely did
// not carry out the request.
var ErrRefused = errors.New("refused by the PDU")

// ErrNoAnswer marks an error from Driver.Switch where the request got no
// answer: it may have been lost on the way, or carried out with its answer
// lost. An answered error (genErr, say) never wraps it. Only after
// ErrNoAnswer does PDU.Switch send an absolute on or off again, and only
// when the outlet reads back unchanged.
var ErrNoAnswer = errors.New("no answer from the PDU")

// Reading is one snapshot of a PDU.
type Reading struct {
	Info    Info
	Outlets []Outlet // in outlet-number order
	Meter   Meter
}

// Outlet returns the reading of outlet n.
func (r Reading) Outlet(n int) (Outlet, bool) {
	for _, o := range r.Outlets {
		if o.Number == n {
			return o, true
		}
	}
	return Outlet{}, false
}

// Info describes the device behind a PDU, as far as it tells.
type Info struct {
	Vendor   string // the maker, as people know it: "APC", "Eaton"
	Model    string
	Firmware string
	Dialect  string // the protocol variant the driver chose, e.g. "rpdu2"
}

// Outlet is the reading of one outlet.
type Outlet struct {
	Number  int
	Name    string
	State   State
	Pending bool // a command is still being carried out

	// Metered PDUs only; nil where the device does not report them.
	CurrentAmperes *float64
	PowerWatts     *float64
}

// Meter holds the PDU-wide readings of a metered PDU; nil fields are not
// reported by the device. Values are in base units.
type Meter struct {
	// CurrentAmperes is the load per phase or bank, in the device's order.
	CurrentAmperes []float64
	PowerWatts     *float64
	EnergyJoules   *float64
}
