package daemon

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// auditFile appends one JSON line per power action to a file and syncs it,
// so that the trail survives a crash right after the action. Every action is
// in the log as well; the file is for those who keep an audit trail apart.
type auditFile struct {
	log  *slog.Logger
	mu   sync.Mutex
	path string
	f    *os.File
}

type auditLine struct {
	Time      time.Time   `json:"time"`
	Principal string      `json:"principal"`
	Machine   string      `json:"machine,omitempty"`
	Outlet    string      `json:"outlet,omitempty"`
	Action    string      `json:"action"`
	Outcome   string      `json:"outcome"` // "ok" or "error"
	Changed   bool        `json:"changed"`
	Switched  []string    `json:"switched,omitempty"` // the outlets seen to change state
	State     power.State `json:"state,omitempty"`
	Shutdown  string      `json:"shutdown,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	Seconds   float64     `json:"seconds"`
	Error     string      `json:"error,omitempty"`
}

// open starts appending to path, or stops when path is empty. The file in
// use is kept when path is unchanged.
func (a *auditFile) open(path string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if path == a.path {
		return nil
	}
	var f *os.File
	if path != "" {
		var err error
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err != nil {
			return fmt.Errorf("audit_log: %w", err)
		}
	}
	if a.f != nil {
		a.f.Close()
	}
	a.path, a.f = path, f
	return nil
}

// Record appends r and syncs the file.
func (a *auditFile) Record(r power.AuditRecord) {
	line := auditLine{
		Time: time.Now().UTC(), Principal: r.Principal, Machine: r.Machine, Outlet: r.Outlet,
		Action: string(r.Action), Outcome: "ok", Changed: r.Changed, Switched: r.Switched, State: r.State,
		Shutdown: r.Shutdown, Reason: r.Reason, Seconds: r.Duration.Seconds(),
	}
	if r.Err != nil {
		line.Outcome, line.Error = "error", r.Err.Error()
	}
	data, err := json.Marshal(line)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return
	}
	// A failed write is not the action's failure, and the log has the
	// action too; but the trail has a gap, which must be said.
	if _, err = a.f.Write(append(data, '\n')); err == nil {
		err = a.f.Sync()
	}
	if err != nil {
		a.log.Error("writing the audit log", "file", a.path, "error", err.Error())
	}
}

// Close closes the file.
func (a *auditFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f, a.path = nil, ""
	return err
}
