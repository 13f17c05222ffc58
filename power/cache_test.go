package power

import (
	"sync"
	"testing"
)

// Callers that keep arriving while the one read of a burst finishes, some
// before its reading is cached and some after its flight has left, must
// all be answered by that read: the device sees one request, however the
// arrivals interleave with its end.
func TestBurstAroundTheEndOfAReadCostsOneRequest(t *testing.T) {
	for range 20 {
		d := newFake(8)
		p := testPDU(t, "r", d, nil)
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for range 20 {
					if _, err := p.Read(t.Context()); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := d.reads.Load(); n != 1 {
			t.Fatalf("a burst of 1280 queries cost %d reads, want 1", n)
		}
	}
}
