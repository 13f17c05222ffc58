package snmp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// usm returns the SNMPv3 message flags and user security parameters of c.
func usm(c Config) (gosnmp.SnmpV3MsgFlags, *gosnmp.UsmSecurityParameters) {
	p := &gosnmp.UsmSecurityParameters{
		UserName:                 c.User,
		AuthenticationProtocol:   gosnmp.NoAuth,
		AuthenticationPassphrase: c.AuthPassphrase,
		PrivacyProtocol:          gosnmp.NoPriv,
		PrivacyPassphrase:        c.PrivPassphrase,
	}
	flags := gosnmp.NoAuthNoPriv
	switch c.AuthProtocol {
	case "MD5":
		p.AuthenticationProtocol = gosnmp.MD5
	case "SHA":
		p.AuthenticationProtocol = gosnmp.SHA
	case "SHA224":
		p.AuthenticationProtocol = gosnmp.SHA224
	case "SHA256":
		p.AuthenticationProtocol = gosnmp.SHA256
	case "SHA384":
		p.AuthenticationProtocol = gosnmp.SHA384
	case "SHA512":
		p.AuthenticationProtocol = gosnmp.SHA512
	}
	if c.AuthProtocol != "" {
		flags = gosnmp.AuthNoPriv
	}
	// AES192 and AES256 are the Blumenthal key extension, as net-snmp
	// does it, not gosnmp's AES192C/AES256C (Reeder, Cisco's).
	switch c.PrivProtocol {
	case "DES":
		p.PrivacyProtocol = gosnmp.DES
	case "AES":
		p.PrivacyProtocol = gosnmp.AES
	case "AES192":
		p.PrivacyProtocol = gosnmp.AES192
	case "AES256":
		p.PrivacyProtocol = gosnmp.AES256
	}
	if c.PrivProtocol != "" {
		flags = gosnmp.AuthPriv
	}
	return flags, p
}

// undiscovered reports whether SNMPv3 session g has yet to discover the
// agent's engine.
func undiscovered(g *gosnmp.GoSNMP) bool {
	sp, ok := g.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	return ok && sp.AuthoritativeEngineID == ""
}

// noteEngine compares the SNMPv3 engine session g just heard from with the
// one heard from before, and reports a reboot or a new engine. gosnmp
// keeps the engine's boots from each answer, and learns new ones from the
// notInTimeWindow Report a rebooted engine answers first.
func (c *Session) noteEngine(g *gosnmp.GoSNMP) {
	sp, ok := g.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if c.version != "3" || !ok || sp.AuthoritativeEngineID == "" {
		return
	}
	id, boots := sp.AuthoritativeEngineID, sp.AuthoritativeEngineBoots
	switch {
	case c.engineID == "":
	case id != c.engineID:
		c.event(Event{Kind: EventNewEngine, Count: 1, Detail: fmt.Sprintf("engine ID %x to %x", c.engineID, id)})
	case boots > c.boots:
		c.event(Event{Kind: EventRestart, Count: 1, Detail: fmt.Sprintf("engine boots %d to %d", c.boots, boots)})
	case boots < c.boots:
		return // the other session, still on the boot before
	}
	c.engineID, c.boots = id, boots
}

// forgetEngine drops what session g learnt of the agent's SNMPv3 engine
// (engine ID, boots, time, and the keys localised to it) after a request
// failed with err, so that the next request discovers the engine afresh.
// It reports whether err says the engine is not the one discovered.
//
// gosnmp re-learns the boots and time of an engine that rebooted from the
// agent's authenticated notInTimeWindow Report by itself. What it cannot
// get past is an engine ID that changed: the agent's unknownEngineID Report
// is unauthenticated, gosnmp rejects it as "not authentic", and every later
// request fails the same way until the session starts over. So after any
// failure that is an answer gosnmp could not take, start over; it costs one
// discovery round trip on the next request. A request that got no answer
// at all keeps the engine: a lost datagram says nothing of the engine, and
// starting over after it would make every request after a loss two
// exchanges (discovery, then the request), which a link that loses every
// other answer never lets through. A card replaced meanwhile answers the
// next request with an unknownEngineID Report, which starts over then.
func (c *Session) forgetEngine(g *gosnmp.GoSNMP, err error) bool {
	if c.version != "3" || err == nil {
		return false
	}
	reset := func(g *gosnmp.GoSNMP) {
		flags, params := usm(c.cfg)
		// Connect added Reportable; without it the agent would answer
		// a wrong key with silence rather than a Report.
		g.MsgFlags, g.SecurityParameters = flags|g.MsgFlags&gosnmp.Reportable, params
		g.ContextEngineID = ""
	}
	reset(g)
	changed := isNotAuthentic(err) || errors.Is(err, gosnmp.ErrUnknownEngineID)
	if changed {
		// The other session holds the same stale engine.
		for _, other := range []*gosnmp.GoSNMP{c.reader, c.writer} {
			if other != g {
				reset(other)
			}
		}
	}
	return changed
}

// isNotAuthentic reports whether gosnmp discarded an answer that failed
// authentication. gosnmp says so only in words.
func isNotAuthentic(err error) bool {
	return err != nil && strings.Contains(err.Error(), "not authentic")
}
