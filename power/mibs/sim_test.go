package mibs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// These tests drive the simulated PDUs of power/pdusim over real UDP on
// loopback: the vendors' recordings and built-in models, over SNMP v1,
// v2c and v3.

var simAccess = pdusim.Access{
	Community:      "public",
	WriteCommunity: "private",
	Users: []pdusim.User{
		{Name: "sha-aes", AuthProtocol: "SHA", AuthPassphrase: "auth-pass-1", PrivProtocol: "AES", PrivPassphrase: "priv-pass-1"},
	},
}

var credentials = map[string]snmp.Config{
	"v1":         {Version: "1", Community: "private", ReadCommunity: "public"},
	"v2c":        {Version: "2c", Community: "private", ReadCommunity: "public"},
	"v3 SHA/AES": {Version: "3", User: "sha-aes", AuthProtocol: "SHA", AuthPassphrase: "auth-pass-1", PrivProtocol: "AES", PrivPassphrase: "priv-pass-1"},
}

// simulate serves dev on loopback and returns a driver of vendor auto for
// it.
func simulate(t *testing.T, dev *pdusim.Device, creds string) *Driver {
	t.Helper()
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
	t.Cleanup(func() { d.Close() })
	return d
}

// readBack reads outlet n until it is want and not pending, or a generous
// deadline passes.
func readBack(t *testing.T, d *Driver, n int, want power.State) power.Outlet {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := d.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		o, ok := r.Outlet(n)
		if !ok {
			t.Fatalf("no outlet %d", n)
		}
		if o.State == want && !o.Pending {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("outlet %d still %v (pending %v) 30 s after the switch, want %v", n, o.State, o.Pending, want)
		}
	}
}

// simDevice loads a recording or builds a built-in model.
func simDevice(t *testing.T, name string) *pdusim.Device {
	t.Helper()
	var dev *pdusim.Device
	var err error
	if strings.HasSuffix(name, ".snmprec") {
		dev, err = pdusim.Load(name, pdusim.Options{})
	} else {
		dev, err = pdusim.New(name, pdusim.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// TestSimulatedVendors switches an outlet of each vendor's recording and
// built-in model off and on again with read-back, over each SNMP version:
// the device carries out exactly one command per switch, and the driver
// names the vendor it found.
func TestSimulatedVendors(t *testing.T) {
	for _, tc := range []struct {
		device, vendor, dialect string
		outlet                  int
	}{
		{recordings + "eaton-epdu-ma-36u-librenms.snmprec", "Eaton", "g3", 2},
		{recordings + "raritan-px3-5493u-librenms.snmprec", "Raritan", "pdu2", 2},
		{recordings + "cyberpower-pdu81005-librenms.snmprec", "CyberPower", "epdu2", 2},
		{recordings + "tripplite-pdu-poweralert20-librenms.snmprec", "Tripp Lite", "tlppdu", 2},
		{"eaton-g3", "Eaton", "g3", 10}, // unit 1's outlet 2
		{"raritan-px3", "Raritan", "pdu2", 3},
		{"servertech-sentry3", "ServerTech", "sentry3", 6}, // infeed B's outlet 2
		{"servertech-sentry4", "ServerTech", "sentry4", 2},
		{"cyberpower-epdu2", "CyberPower", "epdu2", 5},
		{"tripplite-pdu", "Tripp Lite", "tlppdu", 8},
		{"geist-v5", "Vertiv Geist", "v5", 1},
	} {
		for _, creds := range []string{"v1", "v2c", "v3 SHA/AES"} {
			t.Run(strings.TrimPrefix(tc.device, recordings)+"/"+creds, func(t *testing.T) {
				dev := simDevice(t, tc.device)
				d := simulate(t, dev, creds)
				r, err := d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if r.Info.Vendor != tc.vendor || r.Info.Dialect != tc.dialect {
					t.Errorf("found %s %s, want %s %s", r.Info.Vendor, r.Info.Dialect, tc.vendor, tc.dialect)
				}
				if len(r.Outlets) != dev.Outlets() {
					t.Errorf("%d outlets read, the device has %d", len(r.Outlets), dev.Outlets())
				}
				for _, o := range r.Outlets {
					if o.State != dev.OutletState(o.Number) || o.Name != dev.OutletName(o.Number) {
						t.Errorf("outlet %d read %v %q, the device has %v %q", o.Number, o.State, o.Name, dev.OutletState(o.Number), dev.OutletName(o.Number))
					}
				}
				for i, to := range []power.State{power.Off, power.On} {
					if err := d.Switch(t.Context(), tc.outlet, to); err != nil {
						t.Fatal(err)
					}
					readBack(t, d, tc.outlet, to)
					if cmds := dev.Commands(tc.outlet); len(cmds) != i+1 || cmds[i].Word != to.String() {
						t.Fatalf("the device carried out %v, want one %v per switch", cmds, to)
					}
				}
			})
		}
	}
}

// TestSimulatedRefusals: the outlets a model will not switch (Raritan's
// outletSwitchable false, Sentry4's lockedOn) are refused by the driver
// with the reason and nothing is sent; the device refuses them as well
// when asked directly.
func TestSimulatedRefusals(t *testing.T) {
	for _, tc := range []struct {
		model string
		want  string
	}{
		{"raritan-px3", "switching outlet 8 off: the PDU says outlet 8 (Outlet 8) cannot be switched: refused by the PDU"},
		{"servertech-sentry4", "switching outlet 8 off: outlet 8 (Master_Outlet_8) is lockedOn (locked by an administrator), which the PDU does not let anyone switch: refused by the PDU"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			dev := simDevice(t, tc.model)
			d := simulate(t, dev, "v2c")
			if _, err := d.Read(t.Context()); err != nil {
				t.Fatal(err)
			}
			err := d.Switch(t.Context(), 8, power.Off)
			if err == nil || err.Error() != tc.want || !errors.Is(err, power.ErrRefused) {
				t.Errorf("Switch: %v, want %s", err, tc.want)
			}
			if cmds := dev.Commands(8); len(cmds) != 0 || dev.OutletState(8) != power.On {
				t.Errorf("the device carried out %v and is %v, want nothing done and on", cmds, dev.OutletState(8))
			}
		})
	}
}
