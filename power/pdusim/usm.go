package pdusim

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// The usmStats counters a Report carries (RFC 3414 §5).
const (
	usmStatsUnsupportedSecLevels = ".1.3.6.1.6.3.15.1.1.1.0"
	usmStatsNotInTimeWindows     = ".1.3.6.1.6.3.15.1.1.2.0"
	usmStatsUnknownUserNames     = ".1.3.6.1.6.3.15.1.1.3.0"
	usmStatsUnknownEngineIDs     = ".1.3.6.1.6.3.15.1.1.4.0"
	usmStatsWrongDigests         = ".1.3.6.1.6.3.15.1.1.5.0"
)

// maxUserName is the longest msgUserName (RFC 3414 §2.4: SnmpAdminString
// of 1 to 32 octets).
const maxUserName = 32

// timeWindow is how far an authenticated message's engine time may be from
// the agent's (RFC 3414 §3.2 step 7).
const timeWindow = 150

// privWithoutAuth is the msgFlags level no message may have.
const privWithoutAuth = gosnmp.AuthPriv &^ gosnmp.AuthNoPriv

var (
	authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
		"": gosnmp.NoAuth, "MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}
	privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
		"": gosnmp.NoPriv, "DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192,
		"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
	}
	// macLengths are the truncated HMAC lengths of RFC 3414 (MD5, SHA) and
	// RFC 7860 (SHA-2).
	macLengths = map[gosnmp.SnmpV3AuthProtocol]int{
		gosnmp.MD5: 12, gosnmp.SHA: 12, gosnmp.SHA224: 16, gosnmp.SHA256: 24, gosnmp.SHA384: 32, gosnmp.SHA512: 48,
	}
)

// usm is the agent's side of the User-based Security Model: its engine, its
// users with their keys localised to that engine, and its report counters.
// gosnmp does the BER, the key localisation and the encryption; what gosnmp
// leaves to a client (which user, whose engine, is the digest right) is here.
type usm struct {
	engineID string
	users    map[string]*usmUser

	mu    sync.Mutex // guards boots and start, which Restart changes
	boots uint32
	start time.Time

	unsupportedSecLevels, notInTimeWindows, unknownUserNames, unknownEngineIDs, wrongDigests atomic.Uint32
}

type usmUser struct {
	level gosnmp.SnmpV3MsgFlags // the user's security level; a request below it is not authorised
	// params holds the keys localised to the agent's engine ID. It is a
	// template (decoding copies it) and the source of the privacy salts of
	// the answers.
	params *gosnmp.UsmSecurityParameters
}

func newUSM(users []User) (*usm, error) {
	// An engine ID in APC's enterprise (318), format 5: random octets, so
	// that two simulated PDUs never share one.
	id := []byte{0x80, 0x00, 0x01, 0x3e, 0x05, 0, 0, 0, 0, 0, 0, 0, 0}
	if _, err := rand.Read(id[5:]); err != nil {
		return nil, err
	}
	u := &usm{engineID: string(id), users: make(map[string]*usmUser), boots: 1, start: time.Now()}
	for _, user := range users {
		uu, err := u.newUser(user)
		if err != nil {
			return nil, fmt.Errorf("SNMPv3 user %q: %w", user.Name, err)
		}
		u.users[user.Name] = uu
	}
	return u, nil
}

func (u *usm) newUser(user User) (*usmUser, error) {
	if user.Name == "" || len(user.Name) > maxUserName {
		return nil, fmt.Errorf("a user name has 1 to %d characters", maxUserName)
	}
	if u.users[user.Name] != nil {
		return nil, errors.New("given twice")
	}
	auth, ok := authProtocols[user.AuthProtocol]
	if !ok {
		return nil, fmt.Errorf("unknown auth protocol %q (want MD5, SHA, SHA224, SHA256, SHA384 or SHA512)", user.AuthProtocol)
	}
	priv, ok := privProtocols[user.PrivProtocol]
	if !ok {
		return nil, fmt.Errorf("unknown privacy protocol %q (want DES, AES, AES192, AES256, AES192C or AES256C)", user.PrivProtocol)
	}
	level := gosnmp.NoAuthNoPriv
	if auth != gosnmp.NoAuth {
		level = gosnmp.AuthNoPriv
		if len(user.AuthPassphrase) < 8 {
			return nil, errors.New("the auth passphrase needs at least 8 characters")
		}
	}
	if priv != gosnmp.NoPriv {
		if auth == gosnmp.NoAuth {
			return nil, errors.New("privacy needs authentication")
		}
		level = gosnmp.AuthPriv
		if len(user.PrivPassphrase) < 8 {
			return nil, errors.New("the privacy passphrase needs at least 8 characters")
		}
	}
	params := &gosnmp.UsmSecurityParameters{
		UserName:                 user.Name,
		AuthoritativeEngineID:    u.engineID,
		AuthenticationProtocol:   auth,
		AuthenticationPassphrase: user.AuthPassphrase,
		PrivacyProtocol:          priv,
		PrivacyPassphrase:        user.PrivPassphrase,
	}
	if err := params.InitSecurityKeys(); err != nil {
		return nil, err
	}
	return &usmUser{level: level, params: params}, nil
}

// clock returns snmpEngineBoots and snmpEngineTime (seconds since this boot).
func (u *usm) clock() (boots, engineTime uint32) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.boots, uint32(time.Since(u.start) / time.Second)
}

// restart is a reboot of the agent's SNMP engine: one more boot, the engine
// time from zero. A client's cached boots and time are then out of the time
// window, and it must learn them again from a notInTimeWindow Report.
func (u *usm) restart() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.boots++
	u.start = time.Now()
}

// open checks an incoming SNMPv3 message the way RFC 3414 §3.2 orders it:
// engine ID, user, security level, digest; then decrypts it with that
// user's keys. hdr and hdrErr are gosnmp's decoding of msg without any keys,
// which stops at the authentication parameters of an authenticated message
// but has read the header by then. open returns the request and its user,
// or a Report to send instead, or nothing when the message is to be dropped.
func (u *usm) open(msg []byte, hdr *gosnmp.SnmpPacket, hdrErr error) (*gosnmp.SnmpPacket, *usmUser, []byte) {
	sp, ok := hdr.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if !ok || hdr.SecurityModel != gosnmp.UserSecurityModel {
		return nil, nil, nil
	}
	level := hdr.MsgFlags & gosnmp.AuthPriv
	if level == privWithoutAuth || (level == gosnmp.NoAuthNoPriv && hdrErr != nil) {
		return nil, nil, nil // an invalid msgFlags (RFC 3412 §7.2 step 5), or garbage
	}
	if len(sp.UserName) > maxUserName {
		return nil, nil, nil // not a USM message; gosnmp could not even echo the name in a Report
	}
	// Engine discovery (RFC 3414 §4) lands here too: an empty engine ID.
	if sp.AuthoritativeEngineID != u.engineID {
		return nil, nil, u.report(hdr, &u.unknownEngineIDs, usmStatsUnknownEngineIDs)
	}
	user := u.users[sp.UserName]
	if user == nil {
		return nil, nil, u.report(hdr, &u.unknownUserNames, usmStatsUnknownUserNames)
	}
	if level > user.level {
		return nil, nil, u.report(hdr, &u.unsupportedSecLevels, usmStatsUnsupportedSecLevels)
	}
	if level == gosnmp.NoAuthNoPriv {
		return hdr, user, nil
	}
	if !authentic(msg, sp.AuthenticationParameters, user.params) {
		return nil, nil, u.report(hdr, &u.wrongDigests, usmStatsWrongDigests)
	}
	if !u.timely(sp) {
		// Step 7: an authentic message from another boot, or too old, is
		// answered with an authenticated Report carrying the engine's
		// boots and time, from which the client learns them again.
		return nil, nil, u.timeReport(hdr, user)
	}
	// The keys gosnmp uses are user.params', localised to this engine:
	// gosnmp would localise afresh only for another engine ID.
	req, err := decode(&gosnmp.GoSNMP{SecurityParameters: user.params}, msg)
	if err != nil {
		// A wrong privacy key decrypts to garbage; net-snmp drops it.
		return nil, nil, nil
	}
	return req, user, nil
}

// authentic checks a message's digest with the user's localised key
// (RFC 3414 §6.3.2, RFC 7860 §4.2.2): the HMAC of the whole message with
// the digest field zeroed, truncated.
func authentic(msg []byte, mac string, user *gosnmp.UsmSecurityParameters) bool {
	n := macLengths[user.AuthenticationProtocol]
	if n == 0 || len(mac) != n {
		return false
	}
	// The digest field is the first OCTET STRING holding these bytes: only
	// the message header, engine ID and user name come before it.
	field := append([]byte{byte(gosnmp.OctetString), byte(n)}, mac...)
	i := bytes.Index(msg, field)
	if i < 0 {
		return false
	}
	zeroed := bytes.Clone(msg)
	clear(zeroed[i+2 : i+2+n])
	h := hmac.New(user.AuthenticationProtocol.HashType().New, user.SecretKey)
	h.Write(zeroed)
	return hmac.Equal(h.Sum(nil)[:n], []byte(mac))
}

// report counts a USM error and returns the Report that tells the sender,
// if it asked for reports. It goes unauthenticated, as RFC 3414 has it; it
// carries the engine ID, boots and time that engine discovery is after.
func (u *usm) report(hdr *gosnmp.SnmpPacket, counter *atomic.Uint32, counterOID string) []byte {
	n := counter.Add(1)
	if hdr.MsgFlags&gosnmp.Reportable == 0 {
		return nil
	}
	boots, engineTime := u.clock()
	var user string
	if sp, ok := hdr.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
		user = sp.UserName
	}
	r := &gosnmp.SnmpPacket{
		Version:       gosnmp.Version3,
		MsgFlags:      gosnmp.NoAuthNoPriv,
		SecurityModel: gosnmp.UserSecurityModel,
		MsgID:         hdr.MsgID,
		MsgMaxSize:    maxMessageSize,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			AuthoritativeEngineID:    u.engineID,
			AuthoritativeEngineBoots: boots,
			AuthoritativeEngineTime:  engineTime,
			UserName:                 user,
		},
		ContextEngineID: u.engineID,
		PDUType:         gosnmp.Report,
		RequestID:       hdr.RequestID, // 0 when the request was encrypted; net-snmp matches reports by msgID
		Variables:       []gosnmp.SnmpPDU{{Name: counterOID, Type: gosnmp.Counter32, Value: n}},
	}
	out, err := r.MarshalMsg()
	if err != nil {
		return nil
	}
	return out
}

// seal encodes resp as the answer to req from user: at the request's
// security level, authenticated and encrypted with the user's keys.
func (u *usm) seal(resp, req *gosnmp.SnmpPacket, user *usmUser) ([]byte, error) {
	sp, ok := user.params.Copy().(*gosnmp.UsmSecurityParameters)
	if !ok {
		return nil, errors.New("gosnmp: unexpected security parameters")
	}
	sp.AuthoritativeEngineBoots, sp.AuthoritativeEngineTime = u.clock()
	resp.Version = gosnmp.Version3
	resp.MsgFlags = req.MsgFlags & gosnmp.AuthPriv // an answer is never reportable
	resp.SecurityModel = gosnmp.UserSecurityModel
	resp.MsgID = req.MsgID
	resp.MsgMaxSize = maxMessageSize
	resp.SecurityParameters = sp
	resp.ContextEngineID = req.ContextEngineID
	if resp.ContextEngineID == "" {
		resp.ContextEngineID = u.engineID
	}
	resp.ContextName = req.ContextName
	if resp.MsgFlags == gosnmp.AuthPriv {
		// A fresh salt for each answer, from the user's counter.
		if err := user.params.InitPacket(resp); err != nil {
			return nil, err
		}
	}
	return resp.MarshalMsg()
}

// timely is RFC 3414 §3.2 step 7b, the authoritative engine's check: the
// message's boots must be the engine's, and its time within timeWindow
// seconds of the engine's.
func (u *usm) timely(sp *gosnmp.UsmSecurityParameters) bool {
	boots, now := u.clock()
	if boots == 0x7fffffff || sp.AuthoritativeEngineBoots != boots {
		return false
	}
	diff := int64(sp.AuthoritativeEngineTime) - int64(now)
	return diff <= timeWindow && diff >= -timeWindow
}

// timeReport counts a message outside the time window and returns the
// Report that tells the sender, if it asked for reports. Unlike the others
// it goes at authNoPriv, authenticated with the user's key (RFC 3414 §3.2
// step 7b), so that a client can trust the boots and time it carries. The
// request was encrypted, so its request ID is not known: 0, as for the
// others.
func (u *usm) timeReport(hdr *gosnmp.SnmpPacket, user *usmUser) []byte {
	n := u.notInTimeWindows.Add(1)
	if hdr.MsgFlags&gosnmp.Reportable == 0 {
		return nil
	}
	r := &gosnmp.SnmpPacket{
		PDUType:   gosnmp.Report,
		RequestID: 0,
		Variables: []gosnmp.SnmpPDU{{Name: usmStatsNotInTimeWindows, Type: gosnmp.Counter32, Value: n}},
	}
	req := *hdr
	req.MsgFlags = gosnmp.AuthNoPriv
	req.ContextName = ""
	out, err := u.seal(r, &req, user)
	if err != nil {
		return nil
	}
	return out
}
