package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// The routes a machine's webhook power parameters point at. What MAAS's
// driver does with an answer decides their shape:
//   - any status >= 400 is a failure, except 404, which it takes as success;
//   - a redirected POST fails;
//   - the query body is searched with power_on_regex (`status.*\:.*running`)
//     first and power_off_regex (`status.*\:.*stopped`) second, so the body
//     holds exactly one state word and nothing else a regex could match;
//   - the machine comes from the path: MAAS 3.5+ sends no System_Id header;
//   - the background query has no timeout of its own, so ours must.

var (
	bodyRunning = []byte(`{"status":"running"}` + "\n")
	bodyStopped = []byte(`{"status":"stopped"}` + "\n")

	// Header values shared by every status answer (net/http only reads
	// them), so that an answer allocates none.
	contentTypeJSON = []string{"application/json"}
	lengthRunning   = []string{strconv.Itoa(len(bodyRunning))}
	lengthStopped   = []string{strconv.Itoa(len(bodyStopped))}
)

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	// Answered from the cache, a status query never waits: its timeout's
	// timer is started only if it has to wait for the PDU.
	ctx := withLazyTimeout(r.Context(), s.cfg.StatusTimeout)
	defer ctx.stop()
	name := chi.URLParam(r, "name")
	st, err := s.fleetOf(r).Status(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body []byte
	var bodyLength []string
	switch st.State {
	case power.On:
		body, bodyLength = bodyRunning, lengthRunning
	case power.Off:
		body, bodyLength = bodyStopped, lengthStopped
	default:
		// MAAS 3.5+ fails an action whose final state is unknown, and 2.9-3.4
		// would count it as success: an error is the honest answer.
		var outlets []string
		for _, o := range st.Outlets {
			outlets = append(outlets, fmt.Sprintf("%s/%d is %s", o.PDU, o.Outlet, o.State))
		}
		writeError(w, http.StatusBadGateway, fmt.Sprintf("the power state of machine %s cannot be told: %s", name, strings.Join(outlets, ", ")))
		return
	}
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Content-Length"] = bodyLength
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// action answers once the action has finished, or with an error when it
// could not be done within the action timeout. The action itself goes on
// past a caller that gives up, and MAAS's repeated POST joins it.
func (s *Server) action(a power.Action) http.HandlerFunc {
	do := map[power.Action]func(Fleet, context.Context, string) (power.Result, error){
		power.ActionOn:    Fleet.On,
		power.ActionOff:   Fleet.Off,
		power.ActionCycle: Fleet.Cycle,
	}[a]
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ActionTimeout)
		defer cancel()
		res, err := do(s.fleetOf(r), ctx, chi.URLParam(r, "name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resultAnswer(res))
	}
}
