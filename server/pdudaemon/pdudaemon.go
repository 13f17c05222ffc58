// Package pdudaemon is powerbridge's pdudaemon face: the HTTP API that LAVA
// and labgrid drive PDUs through (GET /power/control/{on,off,reboot}?
// hostname=<pdu>&port=<outlet>[&delay=<s>]), answered as pdudaemon answers
// and carried out after the answer, queued per PDU, through the domain's
// outlet path (one worker per device, verified switches, the power-on
// delay). Plus what pdudaemon lacks: a state query.
//
// pdudaemon's clients send no credentials, so the listener is guarded by an
// allow-list of client networks instead. The package knows nothing of SNMP
// or of how an outlet is switched.
package pdudaemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// Fleet is what the face needs of the domain; *power.Fleet is one.
type Fleet interface {
	SwitchOutlet(ctx context.Context, pdu string, n int, action power.Action) (power.OutletResult, error)
	ReadPDU(ctx context.Context, pdu string) (power.Reading, error)
}

// Config is how the face behaves.
type Config struct {
	// Fleet is the domain a request is served from (one config generation).
	Fleet func(r *http.Request) Fleet
	// Hold, when set, keeps what r's Fleet needs until release is called:
	// a request accepted is carried out after its answer, on its fleet.
	Hold func(r *http.Request) (release func())
	// Allow are the client networks let in; nobody else is.
	Allow []netip.Prefix
	// DefaultDelay is a reboot's off time when the request gives no delay
	// (pdudaemon's default is 5 s); the PDU's power_on_delay still holds.
	DefaultDelay  time.Duration
	StatusTimeout time.Duration
	ActionTimeout time.Duration
	Logger        *slog.Logger
}

// The answers pdudaemon gives, byte for byte.
const (
	accepted = "200 OK - accepted request\n"
	invalid  = "500 Invalid request\n"
)

// maxDelay bounds a reboot's delay.
const maxDelay = 5 * time.Minute

type face struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	queues map[string][]job // by PDU; [0] is under way
}

type job struct {
	action power.Action // on, off, or cycle for a reboot
	outlet int
	delay  time.Duration
	who    string
	fleet  Fleet
	// release lets go of what fleet needs, once the job is done.
	release func()
}

// New returns the face's handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultDelay <= 0 {
		cfg.DefaultDelay = 5 * time.Second
	}
	if cfg.StatusTimeout <= 0 {
		cfg.StatusTimeout = 10 * time.Second
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 150 * time.Second
	}
	f := &face{cfg: cfg, log: cfg.Logger, queues: map[string][]job{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /power/control/{command}", f.control)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { answer(w, http.StatusInternalServerError, invalid) })
	return f.allow(mux)
}

// OpenToAll tells whether prefixes let in any address: the caller logs it
// loudly, since anyone who reaches the port may then switch power.
func OpenToAll(prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Bits() == 0 {
			return true
		}
	}
	return false
}

func (f *face) allow(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		addr, perr := netip.ParseAddr(host)
		if err == nil && perr == nil {
			addr = addr.Unmap().WithZone("")
			for _, p := range f.cfg.Allow {
				if p.Contains(addr) {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		f.log.Warn("pdudaemon request refused: the client is not in pdudaemon.allow", "remote", r.RemoteAddr, "path", r.URL.Path)
		answer(w, http.StatusForbidden, "403 Forbidden - "+host+" is not in pdudaemon.allow\n")
	})
}

func answer(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write([]byte(body))
}

func (f *face) control(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pdu, port := q.Get("hostname"), q.Get("port")
	n, err := strconv.Atoi(port)
	if pdu == "" || err != nil || n < 1 {
		f.log.Warn("pdudaemon request invalid: hostname (a PDU's name) and port (an outlet from 1) are needed",
			"remote", r.RemoteAddr, "hostname", pdu, "port", port)
		answer(w, http.StatusInternalServerError, invalid)
		return
	}
	// An unknown PDU or outlet is refused now, not after the answer.
	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.StatusTimeout)
	defer cancel()
	fl := f.cfg.Fleet(r)
	rd, err := fl.ReadPDU(ctx, pdu)
	var o power.Outlet
	if err == nil {
		var ok bool
		if o, ok = rd.Outlet(n); !ok {
			err = fmt.Errorf("PDU %s has no outlet %d", pdu, n)
		}
	}
	if err != nil {
		f.log.Warn("pdudaemon request invalid", "remote", r.RemoteAddr, "hostname", pdu, "port", n, "error", err.Error())
		answer(w, http.StatusInternalServerError, invalid)
		return
	}
	j := job{outlet: n, delay: f.cfg.DefaultDelay, who: "pdudaemon@" + r.RemoteAddr, fleet: fl, release: func() {}}
	switch cmd := r.PathValue("command"); cmd {
	case "status":
		// Not in pdudaemon: the state its users have asked for.
		answer(w, http.StatusOK, o.State.String()+"\n")
		return
	case "on":
		j.action = power.ActionOn
	case "off":
		j.action = power.ActionOff
	case "reboot":
		j.action = power.ActionCycle
		if d := q.Get("delay"); d != "" {
			secs, err := strconv.ParseFloat(d, 64)
			if err != nil || secs < 0 || time.Duration(secs*float64(time.Second)) > maxDelay {
				f.log.Warn("pdudaemon request invalid: delay is seconds, at most 300", "remote", r.RemoteAddr, "delay", d)
				answer(w, http.StatusInternalServerError, invalid)
				return
			}
			j.delay = time.Duration(secs * float64(time.Second))
		}
	default:
		answer(w, http.StatusInternalServerError, invalid)
		return
	}
	if f.cfg.Hold != nil {
		j.release = f.cfg.Hold(r)
	}
	f.enqueue(pdu, j)
	answer(w, http.StatusOK, accepted)
}

// enqueue queues j behind the PDU's other requests; a request equal to the
// last one queued joins it (and lets go of its hold at once).
func (f *face) enqueue(pdu string, j job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queues[pdu]
	if n := len(q); n > 0 && q[n-1].action == j.action && q[n-1].outlet == j.outlet && q[n-1].delay == j.delay {
		j.release()
		f.log.Info("pdudaemon request joins the one queued", "principal", j.who, "pdu", pdu, "outlet", j.outlet, "action", j.action)
		return
	}
	f.queues[pdu] = append(q, j)
	if len(q) == 0 {
		go f.work(pdu)
	}
}

func (f *face) work(pdu string) {
	for {
		f.mu.Lock()
		q := f.queues[pdu]
		if len(q) == 0 {
			delete(f.queues, pdu)
			f.mu.Unlock()
			return
		}
		j := q[0]
		f.mu.Unlock()
		f.run(pdu, j)
		j.release()
		f.mu.Lock()
		f.queues[pdu] = f.queues[pdu][1:]
		f.mu.Unlock()
	}
}

func (f *face) run(pdu string, j job) {
	ctx, cancel := context.WithTimeout(power.WithPrincipal(context.Background(), j.who), f.cfg.ActionTimeout+j.delay)
	defer cancel()
	ref := power.OutletRef{PDU: pdu, Outlet: j.outlet}.String()
	do := func(a power.Action) error {
		out, err := j.fleet.SwitchOutlet(ctx, pdu, j.outlet, a)
		if err != nil {
			f.log.Error("pdudaemon outlet action failed", "principal", j.who, "outlet", ref, "action", a, "error", err.Error())
			return err
		}
		f.log.Info("pdudaemon outlet action", "principal", j.who, "outlet", ref, "action", a, "changed", out.Changed)
		return nil
	}
	if j.action != power.ActionCycle {
		do(j.action)
		return
	}
	// pdudaemon's reboot: off, the delay, on (the PDU's power-on delay is
	// kept by the domain on top).
	if do(power.ActionOff) != nil {
		return
	}
	t := time.NewTimer(j.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return
	}
	do(power.ActionOn)
}
