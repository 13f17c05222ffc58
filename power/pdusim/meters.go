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
// that is on draws the same current.
type meter struct {
	milliampsPerOutlet int
	volts              int
}

// attachMeter makes the load, current and power objects follow the outlets,
// so that switching an outlet off shows on the meters as on a real PDU.
func (d *Device) attachMeter(m *meter) {
	milliamps := func(now time.Time) int { return d.onCount(now) * m.milliampsPerOutlet }
	watts := func(now time.Time) int { return milliamps(now) * m.volts / 1000 }
	tenthsOfAmps := func(now time.Time) int { return (milliamps(now) + 50) / 100 }
	d.bind(rPDULoadStatusLoad.child(1), func(now time.Time) value { return gauge32(uint32(tenthsOfAmps(now))) }, nil)
	d.bind(rPDUIdentDevicePowerWatts, func(now time.Time) value { return integer(watts(now)) }, nil)
	d.bind(rPDU2PhaseStatusCurrent.child(1), func(now time.Time) value { return integer(tenthsOfAmps(now)) }, nil)
	d.bind(rPDU2DeviceStatusPower.child(1), func(now time.Time) value { return integer((watts(now) + 5) / 10) }, nil) // hundredths of kW
}
