package snmp

import "time"

// EventKind names something the session noticed about a PDU.
type EventKind string

const (
	// EventRetry: a read got no answer in time and was sent again
	// (Config.Retries); Count says how often in one call. A SET is never
	// sent again, so it never causes one.
	EventRetry EventKind = "retry"
	// EventRestart: the PDU's SNMPv3 engine started a new boot since the
	// driver last heard from it: the management card rebooted.
	EventRestart EventKind = "restart"
	// EventNewEngine: the PDU answered from another SNMPv3 engine ID than
	// before: a replaced management card, or one reset to its factory
	// settings. The driver discovered the new engine.
	EventNewEngine EventKind = "new-engine"
	// EventTimeout: a request is given another timeout than the one
	// before (Timeout), as it follows the PDU's answer time for the
	// request's size (see Config.MaxTimeout).
	EventTimeout EventKind = "timeout"
)

// Event is something the session noticed about the PDU that is no error of
// the call it happened in, but worth a log line or a counter: a lossy
// network, a card that rebooted. Config.OnEvent is told of each.
type Event struct {
	Kind EventKind
	// Count is how many times it happened within the call (retries); 1
	// for the others.
	Count int
	// Detail says more, for a log line, such as "engine boots 1 to 2".
	Detail string
	// Timeout is the time a request is now given (EventTimeout).
	Timeout time.Duration
}
