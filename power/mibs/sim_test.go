package mibs

import (
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apcsim"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// These tests drive the simulated PDUs of power/apcsim over real UDP on
// loopback: the vendors' recordings and built-in models, over SNMP v1,
// v2c and v3.

var simAccess = apcsim.Access{
	Community:      "public",
	WriteCommunity: "private",
	Users: []apcsim.User{
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
func simulate(t *testing.T, dev *apcsim.Device, creds string) *Driver {
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
	} {
		for _, creds := range []string{"v1", "v2c", "v3 SHA/AES"} {
			t.Run(tc.device[len(recordings):]+"/"+creds, func(t *testing.T) {
				dev, err := apcsim.Load(tc.device, apcsim.Options{})
				if err != nil {
					t.Fatal(err)
				}
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
