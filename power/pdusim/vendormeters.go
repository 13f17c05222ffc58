package pdusim

import (
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// A draw is what an outlet, or a group of outlets, draws. Every outlet of
// a built-in vendor model that is on draws the model's load, as the APC
// models' meter has it: a switched-off outlet reads 0 and the PDU's totals
// drop with it.
type draw struct{ milliamps, watts int }

// meterObject is a live meter object of a vendor model: its instance, the
// outlets it measures (first to last, numbered as the device numbers
// them), and its value in the MIB's units.
type meterObject struct {
	oid         oid
	first, last int
	read        func(draw) value
}

// vendorMeters are the live meters of each built-in vendor model, written
// from its MIB's units. Recordings keep the values their capture holds.
var vendorMeters = map[string]func() (draw, []meterObject){
	"eaton-g3":           eatonG3Meters,
	"raritan-px3":        raritanMeters,
	"cyberpower-epdu2":   cyberPowerMeters,
	"servertech-sentry3": sentry3Meters,
	"servertech-sentry4": sentry4Meters,
	"tripplite-pdu":      trippLiteMeters,
	"geist-v5":           geistMeters,
}

// attachVendorMeters makes model's meter objects live, following its
// outlets.
func (d *Device) attachVendorMeters(model string) {
	meters, ok := vendorMeters[model]
	if !ok {
		return
	}
	load, objects := meters()
	for _, m := range objects {
		m := m
		d.store.insert(m.oid, m.read(draw{}))
		d.bind(m.oid, func(now time.Time) value { return m.read(d.draw(load, m.first, m.last, now)) }, nil)
	}
}

// draw sums what outlets first to last draw now. The device must be
// locked.
func (d *Device) draw(load draw, first, last int, now time.Time) draw {
	var r draw
	for n := first; n <= last && n <= len(d.outlets); n++ {
		if d.outlets[n-1].stateAt(now) == power.On {
			r.milliamps += load.milliamps
			r.watts += load.watts
		}
	}
	return r
}

// The units the vendors' meters read in, as INTEGER or Gauge32.
func milliamps(r draw) value    { return integer(r.milliamps) }
func centiamps(r draw) value    { return integer((r.milliamps + 5) / 10) }
func watts(r draw) value        { return integer(r.watts) }
func centiampsG32(r draw) value { return gauge32(uint32((r.milliamps + 5) / 10)) }
func wattsG32(r draw) value     { return gauge32(uint32(r.watts)) }

// counted reads v whatever the outlets do: an energy meter whose count the
// simulator does not advance.
func counted(v value) func(draw) value { return func(draw) value { return v } }

// Objects of the vendor models' meters, from each MIB.
var (
	eatonInputCurrent = eaton.child(3, 3, 1, 4) // inputCurrent.unit.input.phase, mA
	eatonInputWatts   = eaton.child(3, 5, 1, 4) // inputTotalWatts.unit.input, W
	eatonInputWh      = eaton.child(3, 5, 1, 5) // inputTotalWh.unit.input, Wh

	raritanOutletValue    = raritan.child(5, 4, 3, 1, 4) // measurementsOutletSensorValue.pdu.outlet.type
	raritanOutletDecimals = raritan.child(3, 5, 4, 1, 7) // outletSensorDecimalDigits.pdu.outlet.type
	raritanInletValue     = raritan.child(5, 2, 3, 1, 4) // measurementsInletSensorValue.pdu.inlet.type
	raritanInletDecimals  = raritan.child(3, 3, 4, 1, 7) // inletSensorDecimalDigits.pdu.inlet.type

	cyberPowerEPDU2Load  = mustOID(".1.3.6.1.4.1.3808.1.1.6.6.2.4.1.6") // ePDU2OutletMeteredStatusLoad.outlet, 0.1 A
	cyberPowerEPDU2Power = mustOID(".1.3.6.1.4.1.3808.1.1.6.6.2.4.1.7") // ePDU2OutletMeteredStatusActivePower, W
	cyberPowerEPDULoad   = mustOID(".1.3.6.1.4.1.3808.1.1.3.3.5.1.1.7") // ePDUOutletStatusLoad.outlet, 0.1 A
	cyberPowerBankLoad   = mustOID(".1.3.6.1.4.1.3808.1.1.3.2.3.1.1.2") // ePDULoadStatusLoad.bank, 0.1 A

	sentry3TotalPower   = mustOID(".1.3.6.1.4.1.1718.3.1.6.0")      // systemTotalPower, W
	sentry3TowerEnergy  = mustOID(".1.3.6.1.4.1.1718.3.2.1.1.14")   // towerEnergy.tower, kWh
	sentry3InfeedLoad   = mustOID(".1.3.6.1.4.1.1718.3.2.2.1.7")    // infeedLoadValue.tower.infeed, 0.01 A
	sentry3OutletLoad   = sentry3Outlet.child(7)                    // outletLoadValue, 0.01 A
	sentry3OutletPower  = sentry3Outlet.child(14)                   // outletPower, W
	sentry4CordPower    = mustOID(".1.3.6.1.4.1.1718.4.1.3.3.1.3")  // st4InputCordActivePower.unit.cord, W
	sentry4CordEnergy   = mustOID(".1.3.6.1.4.1.1718.4.1.3.3.1.10") // st4InputCordEnergy.unit.cord, 0.1 kWh
	sentry4PhaseCurrent = mustOID(".1.3.6.1.4.1.1718.4.1.5.3.1.6")  // st4PhaseCurrent.unit.cord.phase, 0.01 A
	sentry4OutletAmps   = sentry4Outlet.child(3, 1, 3)              // st4OutletCurrent.unit.cord.outlet, 0.01 A
	sentry4OutletWatts  = sentry4Outlet.child(3, 1, 7)              // st4OutletActivePower, W

	trippLiteOutput = mustOID(".1.3.6.1.4.1.850.1.1.3.2.3.2.1.1") // tlpPduOutputEntry.device.output

	trippLiteOutputCurrent = trippLiteOutput.child(5) // 0.01 A
	trippLiteOutputPower   = trippLiteOutput.child(8) // W
	trippLiteOutletCurrent = trippLiteOutlet.child(8) // 0.01 A
	trippLiteOutletPower   = trippLiteOutlet.child(9) // W

	geistPDU          = mustOID(".1.3.6.1.4.1.21239.5.2.3")
	geistTotalPower   = geistPDU.child(1, 1, 9)  // pduTotalRealPower.pdu, W
	geistTotalEnergy  = geistPDU.child(1, 1, 12) // pduTotalEnergy.pdu, Wh
	geistPhaseCurrent = geistPDU.child(2, 1, 8)  // pduPhaseCurrent.phase, centiamps
	geistOutletAmps   = geistPDU.child(6, 1, 8)  // pduOutletMeterCurrent.outlet, centiamps
	geistOutletWatts  = geistPDU.child(6, 1, 12) // pduOutletMeterRealPower.outlet, W
)

// span is a meter object over outlets first to last.
func span(o oid, first, last int, read func(draw) value) meterObject {
	return meterObject{oid: o, first: first, last: last, read: read}
}

// eatonG3Meters: each unit of the chain has its own inlet, metered in
// milliamps and watts; every outlet that is on draws 0.35 A, 80 W.
func eatonG3Meters() (draw, []meterObject) {
	var m []meterObject
	for _, u := range []struct{ unit, first, last uint32 }{{0, 1, 8}, {1, 9, 12}} {
		first, last := int(u.first), int(u.last)
		for n := first; n <= last; n++ {
			o := uint32(n) - u.first + 1
			m = append(m, span(eatonCurrent.child(u.unit, o), n, n, milliamps), span(eatonWatts.child(u.unit, o), n, n, watts))
		}
		m = append(m, span(eatonInputCurrent.child(u.unit, 1, 1), first, last, milliamps),
			span(eatonInputWatts.child(u.unit, 1), first, last, watts),
			span(eatonInputWh.child(u.unit, 1), first, last, counted(gauge32(81854+1000*u.unit))))
	}
	return draw{milliamps: 350, watts: 80}, m
}

// Raritan's sensor types (PDU2-MIB SensorTypeEnumeration).
const (
	raritanRMSCurrent   = 1
	raritanActivePower  = 5
	raritanActiveEnergy = 8
)

// raritanMeters: the outlets' and the inlet's sensors, each read with its
// decimal digits (3 for currents: milliamps; 0 for watts and Wh), as the
// PX3 capture has them. Its decimal digits are recorded by raritanPX3Model.
func raritanMeters() (draw, []meterObject) {
	amps := func(r draw) value { return gauge32(uint32(r.milliamps)) }
	var m []meterObject
	for o := uint32(1); o <= 8; o++ {
		m = append(m, span(raritanOutletValue.child(1, o, raritanRMSCurrent), int(o), int(o), amps),
			span(raritanOutletValue.child(1, o, raritanActivePower), int(o), int(o), wattsG32))
	}
	m = append(m, span(raritanInletValue.child(1, 1, raritanRMSCurrent), 1, 8, amps),
		span(raritanInletValue.child(1, 1, raritanActivePower), 1, 8, wattsG32),
		span(raritanInletValue.child(1, 1, raritanActiveEnergy), 1, 8, counted(gauge32(98765))))
	return draw{milliamps: 350, watts: 80}, m
}

// cyberPowerMeters: a 120 V unit of two banks of 4 outlets, in tenths of
// amps; every outlet that is on draws 0.5 A, 60 W. Both trees' outlet
// loads are served, as the unit serves both trees.
func cyberPowerMeters() (draw, []meterObject) {
	tenths := func(r draw) value { return gauge32(uint32((r.milliamps + 50) / 100)) }
	var m []meterObject
	for o := uint32(1); o <= 8; o++ {
		n := int(o)
		m = append(m, span(cyberPowerEPDU2Load.child(o), n, n, tenths), span(cyberPowerEPDU2Power.child(o), n, n, wattsG32),
			span(cyberPowerEPDULoad.child(o), n, n, tenths))
	}
	m = append(m, span(cyberPowerBankLoad.child(1), 1, 4, tenths), span(cyberPowerBankLoad.child(2), 5, 8, tenths))
	return draw{milliamps: 500, watts: 60}, m
}

// sentry3Meters: per outlet and per infeed in hundredths of amps, power
// in watts, the tower's energy in kWh.
func sentry3Meters() (draw, []meterObject) {
	var m []meterObject
	for infeed := uint32(1); infeed <= 2; infeed++ {
		first := int(infeed-1)*4 + 1
		for o := uint32(1); o <= 4; o++ {
			n := first + int(o) - 1
			m = append(m, span(sentry3OutletLoad.child(1, infeed, o), n, n, centiamps), span(sentry3OutletPower.child(1, infeed, o), n, n, watts))
		}
		m = append(m, span(sentry3InfeedLoad.child(1, infeed), first, first+3, centiamps))
	}
	m = append(m, span(sentry3TotalPower, 1, 8, watts), span(sentry3TowerEnergy.child(1), 1, 8, counted(integer(1234))))
	return draw{milliamps: 350, watts: 80}, m
}

// sentry4Meters: one input cord of one phase; hundredths of amps, watts,
// tenths of kWh (12345, 1234.5 kWh).
func sentry4Meters() (draw, []meterObject) {
	var m []meterObject
	for o := uint32(1); o <= 8; o++ {
		m = append(m, span(sentry4OutletAmps.child(1, 1, o), int(o), int(o), centiamps), span(sentry4OutletWatts.child(1, 1, o), int(o), int(o), watts))
	}
	m = append(m, span(sentry4PhaseCurrent.child(1, 1, 1), 1, 8, centiamps), span(sentry4CordPower.child(1, 1), 1, 8, watts),
		span(sentry4CordEnergy.child(1, 1), 1, 8, counted(integer(12345))))
	return draw{milliamps: 350, watts: 80}, m
}

// trippLiteMeters: a 120 V unit, every outlet that is on drawing 0.35 A,
// 42 W; the output row of device 1's one phase sums them.
func trippLiteMeters() (draw, []meterObject) {
	var m []meterObject
	for o := uint32(1); o <= 8; o++ {
		m = append(m, span(trippLiteOutletCurrent.child(1, o), int(o), int(o), centiampsG32), span(trippLiteOutletPower.child(1, o), int(o), int(o), wattsG32))
	}
	m = append(m, span(trippLiteOutputCurrent.child(1, 1), 1, 8, centiampsG32), span(trippLiteOutputPower.child(1, 1), 1, 8, wattsG32))
	return draw{milliamps: 350, watts: 42}, m
}

// geistMeters: centiamps, watts and watt-hours, all Gauge32.
func geistMeters() (draw, []meterObject) {
	var m []meterObject
	for o := uint32(1); o <= 8; o++ {
		m = append(m, span(geistOutletAmps.child(o), int(o), int(o), centiampsG32), span(geistOutletWatts.child(o), int(o), int(o), wattsG32))
	}
	m = append(m, span(geistPhaseCurrent.child(1), 1, 8, centiampsG32), span(geistTotalPower.child(1), 1, 8, wattsG32),
		span(geistTotalEnergy.child(1), 1, 8, counted(gauge32(56789))))
	return draw{milliamps: 350, watts: 80}, m
}
