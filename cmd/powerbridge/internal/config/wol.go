package config

import (
	"net"
	"net/netip"

	"github.com/powerbridge/powerbridge/power/wol"
)

// WakeOnLAN wakes a machine with a magic packet: for a machine with no
// switched outlet, or one whose BIOS does not power on when its outlet does.
type WakeOnLAN struct {
	// MAC is the address of the NIC armed for wake-up.
	MAC string `yaml:"mac"`
	// Broadcast is where the packet goes: 255.255.255.255, or the directed
	// broadcast of the machine's subnet (192.168.23.255).
	Broadcast string `yaml:"broadcast"`
	Port      int    `yaml:"port"`
	// Interface, when set, is the network interface the packet leaves by:
	// the cluster NIC of a MAAS host with two.
	Interface string `yaml:"interface"`
	// RebootCommand, when set, is what a cycle of a machine with no outlet
	// runs over the shutdown's ssh, such as "sudo systemctl reboot"; without
	// it, the cycle is the off and then the on.
	RebootCommand string `yaml:"reboot_command"`
}

func (w *WakeOnLAN) defaults() {
	w.Broadcast = wol.DefaultBroadcast
	w.Port = wol.DefaultPort
}

// validateWake checks that a machine can be switched on, by outlets or by
// LAN, and a machine woken by LAN: the packet's settings, and the liveness
// probe and shutdown it cannot do without. It runs for every machine before
// the shutdown's own checks, and settles on_failure when it is left out: cut,
// or fail where there is no outlet to cut.
func (m *Machine) validateWake(s section) {
	w := m.WakeOnLAN
	if len(m.Outlets) == 0 && w == nil {
		s.field("outlets").errorf("machine %q needs at least one outlet, as \"pdu/N\", or wake_on_lan", m.Name)
	}
	wakeOnly := w != nil && len(m.Outlets) == 0
	if sh := m.Shutdown; sh != nil {
		switch {
		case sh.OnFailure == "" && wakeOnly:
			sh.OnFailure = "fail"
		case sh.OnFailure == "":
			sh.OnFailure = "cut"
		case sh.OnFailure == "cut" && wakeOnly:
			s.field("shutdown").field("on_failure").errorf("\"cut\" needs an outlet to cut, and this machine has only wake_on_lan: leave on_failure out, or write fail")
		}
	}
	if w == nil {
		return
	}
	ws := s.field("wake_on_lan")
	if w.MAC == "" {
		ws.field("mac").errorf("required: the MAC address of the NIC that wakes the machine (ip link shows it after link/ether)")
	} else if _, err := wol.ParseMAC(w.MAC); err != nil {
		ws.field("mac").errorf("%v", err)
	}
	if ip, err := netip.ParseAddr(w.Broadcast); err != nil || !ip.Is4() {
		ws.field("broadcast").errorf("%q is not an IPv4 address (255.255.255.255, or the subnet's broadcast such as 192.168.23.255)", w.Broadcast)
	}
	if w.Port < 1 || w.Port > 65535 {
		ws.field("port").errorf("%d is not a port", w.Port)
	}
	if w.Interface != "" {
		if _, err := net.InterfaceByName(w.Interface); err != nil {
			ws.field("interface").errorf("no network interface %q on this host (ip link lists them)", w.Interface)
		}
	}
	// A missing section is reported at the line of wake_on_lan, which
	// asks for it.
	missing := func(key string) section { return section{c: s.c, node: ws.node, key: s.field(key).key} }
	if m.Liveness == nil {
		missing("liveness").errorf("required with wake_on_lan: only the liveness probe tells whether the machine is on (e.g. liveness: {tcp: \"host:22\"})")
	}
	if m.Shutdown == nil {
		missing("shutdown").errorf("required with wake_on_lan: a packet cannot switch a machine off, the clean ssh shutdown does")
		if w.RebootCommand != "" {
			ws.field("reboot_command").errorf("needs shutdown.ssh to run it")
		}
		return
	}
	if wakeOnly && m.Liveness != nil && m.Liveness.PowerBelowWatts > 0 {
		s.field("liveness").field("power_below_watts").errorf("needs an outlet on a metered PDU, and this machine has none")
	}
}
