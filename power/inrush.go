package power

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrInrushQueue marks a power-on that could not take its turn in its PDU's
// inrush guard before the action's deadline.
var ErrInrushQueue = errors.New("too many power-ons queued at the PDU")

// inrushGuard spaces the power-ons of one PDU: no two of its outlets are
// switched on closer together than delay, whichever request (and face) asked,
// in the order the requests arrived. A PC power supply draws many times its
// running current for the first few tens of milliseconds after it gets AC;
// two dozen of them at once trip the breaker that one at a time never would.
// PDUs space their own sequences (APC's per-outlet power-on delays, Raritan's
// inrush guard) but not SETs that arrive one after another over SNMP.
//
// Only power-ons take a turn: offs and reads go straight to the PDU's worker.
type inrushGuard struct {
	pdu   string
	delay time.Duration
	// serial makes power-ons take turns even with no delay: a power
	// budget admits them one at a time.
	serial bool

	mu     sync.Mutex
	queue  []*inrushTurn // waiting, in arrival order
	busy   bool          // a turn is taken and not yet given back
	lastOn time.Time     // when the last power-on SET was answered
	taken  int           // turns asked for, ever: what a test waits on
}

// inrushTurn is one power-on's place in the queue.
type inrushTurn struct {
	g       *inrushGuard
	granted chan struct{} // closed when the turn is this one's
}

func newInrushGuard(pdu string, delay time.Duration, serial bool) *inrushGuard {
	return &inrushGuard{pdu: pdu, delay: delay, serial: serial}
}

// phaseGuards gives each phase (or circuit) of a PDU a guard of its own:
// outlets on different breakers may come on together. phases lists each
// one's outlets; an outlet in none shares the PDU's own guard.
func phaseGuards(pdu string, delay time.Duration, serial bool, phases [][]int) map[int]*inrushGuard {
	m := map[int]*inrushGuard{}
	for i, outlets := range phases {
		g := newInrushGuard(fmt.Sprintf("%s phase %d", pdu, i+1), delay, serial)
		for _, n := range outlets {
			m[n] = g
		}
	}
	return m
}

// InrushDelay is the least time between two power-ons of the PDU's outlets.
func (p *PDU) InrushDelay() time.Duration { return p.cfg.InrushDelay }

// takeTurn waits for outlet n's power-on to take its turn at its inrush
// guard and to be admitted to the power budget; release, once the SET is
// answered, lets the next one go.
func (p *PDU) takeTurn(ctx context.Context, n int) (release func(), err error) {
	turn, err := p.guard(n).take(ctx)
	if err != nil {
		return nil, err
	}
	admitted, err := p.admit(ctx, n)
	if err != nil {
		turn.done()
		return nil, err
	}
	return func() { admitted(); turn.done() }, nil
}

// guard is the inrush guard outlet n's power-ons take their turn at.
func (p *PDU) guard(n int) *inrushGuard {
	if g, ok := p.phases[n]; ok {
		return g
	}
	return p.inrush
}

// take waits for a power-on's turn and for delay to have passed since the
// last power-on, and returns the turn, to be given back with done once its
// SET has been sent (and stamped with sentOn). A caller whose deadline
// cannot be met by the power-ons ahead of it is refused at once with
// ErrInrushQueue, rather than held until the deadline.
func (g *inrushGuard) take(ctx context.Context) (*inrushTurn, error) {
	if g == nil || (g.delay <= 0 && !g.serial) {
		return nil, nil
	}
	t := &inrushTurn{g: g, granted: make(chan struct{})}
	g.mu.Lock()
	g.taken++
	ahead := len(g.queue)
	if g.busy {
		ahead++
	}
	earliest := time.Now()
	if next := g.lastOn.Add(g.delay); next.After(earliest) {
		earliest = next
	}
	earliest = earliest.Add(time.Duration(ahead) * g.delay)
	if dl, ok := ctx.Deadline(); ok && earliest.After(dl) {
		g.mu.Unlock()
		return nil, fmt.Errorf("%w: %d power-on(s) of PDU %s are ahead of this one, %s apart (inrush_delay), and its turn would come %s after the action's deadline",
			ErrInrushQueue, ahead, g.pdu, g.delay, earliest.Sub(dl).Round(time.Millisecond))
	}
	g.queue = append(g.queue, t)
	g.grantLocked()
	g.mu.Unlock()

	select {
	case <-t.granted:
	case <-ctx.Done():
		g.leave(t)
		return nil, fmt.Errorf("waiting for its turn among PDU %s's power-ons (inrush_delay %s): %w", g.pdu, g.delay, ctx.Err())
	}

	g.mu.Lock()
	left := time.Until(g.lastOn.Add(g.delay))
	g.mu.Unlock()
	if left > 0 {
		timer := time.NewTimer(left)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			t.done()
			return nil, fmt.Errorf("waiting out PDU %s's inrush_delay (%s) after its last power-on: %w", g.pdu, g.delay, ctx.Err())
		}
	}
	return t, nil
}

// leave takes t, whose caller gave up, out of the queue, or passes its turn
// on if it was granted meanwhile.
func (g *inrushGuard) leave(t *inrushTurn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-t.granted:
		g.busy = false
		g.grantLocked()
	default:
		for i, q := range g.queue {
			if q == t {
				g.queue = append(g.queue[:i], g.queue[i+1:]...)
				break
			}
		}
	}
}

// grantLocked gives the turn to the first in the queue when nobody has it.
func (g *inrushGuard) grantLocked() {
	if g.busy || len(g.queue) == 0 {
		return
	}
	next := g.queue[0]
	g.queue = g.queue[1:]
	g.busy = true
	close(next.granted)
}

// sentOn notes that a power-on SET was answered (or given up on) at, which
// the next power-on's turn counts its delay from. Called from the PDU's
// worker for every on sent, the turn's or a resend.
func (g *inrushGuard) sentOn(at time.Time) {
	if g == nil {
		return
	}
	g.mu.Lock()
	if at.After(g.lastOn) {
		g.lastOn = at
	}
	g.mu.Unlock()
}

// done gives the turn back. A nil turn (no guard) does nothing.
func (t *inrushTurn) done() {
	if t == nil {
		return
	}
	g := t.g
	g.mu.Lock()
	g.busy = false
	g.grantLocked()
	g.mu.Unlock()
}
