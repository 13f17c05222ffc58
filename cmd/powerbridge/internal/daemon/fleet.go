package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/mibs"
	"github.com/powerbridge/powerbridge/power/snmp"
	"github.com/powerbridge/powerbridge/server"
)

func authenticator(a config.Auth) server.Authenticator {
	var creds []server.Credential
	for _, t := range a.Tokens {
		creds = append(creds, server.Credential{Name: t.Name, Token: t.Token.Reveal()})
	}
	for _, u := range a.Users {
		creds = append(creds, server.Credential{Name: u.Name, User: u.Name, Password: u.Password.Reveal(), ReadOnly: u.Role == config.RoleViewer})
	}
	auth := server.NewAuthenticator(creds)
	auth.Open = a.InsecureNoAuth
	return auth
}

// driverFunc makes the driver of a configured PDU; onEvent is told of what
// the driver notices besides the outcome of each call (see apc.Event).
type driverFunc func(p config.PDU, onEvent func(apc.Event)) (power.Driver, error)

// vendorDrivers make the driver of each vendor a PDU's config can name; the keys
// are config.Vendors.
var vendorDrivers = func() map[string]driverFunc {
	m := map[string]driverFunc{"apc": apcDriver, "shelly": plugDriver, "tasmota": plugDriver}
	for _, v := range config.Vendors {
		if m[v] == nil {
			m[v] = mibsDriver // auto, and every other SNMP vendor
		}
	}
	return m
}()

// apcDriver drives a PDU over SNMP with power/apc.
func apcDriver(p config.PDU, onEvent func(apc.Event)) (power.Driver, error) {
	return apcDriverCached(p, onEvent, nil)
}

func apcDriverCached(p config.PDU, onEvent func(apc.Event), cache apc.DetectionCache) (power.Driver, error) {
	ac := apcConfig(p)
	ac.OnEvent, ac.Cache = onEvent, cache
	return apc.New(ac)
}

// mibsDriver drives a PDU of another vendor, or of one to be detected
// ("auto"), with power/mibs.
func mibsDriver(p config.PDU, onEvent func(apc.Event)) (power.Driver, error) {
	return mibsDriverCached(p, onEvent, nil)
}

func mibsDriverCached(p config.PDU, onEvent func(apc.Event), cache apc.DetectionCache) (power.Driver, error) {
	sc := snmpConfig(p)
	sc.OnEvent = onEvent
	return mibs.New(mibs.Config{Config: sc, Vendor: p.Vendor, Dialect: p.Dialect, Cache: cache})
}

// cachedDetection returns the driver f of PDU p with the detection cache
// when f is one of the SNMP drivers; f as it is otherwise, or without a
// cache.
func cachedDetection(p config.PDU, f driverFunc, cache apc.DetectionCache) driverFunc {
	if cache == nil || f == nil || p.IsPlug() {
		return f
	}
	switch p.Vendor {
	case "apc":
		return func(p config.PDU, onEvent func(apc.Event)) (power.Driver, error) {
			return apcDriverCached(p, onEvent, cache)
		}
	case "shelly", "tasmota":
		return f
	}
	return func(p config.PDU, onEvent func(apc.Event)) (power.Driver, error) {
		return mibsDriverCached(p, onEvent, cache)
	}
}

// fleetParts is what a fleet is built with besides the config.
type fleetParts struct {
	log     *slog.Logger
	obs     power.Observer  // may be nil
	events  pduEventCounter // may be nil
	audit   power.Auditor   // may be nil
	journal power.Journal   // may be nil
	// newDriver makes each new PDU's driver; nil: the one of its vendor.
	newDriver driverFunc
	// offTimes keeps the PDUs' off times across restarts; may be nil.
	offTimes power.OffTimes
	// detections keeps what the SNMP drivers detected across restarts;
	// may be nil.
	detections apc.DetectionCache
	// prev is the fleet in force, on a reload: its PDUs whose config has
	// not changed are kept (their worker, cache and detected dialect), and
	// its machines' state carries over.
	prev    *power.Fleet
	prevCfg *config.File
}

// keptPDUs are the PDUs of the fleet in force that a reload to cfg keeps:
// those whose config, and the read timeout, did not change.
func keptPDUs(cfg *config.File, parts fleetParts) map[string]*power.PDU {
	kept := map[string]*power.PDU{}
	if parts.prev == nil || cfg.Timeouts.Status != parts.prevCfg.Timeouts.Status {
		return kept
	}
	before := map[string]config.PDU{}
	for _, p := range parts.prevCfg.PDUs {
		before[p.Name] = p
	}
	for _, p := range cfg.PDUs {
		if old, ok := before[p.Name]; ok && reflect.DeepEqual(old, p) {
			kept[p.Name], _ = parts.prev.PDU(p.Name)
		}
	}
	return kept
}

// newPDU builds a configured PDU with its driver and worker.
func newPDU(cfg *config.File, p config.PDU, parts fleetParts) (*power.PDU, error) {
	newDriver := parts.newDriver
	if newDriver == nil && p.IsPlug() {
		newDriver = plugDriver // vendor auto at a URL too
	}
	if newDriver == nil {
		newDriver = cachedDetection(p, vendorDrivers[p.Vendor], parts.detections)
	}
	if newDriver == nil {
		return nil, fmt.Errorf("PDU %s: no driver for vendor %q", p.Name, p.Vendor)
	}
	events, attach := restartHook(pduEvents(p.Name, parts.log, parts.events))
	drv, err := newDriver(p, events)
	if err != nil {
		return nil, fmt.Errorf("PDU %s: %w", p.Name, err)
	}
	pc := power.PDUConfig{
		Name:          p.Name,
		Driver:        drv,
		PowerOnDelay:  p.PowerOnDelay.Std(),
		InrushDelay:   p.InrushDelay.Std(),
		MaxAmperes:    p.MaxAmperes,
		BudgetWait:    p.BudgetWait.Std(),
		Restore:       p.RestoreAfterPDURestart,
		Phases:        p.PhaseOutlets(),
		OffTimes:      parts.offTimes,
		SwitchTimeout: p.SwitchTimeout.Std(),
		ReadTimeout:   cfg.Timeouts.Status.Std(),
		CacheTTL:      cacheTTL,
		Logger:        parts.log,
		Observer:      parts.obs,
	}
	pc.MaxAmperesPerPhase = p.MaxAmperesPerPhase
	return attach(power.NewPDU(pc)), nil
}

// buildFleet turns the config's PDUs and machines into the power domain.
func buildFleet(cfg *config.File, parts fleetParts) (*power.Fleet, error) {
	log, obs := parts.log, parts.obs
	kept := keptPDUs(cfg, parts)
	var pdus []*power.PDU
	closeAll := func() {
		for _, p := range pdus {
			if kept[p.Name()] != p {
				p.Close()
			}
		}
	}
	for _, p := range cfg.PDUs {
		if k := kept[p.Name]; k != nil {
			pdus = append(pdus, k)
			continue
		}
		pdu, err := newPDU(cfg, p, parts)
		if err != nil {
			closeAll()
			return nil, err
		}
		pdus = append(pdus, pdu)
	}
	var fleet *power.Fleet
	machines, err := machinesOf(cfg, log, &fleet)
	if err != nil {
		closeAll()
		return nil, err
	}
	fleet, err = power.NewFleet(pdus, machines, power.FleetConfig{
		ActionTimeout: cfg.Timeouts.Action.Std(),
		Logger:        log,
		Observer:      obs,
		Audit:         parts.audit,
		Previous:      parts.prev,
		Journal:       parts.journal,
	})
	if err == nil {
		err = setRacks(cfg, fleet)
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	return fleet, nil
}

// machinesOf turns the config's machines into the power domain's. The
// fleet is built after them, but a graceful shutdown watching metered power
// needs to read it: *fleet is set once it is.
func machinesOf(cfg *config.File, log *slog.Logger, fleet **power.Fleet) ([]power.Machine, error) {
	var machines []power.Machine
	for _, m := range cfg.Machines {
		pm := power.Machine{Name: m.Name, Outlets: m.Outlets, Liveness: livenessFor(m)}
		below := func(ctx context.Context) (bool, error) {
			watts, metered, err := (*fleet).MachineWatts(ctx, m.Name)
			return metered && watts < m.Liveness.PowerBelowWatts, err
		}
		g, err := gracefulFor(m, cfg.StateDir, log, below)
		if err == nil {
			pm.Wake, err = wakeFor(m, cfg.StateDir, log)
		}
		if err != nil {
			return nil, err
		}
		if g != nil {
			pm.Graceful = g
		}
		machines = append(machines, pm)
	}
	return machines, nil
}

func apcConfig(p config.PDU) apc.Config {
	return apc.Config{Config: snmpConfig(p), Dialect: p.Dialect}
}

// snmpConfig is how to reach a configured SNMP PDU.
func snmpConfig(p config.PDU) snmp.Config {
	s := p.SNMP
	return snmp.Config{
		Address:        p.Address,
		Version:        s.Version,
		Community:      s.Community.Reveal(),
		ReadCommunity:  s.ReadCommunity.Reveal(),
		User:           s.User,
		AuthProtocol:   s.AuthProtocol,
		AuthPassphrase: s.AuthPassphrase.Reveal(),
		PrivProtocol:   s.PrivProtocol,
		PrivPassphrase: s.PrivPassphrase.Reveal(),
		Timeout:        s.Timeout.Std(),
		MaxTimeout:     s.MaxTimeout.Std(),
		Retries:        s.Retries,
	}
}
