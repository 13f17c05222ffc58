// Package wol sends Wake-on-LAN magic packets: six bytes of 0xFF, then the
// target's MAC address sixteen times, in one UDP datagram to a broadcast
// address. A NIC armed for WoL (ethtool's "g") powers its machine on when it
// sees one, whatever its IP layer is doing.
//
// It knows nothing of machines or power states: a packet cannot switch a
// machine off nor tell whether it is on, and the power domain pairs it with a
// clean shutdown and a liveness probe for that.
package wol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Defaults for a Sender's zero fields.
const (
	// DefaultPort is the discard port, which WoL tools send to by habit;
	// the NIC matches the payload and ignores the port.
	DefaultPort      = 9
	DefaultBroadcast = "255.255.255.255"
	// A packet is a datagram with no answer: a lost one is only made good by
	// another, so a wake sends a few.
	DefaultCount = 3
	DefaultGap   = 100 * time.Millisecond
)

// PacketLen is the length of a magic packet.
const PacketLen = 6 + 16*6

// Packet returns the magic packet that wakes the NIC with address mac, which
// must be a 48-bit (EUI-48) address.
func Packet(mac net.HardwareAddr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("%q is not a 48-bit MAC address (six bytes such as 52:54:00:12:34:56)", mac.String())
	}
	p := bytes.Repeat([]byte{0xff}, 6)
	for range 16 {
		p = append(p, mac...)
	}
	return p, nil
}

// ParseMAC reads a 48-bit MAC address in any of the forms net.ParseMAC
// knows (52:54:00:12:34:56, 52-54-00-12-34-56, 5254.0012.3456).
func ParseMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a MAC address (write it as 52:54:00:12:34:56)", s)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("%q is not a 48-bit MAC address (write it as 52:54:00:12:34:56)", s)
	}
	return mac, nil
}

// Sender wakes one machine.
type Sender struct {
	MAC net.HardwareAddr
	// Broadcast is the IPv4 address the packet goes to: the limited
	// broadcast 255.255.255.255 (DefaultBroadcast if empty), or the directed
	// broadcast of the machine's subnet, such as 192.168.23.255.
	Broadcast string
	Port      int // DefaultPort if zero
	// Interface, when set, is the network interface the packet leaves by
	// (SO_BINDTODEVICE): a limited broadcast otherwise leaves by the one
	// the default route names, which is rarely the cluster's.
	Interface string
	Count     int           // packets per Wake; DefaultCount if zero
	Gap       time.Duration // between them; DefaultGap if zero
}

// Wake sends the magic packet Count times, Gap apart, within ctx. It returns
// an error only when no packet could be sent at all: a packet on the wire is
// as much as WoL can do, and whether the machine woke is for its liveness
// probe to tell.
func (s Sender) Wake(ctx context.Context) error {
	pkt, err := Packet(s.MAC)
	if err != nil {
		return err
	}
	addr, err := s.target()
	if err != nil {
		return err
	}
	d := net.Dialer{}
	if s.Interface != "" {
		d.Control = bindToDevice(s.Interface)
	}
	conn, err := d.DialContext(ctx, "udp4", addr)
	if err != nil {
		return fmt.Errorf("sending the wake-up packet for %s to %s: %w", s.MAC, addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetWriteDeadline(dl)
	}
	count, gap := s.Count, s.Gap
	if count <= 0 {
		count = DefaultCount
	}
	if gap <= 0 {
		gap = DefaultGap
	}
	sent := 0
	var errs []error
	for i := range count {
		if i > 0 {
			t := time.NewTimer(gap)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if _, err := conn.Write(pkt); err != nil {
			errs = append(errs, err)
			continue
		}
		sent++
	}
	if sent == 0 {
		return fmt.Errorf("sending the wake-up packet for %s to %s: %w", s.MAC, addr, errors.Join(errs...))
	}
	return nil
}

// target is Broadcast:Port with the defaults.
func (s Sender) target() (string, error) {
	b := s.Broadcast
	if b == "" {
		b = DefaultBroadcast
	}
	ip, err := netip.ParseAddr(b)
	if err != nil || !ip.Is4() {
		return "", fmt.Errorf("broadcast %q is not an IPv4 address (WoL has no IPv6 form)", b)
	}
	port := s.Port
	if port == 0 {
		port = DefaultPort
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("%d is not a UDP port", port)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
}
