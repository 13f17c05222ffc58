package power

import "context"

// ActionCut is an off with no clean shutdown, even for a machine that has
// one: what a Redfish ForceOff is when it is configured as a plain cut.
const ActionCut Action = "cut"

// Cut switches a machine's outlets off at once, without the clean shutdown
// its off would run first. A machine already off is left alone.
func (f *Fleet) Cut(ctx context.Context, name string) (Result, error) {
	return f.act(ctx, name, ActionCut, f.cut)
}

func (f *Fleet) cut(ctx context.Context, m *machine, res *Result) error {
	if m.wakeOnly() {
		return ErrNoCut
	}
	st, err := f.status(ctx, m)
	if err != nil {
		return err
	}
	if st.Power == Off {
		res.State = Off
		return nil
	}
	if m.Graceful != nil {
		res.Shutdown, res.Reason = "cut", "a plain cut was asked for"
	}
	if err := f.switchAll(ctx, m, Off, res); err != nil {
		return err
	}
	res.State = Off
	return nil
}

// Underway reports the action under way on a machine, if any: a face that
// answers before its action is done (Redfish) shows it as a transition.
func (f *Fleet) Underway(name string) (Action, bool) {
	m, err := f.machine(name)
	if err != nil {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil {
		return "", false
	}
	return m.cur.key.action, true
}
