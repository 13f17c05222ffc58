package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/telemetry"
	"github.com/powerbridge/powerbridge/server"
	"github.com/powerbridge/powerbridge/server/web"
)

// service is what `serve` runs: the config in force and the fleet built from
// it, swapped whole on a reload.
//
// A reload never drops a request: each request holds the generation it
// started on until it ends, and an old generation's PDUs are closed only
// once its last request has finished. PDUs whose config did not change are
// carried over, with their worker, so that one device still sees one client.
type service struct {
	path    string // the config file; "" for the built-in demo
	listen  string // --listen, which overrides the file's
	log     *slog.Logger
	metrics *telemetry.Metrics
	audit   *auditFile
	history *web.History    // the page's charts and last actions
	runCtx  context.Context // the service's lifetime
	load    func(path string) (*config.File, error)
	// openState opens the state directory; nil: none.
	openState func(dir string) (StateDir, error)
	newDriver driverFunc
	handler   http.Handler // the routes, each request served from one generation

	reloading sync.Mutex // one reload at a time
	sims      simulators // guarded by reloading
	cur       atomic.Pointer[generation]
	// journal and offTimes are the state directory's; nil without a usable one.
	journal  power.Journal
	offTimes power.OffTimes
	// detections is the state directory's cache of PDU detections; nil
	// without one.
	detections apc.DetectionCache
}

// generation is one config and the fleet built from it.
type generation struct {
	cfg   *config.File
	fleet *power.Fleet
	auth  server.Authenticator
	sims  simulators
	stop  context.CancelFunc // ends its pollers and liveness watchers

	refs    atomic.Int64
	retired atomic.Bool
	drained chan struct{}
	once    sync.Once
}

// start builds the first generation, and finishes what a previous process
// left half switched.
func (s *service) start(cfg *config.File) error {
	pending := s.startJournal(cfg)
	g, err := s.build(cfg, nil)
	if err != nil {
		return err
	}
	s.cur.Store(g)
	s.finishInterrupted(pending)
	return nil
}

// build makes a generation from cfg, carrying over what it can from prev.
func (s *service) build(cfg *config.File, prev *generation) (*generation, error) {
	if s.listen != "" {
		cfg.Listen = s.listen
	}
	var oldSims simulators
	parts := fleetParts{log: s.log, obs: s.metrics, events: s.metrics, audit: auditors{s.audit, s.history}, journal: s.journal, offTimes: s.offTimes, newDriver: s.newDriver, detections: s.detections}
	if prev != nil {
		oldSims, parts.prev, parts.prevCfg = prev.sims, prev.fleet, prev.cfg
	}
	sims, err := oldSims.start(cfg, s.log)
	if err != nil {
		return nil, err
	}
	fleet, err := buildFleet(cfg, parts)
	if err != nil {
		sims.closeUnless(oldSims)
		return nil, err
	}
	if err := s.audit.open(cfg.AuditLog); err != nil {
		fleet.Retire(parts.prev)
		sims.closeUnless(oldSims)
		return nil, err
	}
	g := &generation{cfg: cfg, fleet: fleet, auth: authenticator(cfg.Auth), sims: sims, drained: make(chan struct{})}
	ctx, stop := context.WithCancel(s.runCtx)
	g.stop = stop
	startPolling(ctx, cfg, fleet)
	startNameSync(ctx, cfg, fleet, s.log)
	fleet.Watch(ctx)
	s.metrics.StartCounters(fleet)
	return g, nil
}

// reload reads the config file again and puts it in force. A file with
// problems is refused, and the config in force stays.
func (s *service) reload(context.Context) error {
	s.reloading.Lock()
	defer s.reloading.Unlock()
	err := s.reloadLocked()
	s.metrics.ConfigReloaded(err)
	if err != nil {
		s.log.Error("config reload refused; the config in force stays", "file", s.path, "error", err.Error())
		return err
	}
	return nil
}

func (s *service) reloadLocked() error {
	if s.path == "" {
		return errors.New("the built-in demo config cannot be reloaded")
	}
	cfg, err := s.load(s.path)
	if err != nil {
		return err
	}
	old := s.cur.Load()
	if err := restartOnly(old.cfg, cfg); err != nil {
		return err
	}
	g, err := s.build(cfg, old)
	if err != nil {
		return fmt.Errorf("config reload: %w", err)
	}
	s.cur.Store(g)
	old.retire()
	go func() {
		<-old.drained
		old.fleet.Retire(g.fleet)
		old.sims.closeUnless(g.sims)
	}()
	s.log.Info("config reloaded", "file", s.path, "pdus", len(cfg.PDUs), "machines", len(cfg.Machines))
	return nil
}

// restartOnly refuses a reload that changes what only a restart can: the
// listeners and their TLS, the HTTP time bounds, and pdudaemon's listener.
func restartOnly(old, now *config.File) error {
	var changed []string
	if old.Listen != now.Listen {
		changed = append(changed, "listen")
	}
	if (old.TLS == nil) != (now.TLS == nil) || (old.TLS != nil && *old.TLS != *now.TLS) {
		changed = append(changed, "tls")
	}
	if old.TLSListen != now.TLSListen {
		changed = append(changed, "tls_listen")
	}
	if old.Timeouts != now.Timeouts {
		changed = append(changed, "timeouts")
	}
	if old.Auth.MetricsToken != now.Auth.MetricsToken {
		changed = append(changed, "auth.metrics_token")
	}
	if (old.PDUDaemon == nil) != (now.PDUDaemon == nil) || (old.PDUDaemon != nil && !slices.Equal(old.PDUDaemon.Allow, now.PDUDaemon.Allow)) ||
		(old.PDUDaemon != nil && old.PDUDaemon.Listen != now.PDUDaemon.Listen) {
		changed = append(changed, "pdudaemon")
	}
	if len(changed) > 0 {
		return fmt.Errorf("%s can only change with a restart; nothing was reloaded", strings.Join(changed, ", "))
	}
	return nil
}

// close ends the generation in force, once its requests are done.
func (s *service) close() {
	g := s.cur.Load()
	g.retire()
	<-g.drained
	g.fleet.Close()
	g.sims.closeUnless(nil)
	s.audit.Close()
}

// acquire returns the generation in force, held until release.
func (s *service) acquire() *generation {
	for {
		g := s.cur.Load()
		g.refs.Add(1)
		// A reload may have swapped it between the load and the count; then
		// it may already be draining, so take the new one instead.
		if s.cur.Load() == g {
			return g
		}
		g.release()
	}
}

func (g *generation) release() {
	if g.refs.Add(-1) == 0 && g.retired.Load() {
		g.once.Do(func() { close(g.drained) })
	}
}

// retire marks g replaced: drained closes once no request holds it.
func (g *generation) retire() {
	g.stop()
	g.retired.Store(true)
	if g.refs.Load() == 0 {
		g.once.Do(func() { close(g.drained) })
	}
}

// genKey is the context key of the generation a request is served from.
type genKey struct{}

// ServeHTTP serves r from the generation in force when it arrived, held
// until it is answered: everything the request reads or switches belongs to
// that one generation, whatever reloads happen meanwhile.
func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.withGeneration(s.handler).ServeHTTP(w, r)
}

// withGeneration serves each request with next from the generation in
// force when it arrived, held until it is answered and given to it in its
// context (genOf, and server.WithFleet for the JSON API).
func (s *service) withGeneration(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := s.acquire()
		defer g.release()
		ctx := context.WithValue(r.Context(), genKey{}, g)
		next.ServeHTTP(w, r.WithContext(server.WithFleet(ctx, g.fleet)))
	})
}

// genOf is the generation r is served from; r came through withGeneration.
func genOf(r *http.Request) *generation {
	return r.Context().Value(genKey{}).(*generation)
}

// hold keeps g, which the caller holds already, for work carried on after
// the caller's request is answered; release lets go of it once.
func (g *generation) hold() (release func()) {
	g.refs.Add(1)
	var once sync.Once
	return func() { once.Do(g.release) }
}

// Check authenticates against the credentials of the request's generation.
func (s *service) Check(r *http.Request) (string, bool) {
	g, ok := r.Context().Value(genKey{}).(*generation)
	if !ok {
		return "", false
	}
	return g.auth.Check(r)
}

// readOnly tells whether principal is a viewer in the config of r's
// generation, so that a role changed by a reload holds from the next request.
func (s *service) readOnly(r *http.Request, principal string) bool {
	g, ok := r.Context().Value(genKey{}).(*generation)
	return !ok || g.auth.ReadOnly(principal)
}

// known tells whether principal is among the credentials of the config of
// r's generation.
func (s *service) known(r *http.Request, principal string) bool {
	g, ok := r.Context().Value(genKey{}).(*generation)
	return ok && g.auth.Has(principal)
}

// currentFleet is the fleet in force, for a metrics scrape: it reads only
// what the pollers found, never a PDU, so it needs no hold on its generation.
func (s *service) currentFleet() telemetry.PolledFleet { return s.cur.Load().fleet }
