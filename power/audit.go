package power

import "time"

// AuditRecord is one power action, for the audit trail: who asked, what was
// switched, and how it ended.
type AuditRecord struct {
	Principal string
	Machine   string // the machine, for a machine action
	Outlet    string // "pdu/N", for an action on one outlet
	Action    Action
	Changed   bool     // an outlet was seen to change state
	Switched  []string // the outlets ("pdu/N") seen to change state
	State     State
	Shutdown  string // "graceful", "cut", "refused" or ""
	Reason    string
	Duration  time.Duration
	Err       error
}

// Auditor keeps the audit trail. Record is called once per finished action,
// from the goroutine that ran it.
type Auditor interface {
	Record(AuditRecord)
}

type nopAuditor struct{}

func (nopAuditor) Record(AuditRecord) {}
