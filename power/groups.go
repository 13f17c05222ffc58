package power

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrUnknownGroup is returned for a group that is not configured.
var ErrUnknownGroup = errors.New("no such group")

// Group is a named list of machines switched together: a rack, a cluster,
// whatever an operator brings up and down as one.
type Group struct {
	Name     string
	Machines []string // in the order they are switched on
}

// GroupMember is the outcome of a group action for one of its machines.
type GroupMember struct {
	Machine string
	Result  Result
	Err     error
}

// GroupResult is the outcome of an action on a group, machine by machine
// in the group's order.
type GroupResult struct {
	Group    string
	Action   Action
	Members  []GroupMember
	Duration time.Duration
}

// Failed counts the members whose action failed.
func (r GroupResult) Failed() int {
	n := 0
	for _, m := range r.Members {
		if m.Err != nil {
			n++
		}
	}
	return n
}

// GroupStatus is the state of every member of a group.
type GroupStatus struct {
	Group   string
	Members []GroupMemberStatus
}

// GroupMemberStatus is one member's state, or why it could not be read.
type GroupMemberStatus struct {
	Status MachineStatus
	Err    error
}

// groupSet is a fleet's groups, in config order.
type groupSet struct {
	order []string
	by    map[string]Group
}

// SetGroups gives f its groups. Every member must be a machine of f, once
// per group.
func (f *Fleet) SetGroups(groups []Group) error {
	gs := &groupSet{by: map[string]Group{}}
	for _, g := range groups {
		if _, dup := gs.by[g.Name]; dup {
			return fmt.Errorf("group %s is defined twice", g.Name)
		}
		for i, m := range g.Machines {
			if _, err := f.machine(m); err != nil {
				return fmt.Errorf("group %s: %w", g.Name, err)
			}
			if slices.Contains(g.Machines[:i], m) {
				return fmt.Errorf("group %s: machine %s is listed twice", g.Name, m)
			}
		}
		gs.order = append(gs.order, g.Name)
		gs.by[g.Name] = Group{Name: g.Name, Machines: slices.Clone(g.Machines)}
	}
	f.groups = gs
	return nil
}

// Groups lists f's groups in config order.
func (f *Fleet) Groups() []Group {
	if f.groups == nil {
		return nil
	}
	out := make([]Group, len(f.groups.order))
	for i, name := range f.groups.order {
		out[i] = f.groups.by[name]
	}
	return out
}

// Group returns the group with the given name.
func (f *Fleet) Group(name string) (Group, error) {
	if f.groups != nil {
		if g, ok := f.groups.by[name]; ok {
			return g, nil
		}
	}
	return Group{}, fmt.Errorf("%w %q", ErrUnknownGroup, name)
}

// GroupAction runs action on every machine of the group and returns each
// one's outcome, in the group's order; a member that fails does not stop
// the rest. Each member's action is the machine's own (its lock, its
// journal, the inrush guard of its PDUs, its action timeout), and, like
// it, goes on when the caller goes away.
//
// On and cycle go machine by machine in the listed order, so that the
// machines come up in it (a storage node before the nodes that mount it).
// Off runs every member at once: offs are never held up by the inrush
// guard, and one graceful shutdown after another would take the sum of
// them.
func (f *Fleet) GroupAction(ctx context.Context, name string, action Action) (GroupResult, error) {
	g, err := f.Group(name)
	if err != nil {
		return GroupResult{}, err
	}
	do := map[Action]func(context.Context, string) (Result, error){ActionOn: f.On, ActionOff: f.Off, ActionCycle: f.Cycle}[action]
	if do == nil {
		return GroupResult{}, fmt.Errorf("group %s: unknown action %q", name, action)
	}
	start := time.Now()
	ctx = context.WithoutCancel(ctx)
	res := GroupResult{Group: g.Name, Action: action, Members: make([]GroupMember, len(g.Machines))}
	run := func(i int) {
		r, err := do(ctx, g.Machines[i])
		res.Members[i] = GroupMember{Machine: g.Machines[i], Result: r, Err: err}
	}
	if action == ActionOff {
		var wg sync.WaitGroup
		for i := range g.Machines {
			wg.Go(func() { run(i) })
		}
		wg.Wait()
	} else {
		for i := range g.Machines {
			run(i)
		}
	}
	res.Duration = time.Since(start)
	f.log.Info("group action", "principal", Principal(ctx), "group", g.Name, "action", action,
		"machines", len(g.Machines), "failed", res.Failed(), "duration", res.Duration.Round(time.Millisecond))
	return res, nil
}

// GroupStatus reads the state of every member of the group.
func (f *Fleet) GroupStatus(ctx context.Context, name string) (GroupStatus, error) {
	g, err := f.Group(name)
	if err != nil {
		return GroupStatus{}, err
	}
	out := GroupStatus{Group: g.Name, Members: make([]GroupMemberStatus, len(g.Machines))}
	for i, m := range g.Machines {
		st, err := f.Status(ctx, m)
		st.Machine = m
		out.Members[i] = GroupMemberStatus{Status: st, Err: err}
	}
	return out, nil
}
