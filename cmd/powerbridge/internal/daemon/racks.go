package daemon

import (
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
)

// groupsOf is the config's groups, for the fleet.
func groupsOf(cfg *config.File) []power.Group {
	var out []power.Group
	for _, g := range cfg.Groups {
		out = append(out, power.Group{Name: g.Name, Machines: g.Machines})
	}
	return out
}
