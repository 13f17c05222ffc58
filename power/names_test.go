package power

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// namingFake is a fakeDriver whose outlets have names it lets be written.
type namingFake struct {
	*fakeDriver
	mu     sync.Mutex
	names  map[int]string
	writes []string
}

func (d *namingFake) Read(ctx context.Context) (Reading, error) {
	r, err := d.fakeDriver.Read(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range r.Outlets {
		r.Outlets[i].Name = d.names[r.Outlets[i].Number]
	}
	return r, err
}

func (d *namingFake) NameOutlet(_ context.Context, n int, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.names[n] = name
	d.writes = append(d.writes, fmt.Sprintf("%d=%s", n, name))
	return nil
}

func (d *namingFake) MaxNameLength() int { return 12 }

// Each machine's name is written into its outlets' names where they differ
// (cut to what the PDU takes); an outlet already named so, and one that
// feeds no machine, are left alone; a second sync writes nothing.
func TestSyncOutletNames(t *testing.T) {
	d := &namingFake{fakeDriver: newFake(5), names: map[int]string{1: "Outlet 1", 2: "node2", 3: "Outlet 3", 4: "spare", 5: "Outlet 5"}}
	p := testPDU(t, "r", d.fakeDriver, func(c *PDUConfig) { c.Driver = d })
	other := testPDU(t, "q", newFake(1), nil)
	f := testFleet(t, []*PDU{p, other},
		Machine{Name: "node1", Outlets: []OutletRef{{"r", 1}}},
		Machine{Name: "node2", Outlets: []OutletRef{{"r", 2}}},
		Machine{Name: "a-long-hostname.maas", Outlets: []OutletRef{{"r", 3}, {"q", 1}}},
		Machine{Name: "node5", Outlets: []OutletRef{{"r", 5}}},
	)
	changes, err := f.SyncOutletNames(t.Context(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(d.writes); got != "[1=node1 3=a-long-hostn 5=node5]" {
		t.Errorf("written %s, want [1=node1 3=a-long-hostn 5=node5] (node2 already so, outlet 4 feeds no machine)", got)
	}
	if len(changes) != 3 || changes[0].From != "Outlet 1" || changes[0].To != "node1" || changes[0].Err != nil {
		t.Errorf("changes %+v", changes)
	}
	if d.names[4] != "spare" {
		t.Errorf("outlet 4, which feeds no machine, was renamed %q", d.names[4])
	}
	d.writes = nil
	if _, err := f.SyncOutletNames(t.Context(), "r"); err != nil || len(d.writes) != 0 {
		t.Errorf("a second sync wrote %v (err %v), want nothing", d.writes, err)
	}
	if _, err := f.SyncOutletNames(t.Context(), "q"); err == nil {
		t.Error("a PDU whose driver cannot write names: no error")
	}
}
