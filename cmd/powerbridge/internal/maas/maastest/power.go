package maastest

import (
	"maps"
	"net/http"
)

// SetMachinePower sets a machine's power type and parameters directly (as
// an operator's earlier settings might have left them). params are named
// without the power_parameters_ prefix: "power_on_uri", "power_token", ...
func (s *Server) SetMachinePower(systemID, powerType string, params map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.machines {
		if m.systemID == systemID {
			m.powerType, m.params = powerType, maps.Clone(params)
			if m.params == nil {
				m.params = map[string]string{}
			}
			return
		}
	}
	s.tb.Fatalf("maastest: SetMachinePower: no machine %s", systemID)
}

// machinePowerParameters is GET machines/{id}/?op=power_parameters: the
// parameters as a JSON object, secrets included (MAAS reserves the call for
// admins; the fake's one key is an admin's).
func (s *Server) machinePowerParameters(w http.ResponseWriter, r *http.Request, systemID string) {
	if r.Method != http.MethodGet {
		writeStatus(w, http.StatusBadRequest, "Unrecognised signature: method="+r.Method+" op=power_parameters")
		return
	}
	for _, m := range s.machines {
		if m.systemID == systemID {
			writeJSON(w, maps.Clone(m.params))
			return
		}
	}
	writeStatus(w, http.StatusNotFound, "No Machine matches the given query.")
}
