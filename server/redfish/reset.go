package redfish

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// maxQueued bounds the resets waiting behind the one under way per system.
const maxQueued = 4

// resets carries out Reset actions after they are answered, in the order
// they arrived, one system's at a time: MAAS 2.7 sends ForceOff and On 5 ms
// apart and the On must come second. A Reset that asks for what the last one
// queued already asks joins it: MAAS 2.7 re-sends its whole sequence while
// it waits, MAAS 3.8 re-POSTs after a dropped connection.
type resets struct {
	s *service

	mu sync.Mutex
	m  map[string]*queue
}

type queue struct {
	ops   []op // ops[0] is under way
	phase power.Action
}

type op struct {
	resetType string
	steps     []power.Action
	fleet     Fleet
	release   func()          // lets go of what fleet needs, once the op is done
	ctx       context.Context // the request's values (principal), never its end
}

func newResets(s *service) *resets { return &resets{s: s, m: map[string]*queue{}} }

// submit queues a reset of machine on fl; release is called once the reset
// is done, or at once when it is joined or refused.
func (rs *resets) submit(ctx context.Context, fl Fleet, release func(), machine, resetType string, steps []power.Action) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	queued := false
	defer func() {
		if !queued {
			release()
		}
	}()
	q := rs.m[machine]
	if q == nil {
		q = &queue{}
		rs.m[machine] = q
	}
	if n := len(q.ops); n > 0 && slices.Equal(q.ops[n-1].steps, steps) {
		rs.s.log.Info("redfish reset joins the one queued", "principal", power.Principal(ctx), "machine", machine, "reset_type", resetType)
		return nil
	}
	if len(q.ops) > maxQueued {
		return fmt.Errorf("system %s: %w", machine, errQueueFull)
	}
	q.ops = append(q.ops, op{resetType: resetType, steps: steps, fleet: fl, release: release, ctx: context.WithoutCancel(ctx)})
	queued = true
	if q.phase == "" {
		q.phase = steps[0]
	}
	rs.s.log.Info("redfish reset", "principal", power.Principal(ctx), "machine", machine, "reset_type", resetType, "queued_behind", len(q.ops)-1)
	if len(q.ops) == 1 {
		go rs.work(machine, q)
	}
	return nil
}

// phase is the step under way or next for machine, if a reset is queued.
func (rs *resets) phase(machine string) (power.Action, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	q := rs.m[machine]
	if q == nil || len(q.ops) == 0 {
		return "", false
	}
	return q.phase, true
}

func (rs *resets) work(machine string, q *queue) {
	for {
		rs.mu.Lock()
		if len(q.ops) == 0 {
			q.phase = ""
			rs.mu.Unlock()
			return
		}
		o := q.ops[0]
		rs.mu.Unlock()
		for i, step := range o.steps {
			rs.mu.Lock()
			q.phase = step
			rs.mu.Unlock()
			if err := rs.run(o, machine, step); err != nil {
				rs.s.log.Error("redfish reset failed", "principal", power.Principal(o.ctx), "machine", machine,
					"reset_type", o.resetType, "step", step, "steps_left", len(o.steps)-i-1, "error", err.Error())
				break
			}
		}
		o.release()
		rs.mu.Lock()
		q.ops = q.ops[1:]
		if len(q.ops) > 0 {
			q.phase = q.ops[0].steps[0]
		}
		rs.mu.Unlock()
	}
}

func (rs *resets) run(o op, machine string, step power.Action) error {
	// The domain bounds the action itself; this bounds the wait for it
	// (which may first wait for another action on the machine to end).
	ctx, cancel := context.WithTimeout(o.ctx, 2*rs.s.cfg.ActionTimeout+30*time.Second)
	defer cancel()
	var err error
	switch step {
	case power.ActionOn:
		_, err = o.fleet.On(ctx, machine)
	case power.ActionOff:
		_, err = o.fleet.Off(ctx, machine)
	case power.ActionCut:
		_, err = o.fleet.Cut(ctx, machine)
	case power.ActionCycle:
		_, err = o.fleet.Cycle(ctx, machine)
	default:
		err = fmt.Errorf("no step %q", step)
	}
	return err
}
