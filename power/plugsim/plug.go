// Package plugsim serves simulated smart plugs over real HTTP on loopback:
// a Shelly Gen1, a Shelly Gen2+ and a Tasmota, each with the answers their
// documentation gives, relays with meters, the plugs' own timers, their
// authentication (Basic, SHA-256 digest, query parameters) and faults
// (slow answers, dropped connections). Tests and `serve --simulate` use
// it; it counts every switch request it carries out, per relay, so that a
// test can assert how often power was switched at the device.
//
// It knows nothing of powerbridge's drivers: it is what they talk to.
package plugsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// The models a Plug can be.
const (
	ShellyGen1 = "shelly-gen1"
	ShellyGen2 = "shelly-gen2"
	Tasmota    = "tasmota"
)

// Models are the names Start accepts.
func Models() []string { return []string{ShellyGen1, ShellyGen2, Tasmota} }

// Options shape a Plug.
type Options struct {
	// Relays is how many outlets the plug switches; 1 when zero.
	Relays int
	// User and Password turn on the model's authentication; with no
	// Password the plug is open, as plugs ship. User defaults to admin.
	User     string
	Password string
	// Watts is what a relay's load draws while it is on; 40 when zero.
	Watts float64
	// On starts every relay on.
	On bool
}

// Plug is one simulated plug.
type Plug struct {
	model string
	opts  Options
	id    string // the device id, which Shelly Gen2 uses as its digest realm
	ln    net.Listener
	srv   *http.Server
	quit  chan struct{}

	mu       sync.Mutex
	relays   []*relay
	faults   faults
	nonces   map[string]uint32 // digest nonces issued, with the last count seen
	nonceSeq int
	authFail int
	requests int
}

type relay struct {
	on       bool
	watts    float64 // drawn while on
	joules   float64 // energy counted up to since
	since    time.Time
	commands int
	offAt    time.Time // when it last went off
	onAt     time.Time // when it last went on
	timer    *time.Timer
	timerEnd time.Time
	timerDur time.Duration
}

type faults struct {
	slow      time.Duration
	dropNext  int // requests dropped before they are carried out
	loseNext  int // requests carried out whose answer is dropped
	dropEvery bool
}

// Start serves a plug of model on 127.0.0.1, on a port of its own.
func Start(model string, opts Options) (*Plug, error) {
	return Listen(model, "127.0.0.1:0", opts)
}

// Listen serves a plug of model on addr.
func Listen(model, addr string, opts Options) (*Plug, error) {
	if !slices.Contains(Models(), model) {
		return nil, fmt.Errorf("%q is not a simulated plug (one of %v)", model, Models())
	}
	if opts.Relays <= 0 {
		opts.Relays = 1
	}
	if opts.User == "" {
		opts.User = "admin"
	}
	if opts.Watts == 0 {
		opts.Watts = 40
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Plug{model: model, opts: opts, ln: ln, quit: make(chan struct{}), nonces: map[string]uint32{}}
	p.id = fmt.Sprintf("%s-%06x", map[string]string{ShellyGen1: "shellyplug-s", ShellyGen2: "shellyplusplugs", Tasmota: "tasmota"}[model], ln.Addr().(*net.TCPAddr).Port)
	now := time.Now()
	for range opts.Relays {
		p.relays = append(p.relays, &relay{on: opts.On, watts: opts.Watts, since: now})
	}
	mux := http.NewServeMux()
	switch model {
	case ShellyGen1:
		p.gen1Routes(mux)
	case ShellyGen2:
		p.gen2Routes(mux)
	case Tasmota:
		p.tasmotaRoutes(mux)
	}
	p.srv = &http.Server{Handler: p.faulty(mux), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// ID is the plug's device id: a Shelly Gen2's digest realm.
func (p *Plug) ID() string { return p.id }

// Model is the plug's model name.
func (p *Plug) Model() string { return p.model }

// Addr is the host:port the plug listens on.
func (p *Plug) Addr() string { return p.ln.Addr().String() }

// URL is the plug's base URL.
func (p *Plug) URL() string { return "http://" + p.Addr() }

// Relays is how many outlets the plug has.
func (p *Plug) Relays() int { return len(p.relays) }

// Close stops serving and the plug's timers.
func (p *Plug) Close() error {
	p.mu.Lock()
	select {
	case <-p.quit:
		p.mu.Unlock()
		return nil
	default:
		close(p.quit)
	}
	for _, r := range p.relays {
		if r.timer != nil {
			r.timer.Stop()
		}
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = p.srv.Close()
	}
	return err
}

// State is outlet n's state (from 1), or Unknown for no such outlet.
func (p *Plug) State(n int) power.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.relay(n)
	if r == nil {
		return power.Unknown
	}
	if r.on {
		return power.On
	}
	return power.Off
}

// SetState switches outlet n as a hand on the plug's button would: not
// counted as a command.
func (p *Plug) SetState(n int, s power.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.relay(n); r != nil {
		r.set(s == power.On, time.Now())
	}
}

// SetWatts sets what outlet n's load draws while on: a machine that halted
// draws only its standby.
func (p *Plug) SetWatts(n int, w float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.relay(n); r != nil {
		r.count(time.Now())
		r.watts = w
	}
}

// Commands is how many switch requests outlet n carried out (a timed
// cycle is one; the timer firing is the plug's own doing and not counted).
func (p *Plug) Commands(n int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.relay(n); r != nil {
		return r.commands
	}
	return 0
}

// Switched tells when outlet n last went off and last went on, by the
// plug's clock (zero for never).
func (p *Plug) Switched(n int) (off, on time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.relay(n); r != nil {
		return r.offAt, r.onAt
	}
	return time.Time{}, time.Time{}
}

// AuthFailures is how many requests were refused for their credentials.
func (p *Plug) AuthFailures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authFail
}

// Requests is how many requests reached the plug's API.
func (p *Plug) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// relay returns outlet n's relay, or nil; p.mu is held.
func (p *Plug) relay(n int) *relay {
	if n < 1 || n > len(p.relays) {
		return nil
	}
	return p.relays[n-1]
}

// count adds the energy drawn up to now.
func (r *relay) count(now time.Time) {
	if r.on {
		r.joules += r.watts * now.Sub(r.since).Seconds()
	}
	r.since = now
}

func (r *relay) set(on bool, now time.Time) {
	r.count(now)
	switch {
	case on && !r.on:
		r.onAt = now
	case !on && r.on:
		r.offAt = now
	}
	r.on = on
}

// power is what the relay draws now.
func (r *relay) power() float64 {
	if r.on {
		return r.watts
	}
	return 0
}

// flipAfter sets the relay's timer: after d it switches to the opposite of
// what it is now (Shelly's timer and toggle_after). p.mu is held.
func (p *Plug) flipAfter(r *relay, d time.Duration) {
	if r.timer != nil {
		r.timer.Stop()
	}
	back := !r.on
	r.timerEnd, r.timerDur = time.Now().Add(d), d
	r.timer = time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		r.set(back, time.Now())
		r.timer, r.timerDur = nil, 0
	})
}

// cancelTimer stops a running timer: a switch by request replaces it, as
// on the devices. p.mu is held.
func (r *relay) cancelTimer() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer, r.timerDur = nil, 0
	}
}
