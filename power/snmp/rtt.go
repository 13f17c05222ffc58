package snmp

import "time"

// answerTime estimates how long the agent takes to answer a request, so
// that a request's timeout follows the card rather than a fixed guess: a
// management card that is slow but answering is then neither declared down
// nor sent a second copy of a request it is still working on.
//
// It follows the idea of TCP's retransmission timer (RFC 6298): keep a
// smoothed mean of the answer time and a smoothed mean of how far each
// answer strays from it, and wait for the mean plus four times that spread,
// so that an answer a little slower than usual still counts. The
// measurement is per varbind, because a card's time may grow with the
// varbinds a request has it handle: each answer's time is divided by its
// varbinds, and a request's estimate is that per-varbind time times its
// own varbinds. On a card whose time is all per request this errs long for
// a request bigger than those it learnt from; erring long costs only a
// silent card's wait, which Config.MaxTimeout bounds, while erring short
// would have the card's answer come after the request was given up on.
//
// Only one request is ever outstanding at a session, and a retry is sent
// only once the one given up on is answered late or counted as lost
// (Session.settle), so every answer, a late one included, belongs to the
// one request it is timed against: there is none of the ambiguity that
// makes TCP ignore the times of retransmitted segments.
type answerTime struct {
	perVarbind time.Duration // smoothed answer time per varbind
	spread     time.Duration // smoothed deviation from perVarbind
	samples    int           // answers measured; none: no estimate yet
}

// sample takes in the time of one answer to a request the card handled
// varbinds varbinds for, with RFC 6298's weights: 1/8 for the mean, 1/4
// for the spread, the first answer standing for both.
func (a *answerTime) sample(took time.Duration, varbinds int) {
	if took <= 0 {
		return
	}
	per := took / time.Duration(max(1, varbinds))
	if a.samples == 0 {
		a.perVarbind, a.spread = per, per/2
	} else {
		dev := a.perVarbind - per
		if dev < 0 {
			dev = -dev
		}
		a.spread = (3*a.spread + dev) / 4
		a.perVarbind = (7*a.perVarbind + per) / 8
	}
	a.samples++
}

// timeout is how long to wait for the answer to a request of varbinds
// varbinds: the estimate plus four spreads, never less than floor (the
// configured timeout, all there is before the first answer) nor more than
// ceiling.
func (a *answerTime) timeout(varbinds int, floor, ceiling time.Duration) time.Duration {
	if a.samples == 0 {
		return floor
	}
	n := time.Duration(max(1, varbinds))
	per := a.perVarbind + 4*a.spread
	if per > ceiling/n { // n·per would pass the ceiling, or overflow
		return max(floor, ceiling)
	}
	return min(max(floor, n*per), max(floor, ceiling))
}
