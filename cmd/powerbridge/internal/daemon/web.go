package daemon

import (
	"context"
	"net/http"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/server"
	"github.com/powerbridge/powerbridge/server/web"
)

// historySampleEvery is how often the web page's history takes what the
// pollers last read; it asks no device, so it can be often.
const historySampleEvery = time.Second

// webFace is the web page, at / and under /ui on serve's listener. Each
// request is served from the generation s.ServeHTTP gave it, as the JSON
// API is; the history of readings outlives generations, as the service does.
func (s *service) webFace(cfg *config.File) server.Face {
	return server.Face{Prefix: "/ui", Root: true, New: func(g server.Gate) http.Handler {
		return web.New(web.Config{
			Fleet:         func(r *http.Request) web.Fleet { return genOf(r).fleet },
			Auth:          s,
			ReadOnly:      s.readOnly,
			Known:         s.known,
			History:       s.history,
			ActionTimeout: cfg.Timeouts.Action.Std(),
			TLS:           cfg.TLS != nil,
			Logger:        s.log,
		}, g)
	}}
}

// sampleHistory feeds the page's charts from the fleet in force until ctx ends.
func (s *service) sampleHistory(ctx context.Context) {
	s.history.Run(ctx, historySampleEvery, func() web.Polled { return s.cur.Load().fleet })
}

// auditors hands each finished action to every auditor: the audit file and
// the page's last actions.
type auditors []power.Auditor

func (a auditors) Record(rec power.AuditRecord) {
	for _, x := range a {
		x.Record(rec)
	}
}
