package daemon

import (
	"log/slog"
	"sync"
	"time"

	"github.com/powerbridge/powerbridge/power/apc"
)

// pduEventCounter counts a PDU driver's events. It is handed to the fleet's
// builder as a typed hook (fleetParts.events), never found by asserting an
// interface on something else; *telemetry.Metrics is one.
type pduEventCounter interface {
	SNMPRetries(pdu string, n int)
	PDURestarted(pdu string)
	SNMPTimeout(pdu string, d time.Duration)
}

// retryLogEvery spaces the log lines about retried reads: a lossy link
// retries all day, and one line says as much as a thousand.
const retryLogEvery = 5 * time.Minute

// pduEvents returns what a PDU's driver tells of its events: each is
// counted (when counter is not nil) and logged, a card restart at once,
// retried reads at most once per retryLogEvery with how many there were.
func pduEvents(pdu string, log *slog.Logger, counter pduEventCounter) func(apc.Event) {
	log = log.With("pdu", pdu)
	var mu sync.Mutex
	var lastLine time.Time
	unlogged := 0
	return func(e apc.Event) {
		switch e.Kind {
		case apc.EventRetry:
			if counter != nil {
				counter.SNMPRetries(pdu, e.Count)
			}
			mu.Lock()
			unlogged += e.Count
			now := time.Now()
			if !lastLine.IsZero() && now.Sub(lastLine) < retryLogEvery {
				mu.Unlock()
				return
			}
			n := unlogged
			lastLine, unlogged = now, 0
			mu.Unlock()
			log.Warn("PDU reads needed retries: requests went unanswered and were sent again", "retries", n, "next_line_in", retryLogEvery)
		case apc.EventTimeout:
			if counter != nil {
				counter.SNMPTimeout(pdu, e.Timeout)
			}
		case apc.EventRestart, apc.EventNewEngine:
			if counter != nil {
				counter.PDURestarted(pdu)
			}
			msg := "PDU restarted: its management card's SNMP engine began a new boot"
			if e.Kind == apc.EventNewEngine {
				msg = "PDU answers from a new SNMP engine: a replaced management card, or one reset to factory settings"
			}
			log.Warn(msg, "detail", e.Detail)
		}
	}
}
