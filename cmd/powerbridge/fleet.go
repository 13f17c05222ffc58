package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/power"
	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/server"
)

func authenticator(a config.Auth) server.Authenticator {
	var creds []server.Credential
	for _, t := range a.Tokens {
		creds = append(creds, server.Credential{Name: t.Name, Token: t.Token.Reveal()})
	}
	for _, u := range a.Users {
		creds = append(creds, server.Credential{Name: u.Name, User: u.Name, Password: u.Password.Reveal()})
	}
	auth := server.NewAuthenticator(creds)
	auth.Open = a.InsecureNoAuth
	return auth
}

// fleetParts is what a fleet is built with besides the config.
type fleetParts struct {
	log     *slog.Logger
	obs     power.Observer // may be nil
	audit   power.Auditor  // may be nil
	journal power.Journal  // may be nil
	// offTimes keeps the PDUs' off times across restarts; may be nil.
	offTimes power.OffTimes
	// prev is the fleet in force, on a reload: its PDUs whose config has
	// not changed are kept (their worker, cache and detected dialect), and
	// its machines' state carries over.
	prev    *power.Fleet
	prevCfg *config.File
}

// buildFleet turns the config's PDUs and machines into the power domain.
func buildFleet(cfg *config.File, parts fleetParts) (*power.Fleet, error) {
	log, obs := parts.log, parts.obs
	// A PDU is kept when nothing that shapes it changed.
	kept := map[string]*power.PDU{}
	if parts.prev != nil && cfg.Timeouts.Status == parts.prevCfg.Timeouts.Status {
		before := map[string]config.PDU{}
		for _, p := range parts.prevCfg.PDUs {
			before[p.Name] = p
		}
		for _, p := range cfg.PDUs {
			if old, ok := before[p.Name]; ok && old == p {
				kept[p.Name], _ = parts.prev.PDU(p.Name)
			}
		}
	}
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
		ac := apcConfig(p)
		counter, _ := obs.(pduEventCounter)
		ac.OnEvent = pduEvents(p.Name, log, counter)
		drv, err := apc.New(ac)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("PDU %s: %w", p.Name, err)
		}
		pdus = append(pdus, power.NewPDU(power.PDUConfig{
			Name:          p.Name,
			Driver:        drv,
			PowerOnDelay:  p.PowerOnDelay.Std(),
			OffTimes:      parts.offTimes,
			SwitchTimeout: p.SwitchTimeout.Std(),
			ReadTimeout:   cfg.Timeouts.Status.Std(),
			CacheTTL:      cacheTTL,
			Logger:        log,
			Observer:      obs,
		}))
	}
	// The fleet is built last, but a graceful shutdown watching metered power
	// needs to read it.
	var fleet *power.Fleet
	var machines []power.Machine
	for _, m := range cfg.Machines {
		pm := power.Machine{Name: m.Name, Liveness: livenessFor(m)}
		for _, ref := range m.Outlets {
			pdu, n, _ := config.ParseOutlet(ref) // validated by the loader
			pm.Outlets = append(pm.Outlets, power.OutletRef{PDU: pdu, Outlet: n})
		}
		below := func(ctx context.Context) (bool, error) {
			watts, metered, err := fleet.MachineWatts(ctx, m.Name)
			return metered && watts < m.Liveness.PowerBelowWatts, err
		}
		g, err := gracefulFor(m, cfg.StateDir, log, below)
		if err != nil {
			closeAll()
			return nil, err
		}
		if g != nil {
			pm.Graceful = g
		}
		machines = append(machines, pm)
	}
	fleet, err := power.NewFleet(pdus, machines, power.FleetConfig{
		ActionTimeout: cfg.Timeouts.Action.Std(),
		Logger:        log,
		Observer:      obs,
		Audit:         parts.audit,
		Previous:      parts.prev,
		Journal:       parts.journal,
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	return fleet, nil
}

func apcConfig(p config.PDU) apc.Config {
	s := p.SNMP
	return apc.Config{
		Address:        p.Address,
		Dialect:        p.Dialect,
		Version:        s.Version,
		Community:      s.Community.Reveal(),
		ReadCommunity:  s.ReadCommunity.Reveal(),
		User:           s.User,
		AuthProtocol:   s.AuthProtocol,
		AuthPassphrase: s.AuthPassphrase.Reveal(),
		PrivProtocol:   s.PrivProtocol,
		PrivPassphrase: s.PrivPassphrase.Reveal(),
		Timeout:        s.Timeout.Std(),
		Retries:        s.Retries,
	}
}
