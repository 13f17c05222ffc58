// Package plug drives HTTP smart plugs as PDUs: Shelly Gen1 (its REST API),
// Shelly Gen2 and later (JSON-RPC 2.0 with SHA-256 digest auth) and Tasmota
// (its /cm command API). A plug's relays are the PDU's outlets, numbered
// from 1: outlet 1 is Shelly's relay or switch id 0 and Tasmota's Power1.
//
// It speaks HTTP and knows nothing of how the rest of powerbridge is
// configured or served; the rules of power (one worker per device,
// read-back, the power-on delay) apply to plugs as to any PDU, so a Driver
// here only speaks each plug's protocol. Every request is sent once: the
// HTTP client never resends one on its own (no kept-alive connections,
// whose reuse Go's transport retries), and a switch whose answer was lost
// is left to power's read-back to judge.
package plug

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// Kind is the protocol a plug speaks.
type Kind string

const (
	// Any detects the protocol: GET /shelly, then Tasmota's Status 0.
	Any Kind = ""
	// Shelly detects the generation of a Shelly by GET /shelly.
	Shelly     Kind = "shelly"
	ShellyGen1 Kind = "shelly-gen1"
	ShellyGen2 Kind = "shelly-gen2"
	Tasmota    Kind = "tasmota"
)

// Kinds are the kinds New accepts by name, Any aside.
func Kinds() []Kind { return []Kind{Shelly, ShellyGen1, ShellyGen2, Tasmota} }

// DefaultTimeout bounds one request to a plug when Config.Timeout is zero.
// Wi-Fi plugs answer in tens of milliseconds, or seconds when the signal
// is weak.
const DefaultTimeout = 3 * time.Second

// DefaultUser is the user Shelly's digest auth fixes and the one Tasmota
// ships with.
const DefaultUser = "admin"

// Config is how to reach one plug.
type Config struct {
	// Address is http://host[:port], https://host[:port], or host[:port]
	// (plain HTTP).
	Address string
	Kind    Kind
	// User and Password authenticate: Basic for Shelly Gen1, digest for
	// Gen2+, query parameters for Tasmota. No password, no auth.
	User     string
	Password string
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
}

// Driver speaks to one plug; it is a power.Driver and a power.TimedCycler.
// Like every driver it is called from one goroutine at a time.
type Driver struct {
	cfg    Config
	base   *url.URL
	client *http.Client
	proto  protocol // nil until the first call has detected it
	info   power.Info
	digest digestState
}

// protocol is one plug family's requests.
type protocol interface {
	read(ctx context.Context) (power.Reading, error)
	switchOutlet(ctx context.Context, outlet int, on bool) error
	// cycle switches outlet off and has the plug switch it on again by
	// itself after offFor.
	cycle(ctx context.Context, outlet int, offFor time.Duration) error
}

// New makes a driver; it sends nothing until the first call.
func New(cfg Config) (*Driver, error) {
	base, err := BaseURL(cfg.Address)
	if err != nil {
		return nil, err
	}
	switch cfg.Kind {
	case Any, Shelly, ShellyGen1, ShellyGen2, Tasmota:
	default:
		return nil, fmt.Errorf("plug kind %q is not one of shelly, shelly-gen1, shelly-gen2, tasmota", cfg.Kind)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	return &Driver{
		cfg:  cfg,
		base: base,
		client: &http.Client{
			Transport: &http.Transport{
				DisableKeepAlives:   true,
				TLSHandshakeTimeout: cfg.Timeout,
				Proxy:               nil, // a plug is on the local network
			},
			// A plug that redirects is not one of these APIs.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// HasScheme tells whether address names its scheme (http:// or https://):
// such an address is a plug's, never an SNMP agent's.
func HasScheme(address string) bool {
	a := strings.ToLower(address)
	return strings.HasPrefix(a, "http://") || strings.HasPrefix(a, "https://")
}

// BaseURL turns a plug's address into the URL its API hangs under.
func BaseURL(address string) (*url.URL, error) {
	a := address
	if !HasScheme(a) {
		a = "http://" + a
	}
	u, err := url.Parse(a)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("%q is not a plug address (http://host[:port], https://host[:port] or host[:port])", address)
	}
	u.Path = ""
	return u, nil
}

// Read returns the plug's relays and meters, detecting its protocol first
// when that is not yet known.
func (d *Driver) Read(ctx context.Context) (power.Reading, error) {
	if err := d.detect(ctx); err != nil {
		return power.Reading{}, err
	}
	r, err := d.proto.read(ctx)
	r.Info = d.info
	return r, err
}

// Switch turns outlet (from 1) on or off with one request.
func (d *Driver) Switch(ctx context.Context, outlet int, to power.State) error {
	if err := d.detect(ctx); err != nil {
		return err
	}
	if outlet < 1 {
		return fmt.Errorf("outlet %d: %w", outlet, power.ErrRefused)
	}
	return d.proto.switchOutlet(ctx, outlet, to == power.On)
}

// CycleTimed switches outlet off with one request that also sets the plug's
// own timer to switch it on again after offFor: Shelly's toggle_after (Gen2)
// or timer (Gen1), a Backlog with a Delay on Tasmota. The cycle then ends on
// even if powerbridge dies meanwhile.
func (d *Driver) CycleTimed(ctx context.Context, outlet int, offFor time.Duration) error {
	if err := d.detect(ctx); err != nil {
		return err
	}
	if outlet < 1 {
		return fmt.Errorf("outlet %d: %w", outlet, power.ErrRefused)
	}
	return d.proto.cycle(ctx, outlet, offFor)
}

// Close releases idle connections; there are none kept, but a TLS session
// cache may be.
func (d *Driver) Close() error {
	d.client.CloseIdleConnections()
	return nil
}

// detect settles the protocol once: a plug does not change its firmware
// family under a running powerbridge (a reload builds a new driver).
func (d *Driver) detect(ctx context.Context) error {
	if d.proto != nil {
		return nil
	}
	proto, info, err := d.probe(ctx)
	if err != nil {
		return err
	}
	d.proto, d.info = proto, info
	return nil
}
