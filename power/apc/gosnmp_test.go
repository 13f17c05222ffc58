package apc

import (
	"context"
	"errors"
	"github.com/powerbridge/powerbridge/power/snmp"
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

func silentConfig(conn *net.UDPConn, version string) Config {
	c := Config{Config: snmp.Config{Address: conn.LocalAddr().String(), Version: version, Timeout: 100 * time.Millisecond, Retries: 3}}
	if version == "3" {
		c.User, c.AuthProtocol, c.AuthPassphrase, c.PrivProtocol, c.PrivPassphrase = "apc", "SHA", "auth-s3cret", "AES", "priv-s3cret"
	} else {
		c.Community, c.ReadCommunity = "write-s3cret", "read-s3cret"
	}
	return c
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
			if !errors.Is(err, snmp.ErrTimeout) {
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
			if !errors.Is(err, snmp.ErrTimeout) || errors.Is(err, power.ErrRefused) {
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
	if !errors.Is(err, snmp.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Read past the deadline: %v, want a timeout at the deadline", err)
	}
}
