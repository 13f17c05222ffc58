package config

import "time"

// defaulter is a config type that sets its defaults before the YAML is
// decoded over it, so that a key given as 0 (power_on_delay: 0s, retries: 0)
// stays 0 and only a key left out takes the default.
type defaulter interface{ defaults() }

// defaultStateDir is DefaultStateDir, except in this package's tests, which
// must not depend on whether /var/lib/powerbridge can be created.
var defaultStateDir = DefaultStateDir

func (f *File) defaults() {
	f.Listen = DefaultListen
	f.StateDir = defaultStateDir
	f.Timeouts.defaults()
}

func (t *Timeouts) defaults() {
	t.Status = Duration(defaultStatusTimeout)
	t.Action = Duration(defaultActionTimeout)
}

func (p *PDU) defaults() {
	p.Vendor = "auto"
	p.Dialect = "auto"
	p.PowerOnDelay = Duration(defaultPowerOnDelay)
	p.InrushDelay = Duration(defaultInrushDelay)
	p.BudgetWait = Duration(defaultBudgetWait)
	p.SwitchTimeout = Duration(defaultSwitchTimeout)
	p.PollInterval = Duration(defaultPollInterval)
	p.SNMP.defaults()
	p.HTTP.defaults()
}

func (c *SNMP) defaults() {
	c.Version = "1"
	c.Timeout = Duration(defaultSNMPTimeout)
	c.Retries = defaultSNMPRetries
}

func (sh *Shutdown) defaults() {
	sh.Command = DefaultShutdownCommand
	// OnFailure is left empty: its default depends on the machine
	// (validateWake).
	sh.SSH.defaults()
}

func (c *SSH) defaults() {
	c.Port = 22
	c.User = defaultSSHUser
	c.ConnectTimeout = Duration(10 * time.Second)
}

func (l *Liveness) defaults() {
	l.Failures = defaultFailures
	l.Interval = Duration(defaultProbeInterval)
	l.Settle = Duration(defaultSettle)
	l.BootGrace = Duration(defaultBootGrace)
	l.PollInterval = Duration(defaultLivenessPoll)
}
