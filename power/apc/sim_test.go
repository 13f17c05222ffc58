package apc

import (
	"context"
	"errors"
	"fmt"
	"github.com/powerbridge/powerbridge/power/snmp"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// These tests drive the simulated PDU of power/pdusim over real UDP on
// loopback, through the gosnmp client: what the fake-agent tests cannot
// show, such as the bytes on the wire, SNMPv3 and an agent that is slow.

// simAccess is how the simulated agents let clients in.
var simAccess = pdusim.Access{
	Community:      "public",
	WriteCommunity: "private",
	Users: []pdusim.User{
		{Name: "sha-aes", AuthProtocol: "SHA", AuthPassphrase: "auth-pass-1", PrivProtocol: "AES", PrivPassphrase: "priv-pass-1"},
		{Name: "md5-des", AuthProtocol: "MD5", AuthPassphrase: "auth-pass-2", PrivProtocol: "DES", PrivPassphrase: "priv-pass-2"},
		{Name: "sha256-aes256", AuthProtocol: "SHA256", AuthPassphrase: "auth-pass-3", PrivProtocol: "AES256", PrivPassphrase: "priv-pass-3"},
		{Name: "sha512", AuthProtocol: "SHA512", AuthPassphrase: "auth-pass-4"},
	},
}

// credentials are client configs for simAccess, by name.
var credentials = map[string]Config{
	"v1":                   {Config: snmp.Config{Version: "1", Community: "private", ReadCommunity: "public"}},
	"v2c":                  {Config: snmp.Config{Version: "2c", Community: "private", ReadCommunity: "public"}},
	"v3 SHA/AES":           {Config: snmp.Config{Version: "3", User: "sha-aes", AuthProtocol: "SHA", AuthPassphrase: "auth-pass-1", PrivProtocol: "AES", PrivPassphrase: "priv-pass-1"}},
	"v3 MD5/DES":           {Config: snmp.Config{Version: "3", User: "md5-des", AuthProtocol: "MD5", AuthPassphrase: "auth-pass-2", PrivProtocol: "DES", PrivPassphrase: "priv-pass-2"}},
	"v3 SHA256/AES256":     {Config: snmp.Config{Version: "3", User: "sha256-aes256", AuthProtocol: "SHA256", AuthPassphrase: "auth-pass-3", PrivProtocol: "AES256", PrivPassphrase: "priv-pass-3"}},
	"v3 SHA512 authNoPriv": {Config: snmp.Config{Version: "3", User: "sha512", AuthProtocol: "SHA512", AuthPassphrase: "auth-pass-4"}},
}

// simulate starts an agent for dev on loopback and returns a driver for it.
func simulate(t *testing.T, dev *pdusim.Device, creds string, dialect string) (*Driver, *pdusim.Agent) {
	t.Helper()
	agent, err := dev.Listen("127.0.0.1:0", simAccess)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	cfg := credentials[creds]
	cfg.Address, cfg.Dialect, cfg.Timeout = agent.Addr(), dialect, 5*time.Second
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, agent
}

func simDevice(t *testing.T, name string, opts pdusim.Options) *pdusim.Device {
	t.Helper()
	var dev *pdusim.Device
	var err error
	if name == "ap7900" || name == "ap8941" {
		dev, err = pdusim.New(name, opts)
	} else {
		dev, err = pdusim.Load(recordings+name, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

func TestSimDetection(t *testing.T) {
	for _, tc := range []struct {
		device string
		want   power.Info
		meter  string
	}{
		// 7 of 8 outlets on at 0.35 A: 2.45 A
		{"ap7900", power.Info{Vendor: "APC", Model: "AP7900", Firmware: "apc_hw02_rpdu_374.bin", Dialect: "rpdu"}, "current [2.5]"},
		// 23 of 24 outlets on at 0.35 A and 230 V: 8.05 A, 1851.5 W
		{"ap8941", power.Info{Vendor: "APC", Model: "AP8941", Firmware: "apc_hw05_rpdu2g_680.bin", Dialect: "rpdu2"}, "current [8.1] power 1850W energy 1.735668e+10J"},
		{"apc-ap7900-aos374.snmprec", power.Info{Vendor: "APC", Model: "AP7900", Firmware: "apc_hw02_rpdu_374.bin", Dialect: "rpdu"}, "current [0] power 0W"},
		{"apc-ap7900b-aos682.snmprec", power.Info{Vendor: "APC", Model: "AP7900B", Firmware: "apc_hw05_rpdu2g_680.bin", Dialect: "spdu"}, "current [2.7] power 312W"},
	} {
		for _, creds := range []string{"v1", "v2c", "v3 SHA/AES"} {
			t.Run(tc.device+"/"+creds, func(t *testing.T) {
				dev := simDevice(t, tc.device, pdusim.Options{})
				dev.SetOutletState(2, power.Off) // the built-in models' meters follow
				d, _ := simulate(t, dev, creds, "auto")
				r, err := d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if r.Info != tc.want {
					t.Errorf("info = %+v, want %+v", r.Info, tc.want)
				}
				if len(r.Outlets) != dev.Outlets() {
					t.Fatalf("%d outlets, the device has %d", len(r.Outlets), dev.Outlets())
				}
				for i, o := range r.Outlets {
					if o.Number != i+1 || o.State != dev.OutletState(o.Number) || o.Name != dev.OutletName(o.Number) {
						t.Errorf("outlet %s, the device says %d %q %v", outletLine(o), i+1, dev.OutletName(i+1), dev.OutletState(i+1))
					}
				}
				if got := meterLine(r.Meter); got != tc.meter {
					t.Errorf("meter = %s, want %s", got, tc.meter)
				}
			})
		}
	}
}

func TestSimSwitch(t *testing.T) {
	for _, device := range []string{"ap7900", "ap8941", "apc-ap7900b-aos682.snmprec"} {
		for _, creds := range []string{"v1", "v2c", "v3 SHA/AES", "v3 MD5/DES", "v3 SHA256/AES256", "v3 SHA512 authNoPriv"} {
			t.Run(device+"/"+creds, func(t *testing.T) {
				dev := simDevice(t, device, pdusim.Options{})
				d, agent := simulate(t, dev, creds, "auto")
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()

				// Outlet 6 is row 11 in the AP8941's rPDU2 tables, and
				// row 6 is outlet 1: computing the row switches the
				// wrong outlet.
				const n = 6
				if err := d.Switch(ctx, n, power.Off); err != nil {
					t.Fatal(err)
				}
				waitFor(t, ctx, d, n, power.Off)
				if err := d.Switch(ctx, n, power.On); err != nil {
					t.Fatal(err)
				}
				waitFor(t, ctx, d, n, power.On)

				for i := 1; i <= dev.Outlets(); i++ {
					want := 0
					if i == n {
						want = 2
					}
					if got := dev.Switches(i); got != want {
						t.Errorf("outlet %d switched %d times, want %d", i, got, want)
					}
				}
				if s := agent.Stats(); s.Sets != 2 {
					t.Errorf("the agent got %d SETs for two switches", s.Sets)
				}
			})
		}
	}
}

// waitFor reads the PDU until outlet n is in state want and nothing is
// pending, or ctx ends. A switch takes the simulator's SwitchDelay, during
// which the outlet reads its old state with a command pending.
func waitFor(t *testing.T, ctx context.Context, d *Driver, n int, want power.State) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := d.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for outlet %d to be %v: %v", n, want, err)
		}
		o, ok := r.Outlet(n)
		if !ok {
			t.Fatalf("no outlet %d in %q", n, outletLines(r))
		}
		if o.State == want && !o.Pending {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("outlet %d is %s, still not %v", n, outletLine(o), want)
		case <-tick.C:
		}
	}
}

func TestSimOneRequestPerRead(t *testing.T) {
	for _, device := range []string{"ap7900", "ap8941", "apc-ap7900-aos374.snmprec", "apc-ap7900b-aos682.snmprec"} {
		for _, creds := range []string{"v1", "v2c", "v3 SHA/AES"} {
			t.Run(device+"/"+creds, func(t *testing.T) {
				dev := simDevice(t, device, pdusim.Options{})
				d, agent := simulate(t, dev, creds, "auto")
				if _, err := d.Read(t.Context()); err != nil { // detects
					t.Fatal(err)
				}
				for range 3 {
					before := agent.Stats()
					if _, err := d.Read(t.Context()); err != nil {
						t.Fatal(err)
					}
					after := agent.Stats()
					got := fmt.Sprintf("%d requests, %d GET, %d GETBULK", after.Requests-before.Requests,
						after.Gets-before.Gets, after.GetBulks-before.GetBulks)
					want := "1 requests, 0 GET, 1 GETBULK"
					if creds == "v1" {
						want = "1 requests, 1 GET, 0 GETBULK"
					}
					if got != want {
						t.Errorf("a Read cost %s, want %s", got, want)
					}
				}
			})
		}
	}
}

func TestSimReadOnlyCommunityIsRefused(t *testing.T) {
	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version, func(t *testing.T) {
			dev := simDevice(t, "ap7900", pdusim.Options{})
			agent, err := dev.Listen("127.0.0.1:0", simAccess)
			if err != nil {
				t.Fatal(err)
			}
			defer agent.Close()
			// The read-only community where the write one belongs.
			d, err := New(Config{Config: snmp.Config{Address: agent.Addr(), Version: version, Community: "public", Timeout: 5 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			err = d.Switch(t.Context(), 1, power.Off)
			if !errors.Is(err, power.ErrRefused) {
				t.Fatalf("SET with a read-only community: %v, want a refusal", err)
			}
			t.Log(err)
			if dev.Switches(1) != 0 || dev.OutletState(1) != power.On {
				t.Error("the outlet switched")
			}
		})
	}
}

func TestSimWrongCommunityTimesOut(t *testing.T) {
	dev := simDevice(t, "ap7900", pdusim.Options{})
	agent, err := dev.Listen("127.0.0.1:0", simAccess)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	d, err := New(Config{Config: snmp.Config{Address: agent.Addr(), Version: "2c", Community: "wrong-community", Timeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.Read(t.Context())
	if !errors.Is(err, snmp.ErrTimeout) {
		t.Fatalf("Read with a wrong community: %v, want a timeout", err)
	}
	t.Log(err)
}

// A slow card: the SET times out on the client but is carried out. It must
// be carried out once, never twice, whatever Retries says.
func TestSimSlowSetIsNotRepeated(t *testing.T) {
	for _, creds := range []string{"v2c", "v3 SHA/AES"} {
		t.Run(creds, func(t *testing.T) {
			dev := simDevice(t, "ap8941", pdusim.Options{SwitchDelay: -1})
			agent, err := dev.Listen("127.0.0.1:0", simAccess)
			if err != nil {
				t.Fatal(err)
			}
			defer agent.Close()
			cfg := credentials[creds]
			cfg.Address, cfg.Timeout, cfg.Retries = agent.Addr(), 100*time.Millisecond, 3
			d, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			// A first switch while the card is quick: under v3 the SET
			// session discovers the agent's engine with it.
			if err := d.Switch(t.Context(), 3, power.Off); err != nil {
				t.Fatal(err)
			}
			agent.SetLatency(400 * time.Millisecond)
			err = d.Switch(t.Context(), 3, power.On)
			if !errors.Is(err, snmp.ErrTimeout) || errors.Is(err, power.ErrRefused) {
				t.Fatalf("slow SET: %v, want a timeout that is not a refusal", err)
			}
			// The agent carries the SET out and answers late. Wait for
			// it, then stop the agent, which finishes what it has in
			// hand: by then a retried SET would have arrived too.
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			for dev.Switches(3) < 2 {
				select {
				case <-tick.C:
				case <-ctx.Done():
					t.Fatalf("the slow SET was never carried out")
				}
			}
			agent.Close()
			if got := agent.Stats().Sets; got != 2 {
				t.Errorf("the agent got %d SETs for two switches, want 2", got)
			}
			if got, state := dev.Switches(3), dev.OutletState(3); got != 2 || state != power.On {
				t.Errorf("outlet 3 switched %d times and is %v, want 2 and on", got, state)
			}
		})
	}
}

// TestGivenUpRequestKeepsTheCard: a card that serves one request at a time
// and answers later than the timeout (but within the wait for a late
// answer) never has two of the driver's requests in hand: a read is sent
// again only once the late answer came, and a SET after it waits too.
func TestGivenUpRequestKeepsTheCard(t *testing.T) {
	dev := simDevice(t, "ap7900", pdusim.Options{SwitchDelay: -1})
	agent, err := dev.Listen("127.0.0.1:0", simAccess)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	agent.SetOneAtATime(true)
	cfg := credentials["v2c"]
	cfg.Address, cfg.Timeout, cfg.Retries = agent.Addr(), time.Second, 2
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Later than the timeout, sooner than the timeout twice over.
	agent.SetLatency(1500 * time.Millisecond)
	before := agent.Stats().Requests
	_, err = d.Read(t.Context())
	sent := agent.Stats().Requests - before
	_ = d.Switch(t.Context(), 1, power.Off)
	if s := agent.Stats(); s.MaxInFlightOneClient != 1 {
		t.Errorf("Stats = %+v: the driver had %d requests in hand at the card at once, want 1", s, s.MaxInFlightOneClient)
	}
	// The first attempt times out; the retry waits for its late answer,
	// which teaches the session how slow the card has become, and is
	// given long enough: an answer, and never two requests at the card.
	if err != nil || sent != 2 {
		t.Errorf("Read from a card slower than the timeout: %v after %d requests, want an answer after 2 (1 retry)", err, sent)
	}
}
