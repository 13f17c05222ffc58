package power

// readings are the readings of the PDUs behind one machine, usually one and
// at most a few: a slice searched by name costs a status query one small
// allocation where a map of Readings cost a kilobyte.
type readings []pduReading

type pduReading struct {
	pdu string
	Reading
}

// of returns the reading of the named PDU; a PDU not read has no outlets.
func (rs readings) of(pdu string) Reading {
	for i := range rs {
		if rs[i].pdu == pdu {
			return rs[i].Reading
		}
	}
	return Reading{}
}
