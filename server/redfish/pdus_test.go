package redfish

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
)

// The fake's PDU r has two outlets: 1 feeds machine m and is metered, 2
// feeds nothing and is not. Its switches are logged in f.calls as the
// outlet's action.

func (f *fakeFleet) PDUNames() []string { return []string{"r"} }

func (f *fakeFleet) ReadPDU(_ context.Context, pdu string) (power.Reading, error) {
	if pdu != "r" {
		return power.Reading{}, fmt.Errorf("%w %q", power.ErrUnknownPDU, pdu)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	amps, watts, joules := 0.5, 110.0, 7.2e6
	return power.Reading{
		Info: power.Info{Vendor: "APC", Model: "AP7900", Firmware: "v3.9.2"},
		Outlets: []power.Outlet{
			{Number: 1, Name: "m-psu", State: f.state, CurrentAmperes: &amps, PowerWatts: &watts},
			{Number: 2, State: power.Off},
		},
		Meter: power.Meter{PowerWatts: &watts, EnergyJoules: &joules},
	}, nil
}

func (f *fakeFleet) SwitchOutlet(_ context.Context, pdu string, n int, a power.Action) (power.OutletResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, power.Action(fmt.Sprintf("%s/%d %s", pdu, n, a)))
	if n == 1 {
		f.state = map[power.Action]power.State{power.ActionOn: power.On, power.ActionOff: power.Off, power.ActionCycle: power.On}[a]
	}
	return power.OutletResult{PDU: pdu, Outlet: n, Action: a, Changed: true}, nil
}

func (f *fakeFleet) MachineOf(ref power.OutletRef) (string, bool) {
	return "m", ref == power.OutletRef{PDU: "r", Outlet: 1}
}

func getJSON(t *testing.T, f *fakeFleet, path string) map[string]any {
	t.Helper()
	w := call(t, newTestService(f, false), "GET", path, "")
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return out
}

func TestPowerEquipmentOutlets(t *testing.T) {
	f := &fakeFleet{state: power.On}
	if got := getJSON(t, f, "/v1")["PowerEquipment"]; fmt.Sprint(got) != "map[@odata.id:/redfish/v1/PowerEquipment]" {
		t.Errorf("the service root links PowerEquipment as %v", got)
	}
	if got := getJSON(t, f, "/v1/PowerEquipment/RackPDUs")["Members"]; fmt.Sprint(got) != "[map[@odata.id:/redfish/v1/PowerEquipment/RackPDUs/r]]" {
		t.Errorf("RackPDUs members: %v", got)
	}
	pdu := getJSON(t, f, "/v1/PowerEquipment/RackPDUs/r")
	if pdu["Model"] != "AP7900" || pdu["Manufacturer"] != "APC" || pdu["EquipmentType"] != "RackPDU" {
		t.Errorf("the PDU: %v", pdu)
	}
	if m := getJSON(t, f, "/v1/PowerEquipment/RackPDUs/r/Metrics"); fmt.Sprint(m["EnergykWh"]) != "map[Reading:2]" || fmt.Sprint(m["PowerWatts"]) != "map[Reading:110]" {
		t.Errorf("the PDU's metrics: %v", m)
	}
	if got := getJSON(t, f, "/v1/PowerEquipment/RackPDUs/r/Outlets")["Members@odata.count"]; got != 2.0 {
		t.Errorf("outlets counted %v, want 2", got)
	}
	o1 := getJSON(t, f, "/v1/PowerEquipment/RackPDUs/r/Outlets/1")
	if o1["PowerState"] != "On" || fmt.Sprint(o1["CurrentAmps"]) != "map[Reading:0.5]" || fmt.Sprint(o1["PowerWatts"]) != "map[Reading:110]" ||
		o1["PowerOnDelaySeconds"] != 0.0 || !strings.Contains(fmt.Sprint(o1["Links"]), "/redfish/v1/Systems/m") {
		t.Errorf("outlet 1: %v", o1)
	}
	o2 := getJSON(t, f, "/v1/PowerEquipment/RackPDUs/r/Outlets/2")
	if _, metered := o2["PowerWatts"]; o2["PowerState"] != "Off" || metered || o2["Links"] != nil {
		t.Errorf("outlet 2 (unmetered, feeding nothing): %v", o2)
	}
	target := fmt.Sprint(o2["Actions"].(map[string]any)["#Outlet.PowerControl"].(map[string]any)["target"])
	h := newTestService(f, false)
	for _, tc := range []struct {
		path, body, code string
		status           int
	}{
		{"/v1/PowerEquipment/RackPDUs/ghost", "", "ResourceNotFound", 404},
		{"/v1/PowerEquipment/RackPDUs/r/Outlets/3", "", "ResourceNotFound", 404},
		{"/v1/PowerEquipment/RackPDUs/r/Outlets/x", "", "ResourceNotFound", 404},
		{"/v1/PowerEquipment/RackPDUs/r/Outlets/2/Actions/Outlet.PowerControl", `{"PowerState":"Paused"}`, "ActionParameterNotSupported", 400},
		{"/v1/PowerEquipment/RackPDUs/r/Outlets/2/Actions/Outlet.PowerControl", `{}`, "ActionParameterMissing", 400},
		{"/v1/PowerEquipment/RackPDUs/r/Outlets/2/Actions/Outlet.PowerControl", `{"PowerState":"On","Delay":3}`, "ActionParameterUnknown", 400},
		{"/v1/PowerEquipment/RackPDUs/r/Outlets/9/Actions/Outlet.PowerControl", `{"PowerState":"On"}`, "ResourceNotFound", 404},
	} {
		method := "GET"
		if tc.body != "" {
			method = "POST"
		}
		w := call(t, h, method, tc.path, tc.body)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), `"code":"Base.1.8.`+tc.code+`"`) {
			t.Errorf("%s %s %s: %d %s, want %d %s", method, tc.path, tc.body, w.Code, w.Body, tc.status, tc.code)
		}
	}
	if got := f.log(); len(got) != 0 {
		t.Fatalf("refused requests switched %v", got)
	}
	for _, ps := range outletControls {
		if w := call(t, h, "POST", strings.TrimPrefix(target, "/redfish"), `{"PowerState":"`+ps+`"}`); w.Code != 204 {
			t.Errorf("PowerControl %s: %d %s", ps, w.Code, w.Body)
		}
	}
	if got, want := fmt.Sprint(f.log()), "[r/2 on r/2 off r/2 cycle]"; got != want {
		t.Errorf("switches %s, want %s", got, want)
	}
}
