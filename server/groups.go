package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// GroupFleet is a Fleet that has groups of machines switched together
// (*power.Fleet is one). It is apart from Fleet so that a fleet without
// groups still serves every other route.
type GroupFleet interface {
	GroupAction(ctx context.Context, name string, action power.Action) (power.GroupResult, error)
	GroupStatus(ctx context.Context, name string) (power.GroupStatus, error)
}

// GroupResult is POST /v1/groups/{name}/on, off and cycle: each member's
// outcome in the group's order.
type GroupResult struct {
	Group    string         `json:"group"`
	Action   power.Action   `json:"action"`
	Failed   int            `json:"failed"`
	Machines []GroupMachine `json:"machines"`
	Seconds  float64        `json:"seconds"`
}

// GroupMachine is one member's outcome: its action's result, or its error.
type GroupMachine struct {
	Machine string        `json:"machine"`
	OK      bool          `json:"ok"`
	Result  *ActionResult `json:"result,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// GroupStatus is GET /v1/groups/{name}: each member's state, or why it
// could not be read.
type GroupStatus struct {
	Group    string              `json:"group"`
	Machines []GroupMemberStatus `json:"machines"`
}

// GroupMemberStatus is one member's state, as GET /v1/machines/{name}
// answers it, or its error.
type GroupMemberStatus struct {
	MachineStatus
	Error string `json:"error,omitempty"`
}

// groupFleet is the fleet of r as a GroupFleet; it answers when there is none.
func (s *Server) groupFleet(w http.ResponseWriter, r *http.Request) (GroupFleet, bool) {
	if g, ok := s.fleetOf(r).(GroupFleet); ok {
		return g, true
	}
	writeError(w, http.StatusBadRequest, "this fleet has no groups")
	return nil, false
}

// failGroup answers err; an unknown group is a client's error (never 404:
// see the MAAS routes).
func (s *Server) failGroup(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, power.ErrUnknownGroup) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.fail(w, r, err)
}

// groupAction runs an action on every member of a group. The members'
// actions go on when the caller goes away (each under its own action
// timeout), so the answer is not bounded by one action timeout but by the
// members'. It is 200 when every member's action succeeded, 502 when one
// failed; either way the body has every member's outcome.
func (s *Server) groupAction(w http.ResponseWriter, r *http.Request) {
	gf, ok := s.groupFleet(w, r)
	if !ok {
		return
	}
	// The members' actions come one after another, each under the action
	// timeout: the server's write timeout, one action's, does not bound
	// the answer.
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	res, err := gf.GroupAction(r.Context(), chi.URLParam(r, "name"), power.Action(chi.URLParam(r, "action")))
	if err != nil {
		s.failGroup(w, r, err)
		return
	}
	out := GroupResult{Group: res.Group, Action: res.Action, Failed: res.Failed(), Machines: make([]GroupMachine, len(res.Members)),
		Seconds: res.Duration.Seconds()}
	for i, m := range res.Members {
		out.Machines[i] = GroupMachine{Machine: m.Machine, OK: m.Err == nil}
		if m.Err != nil {
			out.Machines[i].Error = m.Err.Error()
		} else {
			a := resultAnswer(m.Result)
			out.Machines[i].Result = &a
		}
	}
	code := http.StatusOK
	if out.Failed > 0 {
		code = http.StatusBadGateway
	}
	writeJSON(w, code, out)
}

// groupStatus reads every member of a group, within the status bound.
func (s *Server) groupStatus(w http.ResponseWriter, r *http.Request) {
	gf, ok := s.groupFleet(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	st, err := gf.GroupStatus(ctx, chi.URLParam(r, "name"))
	if err != nil {
		s.failGroup(w, r, err)
		return
	}
	out := GroupStatus{Group: st.Group, Machines: make([]GroupMemberStatus, len(st.Members))}
	for i, m := range st.Members {
		out.Machines[i] = GroupMemberStatus{MachineStatus: statusAnswer(m.Status)}
		if m.Err != nil {
			out.Machines[i].Error = m.Err.Error()
		}
	}
	writeJSON(w, http.StatusOK, out)
}
