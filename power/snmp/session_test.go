package snmp

import (
	"errors"
	"net"
	"testing"
	"time"
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

const (
	sysDescr = ".1.3.6.1.2.1.1.1.0"
	// sPDUOutletCtl.1 of APC's PowerNet MIB, and its immediateOff.
	anOutlet, valueOff = ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1", 2
)

func TestSetIsSentOnce(t *testing.T) {
	for _, version := range []string{"1", "2c", "3"} {
		t.Run("v"+version, func(t *testing.T) {
			conn := silentAgent(t)
			c, err := New(silentConfig(conn, version))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Set(t.Context(), anOutlet, valueOff)
			if !errors.Is(err, ErrTimeout) {
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
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("Get from a silent agent: %v, want a timeout", err)
			}
			if n := received(t, conn); n != 4 {
				t.Errorf("the agent got %d datagrams for one GET with Retries 3, want 4", n)
			}
		})
	}
}
