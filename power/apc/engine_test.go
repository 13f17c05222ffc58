package apc

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/pdusim"
)

// These tests take the simulated PDU's SNMPv3 engine through what a real
// management card's goes through: a reboot (new boots and time), a
// replacement (a new engine ID at the same address), and wrong keys.

// events collects a driver's events, but for the timeouts it tells of as
// they follow the card, which these tests are not about.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(ev Event) {
	if ev.Kind == EventTimeout {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, fmt.Sprintf("%s %d", ev.Kind, ev.Count))
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.got, ", ")
}

// observed is simulate with the driver's events collected.
func observed(t *testing.T, dev *pdusim.Device, creds string, retries int) (*Driver, *pdusim.Agent, *events) {
	t.Helper()
	agent, err := dev.Listen("127.0.0.1:0", simAccess)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	ev := &events{}
	cfg := credentials[creds]
	cfg.Address, cfg.Timeout, cfg.Retries, cfg.OnEvent = agent.Addr(), 300*time.Millisecond, retries, ev.add
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, agent, ev
}

// TestEngineRestart reboots the card between reads and between a switch
// and its read-back: the driver carries on, each switch is one SET, and
// each reboot is one event.
func TestEngineRestart(t *testing.T) {
	dev := simDevice(t, "ap8941", pdusim.Options{SwitchDelay: -1})
	d, agent, ev := observed(t, dev, "v3 SHA/AES", 0)
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	agent.Restart()
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatalf("read after a restart: %v", err)
	}
	if err := d.Switch(t.Context(), 3, power.Off); err != nil {
		t.Fatalf("switch: %v", err)
	}
	agent.Restart()
	r, err := d.Read(t.Context())
	if err != nil {
		t.Fatalf("read-back after a restart: %v", err)
	}
	if o, _ := r.Outlet(3); o.State != power.Off {
		t.Errorf("outlet 3 reads %v, want off", o.State)
	}
	if err := d.Switch(t.Context(), 3, power.On); err != nil {
		t.Fatalf("switch after a restart: %v", err)
	}
	if s := agent.Stats(); s.Sets != 2 || dev.Switches(3) != 2 {
		t.Errorf("%d SETs and %d switches for two switches, want 2 and 2", s.Sets, dev.Switches(3))
	}
	if got := ev.String(); got != "restart 1, restart 1" {
		t.Errorf("events: %s; want one restart per reboot", got)
	}
}

// TestRetryEvents loses every other request: reads are sent again and say
// so; the one SET is never sent again.
func TestRetryEvents(t *testing.T) {
	dev := simDevice(t, "ap7900", pdusim.Options{SwitchDelay: -1})
	d, agent, ev := observed(t, dev, "v2c", 1)
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ev.String() != "" {
		t.Fatalf("events without a fault: %s", ev)
	}
	agent.DropEveryNthRequest(2)
	for range 3 {
		if _, err := d.Read(t.Context()); err != nil {
			t.Fatalf("a read with one retry on a network losing every other request: %v", err)
		}
	}
	if got := ev.String(); !strings.HasPrefix(got, "retry 1") {
		t.Errorf("events: %q; want retries", got)
	}
	before := agent.Stats().Sets
	agent.DropEveryNthRequest(1)
	if err := d.Switch(t.Context(), 1, power.Off); err == nil {
		t.Error("a lost SET was answered")
	}
	if n := agent.Stats().Sets - before; n != 1 {
		t.Errorf("the SET was sent %d times, want once", n)
	}
}

// TestEngineReplaced puts a new engine ID behind the PDU's address, as a
// replaced card or a factory reset does: gosnmp alone never gets past the
// new engine's unauthenticated Report; the driver discovers the engine
// again. A SET that meets the new engine is not carried out, and is not
// sent again.
func TestEngineReplaced(t *testing.T) {
	dev := simDevice(t, "ap8941", pdusim.Options{SwitchDelay: -1})
	d, agent, ev := observed(t, dev, "v3 SHA/AES", 0)
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := d.Switch(t.Context(), 1, power.Off); err != nil {
		t.Fatal(err)
	}
	replace := func() *pdusim.Agent {
		t.Helper()
		addr := agent.Addr()
		agent.Close()
		a, err := dev.Listen(addr, simAccess)
		if err != nil {
			t.Fatalf("listening again on %s: %v", addr, err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}

	agent = replace()
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatalf("read after the engine changed: %v", err)
	}
	if err := d.Switch(t.Context(), 1, power.On); err != nil {
		t.Fatalf("switch after the engine changed: %v", err)
	}

	agent = replace()
	err := d.Switch(t.Context(), 2, power.Off)
	if !errors.Is(err, power.ErrRefused) || !strings.Contains(err.Error(), "does not authenticate") {
		t.Errorf("a SET meeting a new engine: %v; want a refusal saying the answer does not authenticate", err)
	}
	if s := agent.Stats(); s.Sets != 0 || dev.Switches(2) != 0 {
		t.Errorf("the new engine carried out %d SETs, %d switches; want none", s.Sets, dev.Switches(2))
	}
	if err := d.Switch(t.Context(), 2, power.Off); err != nil {
		t.Errorf("the next switch: %v", err)
	}
	if dev.Switches(2) != 1 || agent.Stats().Sets != 1 {
		t.Errorf("outlet 2: %d switches from %d SETs, want 1 from 1", dev.Switches(2), agent.Stats().Sets)
	}
	if got := ev.String(); got != "new-engine 1, new-engine 1" {
		t.Errorf("events: %s; want one new-engine per replacement", got)
	}
}

// TestWrongV3Keys: a wrong auth passphrase or user is refused in words that
// say so, a wrong privacy passphrase is silence; neither error holds a
// passphrase.
func TestWrongV3Keys(t *testing.T) {
	dev := simDevice(t, "ap7900", pdusim.Options{})
	agent, err := dev.Listen("127.0.0.1:0", simAccess)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	good := credentials["v3 SHA/AES"]
	for _, tc := range []struct {
		name   string
		adjust func(*Config)
		want   string
	}{
		{"auth passphrase", func(c *Config) { c.AuthPassphrase = "wrong-auth-secret" }, "does not authenticate with the configured user and auth passphrase"},
		{"user", func(c *Config) { c.User = "nobody" }, "does not authenticate with the configured user and auth passphrase"},
		{"priv passphrase", func(c *Config) { c.PrivPassphrase = "wrong-priv-secret" }, "check the address, the user and the passphrases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.adjust(&c)
			c.Address, c.Timeout = agent.Addr(), 200*time.Millisecond
			d, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = d.Read(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("read: %v; want it to say %q", err, tc.want)
			}
			for _, secret := range []string{c.AuthPassphrase, c.PrivPassphrase} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a passphrase: %v", err)
				}
			}
			if err := d.Switch(t.Context(), 1, power.Off); err == nil {
				t.Error("switched with wrong keys")
			}
			if dev.Switches(1) != 0 {
				t.Error("the outlet switched")
			}
		})
	}
}
