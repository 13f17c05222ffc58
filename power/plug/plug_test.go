package plug_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/plug"
	"github.com/powerbridge/powerbridge/power/plugsim"
)

const secret = "s3cret-plug-pass"

func startSim(t *testing.T, model string, opts plugsim.Options) *plugsim.Plug {
	t.Helper()
	p, err := plugsim.Start(model, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func newDriver(t *testing.T, cfg plug.Config) *plug.Driver {
	t.Helper()
	d, err := plug.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// waitFor waits for cond with a generous deadline: the plug's timers run
// on its own clock.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var kinds = []struct {
	model   string
	kind    plug.Kind // forced
	vendor  string
	dialect string
}{
	{plugsim.ShellyGen1, plug.ShellyGen1, "Shelly", "shelly-gen1"},
	{plugsim.ShellyGen2, plug.ShellyGen2, "Shelly", "shelly-gen2"},
	{plugsim.Tasmota, plug.Tasmota, "Tasmota", "tasmota"},
}

func TestSwitchAndReadBack(t *testing.T) {
	for _, k := range kinds {
		for _, pass := range []string{"", secret} {
			name := k.model
			if pass != "" {
				name += "/auth"
			}
			t.Run(name, func(t *testing.T) {
				sim := startSim(t, k.model, plugsim.Options{Relays: 2, Password: pass, Watts: 55})
				for _, kind := range []plug.Kind{plug.Any, k.kind} {
					sim.SetState(1, power.Off)
					d := newDriver(t, plug.Config{Address: sim.URL(), Kind: kind, Password: pass, Timeout: 5 * time.Second})
					before := sim.Commands(1)
					if err := d.Switch(t.Context(), 1, power.On); err != nil {
						t.Fatalf("kind %q: switch on: %v", kind, err)
					}
					if sim.State(1) != power.On || sim.Commands(1) != before+1 {
						t.Fatalf("kind %q: plug reads %s after %d commands, want on after one", kind, sim.State(1), sim.Commands(1)-before)
					}
					r, err := d.Read(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					if len(r.Outlets) != 2 || r.Outlets[0].State != power.On || r.Outlets[1].State != power.Off {
						t.Fatalf("kind %q: reading %+v", kind, r.Outlets)
					}
					if r.Info.Vendor != k.vendor || r.Info.Dialect != k.dialect {
						t.Errorf("kind %q: info %+v", kind, r.Info)
					}
					if w := r.Outlets[0].PowerWatts; w == nil || *w != 55 {
						t.Errorf("kind %q: outlet 1 draws %v, want 55 W", kind, w)
					}
					if r.Meter.PowerWatts == nil || *r.Meter.PowerWatts != 55 || r.Meter.EnergyJoules == nil {
						t.Errorf("kind %q: meter %+v", kind, r.Meter)
					}
				}
				if pass != "" && sim.AuthFailures() != 0 {
					t.Errorf("%d requests were refused for their credentials", sim.AuthFailures())
				}
			})
		}
	}
}

func TestDetect(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.model, func(t *testing.T) {
			sim := startSim(t, k.model, plugsim.Options{Password: secret})
			kind, info, err := plug.Detect(t.Context(), plug.Config{Address: sim.URL(), Password: secret})
			if err != nil {
				t.Fatal(err)
			}
			if kind != k.kind || info.Vendor != k.vendor {
				t.Errorf("detected %s %+v", kind, info)
			}
		})
	}
}

func TestWrongCredentialsAreAClearRefusal(t *testing.T) {
	for _, k := range kinds {
		for _, pass := range []string{"wrong-password", ""} {
			t.Run(k.model+"/"+map[bool]string{true: "none", false: "wrong"}[pass == ""], func(t *testing.T) {
				sim := startSim(t, k.model, plugsim.Options{Password: secret})
				d := newDriver(t, plug.Config{Address: sim.URL(), Kind: k.kind, Password: pass})
				err := d.Switch(t.Context(), 1, power.On)
				if err == nil || !errors.Is(err, power.ErrRefused) || !strings.Contains(err.Error(), "refused the credentials") {
					t.Fatalf("switch with %q: %v, want a refusal naming the credentials", pass, err)
				}
				if _, err := d.Read(t.Context()); err == nil || !strings.Contains(err.Error(), "credentials") {
					t.Errorf("read: %v", err)
				}
				if strings.Contains(err.Error(), pass) && pass != "" || strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a password: %v", err)
				}
				if sim.State(1) != power.Off || sim.Commands(1) != 0 {
					t.Errorf("the plug switched: %s after %d commands", sim.State(1), sim.Commands(1))
				}
			})
		}
	}
}

func TestSlowPlugTimesOutAsNoAnswer(t *testing.T) {
	sim := startSim(t, plugsim.ShellyGen2, plugsim.Options{})
	d := newDriver(t, plug.Config{Address: sim.URL(), Kind: plug.ShellyGen2, Timeout: 200 * time.Millisecond})
	sim.SetSlow(time.Minute)
	err := d.Switch(t.Context(), 1, power.On)
	if !errors.Is(err, power.ErrNoAnswer) {
		t.Fatalf("switch to a plug that does not answer in time: %v, want ErrNoAnswer", err)
	}
	sim.SetSlow(0)
	if _, err := d.Read(t.Context()); err != nil {
		t.Errorf("read once the plug answers again: %v", err)
	}
}

func TestDroppedConnections(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.model, func(t *testing.T) {
			sim := startSim(t, k.model, plugsim.Options{Password: secret})
			d := newDriver(t, plug.Config{Address: sim.URL(), Kind: k.kind, Password: secret})
			if _, err := d.Read(t.Context()); err != nil {
				t.Fatal(err)
			}
			sim.DropRequests(1)
			if err := d.Switch(t.Context(), 1, power.On); !errors.Is(err, power.ErrNoAnswer) {
				t.Fatalf("dropped request: %v, want ErrNoAnswer", err)
			}
			if sim.State(1) != power.Off {
				t.Fatalf("a dropped request switched the plug")
			}
			sim.LoseAnswers(1)
			if err := d.Switch(t.Context(), 1, power.On); !errors.Is(err, power.ErrNoAnswer) {
				t.Fatalf("lost answer: %v, want ErrNoAnswer", err)
			}
			if sim.State(1) != power.On || sim.Commands(1) != 1 {
				t.Fatalf("after a lost answer: %s, %d commands; want on after one (no resend by the client)", sim.State(1), sim.Commands(1))
			}
		})
	}
}

// Through power's PDU: a switch whose answer is lost reads back switched and
// is not sent again; one whose request was dropped is sent once more.
func TestPDUVerifiesAPlugSwitch(t *testing.T) {
	sim := startSim(t, plugsim.ShellyGen2, plugsim.Options{Password: secret})
	d := newDriver(t, plug.Config{Address: sim.URL(), Password: secret, Kind: plug.Shelly})
	p := power.NewPDU(power.PDUConfig{Name: "plug", Driver: d, SwitchTimeout: 10 * time.Second, CacheTTL: time.Minute})
	t.Cleanup(func() { p.Close() })
	if _, err := p.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	sim.LoseAnswers(1)
	if _, err := p.Switch(t.Context(), 1, power.On); err != nil {
		t.Fatal(err)
	}
	if sim.Commands(1) != 1 {
		t.Errorf("lost answer: %d commands at the plug, want 1", sim.Commands(1))
	}
	sim.DropRequests(1)
	if _, err := p.Switch(t.Context(), 1, power.Off); err != nil {
		t.Fatal(err)
	}
	if sim.State(1) != power.Off || sim.Commands(1) != 2 {
		t.Errorf("dropped request: %s after %d commands, want off after 2", sim.State(1), sim.Commands(1))
	}
}

func TestCycleTimedFinishesOnThePlug(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.model, func(t *testing.T) {
			sim := startSim(t, k.model, plugsim.Options{On: true})
			d := newDriver(t, plug.Config{Address: sim.URL(), Kind: k.kind})
			if err := d.CycleTimed(t.Context(), 1, time.Second); err != nil {
				t.Fatal(err)
			}
			if sim.State(1) != power.Off {
				t.Fatalf("plug reads %s right after the timed cycle, want off", sim.State(1))
			}
			d.Close()
			waitFor(t, "the plug switches itself back on", func() bool { return sim.State(1) == power.On })
			if sim.Commands(1) != 1 {
				t.Errorf("%d commands for one timed cycle", sim.Commands(1))
			}
			if off, on := sim.Switched(1); on.Sub(off) < time.Second {
				t.Errorf("the plug was off %s, less than the 1s asked for", on.Sub(off))
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"192.168.1.20", "http://192.168.1.20", true},
		{"plug.lan:8080", "http://plug.lan:8080", true},
		{"https://plug.lan", "https://plug.lan", true},
		{"http://plug.lan/", "http://plug.lan", true},
		{"http://admin:pw@plug.lan", "", false},
		{"http://plug.lan/rpc", "", false},
		{"http://", "", false},
	} {
		u, err := plug.BaseURL(tc.in)
		if (err == nil) != tc.ok || (err == nil && u.String() != tc.want) {
			t.Errorf("BaseURL(%q) = %v, %v; want %q ok=%v", tc.in, u, err, tc.want, tc.ok)
		}
	}
}

// A digest nonce the plug forgot is answered with a new challenge, once:
// the 401 carried nothing out, so the switch happens exactly once.
func TestDigestNonceThePlugForgot(t *testing.T) {
	sim := startSim(t, plugsim.ShellyGen2, plugsim.Options{Password: secret})
	d := newDriver(t, plug.Config{Address: sim.URL(), Kind: plug.ShellyGen2, Password: secret})
	if err := d.Switch(t.Context(), 1, power.On); err != nil {
		t.Fatal(err)
	}
	sim.ForgetNonces()
	before := sim.Requests()
	if err := d.Switch(t.Context(), 1, power.Off); err != nil {
		t.Fatal(err)
	}
	if sim.State(1) != power.Off || sim.Commands(1) != 2 {
		t.Errorf("plug %s after %d commands, want off after 2", sim.State(1), sim.Commands(1))
	}
	if n := sim.Requests() - before; n != 2 {
		t.Errorf("%d requests for a switch on a forgotten nonce, want 2 (challenged, answered)", n)
	}
	// While the nonce lasts, one request per call.
	before = sim.Requests()
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := sim.Requests() - before; n != 1 {
		t.Errorf("%d requests for a read on a live nonce, want 1", n)
	}
}

// A request that timed out still says so under ErrNoAnswer, and its error
// holds no URL (Tasmota's would carry the password).
func TestTimeoutStaysATimeout(t *testing.T) {
	sim := startSim(t, plugsim.Tasmota, plugsim.Options{Password: secret})
	d := newDriver(t, plug.Config{Address: sim.URL(), Kind: plug.Tasmota, Password: secret, Timeout: 100 * time.Millisecond})
	sim.SetSlow(time.Minute)
	_, err := d.Read(t.Context())
	if !errors.Is(err, power.ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read of a plug slower than the timeout: %v", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "password=") {
		t.Errorf("the error shows the URL's credentials: %v", err)
	}
}
