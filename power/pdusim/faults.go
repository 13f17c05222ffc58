package pdusim

import (
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// The fault knobs of an Agent, for tests of how a client copes with a PDU
// that misbehaves the way real ones do: lost datagrams, answers lost after
// a SET was carried out, an error answered to a SET that worked, and a
// management card that reboots. (A hung card is SetSilent, a slow one
// SetLatency, one that serves a request at a time SetOneAtATime; a wrong community or wrong SNMPv3 keys need no knob, as the
// agent answers them the way real agents do.)
//
// Every knob is safe for concurrent use, may be turned at any time, and
// takes effect from the next request. Like the rest of the agent, none of
// them sleeps in the device: a dropped request or answer is simply never
// sent.

// faults holds an Agent's fault knobs and their counters.
type faults struct {
	dropRequestEvery   atomic.Int64 // 0: off
	requestsSeen       atomic.Int64
	dropSetAnswerEvery atomic.Int64 // 0: off
	setsDone           atomic.Int64
	genErrOnSet        atomic.Bool
	dropAnswerEvery    atomic.Int64 // 0: off
	answersSeen        atomic.Int64
	dropSetEvery       atomic.Int64 // 0: off
	setsSeen           atomic.Int64
	dropped            atomic.Int64 // requests and answers dropped by the knobs
}

// DropEveryNthRequest makes the agent lose every nth request it accepts, as
// a lossy network would: the request is counted in Stats but neither
// carried out nor answered. The count starts again at each call; n <= 0
// turns the knob off. Only requests the agent accepts count (right
// community, or an authenticated SNMPv3 user): an SNMPv3 engine discovery
// is never lost, so that which request is lost stays predictable.
func (a *Agent) DropEveryNthRequest(n int) {
	a.faults.requestsSeen.Store(0)
	a.faults.dropRequestEvery.Store(int64(max(n, 0)))
}

// DropEveryNthAnswerAfterSet makes the agent carry out every SET it accepts
// and lose the answer to every nth one that succeeded, as when the reply
// datagram is lost: the client sees a timeout for a switch that happened.
// The count starts again at each call; n <= 0 turns the knob off.
func (a *Agent) DropEveryNthAnswerAfterSet(n int) {
	a.faults.setsDone.Store(0)
	a.faults.dropSetAnswerEvery.Store(int64(max(n, 0)))
}

// DropEveryNthSet makes the agent lose every nth SET request it accepts:
// neither carried out nor answered, as a lost datagram. Other requests go
// through. (DropEveryNthRequest(2) loses every SET sent right after an
// answered request, which is every SET a careful client sends: it reads
// the outlet before it switches, and after a lost switch before it sends
// it again. This is the lost switch alone.) The count starts again at each
// call; n <= 0 turns the knob off.
func (a *Agent) DropEveryNthSet(n int) {
	a.faults.setsSeen.Store(0)
	a.faults.dropSetEvery.Store(int64(max(n, 0)))
}

// DropEveryNthAnswer makes the agent carry out every request and lose
// every nth answer it would send, whatever the request: a GET, a SET, or an
// SNMPv3 engine discovery, whose Report is an answer like any other (what
// a lossy return path does, and net-snmp's snmpd behind a filter dropping
// replies). The client sees a timeout for a request that was carried out.
// The count starts again at each call; n <= 0 turns the knob off.
func (a *Agent) DropEveryNthAnswer(n int) {
	a.faults.answersSeen.Store(0)
	a.faults.dropAnswerEvery.Store(int64(max(n, 0)))
}

// GenErrOnSet makes the agent carry out every SET that would succeed and
// answer it with genErr all the same, as some APC cards do.
func (a *Agent) GenErrOnSet(on bool) { a.faults.genErrOnSet.Store(on) }

// Restart reboots the simulated management card, as a card reboot that
// does not cut power: the outlets keep their state and pending commands,
// sysUpTime starts again from zero, and the SNMP engine starts its next
// boot (snmpEngineBoots + 1, snmpEngineTime from zero) with the same engine
// ID. An SNMPv3 client's cached boots and time no longer match, and its
// next authenticated request is answered with a notInTimeWindow Report
// from which it must learn them again (RFC 3414 §3.2 step 7). A card is
// silent while it reboots: SetSilent around Restart shows that too.
func (a *Agent) Restart() {
	if a.usm != nil {
		a.usm.restart()
	}
	a.dev.reboot()
}

// EngineBoots returns the agent's snmpEngineBoots: 1 when it starts, one
// more for every Restart. It is 0 for an agent without SNMPv3 users.
func (a *Agent) EngineBoots() int {
	if a.usm == nil {
		return 0
	}
	boots, _ := a.usm.clock()
	return int(boots)
}

// dropRequest counts an accepted request and reports whether it is to be
// lost.
func (f *faults) dropRequest() bool {
	n := f.dropRequestEvery.Load()
	if n == 0 {
		return false
	}
	if f.requestsSeen.Add(1)%n != 0 {
		return false
	}
	f.dropped.Add(1)
	return true
}

// dropSet counts an accepted SET and reports whether it is to be lost.
func (f *faults) dropSet() bool {
	n := f.dropSetEvery.Load()
	if n == 0 || f.setsSeen.Add(1)%n != 0 {
		return false
	}
	f.dropped.Add(1)
	return true
}

// dropAnswer counts an answer about to be sent and reports whether it is
// to be lost.
func (f *faults) dropAnswer() bool {
	n := f.dropAnswerEvery.Load()
	if n == 0 || f.answersSeen.Add(1)%n != 0 {
		return false
	}
	f.dropped.Add(1)
	return true
}

// afterSet applies the SET knobs to the result of a SET that has been
// carried out (or refused): it reports whether the answer is to be lost,
// and otherwise turns a success into genErr when asked to.
func (f *faults) afterSet(res *result) (drop bool) {
	if res.status != gosnmp.NoError {
		return false
	}
	if n := f.dropSetAnswerEvery.Load(); n > 0 && f.setsDone.Add(1)%n == 0 {
		f.dropped.Add(1)
		return true
	}
	if f.genErrOnSet.Load() {
		res.status, res.index = gosnmp.GenErr, 1
	}
	return false
}

// reboot restarts the device's clock, as a management card's reboot does;
// the outlets are left as they are.
func (d *Device) reboot() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.start = d.now()
	d.upBase = 0
}

// booted returns sysUpTime's value at the last (re)start, in hundredths of
// a second, and when that was. The device must be locked.
func (d *Device) booted() (uint32, time.Time) { return d.upBase, d.start }
