package shutdown

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// Defaults applied by Graceful.Run to zero fields.
const (
	DefaultFailures       = 3
	DefaultInterval       = time.Second
	DefaultSettle         = 5 * time.Second
	DefaultRequestTimeout = 30 * time.Second
)

// Graceful is the whole graceful shutdown of one machine: request it over
// ssh, then wait until the host is down. The caller cuts power after Run, or
// applies its policy when the result is not Down.
type Graceful struct {
	SSH *SSH

	// Probe tells when the host is down; nil means TCP to the ssh address.
	Probe Probe
	// Failures in a row, probed every Interval, mean down; then Settle
	// passes. Defaults: DefaultFailures, DefaultInterval, DefaultSettle.
	Failures int
	Interval time.Duration
	Settle   time.Duration

	// RequestTimeout bounds Request within Run's ctx, so that a request
	// that hangs leaves time to watch the host go down.
	// DefaultRequestTimeout if zero.
	RequestTimeout time.Duration

	// PowerBelow, if set, reports whether metered power has fallen to
	// standby; see the PowerBelow option of WaitDown.
	PowerBelow func(ctx context.Context) (bool, error)
}

// Phase is how one step of a graceful shutdown went.
type Phase struct {
	Ran  bool
	Took time.Duration
	Err  error
}

// Result is how a graceful shutdown went, phase by phase.
type Result struct {
	Request  Phase
	WaitDown Phase
}

// Run requests the shutdown and, if the request went out, waits until the
// host is down, all within ctx. The wait is skipped when the host could not
// be reached, its key was refused, or the command failed: then nothing will
// go down, and the caller should decide at once.
func (g Graceful) Run(ctx context.Context) Result {
	var r Result
	if g.SSH == nil {
		r.Request = Phase{Ran: true, Err: errors.New("graceful shutdown without ssh settings")}
		return r
	}

	power.EnterPhase(ctx, "request")
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, orDefault(g.RequestTimeout, DefaultRequestTimeout))
	err := g.SSH.Request(rctx)
	cancel()
	r.Request = Phase{Ran: true, Took: time.Since(start), Err: err}
	if err != nil && !errors.Is(err, ErrUnconfirmed) {
		return r
	}

	probe := g.Probe
	if probe == nil {
		probe = TCPProbe{Addr: g.SSH.Addr}
	}
	var opts []WaitOption
	if g.PowerBelow != nil {
		opts = append(opts, PowerBelow(g.PowerBelow))
	}
	power.EnterPhase(ctx, "wait-down")
	start = time.Now()
	err = WaitDown(ctx, probe, orDefault(g.Failures, DefaultFailures), orDefault(g.Interval, DefaultInterval), orDefault(g.Settle, DefaultSettle), opts...)
	r.WaitDown = Phase{Ran: true, Took: time.Since(start), Err: err}
	return r
}

// orDefault returns v, or def when v is zero.
func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Down reports whether the host was seen going down: power can be cut as a
// graceful shutdown.
func (r Result) Down() bool { return r.WaitDown.Ran && r.WaitDown.Err == nil }

// Err is why the host was not seen going down, or nil if it was.
func (r Result) Err() error {
	switch {
	case r.Down():
		return nil
	case r.WaitDown.Ran:
		return r.WaitDown.Err
	case r.Request.Err != nil:
		return r.Request.Err
	}
	return errors.New("graceful shutdown did not run")
}

// RequestOutcome names how the request ended, for logs and metrics:
// "requested", "unconfirmed", "unreachable", "host-key", "failed", or
// "not-run".
func (r Result) RequestOutcome() string {
	err := r.Request.Err
	switch {
	case !r.Request.Ran:
		return "not-run"
	case err == nil:
		return "requested"
	case errors.Is(err, ErrUnconfirmed):
		return "unconfirmed"
	case errors.Is(err, ErrUnreachable):
		return "unreachable"
	case errors.Is(err, ErrHostKey):
		return "host-key"
	}
	return "failed"
}

// WaitOutcome names how the wait ended: "down", "timeout", "cancelled",
// "skipped".
func (r Result) WaitOutcome() string {
	err := r.WaitDown.Err
	switch {
	case !r.WaitDown.Ran:
		return "skipped"
	case err == nil:
		return "down"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "cancelled"
}

// String is one line for a log or an answer, e.g.
// "request requested in 412ms, wait down in 6.1s".
func (r Result) String() string {
	s := fmt.Sprintf("request %s in %s", r.RequestOutcome(), r.Request.Took.Round(time.Millisecond))
	if r.WaitDown.Ran {
		s += fmt.Sprintf(", wait %s in %s", r.WaitOutcome(), r.WaitDown.Took.Round(time.Millisecond))
	}
	if err := r.Err(); err != nil {
		s += ": " + err.Error()
	}
	return s
}

// LogValue puts the phases, their timings and the reason in a log line.
func (r Result) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("request", r.RequestOutcome()),
		slog.Duration("request_took", r.Request.Took),
		slog.String("wait", r.WaitOutcome()),
		slog.Duration("wait_took", r.WaitDown.Took),
	}
	if err := r.Err(); err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	return slog.GroupValue(attrs...)
}
