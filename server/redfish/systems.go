package redfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// resetTypes are the ResetType values a system takes, in the order they are
// listed in ResetType@Redfish.AllowableValues (Ansible picks from it).
var resetTypes = []string{"On", "ForceOn", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "PowerCycle"}

func systemPath(name string) string { return "/redfish/v1/Systems/" + name }

// machine finds a configured machine by its Redfish Id.
func machine(fl Fleet, id string) (power.Machine, bool) {
	for _, m := range fl.Machines() {
		if m.Name == id {
			return m, true
		}
	}
	return power.Machine{}, false
}

func (s *service) systems(w http.ResponseWriter, r *http.Request) {
	ms := s.cfg.Fleet(r).Machines()
	members := make([]any, len(ms))
	for i, m := range ms {
		// MAAS without node_id takes Members[0] and the last segment of its
		// @odata.id, not the Id property: the segment is the name.
		members[i] = odataID(systemPath(m.Name))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": "/redfish/v1/Systems", "@odata.type": "#ComputerSystemCollection.ComputerSystemCollection",
		"Name": "Computer System Collection", "Members": members, "Members@odata.count": len(members),
	})
}

func (s *service) noSystem(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("no system %q: the systems are the machines of powerbridge's config, by name", id))
}

func (s *service) system(w http.ResponseWriter, r *http.Request) {
	fl, id := s.cfg.Fleet(r), chi.URLParam(r, "id")
	m, ok := machine(fl, id)
	if !ok {
		s.noSystem(w, id)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	state, err := s.powerState(ctx, fl, id)
	if err != nil {
		// No PowerState at all crashes MAAS 2.7, and a made-up one would be
		// a lie: an error, which MAAS 3.8 retries.
		writeError(w, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", "reading the power state of "+id+": "+err.Error())
		return
	}
	boot := s.boot.get(id)
	outlets := []string{} // none for a machine woken by LAN
	for _, o := range m.Outlets {
		outlets = append(outlets, o.String())
	}
	etag := boot.etag()
	w.Header().Set("ETag", etag)
	writeJSON(w, http.StatusOK, computerSystem{
		ODataID: systemPath(id), ODataType: "#ComputerSystem.v1_13_0.ComputerSystem", ODataETag: etag,
		ID: id, Name: id, UUID: nameUUID(s.cfg.Identity + "/" + id),
		SystemType: "Physical", Manufacturer: "powerbridge", Model: "PDU-powered machine",
		PowerState: state,
		Status:     status{State: "Enabled", Health: "OK"},
		Boot: systemBoot{
			Enabled: boot.Enabled, Target: boot.Target, Mode: boot.Mode,
			EnabledAllowed: bootEnabled, TargetAllowed: bootTargets, ModeAllowed: bootModes,
		},
		Actions: systemActions{Reset: resetAction{Target: systemPath(id) + "/Actions/ComputerSystem.Reset", Allowed: resetTypes}},
		Links:   systemLinks{Chassis: []any{}, ManagedBy: []any{}},
		Oem: map[string]oemPB{"powerbridge": {Outlets: outlets, WakeOnLAN: m.Wake != nil, CleanShutdown: m.Graceful != nil,
			ForceOffCuts: s.forceOffCuts(r, id)}},
	})
}

// powerState is On or Off from the machine's state (a halted OS reads Off),
// or a transition while an action is under way: PoweringOn toward on,
// PoweringOff toward off. MAAS 3.8 reads PoweringOn as off and PoweringOff
// as on (the state before the transition) and keeps polling; MAAS 2.7 reads
// anything but On and Off as "not yet" and re-sends its sequence, whose
// Reset then joins the one under way; Ironic reads them as the target.
func (s *service) powerState(ctx context.Context, fl Fleet, name string) (string, error) {
	if a, ok := s.resets.phase(name); ok {
		return transition(a), nil
	}
	if a, ok := fl.Underway(name); ok {
		return transition(a), nil
	}
	st, err := fl.Status(ctx, name)
	if err != nil {
		return "", err
	}
	switch st.State {
	case power.On:
		return "On", nil
	case power.Off:
		return "Off", nil
	}
	var outlets []string
	for _, o := range st.Outlets {
		outlets = append(outlets, fmt.Sprintf("%s/%d is %s", o.PDU, o.Outlet, o.State))
	}
	return "", fmt.Errorf("the state cannot be told: %s", strings.Join(outlets, ", "))
}

func transition(a power.Action) string {
	if a == power.ActionOff || a == power.ActionCut {
		return "PoweringOff"
	}
	return "PoweringOn"
}

func (s *service) forceOffCuts(r *http.Request, machine string) bool {
	return s.cfg.ForceOffCuts != nil && s.cfg.ForceOffCuts(r, machine)
}

// steps maps a ResetType to the machine's sequences.
func (s *service) steps(r *http.Request, resetType, machine string) ([]power.Action, bool) {
	switch resetType {
	case "On", "ForceOn":
		return []power.Action{power.ActionOn}, true
	case "ForceOff":
		// MAAS sends only ForceOff to power off: by default it is the
		// machine's normal off, clean shutdown included.
		if s.forceOffCuts(r, machine) {
			return []power.Action{power.ActionCut}, true
		}
		return []power.Action{power.ActionOff}, true
	case "GracefulShutdown":
		return []power.Action{power.ActionOff}, true
	case "GracefulRestart":
		return []power.Action{power.ActionOff, power.ActionOn}, true
	case "ForceRestart", "PowerCycle":
		return []power.Action{power.ActionCycle}, true
	}
	return nil, false
}

// reset answers 204 at once and carries the reset on after the answer: a
// clean shutdown takes longer than a client should hold a connection, and
// MAAS polls PowerState after it.
func (s *service) reset(w http.ResponseWriter, r *http.Request) {
	fl, id := s.cfg.Fleet(r), chi.URLParam(r, "id")
	if _, ok := machine(fl, id); !ok {
		s.noSystem(w, id)
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", "the Reset body is not a JSON object: "+err.Error())
		return
	}
	raw, ok := body["ResetType"]
	if !ok {
		writeError(w, http.StatusBadRequest, "ActionParameterMissing", "the Reset action needs ResetType, one of "+strings.Join(resetTypes, ", "))
		return
	}
	var rt string
	if err := json.Unmarshal(raw, &rt); err != nil {
		writeError(w, http.StatusBadRequest, "ActionParameterValueTypeError", "ResetType must be a string, one of "+strings.Join(resetTypes, ", "))
		return
	}
	steps, ok := s.steps(r, rt, id)
	if !ok {
		writeError(w, http.StatusBadRequest, "ActionParameterNotSupported", fmt.Sprintf("ResetType %q is not supported; use one of %s", rt, strings.Join(resetTypes, ", ")))
		return
	}
	for k := range body {
		if k != "ResetType" {
			writeError(w, http.StatusBadRequest, "ActionParameterUnknown", fmt.Sprintf("the Reset action has no parameter %q", k))
			return
		}
	}
	release := func() {}
	if s.cfg.Hold != nil {
		release = s.cfg.Hold(r)
	}
	if err := s.resets.submit(r.Context(), fl, release, id, rt, steps); err != nil {
		writeError(w, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", err.Error())
		return
	}
	noContent(w)
}

// patchSystem sets the boot override: the only writable property.
func (s *service) patchSystem(w http.ResponseWriter, r *http.Request) {
	fl, id := s.cfg.Fleet(r), chi.URLParam(r, "id")
	if _, ok := machine(fl, id); !ok {
		s.noSystem(w, id)
		return
	}
	set, code, msg := parseBootPatch(r.Body, id)
	if code != "" {
		writeError(w, http.StatusBadRequest, code, msg)
		return
	}
	// MAAS 2.7 sends no If-Match: it is honoured when sent, never required.
	cur, ok := s.boot.set(id, r.Header.Get("If-Match"), func(b *Boot) {
		if v, ok := set["BootSourceOverrideEnabled"]; ok {
			b.Enabled = v
		}
		if v, ok := set["BootSourceOverrideTarget"]; ok {
			b.Target = v
		}
		if v, ok := set["BootSourceOverrideMode"]; ok {
			b.Mode = v
		}
	})
	w.Header().Set("ETag", cur.etag())
	if !ok {
		writeError(w, http.StatusPreconditionFailed, "PreconditionFailed", fmt.Sprintf("If-Match %s does not match system %s's ETag %s", r.Header.Get("If-Match"), id, cur.etag()))
		return
	}
	s.log.Info("redfish boot override", "principal", power.Principal(r.Context()), "machine", id,
		"enabled", cur.Enabled, "target", cur.Target, "mode", cur.Mode)
	noContent(w)
}

// parseBootPatch reads a PATCH of system id: only Boot's override
// properties may be written, with their allowed values. It returns them by
// name, or the Redfish message code and text of what is wrong.
func parseBootPatch(rd io.Reader, id string) (set map[string]string, code, msg string) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(rd, 64<<10)).Decode(&body); err != nil {
		return nil, "MalformedJSON", "the PATCH body is not a JSON object: " + err.Error()
	}
	var boot map[string]json.RawMessage
	for k, v := range body {
		switch {
		case k == "Boot":
			if err := json.Unmarshal(v, &boot); err != nil {
				return nil, "PropertyValueTypeError", "Boot must be an object"
			}
		case strings.HasPrefix(k, "@"):
		default:
			return nil, "PropertyNotWritable", fmt.Sprintf("property %q of system %s cannot be written; only Boot can", k, id)
		}
	}
	set = map[string]string{}
	for k, v := range boot {
		allowed := map[string][]string{
			"BootSourceOverrideEnabled": bootEnabled,
			"BootSourceOverrideTarget":  bootTargets,
			"BootSourceOverrideMode":    bootModes,
		}[k]
		if allowed == nil {
			return nil, "PropertyUnknown", fmt.Sprintf("Boot has no writable property %q; use BootSourceOverrideEnabled, BootSourceOverrideTarget or BootSourceOverrideMode", k)
		}
		var val string
		if err := json.Unmarshal(v, &val); err != nil || !slices.Contains(allowed, val) {
			return nil, "PropertyValueNotInList", fmt.Sprintf("Boot.%s must be one of %s", k, strings.Join(allowed, ", "))
		}
		set[k] = val
	}
	return set, "", ""
}

var errQueueFull = errors.New("too many resets are queued for this system; wait for them to finish")
