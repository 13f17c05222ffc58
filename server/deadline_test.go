package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

type testKey struct{}

func TestLazyDeadlineEndsLikeWithTimeout(t *testing.T) {
	parent := context.WithValue(context.Background(), testKey{}, "v")
	ctx := withLazyTimeout(parent, time.Millisecond)
	defer ctx.stop()
	if ctx.Value(testKey{}) != "v" {
		t.Fatal("the parent's values are not seen through the context")
	}
	if _, ok := ctx.Deadline(); !ok {
		t.Fatal("no deadline")
	}
	<-ctx.Done() // the timer starts here and ends the context
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err after the deadline = %v, want DeadlineExceeded", ctx.Err())
	}
}

func TestLazyDeadlineStartsNoTimerUnlessWaitedOn(t *testing.T) {
	ctx := withLazyTimeout(context.Background(), time.Hour)
	ctx.stop()
	if ctx.cancel != nil {
		t.Fatal("a timer was started for a context nobody waited on")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("Err after stop = %v, want Canceled", ctx.Err())
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done is open after stop")
	}
}

func TestLazyDeadlineFollowsItsParent(t *testing.T) {
	soon := time.Now().Add(time.Minute)
	parent, cancel := context.WithDeadline(context.Background(), soon)
	ctx := withLazyTimeout(parent, time.Hour)
	defer ctx.stop()
	if d, _ := ctx.Deadline(); !d.Equal(soon) {
		t.Fatalf("Deadline = %v, want the parent's earlier %v", d, soon)
	}
	// A context derived from it is ended by the parent's cancel.
	child, stopChild := context.WithCancel(ctx)
	defer stopChild()
	cancel()
	<-child.Done()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("Err after the parent's cancel = %v, want Canceled", ctx.Err())
	}
	// stop after the timer started releases it.
	ctx.stop()
	if ctx.cancel == nil {
		t.Fatal("the timer started by Done is not kept for stop")
	}
}
