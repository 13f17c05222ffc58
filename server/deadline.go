package server

import (
	"context"
	"sync"
	"time"
)

// lazyDeadline is a context with a deadline whose timer starts only when
// something waits on it. A status query answered from the PDU's cache never
// looks at Done or Err, so it costs neither a timer nor the timer's context
// (context.WithTimeout is a fifth of the status route's allocations); a
// query that has to wait for the PDU starts the timer on its first look,
// and from then on sees exactly a context.WithDeadline.
type lazyDeadline struct {
	context.Context // the parent: its values, and its cancellation
	deadline        time.Time

	once   sync.Once
	timed  context.Context // the WithDeadline child, once started
	cancel context.CancelFunc
}

// stopped is what a lazyDeadline is after its stop: canceled, as the
// context of context.WithTimeout is after its cancel func has been called.
var stopped = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// withLazyTimeout is context.WithTimeout(parent, d) whose timer starts on
// the first Done or Err; stop is its cancel func.
func withLazyTimeout(parent context.Context, d time.Duration) (ctx *lazyDeadline) {
	return &lazyDeadline{Context: parent, deadline: time.Now().Add(d)}
}

func (c *lazyDeadline) start() context.Context {
	c.once.Do(func() { c.timed, c.cancel = context.WithDeadline(c.Context, c.deadline) })
	return c.timed
}

// stop releases the timer, if one was started; after it the context is
// canceled.
func (c *lazyDeadline) stop() {
	c.once.Do(func() { c.timed = stopped })
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *lazyDeadline) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *lazyDeadline) Done() <-chan struct{} { return c.start().Done() }
func (c *lazyDeadline) Err() error            { return c.start().Err() }

func (c *lazyDeadline) Value(key any) any { return c.Context.Value(key) }
