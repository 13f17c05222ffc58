// Package snmp is the SNMP session layer every PDU driver shares: v1, v2c
// and v3 credentials, GET, GETNEXT, GETBULK and SET over one session per
// device, with the rules a management card's single-mindedness asks for
// (one request outstanding, a late answer waited for, a SET never sent
// twice), and the classification of what a failed SET means for the
// outlet (power.ErrRefused, power.ErrNoAnswer, or an open outcome).
//
// It knows SNMP and nothing of any vendor's MIB, of HTTP or of machines:
// which OIDs hold an outlet is each driver's business. The gosnmp
// implementation (session.go) is the only code in powerbridge that sees
// gosnmp; drivers speak to a Client, which tests may fake.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Client is everything a driver asks of an SNMP agent. Like gosnmp
// itself, an implementation serves one call at a time.
//
// Agent errors (an error-status in the response PDU) come back as
// *AgentError, timeouts as errors wrapping ErrTimeout, and SNMPv3 security
// rejections as errors wrapping ErrAuth.
type Client interface {
	Get(ctx context.Context, oids []string) ([]Varbind, error)
	GetNext(ctx context.Context, oids []string) ([]Varbind, error)
	// GetBulk sends one GETBULK (SNMP v2c and v3 only): the first
	// nonRepeaters OIDs are read once, each of the others maxRepetitions
	// times.
	GetBulk(ctx context.Context, oids []string, nonRepeaters, maxRepetitions int) ([]Varbind, error)
	// Set writes one INTEGER. It is sent exactly once: never retried.
	Set(ctx context.Context, oid string, value int) error
	// Close closes the sockets; a later call opens them again.
	Close() error
}

// MaxVarbinds bounds the variable bindings of one request and its answer.
// Management cards answer from a small buffer; 60 INTEGER bindings keep a
// response near 1400 bytes, inside one unfragmented UDP datagram even with
// SNMPv3's headers. gosnmp refuses more than 60 OIDs in one GET, too.
const MaxVarbinds = 60

// Kind is the type of a variable binding's value, reduced to what the
// drivers need.
type Kind uint8

const (
	KindNull   Kind = iota
	KindInt         // INTEGER, Counter32, Gauge32, TimeTicks, Counter64
	KindString      // OCTET STRING, IpAddress
	KindOID         // OBJECT IDENTIFIER
	KindNoSuchObject
	KindNoSuchInstance
	KindEndOfMibView
)

// Varbind is one variable binding of a response.
type Varbind struct {
	OID  string // numeric, with a leading dot
	Kind Kind
	Num  int64  // KindInt
	Str  string // KindString, KindOID
}

// Missing reports whether the agent answered that the object is not there.
func (v Varbind) Missing() bool {
	return v.Kind == KindNoSuchObject || v.Kind == KindNoSuchInstance || v.Kind == KindEndOfMibView
}

// Integer returns the value of an integer-typed binding.
func (v Varbind) Integer() (int64, bool) { return v.Num, v.Kind == KindInt }

// Text returns the value of a string-typed binding.
func (v Varbind) Text() (string, bool) { return v.Str, v.Kind == KindString }

// Status is a PDU's error-status (RFC 3416, section 3).
type Status int

const (
	NoError Status = iota
	TooBig
	NoSuchName
	BadValue
	ReadOnly
	GenErr
	NoAccess
	WrongType
	WrongLength
	WrongEncoding
	WrongValue
	NoCreation
	InconsistentValue
	ResourceUnavailable
	CommitFailed
	UndoFailed
	AuthorizationError
	NotWritable
	InconsistentName
)

var statusNames = [...]string{
	"noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr",
	"noAccess", "wrongType", "wrongLength", "wrongEncoding", "wrongValue",
	"noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
	"undoFailed", "authorizationError", "notWritable", "inconsistentName",
}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "error-status " + strconv.Itoa(int(s))
}

// Refused reports whether a SET answered with s was certainly not carried
// out. Each of these is raised while the agent checks the request, before it
// touches anything (RFC 3416, 4.2.5; RFC 1157, 4.1.5).
//
// genErr is not among them: some cards (APC's, at least) answer genErr to a
// SET that worked. Nor are commitFailed and undoFailed, which speak of an
// assignment that was at least attempted, or any status this list does not
// know.
func (s Status) Refused() bool {
	switch s {
	case TooBig, NoSuchName, BadValue, ReadOnly, NoAccess, WrongType,
		WrongLength, WrongEncoding, WrongValue, NoCreation, InconsistentValue,
		ResourceUnavailable, AuthorizationError, NotWritable, InconsistentName:
		return true
	}
	return false
}

// AgentError is an error-status the agent answered with.
type AgentError struct {
	Status Status
	Index  int    // 1-based error-index of the offending binding; 0 if none
	OID    string // that binding's OID, when Index points at one
}

func (e *AgentError) Error() string {
	if e.OID != "" {
		return fmt.Sprintf("agent answered %v for %s", e.Status, e.OID)
	}
	return fmt.Sprintf("agent answered %v", e.Status)
}

var (
	// ErrTimeout marks a request that got no answer. SNMP agents do not
	// answer a wrong community at all, so this is also what bad
	// credentials look like.
	ErrTimeout = errors.New("no answer")

	// ErrAuth marks an SNMPv3 request the agent rejected in its security
	// layer (unknown user, wrong digest, undecryptable): it was not
	// processed.
	ErrAuth = errors.New("SNMPv3 credentials rejected by the agent")
)

// IsStatus reports whether err is an agent error with status s.
func IsStatus(err error, s Status) bool {
	var ae *AgentError
	return errors.As(err, &ae) && ae.Status == s
}
