package power

import (
	"context"
	"time"
)

// Observer is told what the power domain does, so that metrics can count it
// without this package knowing of Prometheus. Methods are called on hot paths
// and from many goroutines: they must be cheap and safe for concurrent use.
type Observer interface {
	// DeviceCall reports one call to a PDU's driver: op is "read" or "switch".
	DeviceCall(pdu, op string, took time.Duration, err error)
	// Action reports a finished machine action; result is "ok" or "error".
	Action(machine string, action Action, result string, took time.Duration)
	// Shutdown reports a graceful shutdown attempt before power was cut:
	// outcome is "graceful", "cut" (power cut without a confirmed shutdown)
	// or "refused" (policy "fail" left power on); reason says why it was not
	// graceful.
	Shutdown(machine, outcome, reason string, took time.Duration)
}

type nopObserver struct{}

func (nopObserver) DeviceCall(string, string, time.Duration, error) {}
func (nopObserver) Action(string, Action, string, time.Duration)    {}
func (nopObserver) Shutdown(string, string, string, time.Duration)  {}

// Poll is the last poll of a PDU, for metrics and health.
type Poll struct {
	Reading Reading
	// At is when the last successful read finished; zero before the first.
	At time.Time
	// Err is the last read's error; nil when it succeeded.
	Err error
}

// LastPoll returns the outcome of the PDU's most recent read, whoever asked
// for it. It never touches the device.
func (p *PDU) LastPoll() Poll {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Poll reads the PDU every interval until ctx ends, keeping the status cache
// and LastPoll fresh so that neither scrapes nor MAAS's queries wait on the
// device. Reads go through the worker like any other.
func (p *PDU) Poll(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// The error is kept in LastPoll; the poller has no one to tell.
		p.ReadFresh(ctx)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
