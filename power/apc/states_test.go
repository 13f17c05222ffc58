package apc

import (
	"testing"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// coldStatus reads the PDU behind d whole once (detection and the first
// read), then asks for the status of a machine on outlet n with nothing
// cached, and returns it with what that status cost the agent.
func coldStatus(t *testing.T, d power.Driver, agent *pdusim.Agent, n int) (power.MachineStatus, pdusim.Stats) {
	t.Helper()
	p := power.NewPDU(power.PDUConfig{Name: "p", Driver: d}) // CacheTTL 0: every status is cold
	t.Cleanup(func() { p.Close() })
	fl, err := power.NewFleet([]*power.PDU{p}, []power.Machine{{Name: "m", Outlets: []power.OutletRef{{PDU: "p", Outlet: n}}}}, power.FleetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := agent.Stats()
	st, err := fl.Status(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	after := agent.Stats()
	return st, pdusim.Stats{Requests: after.Requests - before.Requests, Varbinds: after.Varbinds - before.Varbinds}
}

// A cold status of a one-outlet machine costs the card one request of one
// varbind, its outlet's state, in every dialect and SNMP version.
func TestColdStatusOfOneOutletIsOneVarbind(t *testing.T) {
	for _, tc := range []struct {
		device, dialect string
		outlet          int
	}{
		{"ap7900", "spdu", 3},
		{"ap7900", "rpdu", 3},
		{"ap8941", "rpdu2", 17},
		{"ap8941", "auto", 2},
	} {
		for _, creds := range []string{"v1", "v2c", "v3 SHA/AES"} {
			t.Run(tc.device+"/"+tc.dialect+"/"+creds, func(t *testing.T) {
				dev := simDevice(t, tc.device, pdusim.Options{})
				d, agent := simulate(t, dev, creds, tc.dialect)
				for _, want := range []power.State{power.Off, power.On} {
					dev.SetOutletState(tc.outlet, want)
					st, cost := coldStatus(t, d, agent, tc.outlet)
					if st.Power != want || len(st.Outlets) != 1 || st.Outlets[0].Name != dev.OutletName(tc.outlet) {
						t.Errorf("outlet %d %s: the status says %s %+v", tc.outlet, want, st.Power, st.Outlets)
					}
					if cost.Requests != 1 || cost.Varbinds != 1 {
						t.Errorf("a cold status of one outlet cost %d request(s), %d varbind(s), want 1 of 1", cost.Requests, cost.Varbinds)
					}
				}
			})
		}
	}
}

// ReadStates asks for exactly the outlets given, leaves out those the PDU
// does not have, and reads them as Read does.
func TestReadStatesAsksForTheOutletsGiven(t *testing.T) {
	dev := simDevice(t, "ap8941", pdusim.Options{})
	d, agent := simulate(t, dev, "v1", "auto")
	whole, err := d.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	before := agent.Stats()
	os, err := d.ReadStates(t.Context(), []int{24, 1, 5, 99})
	if err != nil {
		t.Fatal(err)
	}
	after := agent.Stats()
	if after.Requests-before.Requests != 1 || after.Varbinds-before.Varbinds != 3 {
		t.Errorf("states of 3 outlets cost %d request(s), %d varbind(s), want 1 of 3", after.Requests-before.Requests, after.Varbinds-before.Varbinds)
	}
	if len(os) != 3 || os[0].Number != 1 || os[1].Number != 5 || os[2].Number != 24 {
		t.Fatalf("ReadStates(24, 1, 5, 99) = %+v, want outlets 1, 5 and 24", os)
	}
	for _, o := range os {
		w, _ := whole.Outlet(o.Number)
		if o.State != w.State || o.Name != w.Name {
			t.Errorf("outlet %d: ReadStates %s %q, Read %s %q", o.Number, o.State, o.Name, w.State, w.Name)
		}
	}
}
