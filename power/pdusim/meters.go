package pdusim

import (
	"time"

	"github.com/gosnmp/gosnmp"
)

// attachClock makes sysUpTime tick from the recorded value.
func (d *Device) attachClock() {
	x := d.store.lookup(sysUpTime)
	if x == nil || x.value.typ != gosnmp.TimeTicks {
		return
	}
	d.upBase = x.value.v.(uint32)
	d.bind(sysUpTime, func(now time.Time) value {
		base, start := d.booted()
		return timeTicks(base + uint32(now.Sub(start)/(10*time.Millisecond)))
	}, nil)
}

// meter is how a built-in model's meters follow its outlets: each outlet
// that is on draws the same current, and each phase's current is its
// outlets' (equal runs of them, as unit.phaseOf).
type meter struct {
	milliampsPerOutlet int
	volts              int
	phases             int // 0: one
}

// attachMeter makes the load, current and power objects follow the outlets,
// so that switching an outlet off shows on the meters as on a real PDU.
func (d *Device) attachMeter(m *meter) {
	milliamps := func(now time.Time) int { return d.onCount(now) * m.milliampsPerOutlet }
	watts := func(now time.Time) int { return milliamps(now) * m.volts / 1000 }
	d.bind(rPDUIdentDevicePowerWatts, func(now time.Time) value { return integer(watts(now)) }, nil)
	phases := max(m.phases, 1)
	per := len(d.outlets) / phases
	for ph := 1; ph <= phases; ph++ {
		lo, hi := (ph-1)*per, ph*per
		if phases == 1 {
			hi = len(d.outlets)
		}
		tenths := func(now time.Time) int { return (d.onCountOf(now, lo, hi)*m.milliampsPerOutlet + 50) / 100 }
		d.bind(rPDULoadStatusLoad.child(uint32(ph)), func(now time.Time) value { return gauge32(uint32(tenths(now))) }, nil)
		d.bind(rPDU2PhaseStatusCurrent.child(uint32(ph)), func(now time.Time) value { return integer(tenths(now)) }, nil)
	}
	d.bind(rPDU2DeviceStatusPower.child(1), func(now time.Time) value { return integer((watts(now) + 5) / 10) }, nil) // hundredths of kW
}
