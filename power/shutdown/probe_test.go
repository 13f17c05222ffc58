package shutdown_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/shutdown"
)

// script is a Probe that answers from a list, over and over.
type script struct {
	mu      sync.Mutex
	answers []bool
	calls   int
}

func (s *script) Alive(context.Context) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.calls % len(s.answers)
	s.calls++
	return s.answers[i]
}

func (s *script) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

const up, down = true, false

func TestWaitDownCountsFailuresInARow(t *testing.T) {
	t.Parallel()
	p := &script{answers: []bool{up, down, down, up, down, down, down, up}}
	err := shutdown.WaitDown(timeout(t, 5*time.Second), p, 3, time.Millisecond, 0)
	if err != nil {
		t.Fatalf("WaitDown: %v", err)
	}
	if p.Calls() != 7 {
		t.Errorf("probed %d times, want 7: a success in between starts the count again", p.Calls())
	}
}

func TestWaitDownSaysHowFarItGot(t *testing.T) {
	t.Parallel()
	p := &script{answers: []bool{down, down, up}}
	err := shutdown.WaitDown(timeout(t, 200*time.Millisecond), p, 5, 10*time.Millisecond, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitDown: %v; want the deadline", err)
	}
	if !strings.Contains(err.Error(), "failures in a row)") || !strings.Contains(err.Error(), "of 5") {
		t.Errorf("error %q does not say how far it got", err)
	}
}

func TestWaitDownSettles(t *testing.T) {
	t.Parallel()
	// Seen down, WaitDown waits out the settle time: cancelled while it
	// does (long before an hour), it says it was settling. No clock is
	// read: what shows is where it was when it was stopped.
	p := &script{answers: []bool{down}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- shutdown.WaitDown(ctx, p, 2, time.Millisecond, time.Hour) }()
	for p.Calls() < 2 {
		select {
		case err := <-done:
			t.Fatalf("WaitDown returned %v before the settle time", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for the host to settle") {
		t.Errorf("WaitDown: %v; want it cancelled while settling", err)
	}
}

func TestWaitDownDeadlineDuringSettle(t *testing.T) {
	t.Parallel()
	// Seen down, then the deadline cuts the settle time short: down it is.
	p := &script{answers: []bool{down}}
	if err := shutdown.WaitDown(timeout(t, 100*time.Millisecond), p, 1, time.Millisecond, time.Hour); err != nil {
		t.Errorf("WaitDown: %v; want nil, the host was seen down", err)
	}

	// A cancelled ctx is the caller giving up: an error.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := shutdown.WaitDown(ctx, p, 1, time.Millisecond, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitDown cancelled while settling: %v; want context.Canceled", err)
	}
}

func TestWaitDownPowerBelow(t *testing.T) {
	t.Parallel()
	t.Run("power falls while the port still answers", func(t *testing.T) {
		t.Parallel()
		p := &script{answers: []bool{up}}
		reads := 0
		below := func(context.Context) (bool, error) {
			reads++
			return reads >= 3, nil
		}
		if err := shutdown.WaitDown(timeout(t, 5*time.Second), p, 3, time.Millisecond, time.Hour, shutdown.PowerBelow(below)); err != nil {
			t.Fatalf("WaitDown: %v", err)
		}
		if reads != 3 {
			t.Errorf("power read %d times, want 3", reads)
		}
	})
	t.Run("power falls during the settle time", func(t *testing.T) {
		t.Parallel()
		p := &script{answers: []bool{down}}
		reads := 0
		below := func(context.Context) (bool, error) {
			reads++
			return reads >= 4, nil
		}
		if err := shutdown.WaitDown(timeout(t, 5*time.Second), p, 2, time.Millisecond, time.Hour, shutdown.PowerBelow(below)); err != nil {
			t.Fatalf("WaitDown: %v", err)
		}
	})
	t.Run("errors are reported at the deadline", func(t *testing.T) {
		t.Parallel()
		p := &script{answers: []bool{up}}
		below := func(context.Context) (bool, error) { return false, errors.New("outlet 3 has no meter") }
		err := shutdown.WaitDown(timeout(t, 50*time.Millisecond), p, 3, time.Millisecond, 0, shutdown.PowerBelow(below))
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "reading power: outlet 3 has no meter") {
			t.Errorf("WaitDown: %v; want the deadline and the power error", err)
		}
	})
}

func TestTCPProbe(t *testing.T) {
	t.Parallel()
	ctx := timeout(t, 5*time.Second)
	if (shutdown.TCPProbe{Addr: closedPort(t)}).Alive(ctx) {
		t.Error("a closed port is alive")
	}
}

// Tell says alive or not, as Alive does, where the probe can tell.
func TestTCPProbeTell(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := l.Addr().String()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	defer l.Close()
	for _, tc := range []struct {
		addr string
		want bool
	}{{open, true}, {refused, false}} {
		p := shutdown.TCPProbe{Addr: tc.addr, Timeout: 10 * time.Second}
		alive, err := p.Tell(t.Context())
		if alive != tc.want || err != nil || p.Alive(t.Context()) != tc.want {
			t.Errorf("%s: Tell = %v, %v; want %v, nil, and Alive the same", tc.addr, alive, err, tc.want)
		}
	}
}
