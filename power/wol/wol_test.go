package wol_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/wol"
)

func TestPacket(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	p, err := wol.Packet(mac)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 102 || wol.PacketLen != 102 {
		t.Fatalf("packet is %d bytes, want 102", len(p))
	}
	if !bytes.Equal(p[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("packet starts % x, want six 0xff", p[:6])
	}
	for i := range 16 {
		if got := p[6+6*i : 12+6*i]; !bytes.Equal(got, mac) {
			t.Errorf("repetition %d of the MAC is % x, want % x", i, got, mac)
		}
	}
}

func TestPacketRefusesOtherAddressLengths(t *testing.T) {
	for _, mac := range []net.HardwareAddr{nil, {1, 2, 3}, {0, 0, 0, 0, 0, 0, 0, 1}} {
		if _, err := wol.Packet(mac); err == nil {
			t.Errorf("Packet(% x) gave no error", mac)
		}
	}
}

func TestParseMAC(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"52:54:00:12:34:56", "52:54:00:12:34:56", ""},
		{"52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef", ""},
		{"5254.0012.3456", "52:54:00:12:34:56", ""},
		{"52:54:00:12:34", "", `"52:54:00:12:34" is not a MAC address (write it as 52:54:00:12:34:56)`},
		{"02:00:5e:10:00:00:00:01", "", `"02:00:5e:10:00:00:00:01" is not a 48-bit MAC address (write it as 52:54:00:12:34:56)`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			mac, err := wol.ParseMAC(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || mac.String() != tc.want {
				t.Fatalf("ParseMAC = %v, %v; want %s", mac, err, tc.want)
			}
		})
	}
}

// listen is a UDP listener on loopback that hands over every datagram.
func listen(t *testing.T) (*net.UDPConn, <-chan []byte) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan []byte, 16)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- bytes.Clone(buf[:n])
		}
	}()
	return conn, got
}

func TestWakeSendsCountPackets(t *testing.T) {
	for _, iface := range []string{"", "lo"} {
		t.Run("interface="+iface, func(t *testing.T) {
			conn, got := listen(t)
			mac, _ := wol.ParseMAC("52:54:00:12:34:56")
			want, _ := wol.Packet(mac)
			s := wol.Sender{MAC: mac, Broadcast: "127.0.0.1", Port: conn.LocalAddr().(*net.UDPAddr).Port, Interface: iface, Count: 4, Gap: time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Wake(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				select {
				case p := <-got:
					if !bytes.Equal(p, want) {
						t.Fatalf("packet %d is % x, want % x", i, p, want)
					}
				case <-ctx.Done():
					t.Fatalf("%d of 4 packets arrived", i)
				}
			}
			// Datagrams on loopback arrive in order: once a packet sent
			// after the wake has arrived, a fifth one of the wake would
			// have arrived before it.
			s.Count = 1
			if err := s.Wake(ctx); err != nil {
				t.Fatal(err)
			}
			if p := <-got; !bytes.Equal(p, want) {
				t.Fatalf("the next packet is % x, want a magic packet", p)
			}
			select {
			case p := <-got:
				t.Fatalf("more packets than sent: % x", p)
			default:
			}
		})
	}
}

func TestWakeErrors(t *testing.T) {
	mac, _ := wol.ParseMAC("52:54:00:12:34:56")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		s    wol.Sender
		want string
	}{
		{"ipv6", wol.Sender{MAC: mac, Broadcast: "::1"}, `broadcast "::1" is not an IPv4 address`},
		{"name", wol.Sender{MAC: mac, Broadcast: "lan.example"}, `broadcast "lan.example" is not an IPv4 address`},
		{"port", wol.Sender{MAC: mac, Broadcast: "127.0.0.1", Port: 70000}, "70000 is not a UDP port"},
		{"interface", wol.Sender{MAC: mac, Broadcast: "127.0.0.1", Interface: "nosuch0"}, "sending by interface nosuch0"},
		{"mac", wol.Sender{MAC: mac[:5], Broadcast: "127.0.0.1"}, "is not a 48-bit MAC address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Wake(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
