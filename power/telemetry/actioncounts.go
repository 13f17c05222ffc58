package telemetry

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// actionCounts is powerbridge_power_actions_total: one counter per machine,
// action and result, kept as a plain number and turned into a metric only at
// scrape time.
//
// A CounterVec child costs some 700 bytes (its label pairs as protobuf
// messages, a created timestamp, the vector's index), and every machine's
// six series are created at zero when a fleet starts (StartCounters). With
// a few thousand machines that was most of powerbridge's heap; here a
// machine's six cost about 100 bytes.
type actionCounts struct {
	desc *prometheus.Desc
	mu   sync.RWMutex
	m    map[string]*machineCounts // by machine
	// other holds any action or result not in actionSlots: none that
	// the power package reports today.
	other map[[3]string]*atomic.Uint64
}

// actionSlots are the action and result pairs a machineCounts holds.
var actionSlots = [...]struct{ action, result string }{
	{"on", "ok"}, {"on", "error"},
	{"off", "ok"}, {"off", "error"},
	{"cycle", "ok"}, {"cycle", "error"},
}

type machineCounts struct {
	created atomic.Uint32 // bit i: slot i exists (is exported, even at 0)
	n       [len(actionSlots)]atomic.Uint64
}

func newActionCounts(name, help string) *actionCounts {
	return &actionCounts{
		desc:  prometheus.NewDesc(name, help, []string{"machine", "action", "result"}, nil),
		m:     map[string]*machineCounts{},
		other: map[[3]string]*atomic.Uint64{},
	}
}

// counter returns the series of machine, action and result, creating it at
// zero.
func (c *actionCounts) counter(machine, action, result string) *atomic.Uint64 {
	slot := -1
	for i, s := range actionSlots {
		if s.action == action && s.result == result {
			slot = i
		}
	}
	if slot < 0 {
		return c.otherCounter([3]string{machine, action, result})
	}
	c.mu.RLock()
	mc := c.m[machine]
	c.mu.RUnlock()
	if mc == nil {
		c.mu.Lock()
		if mc = c.m[machine]; mc == nil {
			mc = new(machineCounts)
			c.m[machine] = mc
		}
		c.mu.Unlock()
	}
	mc.created.Or(1 << slot)
	return &mc.n[slot]
}

func (c *actionCounts) otherCounter(k [3]string) *atomic.Uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.other[k]
	if n == nil {
		n = new(atomic.Uint64)
		c.other[k] = n
	}
	return n
}

func (c *actionCounts) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *actionCounts) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for machine, mc := range c.m {
		created := mc.created.Load()
		for i, s := range actionSlots {
			if created&(1<<i) != 0 {
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(mc.n[i].Load()), machine, s.action, s.result)
			}
		}
	}
	for k, n := range c.other {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n.Load()), k[0], k[1], k[2])
	}
}
