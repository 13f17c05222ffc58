package mibs

import (
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// A cold status of a one-outlet machine costs every vendor's PDU one
// request of one varbind, its outlet's state, once the PDU is detected.
func TestColdStatusOfOneOutletIsOneVarbind(t *testing.T) {
	for _, tc := range []struct {
		device string
		outlet int
	}{
		{"eaton-g3", 10},
		{"raritan-px3", 3},
		{"servertech-sentry4", 2},
		{"cyberpower-epdu2", 5},
		{recordings + "tripplite-pdu-poweralert20-librenms.snmprec", 2},
		{"ap8941", 4}, // handed to power/apc
	} {
		for _, creds := range []string{"v1", "v2c"} {
			t.Run(strings.TrimPrefix(tc.device, recordings)+"/"+creds, func(t *testing.T) {
				dev := simDevice(t, tc.device)
				agent, err := dev.Listen("127.0.0.1:0", simAccess)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { agent.Close() })
				sc := credentials[creds]
				sc.Address, sc.Timeout = agent.Addr(), 5*time.Second
				d, err := New(Config{Config: sc})
				if err != nil {
					t.Fatal(err)
				}
				p := power.NewPDU(power.PDUConfig{Name: "p", Driver: d}) // CacheTTL 0: every status is cold
				t.Cleanup(func() { p.Close() })
				fl, err := power.NewFleet([]*power.PDU{p}, []power.Machine{{Name: "m", Outlets: []power.OutletRef{{PDU: "p", Outlet: tc.outlet}}}}, power.FleetConfig{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.ReadFresh(t.Context()); err != nil {
					t.Fatal(err)
				}
				for _, want := range []power.State{power.Off, power.On} {
					dev.SetOutletState(tc.outlet, want)
					before := agent.Stats()
					st, err := fl.Status(t.Context(), "m")
					if err != nil {
						t.Fatal(err)
					}
					after := agent.Stats()
					if st.Power != want || len(st.Outlets) != 1 || st.Outlets[0].Name != dev.OutletName(tc.outlet) {
						t.Errorf("outlet %d %s: the status says %s %+v", tc.outlet, want, st.Power, st.Outlets)
					}
					if r, v := after.Requests-before.Requests, after.Varbinds-before.Varbinds; r != 1 || v != 1 {
						t.Errorf("a cold status of one outlet cost %d request(s), %d varbind(s), want 1 of 1", r, v)
					}
				}
			})
		}
	}
}
