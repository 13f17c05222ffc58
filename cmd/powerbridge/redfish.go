package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/server"
	"github.com/powerbridge/powerbridge/server/redfish"
)

// redfishBootFile holds the machines' Redfish boot overrides in state_dir.
const redfishBootFile = "redfish-boot.json"

// redfishFace is the Redfish service under /redfish on serve's listener,
// over the generation in force (the service forwards each call to it).
func redfishFace(svc *service, cfg *config.File) server.Face {
	host, _ := os.Hostname()
	return server.Face{Prefix: "/redfish", New: func(g server.Gate) http.Handler {
		return redfish.New(redfish.Config{
			Fleet:         func(*http.Request) redfish.Fleet { return svc },
			Auth:          svc,
			ForceOffCuts:  svc.forceOffCuts,
			Boot:          redfish.FileStore{Path: filepath.Join(cfg.StateDir, redfishBootFile), Write: atomicfile.Write},
			StatusTimeout: cfg.Timeouts.Status.Std(),
			ActionTimeout: cfg.Timeouts.Action.Std(),
			Identity:      "powerbridge " + host + " " + cfg.Listen,
			Logger:        svc.log,
		}, g)
	}}
}

func (s *service) Cut(ctx context.Context, machine string) (power.Result, error) {
	g := s.acquire()
	defer g.release()
	return g.fleet.Cut(ctx, machine)
}

func (s *service) Underway(machine string) (power.Action, bool) {
	g := s.acquire()
	defer g.release()
	return g.fleet.Underway(machine)
}

func (s *service) forceOffCuts(machine string) bool {
	g := s.acquire()
	defer g.release()
	return g.cfg.ForceOffCuts(machine)
}
