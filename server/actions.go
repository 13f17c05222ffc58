package server

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
// series costs about a tenth of it.
type actionCounts struct {
	desc *prometheus.Desc
	mu   sync.RWMutex
	n    map[actionKey]*atomic.Uint64
}

type actionKey struct{ machine, action, result string }

func newActionCounts(name, help string) *actionCounts {
	return &actionCounts{
		desc: prometheus.NewDesc(name, help, []string{"machine", "action", "result"}, nil),
		n:    map[actionKey]*atomic.Uint64{},
	}
}

// counter returns the series of machine, action and result, creating it at
// zero.
func (c *actionCounts) counter(machine, action, result string) *atomic.Uint64 {
	k := actionKey{machine, action, result}
	c.mu.RLock()
	n := c.n[k]
	c.mu.RUnlock()
	if n != nil {
		return n
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n = c.n[k]; n == nil {
		n = new(atomic.Uint64)
		c.n[k] = n
	}
	return n
}

func (c *actionCounts) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *actionCounts) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for k, n := range c.n {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n.Load()), k.machine, k.action, k.result)
	}
}
