package telemetry

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// What the power domain reports as it works (power.Observer), and what a
// PDU's driver notices of faults that are no error of the call they happen
// in: lost datagrams and card restarts.

var _ power.Observer = (*Metrics)(nil)

// DeviceCall counts one call to a PDU's driver and how long it took.
func (m *Metrics) DeviceCall(pdu, op string, took time.Duration, err error) {
	m.snmpDuration.WithLabelValues(pdu, op).Observe(took.Seconds())
	if err == nil {
		return
	}
	m.snmpErrors.WithLabelValues(pdu, op).Inc()
	if isTimeout(err) {
		m.snmpTimeouts.WithLabelValues(pdu, op).Inc()
	}
}

// isTimeout tells an error that means "no answer in time" from one the
// device or the network answered. It cannot use the SNMP library's errors
// (this package knows nothing of SNMP), so it goes by what they look like.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return true
	}
	// gosnmp reports a request that ran out of retries as a plain error,
	// "request timeout (after N retries): max retries exceeded".
	return strings.Contains(err.Error(), "request timeout")
}

// Action counts a finished machine action.
func (m *Metrics) Action(machine string, action power.Action, result string, took time.Duration) {
	m.actions.counter(machine, string(action), result).Add(1)
	m.actionDuration.WithLabelValues(string(action)).Observe(took.Seconds())
}

// Shutdown counts a graceful shutdown attempt by how it ended.
func (m *Metrics) Shutdown(machine, outcome, reason string, took time.Duration) {
	switch outcome {
	case "graceful":
		m.graceful.WithLabelValues(machine).Inc()
	case "cut":
		m.cuts.WithLabelValues(machine, shutdownReason(reason)).Inc()
	case "refused":
		m.refused.WithLabelValues(machine, shutdownReason(reason)).Inc()
	default:
		outcome = "other"
	}
	m.shutdownDuration.WithLabelValues(outcome).Observe(took.Seconds())
}

// shutdownReason files a shutdown's free-text reason (an ssh or probe error,
// with addresses and durations in it) under one of shutdownReasons, so that
// the label has a handful of values rather than one per message. The text
// itself is in the log and the action's answer.
func shutdownReason(reason string) string {
	r := strings.ToLower(reason)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(r, w) {
				return true
			}
		}
		return false
	}
	// Most specific first: a host-key or auth failure often ends in a
	// generic "handshake failed", an unreachable host in a timeout.
	switch {
	case has("host key", "host-key", "hostkey", "knownhosts", "known_hosts"):
		return "host-key"
	case has("unable to authenticate", "permission denied", "authentication", "no supported methods"):
		return "auth"
	case has("unreachable", "connection refused", "no route to host", "no such host"):
		return "unreachable"
	case has("timeout", "timed out", "deadline"):
		return "timeout"
	case has("cancel"):
		return "cancelled"
	}
	return "other"
}

// SNMPRetries counts n reads of a PDU that were sent again after no answer.
func (m *Metrics) SNMPRetries(pdu string, n int) {
	m.snmpRetries.WithLabelValues(pdu).Add(float64(n))
}

// SNMPTimeout sets the time the PDU's last SNMP request was given, which
// follows its answer time (snmp.Config.MaxTimeout).
func (m *Metrics) SNMPTimeout(pdu string, d time.Duration) {
	m.snmpTimeout.WithLabelValues(pdu).Set(d.Seconds())
}

// PDURestarted counts a restart, or a replacement, of a PDU's management
// card.
func (m *Metrics) PDURestarted(pdu string) {
	m.pduRestarts.WithLabelValues(pdu).Inc()
}
