package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/server/pdudaemon"
)

// servePDUDaemon serves pdudaemon's API on its own listener when the config
// has a pdudaemon section; stop ends it. Requests it accepted are carried
// out by the face after their answers, as pdudaemon carries them out.
func servePDUDaemon(ctx context.Context, cfg *config.File, svc *service, log *slog.Logger) (stop func(), err error) {
	pc := cfg.PDUDaemon
	if pc == nil {
		return func() {}, nil
	}
	var allow []netip.Prefix
	for _, a := range pc.Allow {
		allow = append(allow, netip.MustParsePrefix(a)) // validated by the loader
	}
	ln, err := net.Listen("tcp", pc.Listen)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler: pdudaemon.New(pdudaemon.Config{Fleet: svc, Allow: allow, Logger: log,
			StatusTimeout: cfg.Timeouts.Status.Std(), ActionTimeout: cfg.Timeouts.Action.Std()}),
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      cfg.Timeouts.Status.Std() + 10*time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if pdudaemon.OpenToAll(allow) {
		log.Warn("PDUDAEMON API OPEN TO ANY ADDRESS: pdudaemon.allow lets every client in, and pdudaemon's clients send no credentials; anyone who reaches "+
			ln.Addr().String()+" can switch every outlet", "allow", pc.Allow)
	}
	log.Info("serving pdudaemon's API", "addr", ln.Addr().String(), "allow", pc.Allow)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pdudaemon listener failed", "error", err.Error())
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}, nil
}
