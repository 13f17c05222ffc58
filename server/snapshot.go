package server

import (
	"context"
	"net/http"
)

type fleetKey struct{}

// WithFleet returns ctx carrying the fleet that a request given ctx is to be
// served from, from its start to its end. A daemon that swaps its fleet on
// a config reload hands each request the fleet of one generation this way,
// as blackbox_exporter hands each probe one config: no part of the request
// meets a PDU that a reload retired under it.
func WithFleet(ctx context.Context, f Fleet) context.Context {
	return context.WithValue(ctx, fleetKey{}, f)
}

// fleetOf is the fleet r is served from: the one WithFleet gave it, else the
// server's own.
func (s *Server) fleetOf(r *http.Request) Fleet {
	if f, ok := r.Context().Value(fleetKey{}).(Fleet); ok {
		return f
	}
	return s.fleet
}
