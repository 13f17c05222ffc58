package apc

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// silentAgent is a UDP socket on loopback that never answers: what an agent
// looks like to a wrong community.
func silentAgent(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// received counts the datagrams waiting on conn. On loopback a datagram is
// in the receiving socket's buffer by the time sendto returns, so what the
// client sent before returning is all there.
func received(t *testing.T, conn *net.UDPConn) int {
	t.Helper()
	buf := make([]byte, 65536)
	n := 0
	for {
		if err := conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := conn.ReadFrom(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return n
			}
			t.Fatal(err)
		}
		n++
	}
}

func silentConfig(conn *net.UDPConn, version string) Config {
	c := Config{Address: conn.LocalAddr().String(), Version: version, Timeout: 100 * time.Millisecond, Retries: 3}
	if version == "3" {
		c.User, c.AuthProtocol, c.AuthPassphrase, c.PrivProtocol, c.PrivPassphrase = "apc", "SHA", "auth-s3cret", "AES", "priv-s3cret"
	} else {
		c.Community, c.ReadCommunity = "write-s3cret", "read-s3cret"
	}
	return c
}

func TestSetIsSentOnce(t *testing.T) {
	for _, version := range []string{"1", "2c", "3"} {
		t.Run("v"+version, func(t *testing.T) {
			conn := silentAgent(t)
			cfg, err := silentConfig(conn, version).withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			c := newGosnmpClient(cfg)
			defer c.Close()
			err = c.Set(t.Context(), sPDUOutletCtl.oid+".1", valueOff)
			if !errors.Is(err, errTimeout) {
				t.Fatalf("Set to a silent agent: %v, want a timeout", err)
			}
			// Under v3 the SET waits for the engine discovery, which is
			// a read and retried as one (4 datagrams); the SET itself is
			// never sent without an engine.
			want := 1
			if version == "3" {
				want = 4
			}
			if n := received(t, conn); n != want {
				t.Errorf("the agent got %d datagrams for one SET with Retries 3, want %d", n, want)
			}

			_, err = c.Get(t.Context(), []string{sysDescr})
			if !errors.Is(err, errTimeout) {
				t.Fatalf("Get from a silent agent: %v, want a timeout", err)
			}
			if n := received(t, conn); n != 4 {
				t.Errorf("the agent got %d datagrams for one GET with Retries 3, want 4", n)
			}
		})
	}
}

func TestSilentPDU(t *testing.T) {
	for _, version := range []string{"2c", "3"} {
		t.Run("v"+version, func(t *testing.T) {
			conn := silentAgent(t)
			cfg := silentConfig(conn, version)
			cfg.Retries = 0
			d, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = d.Read(t.Context())
			if !errors.Is(err, errTimeout) {
				t.Fatalf("Read: %v, want a timeout", err)
			}
			hint := "the community"
			if version == "3" {
				hint = "the user and the passphrases"
			}
			msg := err.Error()
			if !strings.Contains(msg, "no answer from "+conn.LocalAddr().String()+" within 100ms") || !strings.Contains(msg, hint) {
				t.Errorf("error %q does not say there was no answer and point at %s", msg, hint)
			}
			err = d.Switch(t.Context(), 1, power.On)
			if !errors.Is(err, errTimeout) || errors.Is(err, power.ErrRefused) {
				t.Errorf("Switch: %v, want a timeout that is not a refusal", err)
			}
			for _, s := range []string{"s3cret"} {
				if strings.Contains(msg, s) || strings.Contains(err.Error(), s) {
					t.Errorf("an error shows a secret: %q, %q", msg, err)
				}
			}
		})
	}
}

func TestDeadlineCapsTimeout(t *testing.T) {
	conn := silentAgent(t)
	cfg := silentConfig(conn, "2c")
	// Each request may wait an hour: a Read that returns at all within a
	// minute was cut short by the deadline.
	cfg.Timeout, cfg.Retries = time.Hour, 5
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := d.Read(ctx)
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Read still waiting a minute after its 200ms deadline")
	}
	if !errors.Is(err, errTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Read past the deadline: %v, want a timeout at the deadline", err)
	}
}
