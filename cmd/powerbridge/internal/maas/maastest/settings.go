package maastest

import (
	"fmt"
	"net/http"
	"net/netip"
)

// SetConfig sets a MAAS setting directly.
func (s *Server) SetConfig(name string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config[name] = value
}

// Config returns a MAAS setting.
func (s *Server) Config(name string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config[name]
}

func (s *Server) serveVersion(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"version": s.version, "subversion": "", "capabilities": []string{"networks-management", "static-ipaddresses", "ipv6-deployment-ubuntu", "devices-management", "storage-deployment-ubuntu", "network-deployment-ubuntu"}})
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	// MAAS reads get_config's name from the query string only.
	name := r.URL.Query().Get("name")
	if name == "" {
		writeStatus(w, http.StatusBadRequest, "No provided name!")
		return
	}
	v, ok := s.config[name]
	if !ok {
		writeJSONStatus(w, http.StatusBadRequest, map[string][]string{"name": {fmt.Sprintf("%s is not a valid config setting.", name)}})
		return
	}
	writeJSON(w, v)
}

func (s *Server) setConfig(w http.ResponseWriter, r *http.Request) {
	// MAAS reads set_config's name and value from the body only.
	name, value := r.PostForm.Get("name"), r.PostForm.Get("value")
	if name == "" {
		if r.URL.Query().Get("name") != "" {
			s.violation("set_config: name in the query string; MAAS reads it from the body only")
		}
		writeStatus(w, http.StatusBadRequest, "No provided name!")
		return
	}
	if _, ok := r.PostForm["value"]; !ok {
		writeStatus(w, http.StatusBadRequest, "No provided value!")
		return
	}
	if _, ok := s.config[name]; !ok {
		writeJSONStatus(w, http.StatusBadRequest, map[string][]string{"name": {fmt.Sprintf("%s is not a valid config setting.", name)}})
		return
	}
	if name == "upstream_dns" {
		for _, a := range splitList(value) {
			if _, err := netip.ParseAddr(a); err != nil {
				writeJSONStatus(w, http.StatusBadRequest, map[string][]string{"upstream_dns": {fmt.Sprintf("Invalid IP address: %s.", a)}})
				return
			}
		}
	}
	s.config[name] = value
	s.mutate(r, "maas/")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "OK")
}
