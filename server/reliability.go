package server

// What the server counts of faults that are no error of the call they
// happen in: a PDU's lost datagrams and card restarts, as its driver notices
// them, and refused credentials.

// The values of powerbridge_auth_failures_total's reason label.
const (
	AuthMissing     = "missing"
	AuthInvalid     = "invalid"
	AuthRateLimited = "rate-limited"
)

var authFailureReasons = []string{AuthMissing, AuthInvalid, AuthRateLimited}

// SNMPRetries counts n reads of a PDU that were sent again after no answer.
func (m *Metrics) SNMPRetries(pdu string, n int) {
	m.snmpRetries.WithLabelValues(pdu).Add(float64(n))
}

// PDURestarted counts a restart, or a replacement, of a PDU's management
// card.
func (m *Metrics) PDURestarted(pdu string) {
	m.pduRestarts.WithLabelValues(pdu).Inc()
}

// AuthFailure counts a request refused for its credentials; reason is one of
// AuthMissing, AuthInvalid, AuthRateLimited.
func (m *Metrics) AuthFailure(reason string) {
	m.authFailures.WithLabelValues(reason).Inc()
}

// AuthCheck counts a request whose credentials were compared.
func (m *Metrics) AuthCheck() {
	m.authChecks.Inc()
}
