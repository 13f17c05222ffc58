package daemon

import (
	"context"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
)

// startPolling reads every PDU in the background at its own poll_interval
// until ctx ends, through the PDU's worker. The pollers keep the status cache
// and each PDU's last reading fresh: the metrics are built from the latter, so
// a scrape never waits on a PDU. Fleet.Poll takes one interval for all PDUs;
// the config sets one per PDU, so each PDU gets its own poller here.
func startPolling(ctx context.Context, cfg *config.File, fleet *power.Fleet) {
	every := make(map[string]time.Duration, len(cfg.PDUs))
	for _, p := range cfg.PDUs {
		every[p.Name] = p.PollInterval.Std()
	}
	for _, p := range fleet.PDUs() {
		if d := every[p.Name()]; d > 0 {
			go p.Poll(ctx, d)
		}
	}
}
