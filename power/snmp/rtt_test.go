package snmp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/pdusim"
)

// statusOIDs are the 51 varbinds of a whole-PDU status read of an AP8941:
// the state and name of its 24 outlets, and three of its system group.
func statusOIDs() []string {
	oids := []string{sysDescr, sysUpTime, ".1.3.6.1.2.1.1.5.0"}
	for i := 1; i <= 24; i++ {
		oids = append(oids,
			fmt.Sprintf(".1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.%d", i),
			fmt.Sprintf(".1.3.6.1.4.1.318.1.1.12.3.5.1.1.2.%d", i))
	}
	return oids
}

// slowCard serves an AP8941 on loopback that takes perVarbind over each
// varbind and serves one request at a time, as an APC card does.
func slowCard(t *testing.T, perVarbind time.Duration) *pdusim.Agent {
	t.Helper()
	dev, err := pdusim.New("ap8941", pdusim.Options{SwitchDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	agent.SetLatencyModel(pdusim.LatencyModel{PerVarbind: perVarbind, OneAtATime: true})
	return agent
}

// TestTimeoutFollowsASlowCard: a 51-varbind read of a card at 5 ms a
// varbind (255 ms) is over the 200 ms timeout. The first read times out
// once; the late answer teaches the session how slow the card is, so the
// retry and every read after it are answered with no retry, and the card
// never holds two copies of one request.
func TestTimeoutFollowsASlowCard(t *testing.T) {
	agent := slowCard(t, 5*time.Millisecond)
	retries := 0
	var told []time.Duration // EventTimeout's
	c, err := New(Config{Address: agent.Addr(), Version: "2c", Community: "private", ReadCommunity: "public",
		Timeout: 200 * time.Millisecond, MaxTimeout: 5 * time.Second, Retries: 1,
		OnEvent: func(e Event) {
			switch e.Kind {
			case EventRetry:
				retries += e.Count
			case EventTimeout:
				told = append(told, e.Timeout)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	oids := statusOIDs()
	const reads = 6
	for i := range reads {
		vbs, err := c.Get(t.Context(), oids)
		if err != nil {
			t.Fatalf("read %d of a slow but answering card: %v", i+1, err)
		}
		if len(vbs) != len(oids) {
			t.Fatalf("read %d: %d varbinds, want %d", i+1, len(vbs), len(oids))
		}
		if i == 0 && retries != 1 {
			// 255 ms is over the 200 ms timeout, which is all there is
			// before the first answer.
			t.Fatalf("the first read took %d retries, want 1 (first contact)", retries)
		}
	}
	first := retries
	s := agent.Stats()
	if want := int64(reads + first); s.Requests != want || s.Gets != want {
		t.Errorf("the card got %d requests (%d GETs) for %d reads and %d retries, want %d", s.Requests, s.Gets, reads, first, want)
	}
	if s.Varbinds != int64(len(oids))*s.Requests {
		t.Errorf("the card handled %d varbinds for %d requests of %d", s.Varbinds, s.Requests, len(oids))
	}
	if s.MaxInFlightOneClient != 1 {
		t.Errorf("the card held up to %d requests of the session at once, want 1: a copy was sent while it still worked on one", s.MaxInFlightOneClient)
	}
	if got := c.answers.timeout(len(oids), c.cfg.Timeout, c.cfg.MaxTimeout); got <= c.cfg.Timeout {
		t.Errorf("a 51-varbind read is given %v after %d answers, want more than the %v floor", got, c.answers.samples, c.cfg.Timeout)
	}
	if len(told) < 2 || told[0] != c.cfg.Timeout || told[len(told)-1] != c.sent.timeout {
		t.Errorf("the session told of timeouts %v; want the %v floor first, the last request's %v last", told, c.cfg.Timeout, c.sent.timeout)
	}
}

// TestTimeoutOfASilentCardIsBounded: however slow the card's answers have
// been, a card that stops answering fails a read with requests of at most
// MaxTimeout each, and Retries+1 of them.
func TestTimeoutOfASilentCardIsBounded(t *testing.T) {
	conn := silentAgent(t)
	cfg := silentConfig(conn, "2c")
	cfg.Timeout, cfg.MaxTimeout, cfg.Retries = 50*time.Millisecond, 150*time.Millisecond, 1
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// As if the card had taken 10 s over each of the 51 varbinds of a read.
	c.answers.sample(510*time.Second, 51)
	_, err = c.Get(t.Context(), []string{sysDescr})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get from a silent agent: %v, want a timeout", err)
	}
	if c.sent.timeout != cfg.MaxTimeout {
		t.Errorf("the last request was given %v, want MaxTimeout %v", c.sent.timeout, cfg.MaxTimeout)
	}
	if !strings.Contains(err.Error(), "within 150ms") {
		t.Errorf("error %q does not say the time it waited, 150ms", err)
	}
	if n := received(t, conn); n != 2 {
		t.Errorf("the agent got %d datagrams for one GET with Retries 1, want 2", n)
	}
}

// TestTimeoutNeverBelowTheConfigured: a fast card's requests keep the
// configured timeout, the floor; before any answer it is all there is.
func TestTimeoutNeverBelowTheConfigured(t *testing.T) {
	const floor, ceiling = 2 * time.Second, 30 * time.Second
	var a answerTime
	for _, n := range []int{1, 51, 60} {
		if got := a.timeout(n, floor, ceiling); got != floor {
			t.Errorf("before any answer, %d varbinds are given %v, want the floor %v", n, got, floor)
		}
	}
	for range 100 {
		a.sample(time.Millisecond, 51)
		a.sample(0, 1) // a clock that did not move is no answer time
	}
	for _, n := range []int{0, 1, 51, 60} {
		if got := a.timeout(n, floor, ceiling); got != floor {
			t.Errorf("a fast card's request of %d varbinds is given %v, want the floor %v", n, got, floor)
		}
	}
}

// TestAnswerTimeArithmetic: the first answer stands for the mean and half
// of it for the spread (RFC 6298); a request is given the mean plus four
// spreads for its size, up to the ceiling.
func TestAnswerTimeArithmetic(t *testing.T) {
	const floor, ceiling = 100 * time.Millisecond, 8 * time.Second
	var a answerTime
	a.sample(2550*time.Millisecond, 51) // 50 ms a varbind
	if a.perVarbind != 50*time.Millisecond || a.spread != 25*time.Millisecond {
		t.Fatalf("after one answer: %v per varbind, spread %v; want 50ms, 25ms", a.perVarbind, a.spread)
	}
	for _, tc := range []struct {
		varbinds int
		want     time.Duration
	}{{1, 150 * time.Millisecond}, {51, 7650 * time.Millisecond}, {60, ceiling}, {1 << 40, ceiling}} {
		if got := a.timeout(tc.varbinds, floor, ceiling); got != tc.want {
			t.Errorf("%d varbinds are given %v, want %v", tc.varbinds, got, tc.want)
		}
	}
	a.sample(2550*time.Millisecond, 51) // the same again: the spread shrinks
	if a.perVarbind != 50*time.Millisecond || a.spread != 18750*time.Microsecond {
		t.Errorf("after two like answers: %v per varbind, spread %v; want 50ms, 18.75ms", a.perVarbind, a.spread)
	}
}

func TestMaxTimeoutDefaultsAndChecks(t *testing.T) {
	base := Config{Address: "192.0.2.1", Community: "private"}
	for _, tc := range []struct {
		timeout, max, want time.Duration
	}{{0, 0, 30 * time.Second}, {time.Minute, 0, time.Minute}, {time.Second, 5 * time.Second, 5 * time.Second}} {
		c := base
		c.Timeout, c.MaxTimeout = tc.timeout, tc.max
		got, err := c.WithDefaults()
		if err != nil || got.MaxTimeout != tc.want {
			t.Errorf("Timeout %v, MaxTimeout %v: got MaxTimeout %v, %v; want %v", tc.timeout, tc.max, got.MaxTimeout, err, tc.want)
		}
	}
	c := base
	c.Timeout, c.MaxTimeout = 5*time.Second, time.Second
	if _, err := c.WithDefaults(); err == nil || !strings.Contains(err.Error(), "MaxTimeout 1s is less than Timeout 5s") {
		t.Errorf("MaxTimeout below Timeout: %v, want an error naming both", err)
	}
}
