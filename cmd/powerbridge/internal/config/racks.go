package config

import "time"

const (
	// Inrush current lasts 20 to 40 ms (Raritan's and Legrand's manuals,
	// whose own guards default to 100 ms to 200 ms). powerbridge times the
	// SET, not the relay: an APC card carries a command out some hundreds
	// of milliseconds after it answers, more or less at random, so the
	// gap at the relays is the gap of the SETs give or take that. 1 s keeps
	// the inrushes of two outlets apart whatever the card does, and brings
	// a 24-outlet rack up in 23 s, well inside the action timeout.
	defaultInrushDelay = time.Second
	// maxInrushDelay bounds inrush_delay: each power-on waits this long per
	// one queued ahead of it, inside the action timeout.
	maxInrushDelay = time.Minute
)

// validateRacks checks the keys that describe a rack: how PDUs space
// their power-ons.
func (f *File) validateRacks(s section) {
	pdus := s.field("pdus")
	for i := range f.PDUs {
		p := &f.PDUs[i]
		ps := pdus.index(i)
		if p.InrushDelay.Std() > maxInrushDelay {
			ps.field("inrush_delay").errorf("%s is more than %s: every power-on of the PDU would wait that long for each one before it", p.InrushDelay, maxInrushDelay)
		}
	}
}
