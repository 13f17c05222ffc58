package daemon

import (
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/server"
	"github.com/powerbridge/powerbridge/server/redfish"
)

// redfishBootFile holds the machines' Redfish boot overrides in state_dir.
const redfishBootFile = "redfish-boot.json"

// redfishFace is the Redfish service under /redfish on serve's listener.
// Each request is served from the generation s.ServeHTTP gave it, as the
// JSON API is, and a reset carried out after its answer holds that
// generation until it is done.
func (s *service) redfishFace(cfg *config.File) server.Face {
	host, _ := os.Hostname()
	return server.Face{Prefix: "/redfish", New: func(g server.Gate) http.Handler {
		return redfish.New(redfish.Config{
			Fleet: func(r *http.Request) redfish.Fleet { return genOf(r).fleet },
			Hold:  func(r *http.Request) func() { return genOf(r).hold() },
			Auth:  s,
			ForceOffCuts: func(r *http.Request, machine string) bool {
				return genOf(r).cfg.ForceOffCuts(machine)
			},
			PowerOnDelay: func(r *http.Request, pdu string) time.Duration {
				if p, err := genOf(r).fleet.PDU(pdu); err == nil {
					return p.PowerOnDelay()
				}
				return 0
			},
			Boot:          redfish.FileStore{Path: filepath.Join(cfg.StateDir, redfishBootFile), Write: atomicfile.Write},
			StatusTimeout: cfg.Timeouts.Status.Std(),
			ActionTimeout: cfg.Timeouts.Action.Std(),
			Identity:      "powerbridge " + host + " " + cfg.Listen,
			Logger:        s.log,
		}, g)
	}}
}
