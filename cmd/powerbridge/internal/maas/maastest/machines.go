package maastest

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
)

type machine struct {
	systemID, hostname, powerType string
	params                        map[string]string
}

// AddMachine adds a machine and returns its system_id.
func (s *Server) AddMachine(hostname string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &machine{systemID: fmt.Sprintf("mc%04d", len(s.machines)+1), hostname: hostname, powerType: "manual", params: map[string]string{}}
	s.machines = append(s.machines, m)
	return m.systemID
}

// Machine returns a machine's power type and parameters.
func (s *Server) Machine(systemID string) (powerType string, params map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.machines {
		if m.systemID == systemID {
			return m.powerType, maps.Clone(m.params)
		}
	}
	return "", nil
}

func (s *Server) listMachines(w http.ResponseWriter, _ *http.Request) {
	out := []any{}
	for _, m := range s.machines {
		out = append(out, s.machineJSON(m))
	}
	writeJSON(w, out)
}

func (s *Server) serveMachine(w http.ResponseWriter, r *http.Request, systemID string) {
	for _, m := range s.machines {
		if m.systemID != systemID {
			continue
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, s.machineJSON(m))
		case http.MethodPut:
			if pt := r.PostForm.Get("power_type"); pt != "" {
				m.powerType = pt
			}
			for k := range r.PostForm {
				if p, ok := strings.CutPrefix(k, "power_parameters_"); ok {
					m.params[p] = r.PostForm.Get(k)
				}
			}
			s.mutate(r, "machines/"+systemID+"/")
			writeJSON(w, s.machineJSON(m))
		default:
			writeStatus(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
		return
	}
	writeStatus(w, http.StatusNotFound, "No Machine matches the given query.")
}

// JSON shapes, after src/maasserver/api/examples/*.json.
func (s *Server) machineJSON(m *machine) map[string]any {
	return map[string]any{
		"system_id": m.systemID, "hostname": m.hostname, "fqdn": m.hostname + ".maas",
		"power_type": m.powerType, "power_state": "unknown", "status_name": "Ready",
		"resource_uri": fmt.Sprintf("%smachines/%s/", apiPrefix, m.systemID),
	}
}
