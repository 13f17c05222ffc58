package pdusim

// These tests drive the agent with gosnmp, the client powerbridge itself
// uses, and with hand-made datagrams: SNMPv3 interoperability, the fault
// knobs, the counters, and the behaviours powerbridge's rules rely on.

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/powerbridge/powerbridge/power"
)

// client returns a gosnmp client of the agent at addr: v2c with the write
// community, a short timeout and no retries, unless adjust says otherwise.
func client(t *testing.T, addr string, adjust func(*gosnmp.GoSNMP)) *gosnmp.GoSNMP {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	g := &gosnmp.GoSNMP{
		Target: host, Port: uint16(p), Transport: "udp",
		Version: gosnmp.Version2c, Community: writeCommunity,
		Timeout: time.Second, Retries: 0,
	}
	if adjust != nil {
		adjust(g)
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

func v3(user User) func(*gosnmp.GoSNMP) {
	return func(g *gosnmp.GoSNMP) {
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = gosnmp.AuthPriv
		if user.PrivProtocol == "" {
			g.MsgFlags = gosnmp.AuthNoPriv
		}
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 user.Name,
			AuthenticationProtocol:   authProtocols[user.AuthProtocol],
			AuthenticationPassphrase: user.AuthPassphrase,
			PrivacyProtocol:          privProtocols[user.PrivProtocol],
			PrivacyPassphrase:        user.PrivPassphrase,
		}
	}
}

// TestGoSNMPv3 reads and switches with gosnmp over every protocol pair the
// agent offers, and checks that wrong keys get nothing.
func TestGoSNMPv3(t *testing.T) {
	users := []User{
		{Name: "md5-des", AuthProtocol: "MD5", AuthPassphrase: authPass, PrivProtocol: "DES", PrivPassphrase: privPass},
		{Name: "sha-aes", AuthProtocol: "SHA", AuthPassphrase: authPass, PrivProtocol: "AES", PrivPassphrase: privPass},
		{Name: "sha224-aes192", AuthProtocol: "SHA224", AuthPassphrase: authPass, PrivProtocol: "AES192", PrivPassphrase: privPass},
		{Name: "sha256-aes256", AuthProtocol: "SHA256", AuthPassphrase: authPass, PrivProtocol: "AES256", PrivPassphrase: privPass},
		{Name: "sha384-aes192c", AuthProtocol: "SHA384", AuthPassphrase: authPass, PrivProtocol: "AES192C", PrivPassphrase: privPass},
		{Name: "sha512-aes256c", AuthProtocol: "SHA512", AuthPassphrase: authPass, PrivProtocol: "AES256C", PrivPassphrase: privPass},
		{Name: "sha512-only", AuthProtocol: "SHA512", AuthPassphrase: authPass},
	}
	d := newDevice(t, "ap8941", Options{SwitchDelay: -1})
	a := listen(t, d, Access{Users: users})
	for i, u := range users {
		t.Run(u.Name, func(t *testing.T) {
			t.Parallel()
			g := client(t, a.Addr(), v3(u))
			res, err := g.Get([]string{sysObjectID.String()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != gosnmp.NoError || res.Variables[0].Value != ".1.3.6.1.4.1.318.1.3.4.6" {
				t.Fatalf("GET sysObjectID: %v %+v", res.Error, res.Variables)
			}
			n := i + 1
			res, err = g.Set([]gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(uint32(n)).String(), Type: gosnmp.Integer, Value: 2}})
			if err != nil || res.Error != gosnmp.NoError {
				t.Fatalf("SET outlet %d off: %v, %v", n, err, res)
			}
			if d.OutletState(n) != power.Off || d.Switches(n) != 1 {
				t.Errorf("outlet %d: %v after %d switches", n, d.OutletState(n), d.Switches(n))
			}

			wrong := u
			wrong.AuthPassphrase = "wrong-auth-pass"
			if _, err := client(t, a.Addr(), v3(wrong)).Get([]string{sysObjectID.String()}); err == nil {
				t.Error("a wrong auth passphrase got an answer")
			}
		})
	}
}

// TestInFlight checks MaxInFlight: parallel clients show, one client that
// waits for each answer never does.
func TestInFlight(t *testing.T) {
	d := newDevice(t, "ap7900", Options{})
	t.Run("one client", func(t *testing.T) {
		a := listen(t, d, testAccess)
		g := client(t, a.Addr(), nil)
		for range 20 {
			if _, err := g.Get([]string{sysUpTime.String()}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := g.GetNext([]string{sysUpTime.String()}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.GetBulk([]string{sysUpTime.String()}, 0, 5); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Set([]gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(1).String(), Type: gosnmp.Integer, Value: 1}}); err != nil {
			t.Fatal(err)
		}
		want := Stats{Requests: 23, Gets: 20, GetNexts: 1, GetBulks: 1, Sets: 1, Varbinds: 20 + 1 + 5 + 1, MaxInFlight: 1, InFlight: 0, MaxInFlightOneClient: 1}
		if got := a.Stats(); got != want {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})
	t.Run("parallel clients", func(t *testing.T) {
		a := listen(t, d, testAccess)
		a.SetLatency(200 * time.Millisecond) // keeps the requests in hand long enough to overlap
		const clients = 4
		var wg sync.WaitGroup
		for range clients {
			g := client(t, a.Addr(), nil)
			wg.Go(func() {
				if _, err := g.Get([]string{sysUpTime.String()}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := a.Stats(); got.Gets != clients || got.MaxInFlight < 2 {
			t.Errorf("Stats = %+v, want %d gets, at least 2 in flight", got, clients)
		}
	})
}

// TestLatencyCarriesOutFirst shows the trap of the reference notes: a SET
// answered late has been carried out already, and a client that retries it
// gets it carried out twice.
func TestLatencyCarriesOutFirst(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1, RebootDuration: -1})
	a := listen(t, d, testAccess)
	a.SetLatency(400 * time.Millisecond)
	reboot := []gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(1).String(), Type: gosnmp.Integer, Value: 3}}

	g := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { g.Timeout = 100 * time.Millisecond })
	if _, err := g.Set(reboot); err == nil {
		t.Fatal("the SET was answered within the timeout despite the latency")
	}
	eventually(t, 2*time.Second, func() (bool, string) {
		return d.Switches(1) == 2, fmt.Sprintf("after one unanswered reboot: %d switches, want 2 (off, on)", d.Switches(1))
	})

	retrying := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { g.Timeout, g.Retries = 100*time.Millisecond, 1 })
	if _, err := retrying.Set(reboot); err == nil {
		t.Fatal("the retried SET was answered within the timeout despite the latency")
	}
	eventually(t, 2*time.Second, func() (bool, string) {
		return d.Switches(1) == 6, fmt.Sprintf("%d switches, want 6: the retry rebooted again", d.Switches(1))
	})
	if got := a.Stats().Sets; got != 3 {
		t.Errorf("%d SETs received, want 3", got)
	}
}

func TestSilent(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1})
	a := listen(t, d, testAccess)
	a.SetSilent(true)
	g := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { g.Timeout = 200 * time.Millisecond })
	if _, err := g.Get([]string{sysUpTime.String()}); err == nil {
		t.Error("a silent agent answered a GET")
	}
	if _, err := g.Set([]gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(1).String(), Type: gosnmp.Integer, Value: 2}}); err == nil {
		t.Error("a silent agent answered a SET")
	}
	eventually(t, 2*time.Second, func() (bool, string) {
		s := a.Stats()
		return s.Gets == 1 && s.Sets == 1, fmt.Sprintf("Stats = %+v: a silent agent still counts what it receives", s)
	})
	if d.OutletState(1) != power.On || d.Switches(1) != 0 {
		t.Errorf("a silent agent carried out the SET: %v, %d switches", d.OutletState(1), d.Switches(1))
	}
	a.SetSilent(false)
	if _, err := g.Get([]string{sysUpTime.String()}); err != nil {
		t.Errorf("after SetSilent(false): %v", err)
	}
}

// TestSameRequestTwice sends one SET datagram twice, request ID and all:
// a real agent carries it out twice, and so must this one.
func TestSameRequestTwice(t *testing.T) {
	d := newDevice(t, "ap7900", Options{SwitchDelay: -1, RebootDuration: -1})
	a := listen(t, d, testAccess)
	msg, err := (&gosnmp.SnmpPacket{
		Version: gosnmp.Version2c, Community: writeCommunity, PDUType: gosnmp.SetRequest, RequestID: 4242,
		Variables: []gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(2).String(), Type: gosnmp.Integer, Value: 3}},
	}).MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 65536)
	for i := range 2 {
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		resp, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(buf[:n])
		if err != nil || resp.RequestID != 4242 || resp.Error != gosnmp.NoError {
			t.Fatalf("answer %d: %v, %+v", i+1, err, resp)
		}
	}
	if got := d.Switches(2); got != 4 {
		t.Errorf("%d switches, want 4: each copy of the reboot carried out", got)
	}
}

// TestBulkCutToSize asks for far more than the sender's maximum message size
// holds, as an SNMPv3 engine may: the answer is cut short, still in order.
func TestBulkCutToSize(t *testing.T) {
	d, err := Load(recording(t, "apc-ap7900-aos374.snmprec"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := listen(t, d, Access{Users: []User{{Name: "plain"}}})
	const maxSize = 1000
	msg, err := (&gosnmp.SnmpPacket{
		Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel,
		MsgID: 7, MsgMaxSize: maxSize,
		SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: a.usm.engineID, AuthoritativeEngineBoots: 1, UserName: "plain"},
		ContextEngineID:    a.usm.engineID,
		PDUType:            gosnmp.GetBulkRequest, RequestID: 9, MaxRepetitions: 200,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3", Type: gosnmp.Null}},
	}).MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := a.respond(msg)
	if len(out) == 0 || len(out) > maxSize {
		t.Fatalf("answer of %d bytes, want 1 to %d", len(out), maxSize)
	}
	resp, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(out)
	if err != nil {
		t.Fatal(err)
	}
	if resp.PDUType != gosnmp.GetResponse || resp.Error != gosnmp.NoError || len(resp.Variables) < 5 || len(resp.Variables) >= 200 {
		t.Fatalf("answer: %v %v with %d varbinds", resp.PDUType, resp.Error, len(resp.Variables))
	}
	for i, v := range resp.Variables {
		if want := d.store.objects[i].name; v.Name != want {
			t.Fatalf("varbind %d is %s, want %s", i, v.Name, want)
		}
	}
}

// TestEngineDiscovery checks the Report that tells a v3 client the engine.
func TestEngineDiscovery(t *testing.T) {
	d := newDevice(t, "ap7900", Options{})
	a := listen(t, d, testAccess)
	msg, err := (&gosnmp.SnmpPacket{
		Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel, MsgID: 77,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}, PDUType: gosnmp.GetRequest, RequestID: 78,
	}).MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := a.respond(msg)
	resp, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(out)
	if err != nil {
		t.Fatal(err)
	}
	sp := resp.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if resp.PDUType != gosnmp.Report || resp.MsgID != 77 || resp.RequestID != 78 || sp.AuthoritativeEngineID != a.usm.engineID ||
		sp.AuthoritativeEngineBoots != 1 || len(resp.Variables) != 1 || resp.Variables[0].Name != usmStatsUnknownEngineIDs {
		t.Errorf("discovery answer: %v msgID %d reqID %d engine %x boots %d %+v",
			resp.PDUType, resp.MsgID, resp.RequestID, sp.AuthoritativeEngineID, sp.AuthoritativeEngineBoots, resp.Variables)
	}
	if got := a.Stats().Requests; got != 0 {
		t.Errorf("discovery counted as %d requests", got)
	}
}

func TestListenErrors(t *testing.T) {
	d := newDevice(t, "ap7900", Options{})
	for _, tc := range []struct {
		user User
		want string
	}{
		{User{Name: "u", AuthProtocol: "SHA1", AuthPassphrase: authPass}, `pdusim: SNMPv3 user "u": unknown auth protocol "SHA1" (want MD5, SHA, SHA224, SHA256, SHA384 or SHA512)`},
		{User{Name: "u", AuthProtocol: "SHA", AuthPassphrase: authPass, PrivProtocol: "3DES", PrivPassphrase: privPass}, `pdusim: SNMPv3 user "u": unknown privacy protocol "3DES" (want DES, AES, AES192, AES256, AES192C or AES256C)`},
		{User{Name: "u", AuthProtocol: "SHA", AuthPassphrase: "short"}, `pdusim: SNMPv3 user "u": the auth passphrase needs at least 8 characters`},
		{User{Name: "u", PrivProtocol: "AES", PrivPassphrase: privPass}, `pdusim: SNMPv3 user "u": privacy needs authentication`},
		{User{}, `pdusim: SNMPv3 user "": a user name has 1 to 32 characters`},
	} {
		if _, err := d.Listen("127.0.0.1:0", Access{Users: []User{tc.user}}); err == nil || err.Error() != tc.want {
			t.Errorf("got  %v\nwant %s", err, tc.want)
		}
	}
}

// TestCloseWhileAnswering closes an agent that holds a request back: Close
// does not wait out the latency, and closing twice is harmless.
func TestCloseWhileAnswering(t *testing.T) {
	d := newDevice(t, "ap7900", Options{})
	a, err := d.Listen("127.0.0.1:0", testAccess)
	if err != nil {
		t.Fatal(err)
	}
	a.SetLatency(time.Hour)
	g := client(t, a.Addr(), func(g *gosnmp.GoSNMP) { g.Timeout = 50 * time.Millisecond })
	_, _ = g.Get([]string{sysUpTime.String()})
	eventually(t, 2*time.Second, func() (bool, string) {
		return a.Stats().Gets == 1, "the GET did not arrive"
	})
	closed := make(chan error)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the latency")
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// FuzzRespond feeds the agent arbitrary datagrams: it may drop them, but
// must never panic or answer with something gosnmp cannot read.
func FuzzRespond(f *testing.F) {
	d, err := New("ap7900", Options{SwitchDelay: -1})
	if err != nil {
		f.Fatal(err)
	}
	a, err := d.Listen("127.0.0.1:0", Access{Community: readCommunity, WriteCommunity: writeCommunity,
		Users: append([]User{{Name: "plain"}}, testUsers...)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close() })
	vars := []gosnmp.SnmpPDU{{Name: sPDUOutletCtl.child(1).String(), Type: gosnmp.Integer, Value: 1}}
	seeds := []*gosnmp.SnmpPacket{
		{Version: gosnmp.Version1, Community: readCommunity, PDUType: gosnmp.GetRequest, RequestID: 1, Variables: vars},
		{Version: gosnmp.Version2c, Community: writeCommunity, PDUType: gosnmp.SetRequest, RequestID: 2, Variables: vars},
		{Version: gosnmp.Version2c, Community: readCommunity, PDUType: gosnmp.GetBulkRequest, RequestID: 3, MaxRepetitions: 20, Variables: vars},
		{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel, MsgID: 4,
			SecurityParameters: &gosnmp.UsmSecurityParameters{}, PDUType: gosnmp.GetRequest, RequestID: 4},
		{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel, MsgID: 5,
			SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: a.usm.engineID, UserName: "plain"},
			ContextEngineID:    a.usm.engineID, PDUType: gosnmp.GetNextRequest, RequestID: 5, Variables: vars},
	}
	for _, u := range testUsers[:3] {
		sp := &gosnmp.UsmSecurityParameters{
			AuthoritativeEngineID: a.usm.engineID, AuthoritativeEngineBoots: 1, UserName: u.Name,
			AuthenticationProtocol: authProtocols[u.AuthProtocol], AuthenticationPassphrase: u.AuthPassphrase,
			PrivacyProtocol: privProtocols[u.PrivProtocol], PrivacyPassphrase: u.PrivPassphrase,
		}
		if err := sp.InitSecurityKeys(); err != nil {
			f.Fatal(err)
		}
		p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable | gosnmp.AuthPriv,
			SecurityModel: gosnmp.UserSecurityModel, MsgID: 6, SecurityParameters: sp,
			ContextEngineID: a.usm.engineID, PDUType: gosnmp.SetRequest, RequestID: 6, Variables: vars}
		if err := sp.InitPacket(p); err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, p)
	}
	for i, p := range seeds {
		msg, err := p.MarshalMsg()
		if err != nil {
			f.Fatal(err)
		}
		if out, _ := a.respond(msg); i >= 5 && out == nil { // the authPriv seeds must work, or the fuzzer starts from nothing
			f.Fatalf("seed %d got no answer", i)
		}
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, _ := a.respond(msg)
		if out == nil {
			return
		}
		if _, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(out); err != nil && !strings.Contains(err.Error(), "authentication") {
			t.Fatalf("unreadable answer to %x: %v", msg, err)
		}
	})
}
