package pdusim

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// maxMessageSize is the largest SNMP message that fits a UDP datagram.
const maxMessageSize = 65507

// Access says who may talk to an Agent.
type Access struct {
	Community      string // read-only community (v1/v2c); "" for none
	WriteCommunity string // read-write community (v1/v2c); "" for none
	Users          []User // SNMPv3 USM users, all with read-write access
}

// User is an SNMPv3 USM user. AuthProtocol is "" (none), MD5, SHA, SHA224,
// SHA256, SHA384 or SHA512; PrivProtocol is "" (none), DES, AES, AES192,
// AES256 (Blumenthal key extension, as net-snmp), AES192C or AES256C (Reeder,
// as Cisco). Passphrases have at least 8 characters, as net-snmp requires.
type User struct {
	Name           string
	AuthProtocol   string
	AuthPassphrase string
	PrivProtocol   string
	PrivPassphrase string
}

// Stats counts the request PDUs an Agent has received and accepted (right
// community, or an authenticated SNMPv3 user), answered or not.
type Stats struct {
	Requests int64 // all of them
	Gets     int64
	GetNexts int64
	GetBulks int64
	Sets     int64
	// Varbinds counts the variable bindings the card handled for those
	// requests: the ones asked for in a GET, GETNEXT or SET, the ones
	// answered to a GETBULK (its work grows with the answer, not the
	// question). A card whose time grows with each varbind spends
	// Varbinds × the per-varbind latency in all.
	Varbinds int64
	// MaxInFlight is the most datagrams the agent has been handling at
	// once, from receipt to answer (latency and the wait for the card
	// included).
	MaxInFlight int64
	// InFlight is how many datagrams the agent has in hand now.
	InFlight int64
	// MaxInFlightOneClient is the same for the datagrams of one client
	// address (IP, whatever the port): how many requests a client had
	// outstanding at the card at once, counting those it gave up on.
	MaxInFlightOneClient int64
	// Dropped counts the requests and answers the fault knobs lost
	// (DropEveryNthRequest, DropEveryNthSet, DropEveryNthAnswer,
	// DropEveryNthAnswerAfterSet).
	Dropped int64
}

// Agent serves a Device over SNMP on UDP. Each datagram is handled in its own
// goroutine, so that a client sending requests in parallel shows in
// MaxInFlight; the device serialises the requests themselves.
type Agent struct {
	dev    *Device
	conn   *net.UDPConn
	access Access
	usm    *usm // nil when there are no SNMPv3 users

	latency    atomic.Int64 // time.Duration before each answer
	perVarbind atomic.Int64 // time.Duration more per varbind handled
	// pause holds an answer back for d, or until the agent closes
	// (false); tests replace it to count the delays instead of waiting.
	pause  func(d time.Duration, done <-chan struct{}) bool
	silent atomic.Bool
	faults faults // the knobs of faults.go

	// serial makes the card serve one request at a time: card is held
	// from carrying a request out to sending its answer.
	serial atomic.Bool
	card   sync.Mutex

	requests, gets, getNexts, getBulks, sets atomic.Int64
	varbinds                                 atomic.Int64
	inFlight, maxInFlight                    atomic.Int64
	maxInFlightOneClient                     atomic.Int64
	longestAnswer                            atomic.Int64 // time.Duration

	clientsMu sync.Mutex
	clients   map[netip.Addr]int64 // datagrams in hand per client address

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Listen starts an SNMP agent for d on the UDP address addr, such as
// "127.0.0.1:0".
func (d *Device) Listen(addr string, acc Access) (*Agent, error) { return d.listen(addr, acc, sleep) }

// listen is Listen with the wait that holds answers back.
func (d *Device) listen(addr string, acc Access, pause func(time.Duration, <-chan struct{}) bool) (*Agent, error) {
	for _, c := range []string{acc.Community, acc.WriteCommunity} {
		if len(c) > 127 { // gosnmp encodes the community's length in one byte
			return nil, fmt.Errorf("pdusim: a community has at most 127 characters")
		}
	}
	var u *usm
	if len(acc.Users) > 0 {
		var err error
		if u, err = newUSM(acc.Users); err != nil {
			return nil, fmt.Errorf("pdusim: %w", err)
		}
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("pdusim: %w", err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("pdusim: %w", err)
	}
	a := &Agent{dev: d, conn: conn, access: acc, usm: u, done: make(chan struct{}), pause: pause}
	a.wg.Add(1)
	go a.serve()
	return a, nil
}

// Addr returns the address the agent listens on, such as "127.0.0.1:40161".
func (a *Agent) Addr() string { return a.conn.LocalAddr().String() }

// Close stops the agent and waits for the requests in hand to finish; their
// answers are dropped.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		close(a.done)
		a.closeErr = a.conn.Close()
	})
	a.wg.Wait()
	return a.closeErr
}

// SetLatency makes the agent wait d before each answer, as slow APC cards
// do. The request has been carried out by then: a client that gives up and
// retries a SET gets it executed twice, as on a real card.
func (a *Agent) SetLatency(d time.Duration) { a.latency.Store(int64(d)) }

// SetVarbindLatency makes the agent wait l more before each answer for
// every varbind the request had it handle (Stats.Varbinds), on top of
// SetLatency's wait: a card whose time grows with the size of a request.
// Like SetLatency's, the wait comes after the request was carried out and
// holds nothing of the device, only the card when it serves one request at
// a time (SetOneAtATime).
func (a *Agent) SetVarbindLatency(l time.Duration) { a.perVarbind.Store(int64(l)) }

// LatencyModel is how long a simulated card takes over a request: PerRequest
// for each one whatever its size, PerVarbind for each varbind it handles.
// OneAtATime has it serve one request at a time, as an APC card does, so
// that a request waits for the one before it. The benchmark's two models are
// {PerRequest: D, OneAtATime: true} (a relay that serves one request at a
// time, D each) and {PerVarbind: L, OneAtATime: true} (each varbind costs L).
type LatencyModel struct {
	PerRequest time.Duration
	PerVarbind time.Duration
	OneAtATime bool
}

// SetLatencyModel sets SetLatency, SetVarbindLatency and SetOneAtATime at
// once.
func (a *Agent) SetLatencyModel(m LatencyModel) {
	a.SetLatency(m.PerRequest)
	a.SetVarbindLatency(m.PerVarbind)
	a.SetOneAtATime(m.OneAtATime)
}

// delay is how long the card takes over a request that had it handle
// varbinds varbinds.
func (a *Agent) delay(varbinds int) time.Duration {
	return time.Duration(a.latency.Load()) + time.Duration(varbinds)*time.Duration(a.perVarbind.Load())
}

// sleep waits d, or until done is closed (false).
func sleep(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// SetOneAtATime makes the agent serve one request at a time, as an APC
// management card does: a request that arrives while another is being
// served waits for it, latency included, so a client that sends again
// before the late answer came makes everyone behind it wait longer. Off by
// default: every datagram is then served at once, latency in parallel.
func (a *Agent) SetOneAtATime(on bool) { a.serial.Store(on) }

// LongestAnswer is the longest time the agent took from receiving a
// request to sending its answer (the wait for the card included), over
// the requests it answered.
func (a *Agent) LongestAnswer() time.Duration { return time.Duration(a.longestAnswer.Load()) }

// SetSilent makes the agent answer nothing: requests are still received and
// counted in Stats, but neither carried out nor answered, as by a hung card.
func (a *Agent) SetSilent(silent bool) { a.silent.Store(silent) }

// Stats returns the agent's counters.
func (a *Agent) Stats() Stats {
	return Stats{
		Requests:    a.requests.Load(),
		Gets:        a.gets.Load(),
		GetNexts:    a.getNexts.Load(),
		GetBulks:    a.getBulks.Load(),
		Sets:        a.sets.Load(),
		Varbinds:    a.varbinds.Load(),
		MaxInFlight: a.maxInFlight.Load(),
		InFlight:    a.inFlight.Load(),
		Dropped:     a.faults.dropped.Load(),

		MaxInFlightOneClient: a.maxInFlightOneClient.Load(),
	}
}

func (a *Agent) serve() {
	defer a.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		a.wg.Add(1)
		go a.handle(bytes.Clone(buf[:n]), from)
	}
}

func (a *Agent) handle(msg []byte, from netip.AddrPort) {
	defer a.wg.Done()
	received := time.Now()
	n := a.inFlight.Add(1)
	mine := a.enter(from.Addr())
	// The request leaves the count before its answer is sent: a client
	// that waits for each answer must never show two in flight.
	leave := sync.OnceFunc(func() {
		a.inFlight.Add(-1)
		a.exit(from.Addr())
	})
	defer leave()
	raise(&a.maxInFlight, n)
	raise(&a.maxInFlightOneClient, mine)

	if a.serial.Load() {
		a.card.Lock()
		defer a.card.Unlock()
		select {
		case <-a.done:
			return
		default:
		}
	}
	// The device's lock is taken and let go within respond: the wait
	// below holds only the card (when serial), so what the device says
	// and does is the same with and without latency.
	out, varbinds := a.respond(msg)
	if out == nil || a.silent.Load() {
		return
	}
	if d := a.delay(varbinds); d > 0 && !a.pause(d, a.done) {
		return
	}
	if a.faults.dropAnswer() {
		return
	}
	leave()
	raise(&a.longestAnswer, int64(time.Since(received)))
	_, _ = a.conn.WriteToUDPAddrPort(out, from) // a lost answer is what UDP is for
}

// enter counts a datagram from addr in hand and returns how many are.
func (a *Agent) enter(addr netip.Addr) int64 {
	a.clientsMu.Lock()
	defer a.clientsMu.Unlock()
	if a.clients == nil {
		a.clients = map[netip.Addr]int64{}
	}
	a.clients[addr]++
	return a.clients[addr]
}

func (a *Agent) exit(addr netip.Addr) {
	a.clientsMu.Lock()
	defer a.clientsMu.Unlock()
	if a.clients[addr]--; a.clients[addr] <= 0 {
		delete(a.clients, addr)
	}
}

// raise stores n in max if it is more.
func raise(max *atomic.Int64, n int64) {
	for m := max.Load(); n > m; m = max.Load() {
		if max.CompareAndSwap(m, n) {
			break
		}
	}
}

// respond returns the answer to one datagram, or nil for silence, and how
// many varbinds the card handled for it.
func (a *Agent) respond(msg []byte) ([]byte, int) {
	// gosnmp decodes v1/v2c fully here; a v3 message decodes fully only
	// when unauthenticated, but its header is there either way.
	pkt, err := decode(&gosnmp.GoSNMP{}, msg)
	if pkt == nil {
		return nil, 0
	}
	switch pkt.Version {
	case gosnmp.Version1, gosnmp.Version2c:
		if err != nil {
			return nil, 0
		}
		acc, ok := a.community(pkt.Community)
		if !ok {
			return nil, 0 // a wrong community gets silence, as from real agents
		}
		return a.execute(pkt, acc, (*gosnmp.SnmpPacket).MarshalMsg)
	case gosnmp.Version3:
		if a.usm == nil {
			return nil, 0
		}
		req, user, report := a.usm.open(msg, pkt, err)
		if report != nil {
			if a.silent.Load() {
				return nil, 0
			}
			return report, 0
		}
		if req == nil {
			return nil, 0
		}
		acc := readWrite
		if req.MsgFlags&gosnmp.AuthPriv < user.level {
			acc = denied
		}
		return a.execute(req, acc, func(resp *gosnmp.SnmpPacket) ([]byte, error) {
			return a.usm.seal(resp, req, user)
		})
	}
	return nil, 0
}

// decode is gosnmp's decoder on a copy of msg (it decrypts in place). A
// datagram that makes gosnmp panic is an error like any other unparsable
// one: the agent drops it rather than die, as a real agent would.
func decode(x *gosnmp.GoSNMP, msg []byte) (pkt *gosnmp.SnmpPacket, err error) {
	defer func() {
		if r := recover(); r != nil {
			pkt, err = nil, fmt.Errorf("gosnmp panicked decoding a datagram: %v", r)
		}
	}()
	return x.SnmpDecodePacket(bytes.Clone(msg))
}

func (a *Agent) community(c string) (access, bool) {
	switch {
	case a.access.WriteCommunity != "" && c == a.access.WriteCommunity:
		return readWrite, true
	case a.access.Community != "" && c == a.access.Community:
		return readOnly, true
	}
	return 0, false
}

// execute counts and carries out an accepted request PDU and encodes the
// answer with seal. It returns nil for PDUs that are not requests, and how
// many varbinds the card handled.
func (a *Agent) execute(req *gosnmp.SnmpPacket, acc access, seal func(*gosnmp.SnmpPacket) ([]byte, error)) ([]byte, int) {
	switch req.PDUType {
	case gosnmp.GetRequest:
		a.gets.Add(1)
	case gosnmp.GetNextRequest:
		a.getNexts.Add(1)
	case gosnmp.GetBulkRequest:
		if req.Version == gosnmp.Version1 {
			return nil, 0 // no GETBULK in v1: net-snmp drops it as unparsable
		}
		a.getBulks.Add(1)
	case gosnmp.SetRequest:
		a.sets.Add(1)
	default:
		return nil, 0
	}
	a.requests.Add(1)
	if a.silent.Load() || a.faults.dropRequest() {
		a.varbinds.Add(int64(len(req.Variables)))
		return nil, 0
	}
	if req.PDUType == gosnmp.SetRequest && a.faults.dropSet() {
		a.varbinds.Add(int64(len(req.Variables)))
		return nil, 0
	}

	res := a.dev.answer(req, acc)
	if req.PDUType == gosnmp.SetRequest && a.faults.afterSet(&res) {
		a.varbinds.Add(int64(len(req.Variables)))
		return nil, len(req.Variables)
	}
	resp := &gosnmp.SnmpPacket{
		Version:    req.Version,
		Community:  req.Community,
		PDUType:    gosnmp.GetResponse,
		RequestID:  req.RequestID,
		Error:      res.status,
		ErrorIndex: uint8(min(res.index, 255)),
		Variables:  res.vars,
	}
	out := sealWithin(req, resp, seal)
	varbinds := len(req.Variables)
	if req.PDUType == gosnmp.GetBulkRequest {
		varbinds = len(resp.Variables) // as cut to the client's size
	}
	a.varbinds.Add(int64(varbinds))
	return out, varbinds
}

// sealWithin encodes resp, the answer to req, with seal, within the largest
// message the client takes; nil when there is nothing to send.
func sealWithin(req, resp *gosnmp.SnmpPacket, seal func(*gosnmp.SnmpPacket) ([]byte, error)) []byte {
	limit := maxMessageSize
	if req.Version == gosnmp.Version3 && req.MsgMaxSize >= 484 { // 484: the least any SNMP engine must take
		limit = min(limit, int(req.MsgMaxSize))
	}
	for {
		out, err := seal(resp)
		if err != nil {
			return nil
		}
		if len(out) <= limit {
			return out
		}
		// Too big for the client: a GETBULK answer is cut short (RFC 3416
		// §4.2.3), anything else is refused with tooBig.
		if req.PDUType == gosnmp.GetBulkRequest && len(resp.Variables) > 1 {
			keep := len(resp.Variables) * limit / len(out)
			resp.Variables = resp.Variables[:max(1, min(keep, len(resp.Variables)-1))]
			continue
		}
		if resp.Error == gosnmp.TooBig {
			return nil
		}
		resp.Error, resp.ErrorIndex, resp.Variables = gosnmp.TooBig, 0, nil
	}
}
