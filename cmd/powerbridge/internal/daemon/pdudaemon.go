package daemon

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
// has a pdudaemon section; stop ends it. Each request is served from the
// generation in force when it arrived, and a request accepted holds that
// generation until the face has carried it out, after its answer, as
// pdudaemon carries requests out.
func (s *service) servePDUDaemon(ctx context.Context, cfg *config.File) (stop func(), err error) {
	pc, log := cfg.PDUDaemon, s.log
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
	face := pdudaemon.New(pdudaemon.Config{
		Fleet:         func(r *http.Request) pdudaemon.Fleet { return genOf(r).fleet },
		Hold:          func(r *http.Request) func() { return genOf(r).hold() },
		Allow:         allow,
		Logger:        log,
		StatusTimeout: cfg.Timeouts.Status.Std(),
		ActionTimeout: cfg.Timeouts.Action.Std(),
	})
	srv := &http.Server{
		Handler:           s.withGeneration(face),
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
