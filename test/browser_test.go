package test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which test/run.sh installs.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium driven over the DevTools protocol, with
// every request it makes and every error its pages report recorded.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	requests []string          // URLs, in the order they were sent
	bytes    map[string]int64  // encoded bytes received, by URL
	ids      map[string]string // request id → URL
	problems []string          // console errors, exceptions, CSP reports
}

// newBrowser starts Chromium for the test. Its host resolver knows no name
// but loopback's, so that a request for any other host could not leave the
// machine even if the page made one (the recorder would still see it).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s: %v (test/run.sh installs Debian's chromium)", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // root in a container has no user namespaces for it
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, bytes: map[string]int64{}, ids: map[string]string{}}
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithListener(b.record))
	b.ctx = ctx
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser, and must have no deadline of its
	// own (it would end the browser); it enables the network and log
	// events the recorder reads.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return b
}

func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, e.Request.URL)
		b.ids[string(e.RequestID)] = e.Request.URL
	case *network.EventLoadingFinished:
		b.bytes[b.ids[string(e.RequestID)]] += int64(e.EncodedDataLength)
	case *log.EventEntryAdded:
		// The page asks for the state before it knows whether it is
		// signed in; Chromium logs that 401 as an error.
		expected := e.Entry.Source == log.EntrySourceNetwork && strings.Contains(e.Entry.Text, "status of 401") && strings.HasSuffix(e.Entry.URL, "/ui/api/state")
		if e.Entry.Level == log.EntryLevelError && !expected {
			b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, fmt.Sprintf("exception: %s at %s:%d", e.ExceptionDetails.Text, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber))
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			b.problems = append(b.problems, "console.error")
		}
	}
}

// run runs actions, failing the test if they do not finish within d.
func (b *browser) run(what string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns what expr evaluates to in the page (awaiting a promise).
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitFor waits until expr is true in the page, within d.
func (b *browser) waitFor(what string, d time.Duration, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for {
		ok, err := eval[bool](b, "Boolean("+expr+")")
		if last = err; err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out after %s waiting until %s (%s; last error %v)", d, what, expr, last)
		}
		// Ask again soon: each ask is one round trip to the page.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-b.ctx.Done():
			b.t.Fatalf("the browser ended while waiting until %s", what)
		}
	}
}

// text is an element's text content, "" when there is none.
func (b *browser) text(selector string) string {
	b.t.Helper()
	s, err := eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, selector))
	if err != nil {
		b.t.Fatalf("reading %s: %v", selector, err)
	}
	return s
}

// offHost returns the requests the browser sent to a host other than
// want's (host and port).
func (b *browser) offHost(want string) (all int, off []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		p, err := url.Parse(u)
		if err != nil || p.Host != want {
			off = append(off, u)
		}
	}
	return len(b.requests), off
}

func (b *browser) problemsSoFar() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// countRequests is how many requests so far had a URL containing part.
func (b *browser) countRequests(part string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, u := range b.requests {
		if strings.Contains(u, part) {
			n++
		}
	}
	return n
}
