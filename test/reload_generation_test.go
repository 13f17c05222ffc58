package test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/pdusim"
)

// Issue 12 item 10, third point: a request that read the PDUs of one config
// generation after letting go of it could meet a PDU that a reload had
// retired meanwhile, and answer "PDU is shutting down". A request holds one
// generation from start to end: reads that straddle a reload see the PDUs
// they started with, alive, however many reloads go by.
//
// The reads are GET /v1/pdus and GET /readyz, which read every PDU in turn.
// Four of the PDUs are silent cards (their reads time out, so none is ever
// answered from the cache and each read goes to the PDU's worker), and
// every reload changes their power_on_delay, so each reload retires them and
// builds new ones: a request that is still going through the list when the
// reload lands reads PDUs of the generation before it.
func TestReloadReadsStraddlingAReloadNeverMeetARetiredPDU(t *testing.T) {
	_, _, rack1 := simPDU(t, "ap7900")
	var silent []string
	for range 4 {
		dev, err := pdusim.New("ap7900", pdusim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		agent, err := dev.Listen("127.0.0.1:0", pdusim.Access{Community: "public", WriteCommunity: "private"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { agent.Close() })
		agent.SetSilent(true)
		silent = append(silent, agent.Addr())
	}
	config := func(round int) string {
		pdus := rack1
		for i, addr := range silent {
			pdus += fmt.Sprintf(`
  - name: silent%d
    address: %q
    dialect: spdu
    snmp: {version: "1", community: private, read_community: public, timeout: 100ms, retries: 0}
    power_on_delay: %dms
    poll_interval: 1h
`, i, addr, 200+round%2*100)
		}
		return maasConfig(pdus)
	}
	b := startBridge(t, config(0))
	kept := b.keptLines(t)

	// The reads, until the reloads are done. An answer that names a PDU
	// shutting down is the defect; timeouts of the silent PDUs are expected.
	var started atomic.Int64
	var mu sync.Mutex
	var bad []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for i := range 4 {
		path := "/v1/pdus"
		if i%2 == 1 {
			path = "/readyz"
		}
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				started.Add(1)
				req, _ := http.NewRequest(http.MethodGet, b.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+maasToken)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("GET %s: %v", path, err))
					mu.Unlock()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(body), "shutting down") {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("GET %s: %d %s", path, resp.StatusCode, body))
					mu.Unlock()
				}
			}
		})
	}

	for round := 1; round <= 20; round++ {
		// Let some reads begin on the generation in force first.
		from := started.Load()
		waitUntil(t, 30*time.Second, "reads have started on the generation in force", func() bool { return started.Load() >= from+2 })
		if err := os.WriteFile(b.Config, []byte(kept+config(round)), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, body := b.maas(t, maasCall{method: http.MethodPost, path: "/-/reload", auth: bearer(maasToken)}); code != 200 {
			t.Fatalf("round %d: reload: %d %s", round, code, body)
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d reads met a PDU retired by a reload; the first: %s", len(bad), started.Load(), bad[0])
	}
	t.Logf("%d reads during 20 reloads", started.Load())
}

// keptLines are the lines of the bridge's config that a test rewriting the
// file for a reload must keep: its listen (startBridge put it first) and the
// state_dir startBridge gave it (the default, /var/lib/powerbridge, is not
// writable when the tests run as a user).
func (b *bridge) keptLines(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(b.Config)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	kept := lines[0] + "\n"
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "state_dir:") {
			kept += l + "\n"
		}
	}
	return kept
}
