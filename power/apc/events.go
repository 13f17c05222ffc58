package apc

import "github.com/powerbridge/powerbridge/power/snmp"

// EventKind names something the driver noticed about a PDU; the SNMP
// session layer (power/snmp) notices them, for every vendor alike.
type EventKind = snmp.EventKind

const (
	EventRetry     = snmp.EventRetry
	EventRestart   = snmp.EventRestart
	EventNewEngine = snmp.EventNewEngine
	EventTimeout   = snmp.EventTimeout
)

// Event is something the driver noticed about the PDU that is no error of
// the call it happened in (see snmp.Event).
type Event = snmp.Event
