package redfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// The PDUs are Redfish power equipment, as DMTF's public-pdu mockup models
// them: /redfish/v1/PowerEquipment/RackPDUs/{pdu}, whose Outlets/{n} carry
// PowerState, the meters the PDU has and the #Outlet.PowerControl action.
// The action goes through Fleet.SwitchOutlet, the JSON API's outlet path
// (one worker per PDU, joined, verified, the power-on delay kept).

const equipmentPath = "/redfish/v1/PowerEquipment"

// outletControls are the PowerState values #Outlet.PowerControl takes.
var outletControls = []string{"On", "Off", "PowerCycle"}

func pduPath(pdu string) string { return equipmentPath + "/RackPDUs/" + pdu }

func outletPath(pdu string, n int) string { return pduPath(pdu) + "/Outlets/" + strconv.Itoa(n) }

func (s *service) powerEquipment(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": equipmentPath, "@odata.type": "#PowerEquipment.v1_1_0.PowerEquipment",
		"Id": "PowerEquipment", "Name": "Power Equipment",
		"Status":   map[string]string{"State": "Enabled", "Health": "OK"},
		"RackPDUs": odataID(equipmentPath + "/RackPDUs"),
	})
}

func (s *service) rackPDUs(w http.ResponseWriter, r *http.Request) {
	names := s.cfg.Fleet(r).PDUNames()
	members := make([]any, len(names))
	for i, name := range names {
		members[i] = odataID(pduPath(name))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": equipmentPath + "/RackPDUs", "@odata.type": "#PowerDistributionCollection.PowerDistributionCollection",
		"Name": "Rack PDUs", "Members": members, "Members@odata.count": len(members),
	})
}

// readPDU reads the PDU of the request's path, answering the error itself
// when it cannot: 404 for a PDU the config does not have, 503 for one that
// does not answer.
func (s *service) readPDU(w http.ResponseWriter, r *http.Request) (string, power.Reading, bool) {
	fl, name := s.cfg.Fleet(r), chi.URLParam(r, "pdu")
	known := false
	for _, n := range fl.PDUNames() {
		known = known || n == name
	}
	if !known {
		writeError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("no PDU %q: the rack PDUs are the pdus of powerbridge's config, by name", name))
		return "", power.Reading{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StatusTimeout)
	defer cancel()
	rd, err := fl.ReadPDU(ctx, name)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", "reading PDU "+name+": "+err.Error())
		return "", power.Reading{}, false
	}
	return name, rd, true
}

func (s *service) rackPDU(w http.ResponseWriter, r *http.Request) {
	name, rd, ok := s.readPDU(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": pduPath(name), "@odata.type": "#PowerDistribution.v1_3_0.PowerDistribution",
		"Id": name, "Name": name, "EquipmentType": "RackPDU",
		"Manufacturer": rd.Info.Vendor, "Model": rd.Info.Model, "FirmwareVersion": rd.Info.Firmware,
		"Status":  map[string]string{"State": "Enabled", "Health": "OK"},
		"Outlets": odataID(pduPath(name) + "/Outlets"),
		"Metrics": odataID(pduPath(name) + "/Metrics"),
	})
}

// pduMetrics holds the PDU-wide meters, those the PDU reports.
func (s *service) pduMetrics(w http.ResponseWriter, r *http.Request) {
	name, rd, ok := s.readPDU(w, r)
	if !ok {
		return
	}
	body := map[string]any{
		"@odata.id": pduPath(name) + "/Metrics", "@odata.type": "#PowerDistributionMetrics.v1_3_0.PowerDistributionMetrics",
		"Id": "Metrics", "Name": "Metrics of " + name,
	}
	if v := rd.Meter.PowerWatts; v != nil {
		body["PowerWatts"] = map[string]any{"Reading": *v}
	}
	if v := rd.Meter.EnergyJoules; v != nil {
		body["EnergykWh"] = map[string]any{"Reading": *v / 3.6e6}
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *service) outlets(w http.ResponseWriter, r *http.Request) {
	name, rd, ok := s.readPDU(w, r)
	if !ok {
		return
	}
	members := make([]any, len(rd.Outlets))
	for i, o := range rd.Outlets {
		members[i] = odataID(outletPath(name, o.Number))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": pduPath(name) + "/Outlets", "@odata.type": "#OutletCollection.OutletCollection",
		"Name": "Outlets of " + name, "Members": members, "Members@odata.count": len(members),
	})
}

// outletOf reads the outlet of the request's path, answering the error
// itself when there is none.
func (s *service) outletOf(w http.ResponseWriter, r *http.Request) (string, power.Outlet, bool) {
	name, rd, ok := s.readPDU(w, r)
	if !ok {
		return "", power.Outlet{}, false
	}
	id := chi.URLParam(r, "n")
	n, err := strconv.Atoi(id)
	o, found := rd.Outlet(n)
	if err != nil || !found {
		writeError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("PDU %s has no outlet %q; its outlets are 1 to %d", name, id, len(rd.Outlets)))
		return "", power.Outlet{}, false
	}
	return name, o, true
}

func (s *service) outlet(w http.ResponseWriter, r *http.Request) {
	pdu, o, ok := s.outletOf(w, r)
	if !ok {
		return
	}
	var state any
	health := "OK"
	switch o.State {
	case power.On:
		state = "On"
	case power.Off:
		state = "Off"
	default:
		// Redfish has no word for a state the PDU does not tell.
		health = "Warning"
	}
	delay := 0.0
	if s.cfg.PowerOnDelay != nil {
		delay = s.cfg.PowerOnDelay(r, pdu).Seconds()
	}
	name := o.Name
	if name == "" {
		name = "Outlet " + strconv.Itoa(o.Number)
	}
	body := map[string]any{
		"@odata.id": outletPath(pdu, o.Number), "@odata.type": "#Outlet.v1_4_0.Outlet",
		"Id": strconv.Itoa(o.Number), "Name": name,
		"Status":       map[string]string{"State": "Enabled", "Health": health},
		"PowerState":   state,
		"PowerEnabled": true,
		// powerbridge never switches an outlet on sooner than this after it
		// went off, and a cycle waits this long between off and on.
		"PowerOnDelaySeconds":    delay,
		"PowerCycleDelaySeconds": delay,
		"Actions": map[string]any{"#Outlet.PowerControl": map[string]any{
			"target":                             outletPath(pdu, o.Number) + "/Actions/Outlet.PowerControl",
			"PowerState@Redfish.AllowableValues": outletControls,
		}},
	}
	if o.CurrentAmperes != nil {
		body["CurrentAmps"] = map[string]any{"Reading": *o.CurrentAmperes}
	}
	if o.PowerWatts != nil {
		body["PowerWatts"] = map[string]any{"Reading": *o.PowerWatts}
	}
	if m, ok := s.cfg.Fleet(r).MachineOf(power.OutletRef{PDU: pdu, Outlet: o.Number}); ok {
		body["Links"] = map[string]any{"Oem": map[string]any{"powerbridge": map[string]any{"System": odataID(systemPath(m))}}}
	}
	writeJSON(w, http.StatusOK, body)
}

// powerControl switches an outlet: a hand at the PDU, with no clean
// shutdown of the machine it feeds (a system's Reset runs that). It answers
// once the switch is verified, within the action timeout: an outlet switch
// takes seconds, not a shutdown's minutes.
func (s *service) powerControl(w http.ResponseWriter, r *http.Request) {
	pdu, o, ok := s.outletOf(w, r)
	if !ok {
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", "the PowerControl body is not a JSON object: "+err.Error())
		return
	}
	var want string
	raw, ok := body["PowerState"]
	if !ok {
		writeError(w, http.StatusBadRequest, "ActionParameterMissing", "the PowerControl action needs PowerState, one of "+strings.Join(outletControls, ", "))
		return
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		writeError(w, http.StatusBadRequest, "ActionParameterValueTypeError", "PowerState must be a string, one of "+strings.Join(outletControls, ", "))
		return
	}
	action, ok := map[string]power.Action{"On": power.ActionOn, "Off": power.ActionOff, "PowerCycle": power.ActionCycle}[want]
	if !ok {
		writeError(w, http.StatusBadRequest, "ActionParameterNotSupported", fmt.Sprintf("PowerState %q is not supported; use one of %s", want, strings.Join(outletControls, ", ")))
		return
	}
	for k := range body {
		if k != "PowerState" {
			writeError(w, http.StatusBadRequest, "ActionParameterUnknown", fmt.Sprintf("the PowerControl action has no parameter %q", k))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ActionTimeout)
	defer cancel()
	// The fleet logs and audits the switch, with the request's principal.
	if _, err := s.cfg.Fleet(r).SwitchOutlet(ctx, pdu, o.Number, action); err != nil {
		code := http.StatusBadGateway // the PDU failed us
		if errors.Is(err, context.DeadlineExceeded) {
			code = http.StatusGatewayTimeout
		}
		writeError(w, code, "GeneralError", err.Error())
		return
	}
	noContent(w)
}
