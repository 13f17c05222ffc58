package snmp

import (
	"errors"
	"fmt"

	"github.com/powerbridge/powerbridge/power"
)

// SetError says what a failed SET means for the outlet, in power's terms:
// an answer that certainly means "not done" wraps power.ErrRefused (with a
// word on write access where the status points at the credentials, and
// writeHint after it); a timeout wraps power.ErrNoAnswer; a genErr and any
// other answer leave the outcome open, and say the outlet must be read back.
func SetError(err error, writeHint string) error {
	var ae *AgentError
	switch {
	case errors.As(err, &ae) && ae.Status.Refused():
		hint := ""
		switch ae.Status {
		case NoAccess, AuthorizationError, ReadOnly, NotWritable, NoSuchName:
			// SNMPv1 agents answer noSuchName where v2c says noAccess.
			hint = "; is it the write community (or a v3 user with write access)?" + writeHint
		}
		return fmt.Errorf("%w: %w%s", power.ErrRefused, err, hint)
	case errors.As(err, &ae) && ae.Status == GenErr:
		return fmt.Errorf("%w: some cards answer genErr to a SET they carried out; read the outlet back", err)
	case errors.Is(err, ErrAuth):
		return fmt.Errorf("%w: %w", power.ErrRefused, err)
	case errors.Is(err, ErrTimeout):
		return fmt.Errorf("%w; the outlet may have switched all the same", noAnswer{err})
	}
	return err
}

// noAnswer is a SET's timeout as power sees it: power.ErrNoAnswer, in the
// words of the timeout.
type noAnswer struct{ err error }

func (e noAnswer) Error() string   { return e.err.Error() }
func (e noAnswer) Unwrap() []error { return []error{e.err, power.ErrNoAnswer} }
