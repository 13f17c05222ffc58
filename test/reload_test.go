package test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The config is reloaded 20 times, half of them with bad files, by SIGHUP and
// by POST /-/reload, while status requests keep coming: none of them fails,
// each bad file is refused with its problem, and each good one takes effect.
func TestReloadUnderLoad(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	base := maasConfig(pdu)
	b := startBridge(t, base)
	kept := b.keptLines(t)

	// The load: status queries of node1, as MAAS's pollers send them.
	var served, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body := b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/node1/status", auth: bearer(maasToken)})
				if code != 200 || !offRegex.MatchString(body) {
					failed.Add(1)
					t.Errorf("a status request during the reloads got %d %q", code, body)
					return
				}
				served.Add(1)
			}
		})
	}

	write := func(cfg string) {
		if err := os.WriteFile(b.Config, []byte(kept+cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reloadOverHTTP := func() (int, string) {
		return b.maas(t, maasCall{method: http.MethodPost, path: "/-/reload", auth: bearer(maasToken)})
	}
	machineKnown := func(name string) bool {
		code, _ := b.maas(t, maasCall{method: http.MethodGet, path: "/v1/machines/" + name + "/status", auth: bearer(maasToken)})
		return code == 200
	}

	for i := range 20 {
		bySignal := i%4 >= 2
		if i%2 == 0 {
			// A good file: one more machine, named for this round.
			name := fmt.Sprintf("extra%d", i)
			write(base + fmt.Sprintf("  - {name: %s, outlets: [\"rack1/%d\"]}\n", name, 5+i%4))
			if bySignal {
				b.cmd.Process.Signal(syscall.SIGHUP)
				waitUntil(t, 10*time.Second, name+" is known after SIGHUP", func() bool { return machineKnown(name) })
			} else {
				if code, body := reloadOverHTTP(); code != 200 {
					t.Fatalf("round %d: reload of a good file: %d %s", i, code, body)
				}
				if !machineKnown(name) {
					t.Errorf("round %d: %s unknown after the reload", i, name)
				}
			}
			continue
		}
		// A bad file: a typo'd key. The config in force must stay.
		write(base + "  - {name: typo, outlet: [\"rack1/8\"]}\n")
		refusedBefore := len(b.logs.lines("config reload refused"))
		if bySignal {
			b.cmd.Process.Signal(syscall.SIGHUP)
		} else {
			code, body := reloadOverHTTP()
			if code != http.StatusBadRequest || !strings.Contains(body, `machines[2].outlet: unknown key`) {
				t.Errorf("round %d: reload of a bad file: %d %s; want 400 naming the key", i, code, body)
			}
		}
		// The log arrives through a pipe, maybe after the HTTP answer.
		waitUntil(t, 10*time.Second, "the refusal is logged", func() bool {
			return len(b.logs.lines("config reload refused")) > refusedBefore
		})
		if lines := b.logs.lines("config reload refused"); len(lines) != refusedBefore+1 || !strings.Contains(lines[len(lines)-1], "outlet: unknown key") {
			t.Errorf("round %d: want one more log line refusing the file for its typo, got %q", i, lines)
		}
		if prev := fmt.Sprintf("extra%d", i-1); !machineKnown(prev) {
			t.Errorf("round %d: after a refused reload, %s (from the config in force) is gone", i, prev)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 || served.Load() == 0 {
		t.Errorf("%d status requests served, %d failed", served.Load(), failed.Load())
	}
	if !machineKnown("node1") || machineKnown("extra16") {
		t.Error("the last good config (extra18, not extra16) is not the one in force")
	}
	t.Logf("%d status requests served during 20 reloads", served.Load())

	// The metric follows the last attempt.
	reloadOK := func() float64 {
		_, body := get(t, b.URL+"/metrics", "")
		v, ok := sample(body, "powerbridge_config_last_reload_successful")
		if !ok {
			t.Fatal("no powerbridge_config_last_reload_successful in the scrape")
		}
		return v
	}
	write(base + "  - {name: typo, outlet: [\"rack1/8\"]}\n")
	reloadOverHTTP()
	if v := reloadOK(); v != 0 {
		t.Errorf("config_last_reload_successful = %v after a refused reload, want 0", v)
	}
	write(base)
	reloadOverHTTP()
	if v := reloadOK(); v != 1 {
		t.Errorf("config_last_reload_successful = %v after a good reload, want 1", v)
	}
}
