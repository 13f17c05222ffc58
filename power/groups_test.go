package power

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A group on switches its machines on one by one in the listed order (the
// inrush guard between them), a member that fails does not stop the rest,
// and each member's outcome comes back in the group's order.
func TestGroupOnInListedOrderWithPerMachineResults(t *testing.T) {
	d := newFake(4)
	bad := newFake(1)
	bad.readErr = errors.New("no answer")
	p := testPDU(t, "r", d, func(c *PDUConfig) { c.InrushDelay = 20 * time.Millisecond })
	q := testPDU(t, "q", bad, nil)
	f := testFleet(t, []*PDU{p, q},
		Machine{Name: "a", Outlets: []OutletRef{{"r", 1}}},
		Machine{Name: "b", Outlets: []OutletRef{{"r", 2}}},
		Machine{Name: "c", Outlets: []OutletRef{{"r", 3}}},
		Machine{Name: "x", Outlets: []OutletRef{{"q", 1}}},
	)
	if err := f.SetGroups([]Group{{Name: "rack", Machines: []string{"c", "x", "a", "b"}}}); err != nil {
		t.Fatal(err)
	}
	res, err := f.GroupAction(t.Context(), "rack", ActionOn)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range res.Members {
		s := m.Machine + ":ok"
		if m.Err != nil {
			s = m.Machine + ":error"
		} else if m.Result.State != On || !m.Result.Changed {
			s = fmt.Sprintf("%s:%s changed=%v", m.Machine, m.Result.State, m.Result.Changed)
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != "c:ok x:error a:ok b:ok" || res.Failed() != 1 {
		t.Errorf("members %v (failed %d), want c:ok x:error a:ok b:ok (failed 1)", got, res.Failed())
	}
	var order []int
	for _, s := range d.switchLog() {
		order = append(order, s.outlet)
	}
	if fmt.Sprint(order) != "[3 1 2]" {
		t.Errorf("outlets switched in the order %v, want [3 1 2] (the group's)", order)
	}

	// Off: every member off, each once.
	res, err = f.GroupAction(t.Context(), "rack", ActionOff)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		if d.state(n) != Off {
			t.Errorf("outlet %d is %s after the group's off", n, d.state(n))
		}
	}
	if len(d.switchLog()) != 6 || res.Failed() != 1 {
		t.Errorf("%d switches in all (want 6), %d failed (want 1, x)", len(d.switchLog()), res.Failed())
	}
}

func TestGroupErrors(t *testing.T) {
	d := newFake(2)
	f := testFleet(t, []*PDU{testPDU(t, "r", d, nil)}, Machine{Name: "a", Outlets: []OutletRef{{"r", 1}}})
	if _, err := f.GroupAction(t.Context(), "nope", ActionOn); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("unknown group: err = %v, want ErrUnknownGroup", err)
	}
	if _, err := f.GroupStatus(t.Context(), "nope"); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("unknown group status: err = %v, want ErrUnknownGroup", err)
	}
	if err := f.SetGroups([]Group{{Name: "g", Machines: []string{"a", "zz"}}}); !errors.Is(err, ErrUnknownMachine) {
		t.Errorf("a group of an unknown machine: err = %v, want ErrUnknownMachine", err)
	}
	if err := f.SetGroups([]Group{{Name: "g", Machines: []string{"a"}}}); err != nil {
		t.Fatal(err)
	}
	st, err := f.GroupStatus(t.Context(), "g")
	if err != nil || len(st.Members) != 1 || st.Members[0].Status.State != Off {
		t.Errorf("status = %+v, %v; want a off", st, err)
	}
	if _, err := f.GroupAction(t.Context(), "g", Action("reboot")); err == nil {
		t.Error("an unknown action was accepted")
	}
}
