package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Session is the Client that speaks to a real agent.
//
// It holds two gosnmp sessions: reads go through one with the read
// community, SETs through one with the write community, under every SNMP
// version. Neither lets gosnmp retry: gosnmp sends its retry the moment the
// timeout passes, with a new request id, so an agent that was merely slow
// has two requests in hand (and carries out a retried SET twice: a retried
// reboot reboots twice). Reads are retried here instead, after the late
// answer (see lateAnswer); a SET never is.
//
// A *gosnmp.GoSNMP is not safe for concurrent use; neither is this, and its
// callers (one worker per PDU) never need it to be. Sockets are opened on
// first use, so that creating a client does no I/O.
type Session struct {
	cfg     Config
	target  string // host:port, for messages
	version string
	reader  *gosnmp.GoSNMP
	writer  *gosnmp.GoSNMP
	// sessions makes a new reader and writer, as yet unconnected.
	sessions func() (reader, writer *gosnmp.GoSNMP)

	// late is the request last given up on, while the agent may still be
	// working on it; nil when there is none.
	late *lateAnswer

	// answers estimates the agent's answer time, from which each
	// request's timeout follows (see answerTime); sent is the request
	// last sent, to time its answer by.
	answers answerTime
	sent    sentRequest
	told    time.Duration // the timeout last told of (EventTimeout)

	// The agent's SNMPv3 engine as last heard from, to tell a reboot or a
	// new engine (Event); "" before the first answer.
	engineID string
	boots    uint32
}

// lateAnswer is a request that got no answer within its timeout. A management
// card serves one request at a time and may still be working on it: a
// request sent now would queue behind it, time out in turn, and pile up
// with every retry, until the card answers nobody else either. So it
// counts as outstanding until its answer arrives late on its socket or
// lateAnswerWait more has passed, and nothing else is sent to the agent
// meanwhile. A request that was lost on the way costs that wait before
// the next one; a slow card costs no more than its own slowness.
type lateAnswer struct {
	conn  net.Conn
	until time.Time
	// sent is the request, whose late answer still tells how long the
	// card takes.
	sent sentRequest
	// detached: the socket is no longer a session's (Close replaced
	// them), and is closed once the wait ends.
	detached bool
}

// sentRequest is a request on its way: when it was sent, how many
// varbinds it has the card handle, and how long it is waited for.
type sentRequest struct {
	at       time.Time
	varbinds int
	timeout  time.Duration
	// untimed: the time to its answer is no card's answer time, as when
	// gosnmp discovers an SNMPv3 engine first, within the same call.
	untimed bool
}

// lateAnswerWait is how much longer than its timeout a request that got
// no answer counts as outstanding, in multiples of the timeout: as long
// again as the time its answer was allowed. A silent card then fails a
// read with one retry in three timeouts (6 s with the defaults, inside
// timeouts.status), and a card slower than its timeout answers within the
// wait, which teaches the next timeout how slow it is.
const lateAnswerWait = 1

// New returns a Session for c, which it checks and fills in with its
// defaults. It does no network I/O: sockets are opened on first use.
func New(c Config) (*Session, error) {
	c, err := c.WithDefaults()
	if err != nil {
		return nil, err
	}
	return newSession(c), nil
}

// newSession returns a Session for a checked config.
func newSession(c Config) *Session {
	host, port, _ := splitAddress(c.Address) // checked by Config.withDefaults
	session := func(community string, retries int) *gosnmp.GoSNMP {
		g := &gosnmp.GoSNMP{
			Target:    host,
			Port:      port,
			Transport: "udp",
			Community: community,
			Timeout:   c.Timeout,
			Retries:   retries,
			MaxOids:   MaxVarbinds,
		}
		switch c.Version {
		case "1":
			g.Version = gosnmp.Version1
		case "2c":
			g.Version = gosnmp.Version2c
		case "3":
			g.Version = gosnmp.Version3
			g.SecurityModel = gosnmp.UserSecurityModel
			// Each session gets its own parameters: gosnmp keeps the
			// discovered engine id and boots/time in them.
			g.MsgFlags, g.SecurityParameters = usm(c)
		}
		return g
	}
	client := &Session{
		cfg:     c,
		target:  c.Target(),
		version: c.Version,
	}
	client.sessions = func() (reader, writer *gosnmp.GoSNMP) {
		// Retries are this client's (request), never gosnmp's.
		return session(c.ReadCommunity, 0), session(c.Community, 0)
	}
	client.reader, client.writer = client.sessions()
	return client
}

// prepare waits out a request given up on, points session g at ctx and
// opens its socket if need be, for a request that has the card handle
// varbinds varbinds. Its timeout follows the card's answer time
// (answerTime), between Config.Timeout and Config.MaxTimeout, and is
// capped by ctx's deadline; gosnmp also watches the deadline between
// attempts through its Context field.
func (c *Session) prepare(ctx context.Context, g *gosnmp.GoSNMP, varbinds int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.settle(ctx); err != nil {
		return err
	}
	g.Context = ctx
	timeout := c.answers.timeout(varbinds, c.cfg.Timeout, c.cfg.MaxTimeout)
	if timeout != c.told {
		c.told = timeout
		c.event(Event{Kind: EventTimeout, Count: 1, Timeout: timeout})
	}
	g.Timeout = timeout
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < g.Timeout {
			g.Timeout = left
		}
	}
	if g.Conn == nil {
		if err := g.Connect(); err != nil {
			g.Conn = nil
			return fmt.Errorf("opening a socket to %s: %w", c.target, err)
		}
	}
	c.sent = sentRequest{at: time.Now(), varbinds: varbinds, timeout: timeout,
		untimed: c.version == "3" && undiscovered(g)}
	return nil
}

// answered notes the answer to the request last sent, in the estimate of
// the card's answer time; varbinds is how many the card handled for it.
func (c *Session) answered(varbinds int) {
	if !c.sent.untimed {
		c.answers.sample(time.Since(c.sent.at), varbinds)
	}
}

// gaveUp notes that the request just sent on session g got no answer.
func (c *Session) gaveUp(g *gosnmp.GoSNMP) {
	if g.Conn == nil {
		return
	}
	c.late = &lateAnswer{conn: g.Conn, until: time.Now().Add(lateAnswerWait * c.sent.timeout), sent: c.sent}
}

// settle waits until the request given up on is answered late or counts
// as lost, or ctx ends (then nothing may be sent yet, and the wait goes on
// at the next call).
func (c *Session) settle(ctx context.Context) error {
	l := c.late
	if l == nil {
		return nil
	}
	deadline := l.until
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := l.conn.SetReadDeadline(deadline); err == nil {
		// The answer's content does not matter: it is for a request
		// nobody waits on any more, and gosnmp would drop it by its
		// request id anyway.
		_, err = l.conn.Read(make([]byte, 2048))
		if err == nil && !l.sent.untimed {
			// The card was slower than the timeout: the next one
			// allows for it. An answer that waited on the socket
			// before this read counts as later than it came, by at
			// most the wait: erring long, as the estimate may.
			c.answers.sample(time.Since(l.sent.at), l.sent.varbinds)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && time.Now().Before(l.until) {
			return fmt.Errorf("waiting for the late answer of a request to %s before sending another: %w", c.target, context.DeadlineExceeded)
		}
	}
	c.late = nil
	if l.detached {
		l.conn.Close()
	}
	return nil
}

// ForgetLate stops waiting for a late answer, closing its socket if no
// session uses it: for when no request will follow, as a driver closes.
func (c *Session) ForgetLate() {
	if l := c.late; l != nil && l.detached {
		l.conn.Close()
	}
	c.late = nil
}

// unanswered reports whether err from gosnmp means the request got no
// answer in time.
func unanswered(err error) bool {
	return errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || errors.Is(err, context.DeadlineExceeded)
}

func (c *Session) Get(ctx context.Context, oids []string) ([]Varbind, error) {
	return c.request(ctx, c.reader, oids, len(oids), func(g *gosnmp.GoSNMP) (*gosnmp.SnmpPacket, error) { return g.Get(oids) })
}

func (c *Session) GetNext(ctx context.Context, oids []string) ([]Varbind, error) {
	return c.request(ctx, c.reader, oids, len(oids), func(g *gosnmp.GoSNMP) (*gosnmp.SnmpPacket, error) { return g.GetNext(oids) })
}

func (c *Session) GetBulk(ctx context.Context, oids []string, nonRepeaters, maxRepetitions int) ([]Varbind, error) {
	if nonRepeaters < 0 || nonRepeaters > 255 || maxRepetitions < 0 {
		return nil, fmt.Errorf("GETBULK with %d non-repeaters and %d repetitions", nonRepeaters, maxRepetitions)
	}
	// The card's work grows with the answer, at most every repetition of
	// every repeated column (and no more than a datagram could carry).
	answer := min(nonRepeaters, len(oids)) + max(0, len(oids)-nonRepeaters)*min(maxRepetitions, 1<<16)
	return c.request(ctx, c.reader, oids, answer, func(g *gosnmp.GoSNMP) (*gosnmp.SnmpPacket, error) {
		return g.GetBulk(oids, uint8(nonRepeaters), uint32(maxRepetitions))
	})
}

// request sends a read on session g, and sends it again up to
// Config.Retries times after no answer, each time once the unanswered one
// is settled. Under SNMPv3 the engine discovery that precedes a request
// is retried with it. varbinds is how many the card may handle for it, for
// its timeout.
func (c *Session) request(ctx context.Context, g *gosnmp.GoSNMP, oids []string, varbinds int, send func(*gosnmp.GoSNMP) (*gosnmp.SnmpPacket, error)) ([]Varbind, error) {
	var pkt *gosnmp.SnmpPacket
	var err error
	retries, rediscovered := 0, false
	for {
		if err = c.prepare(ctx, g, varbinds); err != nil {
			break
		}
		pkt, err = send(g)
		if err == nil {
			c.answered(len(pkt.Variables))
			break
		}
		if unanswered(err) {
			c.gaveUp(g)
		} else if c.forgetEngine(g, err) && !rediscovered {
			// The agent's engine is not the one discovered: a replaced
			// card, or one reset to factory defaults. A read is safe to
			// send again, so discover the engine and ask once more.
			rediscovered = true
			continue
		}
		if !unanswered(err) || retries >= c.cfg.Retries || ctx.Err() != nil {
			break
		}
		retries++
	}
	if retries > 0 {
		c.event(Event{Kind: EventRetry, Count: retries})
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && !unanswered(err) {
			// Still waiting for a late answer when the deadline came.
			return nil, fmt.Errorf("%w from %s before the deadline: %w", ErrTimeout, c.target, err)
		}
		return nil, c.wrap(ctx, err, c.sent.timeout)
	}
	c.noteEngine(g)
	// gosnmp hands agent errors back in the packet with a nil error.
	if err := agentErr(pkt, oids); err != nil {
		return nil, err
	}
	vbs := make([]Varbind, len(pkt.Variables))
	for i, pdu := range pkt.Variables {
		vbs[i] = fromPDU(pdu)
	}
	return vbs, nil
}

// sysUpTime is what the SET session reads to discover an SNMPv3 engine.
const sysUpTime = ".1.3.6.1.2.1.1.3.0"

// Set writes one INTEGER, sent exactly once: a retried SET can be carried
// out twice by the device (see Client).
func (c *Session) Set(ctx context.Context, oid string, value int) error {
	return c.setPDU(ctx, gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Integer, Value: value})
}

// SetString writes one OCTET STRING, sent exactly once like Set.
func (c *Session) SetString(ctx context.Context, oid, value string) error {
	return c.setPDU(ctx, gosnmp.SnmpPDU{Name: oid, Type: gosnmp.OctetString, Value: []byte(value)})
}

// setPDU sends one SET of pdu, exactly once (see Set).
func (c *Session) setPDU(ctx context.Context, pdu gosnmp.SnmpPDU) error {
	if c.version == "3" && undiscovered(c.writer) && !undiscovered(c.reader) {
		// The reader has heard from the same engine, as the same
		// user: what it learnt (engine, boots, time, localised keys)
		// spares the SET session a discovery.
		c.writer.SecurityParameters = c.reader.SecurityParameters.Copy()
		c.writer.ContextEngineID = c.reader.ContextEngineID
	}
	if c.version == "3" && undiscovered(c.writer) {
		// gosnmp would discover the engine within the SET, and with
		// the SET's no retries a lost discovery answer fails a SET
		// that was never sent. Discovery is a read: do it as one,
		// retried. Should only the read's own answer be lost, the
		// engine is known all the same.
		_, err := c.request(ctx, c.writer, []string{sysUpTime}, 1, func(g *gosnmp.GoSNMP) (*gosnmp.SnmpPacket, error) {
			return g.Get([]string{sysUpTime})
		})
		if err != nil && undiscovered(c.writer) {
			return fmt.Errorf("discovering the SNMPv3 engine before the SET, which was not sent: %w", err)
		}
	}
	if err := c.prepare(ctx, c.writer, 1); err != nil {
		return err
	}
	pkt, err := c.writer.Set([]gosnmp.SnmpPDU{pdu})
	if err == nil {
		c.answered(1)
	}
	if err != nil {
		// Never sent again here, even when the engine was the wrong one:
		// the caller reads the outlet back and decides.
		if unanswered(err) {
			c.gaveUp(c.writer)
		} else {
			c.forgetEngine(c.writer, err)
		}
		return c.wrap(ctx, err, c.sent.timeout)
	}
	c.noteEngine(c.writer)
	return agentErr(pkt, []string{pdu.Name})
}

// Close closes the sockets. The sessions are replaced by new ones, for a
// later call to connect afresh: once connected, a gosnmp session keeps a
// 64 KB receive buffer for good, which idle PDUs need not hold. The new
// sessions keep what the old ones learnt of the agent: its SNMPv3 engine,
// boots and time, and the keys localised to it.
func (c *Session) Close() error {
	var errs []error
	for _, g := range []*gosnmp.GoSNMP{c.reader, c.writer} {
		switch {
		case g.Conn == nil:
		case c.late != nil && c.late.conn == g.Conn:
			// Kept open for the late answer; settle closes it.
			c.late.detached = true
		default:
			errs = append(errs, g.Conn.Close())
		}
		g.Conn = nil
	}
	reader, writer := c.sessions()
	if c.version == "3" {
		reader.SecurityParameters, writer.SecurityParameters = c.reader.SecurityParameters, c.writer.SecurityParameters
	}
	c.reader, c.writer = reader, writer
	return errors.Join(errs...)
}

// event tells Config.OnEvent, if set.
func (c *Session) event(e Event) {
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(e)
	}
}

// wrap turns gosnmp's errors into this package's: timeouts into ErrTimeout
// with a hint at the credentials, v3 security rejections into ErrAuth.
func (c *Session) wrap(ctx context.Context, err error, timeout time.Duration) error {
	hint := "check the address and the community: an agent does not answer a wrong one"
	if c.version == "3" {
		hint = "check the address, the user and the passphrases: an agent may not answer wrong ones"
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)):
		return fmt.Errorf("%w from %s before the deadline (%s): %w", ErrTimeout, c.target, hint, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, gosnmp.ErrMaxRetriesExceeded):
		return fmt.Errorf("%w from %s within %v (%s): %w", ErrTimeout, c.target, timeout, hint, err)
	case errors.Is(err, gosnmp.ErrUnknownUsername),
		errors.Is(err, gosnmp.ErrWrongDigest),
		errors.Is(err, gosnmp.ErrDecryption),
		errors.Is(err, gosnmp.ErrUnknownSecurityLevel),
		errors.Is(err, gosnmp.ErrUnknownSecurityModels):
		return fmt.Errorf("%w: %w", ErrAuth, err)
	case isNotAuthentic(err):
		// An agent that does not know the user or finds the digest wrong
		// answers with an unauthenticated Report, which gosnmp discards.
		return fmt.Errorf("%w: the agent's answer does not authenticate with the configured user and auth passphrase (%w)", ErrAuth, err)
	}
	return fmt.Errorf("talking to %s: %w", c.target, err)
}

// agentErr returns the error-status of a response as an *AgentError.
func agentErr(pkt *gosnmp.SnmpPacket, oids []string) error {
	if pkt == nil || pkt.Error == gosnmp.NoError {
		return nil
	}
	e := &AgentError{Status: Status(pkt.Error), Index: int(pkt.ErrorIndex)}
	if e.Index >= 1 && e.Index <= len(oids) {
		e.OID = oids[e.Index-1]
	}
	return e
}

func fromPDU(p gosnmp.SnmpPDU) Varbind {
	v := Varbind{OID: p.Name}
	switch p.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64, gosnmp.Uinteger32:
		v.Kind, v.Num = KindInt, gosnmp.ToBigInt(p.Value).Int64()
	case gosnmp.OctetString:
		b, _ := p.Value.([]byte)
		v.Kind, v.Str = KindString, string(b)
	case gosnmp.IPAddress:
		s, _ := p.Value.(string)
		v.Kind, v.Str = KindString, s
	case gosnmp.ObjectIdentifier:
		s, _ := p.Value.(string)
		v.Kind, v.Str = KindOID, s
	case gosnmp.NoSuchObject:
		v.Kind = KindNoSuchObject
	case gosnmp.NoSuchInstance:
		v.Kind = KindNoSuchInstance
	case gosnmp.EndOfMibView:
		v.Kind = KindEndOfMibView
	}
	return v
}
