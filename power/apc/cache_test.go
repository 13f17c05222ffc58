package apc

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/pdusim"
)

// memCache is a DetectionCache in memory.
type memCache struct {
	mu      sync.Mutex
	entries map[string][]byte
	stores  int
}

func (c *memCache) Load(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.entries[key]
	return d, ok
}

func (c *memCache) Store(key string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string][]byte{}
	}
	c.entries[key] = data
	c.stores++
	return nil
}

// cachedDriver returns a driver for agent that keeps its detection in cache.
func cachedDriver(t *testing.T, agent *pdusim.Agent, version string, cache DetectionCache) *Driver {
	t.Helper()
	cfg := credentials[map[string]string{"1": "v1", "2c": "v2c"}[version]]
	cfg.Address, cfg.Timeout, cfg.Cache = agent.Addr(), 5*time.Second, cache
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestCachedDetectionCostsOneRequest: a first start detects and caches what
// it found; a second driver with the same cache costs the PDU exactly one
// request before its first read, and reads the same outlets.
func TestCachedDetectionCostsOneRequest(t *testing.T) {
	for _, model := range []string{"ap7900", "ap8941"} {
		for _, version := range []string{"1", "2c"} {
			t.Run(model+" v"+version, func(t *testing.T) {
				agent, err := simDevice(t, model, pdusim.Options{}).Listen("127.0.0.1:0", simAccess)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { agent.Close() })
				cache := &memCache{}
				first, err := cachedDriver(t, agent, version, cache).Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if cache.stores != 1 {
					t.Fatalf("the first start stored %d detections, want 1", cache.stores)
				}

				before := agent.Stats().Requests
				d := cachedDriver(t, agent, version, cache)
				if err := d.Detect(t.Context()); err != nil {
					t.Fatal(err)
				}
				if n := agent.Stats().Requests - before; n != 1 {
					t.Errorf("a cached start cost %d requests before the first read, want 1", n)
				}
				again, err := d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if got, want := outletLines(again), outletLines(first); !slices.Equal(got, want) {
					t.Errorf("outlets from the cache:\n got %q\nwant %q", got, want)
				}
				if again.Info != first.Info {
					t.Errorf("info from the cache %+v, want %+v", again.Info, first.Info)
				}
				if cache.stores != 1 {
					t.Errorf("a confirmed detection was stored again (%d stores)", cache.stores)
				}
			})
		}
	}
}

// TestCachedDetectionOfAnotherPDU: the cache describes an AP7900, but an
// AP8941 now answers at the address. The confirming request tells, the
// driver detects again, reads the AP8941 right and rewrites the cache.
func TestCachedDetectionOfAnotherPDU(t *testing.T) {
	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version, func(t *testing.T) {
			old, err := simDevice(t, "ap7900", pdusim.Options{}).Listen("127.0.0.1:0", simAccess)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			cache := &memCache{}
			oldDriver := cachedDriver(t, old, version, cache)
			if _, err := oldDriver.Read(t.Context()); err != nil {
				t.Fatal(err)
			}
			stale := cache.entries[oldDriver.cfg.cacheKey()]

			swapped, err := simDevice(t, "ap8941", pdusim.Options{}).Listen("127.0.0.1:0", simAccess)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { swapped.Close() })
			d := cachedDriver(t, swapped, version, cache)
			// The same address in the config, another PDU behind it.
			cache.entries[d.cfg.cacheKey()] = stale
			stores := cache.stores
			r, err := d.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.Dialect != "rpdu2" || len(r.Outlets) != 24 {
				t.Errorf("read %s with %d outlets, want the AP8941's rpdu2 and 24", r.Info.Dialect, len(r.Outlets))
			}
			if cache.stores != stores+1 {
				t.Fatalf("the new detection was not stored (%d stores, was %d)", cache.stores, stores)
			}
			fresh, err := decode(cache.entries[d.cfg.cacheKey()])
			if err != nil || nameOf(fresh.dialect) != "rpdu2" || len(fresh.layout.outlets) != 24 {
				t.Errorf("the cache now holds %+v (%v), want the AP8941's rpdu2 detection", fresh, err)
			}
		})
	}
}

// TestCorruptCacheEntryDetects: an entry that cannot be decoded is a miss,
// not an error, and is overwritten.
func TestCorruptCacheEntryDetects(t *testing.T) {
	agent, err := simDevice(t, "ap7900", pdusim.Options{}).Listen("127.0.0.1:0", simAccess)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	cache := &memCache{}
	d := cachedDriver(t, agent, "2c", cache)
	cache.entries = map[string][]byte{d.cfg.cacheKey(): []byte("{not json")}
	if _, err := d.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := decode(cache.entries[d.cfg.cacheKey()]); err != nil {
		t.Errorf("the corrupt entry was not replaced: %v", err)
	}
}

// TestRenameUpdatesTheCache: a name written through the driver is in the
// cache, so a restart that trusts the cache reads the new name.
func TestRenameUpdatesTheCache(t *testing.T) {
	agent, err := simDevice(t, "ap8941", pdusim.Options{}).Listen("127.0.0.1:0", simAccess)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	cache := &memCache{}
	d := cachedDriver(t, agent, "2c", cache)
	if err := d.NameOutlet(t.Context(), 3, "db-a"); err != nil {
		t.Fatal(err)
	}
	r, err := cachedDriver(t, agent, "2c", cache).Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Outlets[2].Name; got != "db-a" {
		t.Errorf("after a restart outlet 3 is named %q, want db-a", got)
	}
}
