package shutdown

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// Probe tells whether a host is still up: the domain's power.Prober, whose
// Alive reports whether the host answered, within ctx. It is called again
// and again: it must not keep state that a failure would spoil.
type Probe = power.Prober

// DefaultProbeTimeout bounds one TCPProbe attempt when its Timeout is zero.
const DefaultProbeTimeout = 2 * time.Second

// TCPProbe finds a host alive when a TCP connection to Addr succeeds. sshd's
// port is the usual choice: it stops answering early in a shutdown.
type TCPProbe struct {
	Addr    string        // host:port; port 22 if none is given
	Timeout time.Duration // per attempt; DefaultProbeTimeout if zero
}

// Alive connects and hangs up at once. A name that does not resolve counts as
// alive: it says nothing about the host, and counting it as down would cut a
// running machine's power because of a DNS hiccup.
func (p TCPProbe) Alive(ctx context.Context) bool {
	alive, err := p.Tell(ctx)
	return alive || err != nil
}

var _ power.Teller = TCPProbe{}

// Tell is Alive, except that a name that does not resolve is an error: the
// probe cannot tell. A machine whose state is its probe's alone (one woken
// by LAN, with no outlet) then has no state, rather than a made-up "on".
func (p TCPProbe) Tell(ctx context.Context) (bool, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", withDefaultPort(p.Addr))
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return false, fmt.Errorf("probing %s: %w", p.Addr, err)
		}
		return false, nil
	}
	conn.Close()
	return true, nil
}

// A WaitOption adds to what WaitDown looks at.
type WaitOption func(*waitOptions)

type waitOptions struct {
	powerBelow func(context.Context) (bool, error)
}

// PowerBelow gives WaitDown a second sign of a host being down: below reports
// whether the machine's metered power has fallen to standby. It is asked once
// per interval; when it says true, the host is down at once, with no settle
// time (it is off, not just quiet). Its errors are ignored, except to be
// reported if the deadline comes.
func PowerBelow(below func(ctx context.Context) (bool, error)) WaitOption {
	return func(o *waitOptions) { o.powerBelow = below }
}

// WaitDown returns nil once the host is down: p has failed failures times in
// a row, probed every interval, and settle has then passed (or power has
// fallen, with PowerBelow). Settle gives disks time to sync after sshd has
// gone.
//
// If ctx ends before the host is seen down, WaitDown returns ctx.Err()
// wrapped with how far it got. If ctx's deadline comes during the settle
// time, WaitDown returns nil: the host was seen down, and the deadline is the
// caller's limit on how long to wait. A cancelled ctx is always an error.
func WaitDown(ctx context.Context, p Probe, failures int, interval, settle time.Duration, opts ...WaitOption) error {
	var o waitOptions
	for _, opt := range opts {
		opt(&o)
	}
	failures = max(failures, 1)
	start := time.Now()
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()

	probes, inARow := 0, 0
	var powerErr error
	for ctx.Err() == nil {
		if o.powerBelow != nil {
			below, err := o.powerBelow(ctx)
			if err == nil && below {
				return nil
			}
			powerErr = err
		}
		alive := p.Alive(ctx)
		if ended(ctx) {
			break // a probe cut short by ctx proves nothing
		}
		probes++
		if alive {
			inARow = 0
		} else {
			inARow++
		}
		if inARow >= failures {
			return settleDown(ctx, settle, tick, o)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	<-ctx.Done() // at most a moment away when only the deadline has passed

	err := fmt.Errorf("waiting for the host to go down: still up after %d probes in %s (%d of %d failures in a row): %w",
		probes, time.Since(start).Round(time.Millisecond), inARow, failures, ctx.Err())
	if powerErr != nil {
		err = fmt.Errorf("%w; reading power: %v", err, powerErr)
	}
	return err
}

// settleDown waits settle, or until power falls.
func settleDown(ctx context.Context, settle time.Duration, tick *time.Ticker, o waitOptions) error {
	timer := time.NewTimer(settle)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return nil
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("waiting for the host to settle after it went down: %w", ctx.Err())
			}
			return nil
		case <-tick.C:
			if o.powerBelow == nil {
				continue
			}
			if below, err := o.powerBelow(ctx); err == nil && below {
				return nil
			}
		}
	}
}

// ended reports whether ctx is done or past its deadline. A dial bounded by
// ctx can fail on the deadline a moment before ctx.Err() says so.
func ended(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(deadline)
}
