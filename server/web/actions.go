package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// answer is what the page's POSTs answer: OK and Message in words, or Error
// in words.
type answer struct {
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(body)
}

// refuseViewer answers 403 to a viewer and tells whether it did.
func (f *face) refuseViewer(w http.ResponseWriter, r *http.Request) bool {
	who := current(r).principal
	if !f.readOnly(r, who) {
		return false
	}
	f.log.Warn("web: refused: a viewer may not switch", "principal", who, "path", r.URL.Path)
	writeJSON(w, http.StatusForbidden, answer{Error: who + " has the viewer role: it may look at everything and switch nothing"})
	return true
}

// machineAction runs on, off or cycle on a machine, through the fleet's own
// sequence (a clean shutdown first where configured), and says how it went.
func (f *face) machineAction(w http.ResponseWriter, r *http.Request) {
	if f.refuseViewer(w, r) {
		return
	}
	name, action := chi.URLParam(r, "name"), power.Action(chi.URLParam(r, "action"))
	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.ActionTimeout)
	defer cancel()
	fleet := f.cfg.Fleet(r)
	run := map[power.Action]func(context.Context, string) (power.Result, error){
		power.ActionOn: fleet.On, power.ActionOff: fleet.Off, power.ActionCycle: fleet.Cycle,
	}[action]
	res, err := run(ctx, name)
	if err != nil {
		writeJSON(w, failCode(err), answer{Error: fmt.Sprintf("%s %s failed: %v", actionVerb(action), name, err)})
		return
	}
	writeJSON(w, http.StatusOK, answer{OK: true, Message: machineWords(res)})
}

// outletAction switches one outlet; on an outlet that feeds a machine, off
// and cycle cut it without the machine's clean shutdown, as the page's
// confirmation said.
func (f *face) outletAction(w http.ResponseWriter, r *http.Request) {
	if f.refuseViewer(w, r) {
		return
	}
	pdu, action := chi.URLParam(r, "pdu"), power.Action(chi.URLParam(r, "action"))
	n, err := strconv.Atoi(chi.URLParam(r, "n"))
	if err != nil || n < 1 {
		writeJSON(w, http.StatusBadRequest, answer{Error: "outlet numbers start at 1; got " + strconv.Quote(chi.URLParam(r, "n"))})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.ActionTimeout)
	defer cancel()
	res, err := f.cfg.Fleet(r).SwitchOutlet(ctx, pdu, n, action)
	if err != nil {
		writeJSON(w, failCode(err), answer{Error: fmt.Sprintf("%s outlet %s/%d failed: %v", actionVerb(action), pdu, n, err)})
		return
	}
	writeJSON(w, http.StatusOK, answer{OK: true, Message: outletWords(res)})
}

func failCode(err error) int {
	switch {
	case errors.Is(err, power.ErrUnknownMachine), errors.Is(err, power.ErrUnknownPDU), errors.Is(err, power.ErrUnknownOutlet):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

func actionVerb(a power.Action) string {
	switch a {
	case power.ActionOn:
		return "switching on"
	case power.ActionOff:
		return "switching off"
	}
	return "power-cycling"
}

func took(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// machineWords says how a machine action ended, for people.
func machineWords(res power.Result) string {
	var b strings.Builder
	switch {
	case res.Action == power.ActionCycle:
		fmt.Fprintf(&b, "%s was power-cycled: cut without shutdown, then switched on", res.Machine)
	case !res.Changed && res.Shutdown == "":
		fmt.Fprintf(&b, "%s was already %s: nothing was switched", res.Machine, res.State)
	case res.Shutdown == "graceful":
		fmt.Fprintf(&b, "%s is off: it shut down cleanly over ssh, then its power was cut", res.Machine)
	case res.Shutdown == "cut":
		fmt.Fprintf(&b, "%s is off: its power was cut without a confirmed clean shutdown (%s)", res.Machine, res.Reason)
	case res.Action == power.ActionOff:
		fmt.Fprintf(&b, "%s is off: its power was cut (it has no clean shutdown configured)", res.Machine)
	default:
		fmt.Fprintf(&b, "%s is %s", res.Machine, res.State)
	}
	if len(res.Switched) > 0 {
		fmt.Fprintf(&b, "; switched %s", strings.Join(res.Switched, ", "))
	}
	fmt.Fprintf(&b, " (%s).", took(res.Duration))
	for _, n := range res.Notes {
		b.WriteString(" " + n + ".")
	}
	return b.String()
}

// outletWords says how an outlet action ended, for people.
func outletWords(res power.OutletResult) string {
	var b strings.Builder
	ref := fmt.Sprintf("%s/%d", res.PDU, res.Outlet)
	switch {
	case res.Action == power.ActionCycle:
		fmt.Fprintf(&b, "outlet %s was power-cycled and is %s", ref, res.State)
	case !res.Changed:
		fmt.Fprintf(&b, "outlet %s was already %s: nothing was switched", ref, res.State)
	default:
		fmt.Fprintf(&b, "outlet %s is %s", ref, res.State)
	}
	if res.Machine != "" {
		fmt.Fprintf(&b, "; it feeds %s", res.Machine)
		if res.CutWithoutShutdown {
			b.WriteString(", whose power was cut without its clean shutdown")
		}
	}
	fmt.Fprintf(&b, " (%s).", took(res.Duration))
	for _, n := range res.Notes {
		b.WriteString(" " + n + ".")
	}
	return b.String()
}
