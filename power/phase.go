package power

import "context"

// A graceful shutdown says which of its steps it is in while it runs, so
// that a face can show it ("request": the OS is being asked to shut down;
// "wait-down": waiting for the host to go down). The fleet hands the
// shutdown a context that carries where to tell it; the steps are the
// Graceful's own, named as in ShutdownReport.Phases.

type phaseKey struct{}

// withPhases returns ctx carrying report, which EnterPhase calls.
func withPhases(ctx context.Context, report func(name string)) context.Context {
	return context.WithValue(ctx, phaseKey{}, report)
}

// EnterPhase tells the action running under ctx that its graceful shutdown
// has begun the step name. Without an action to tell, it does nothing.
func EnterPhase(ctx context.Context, name string) {
	if report, ok := ctx.Value(phaseKey{}).(func(string)); ok {
		report(name)
	}
}

// enterPhase records the step of m's graceful shutdown under way; "" when
// none is.
func (m *machine) enterPhase(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.phase = name
}
