package outbox

import (
	"errors"
	"fmt"
	"testing"
)

type busy struct{}

func (busy) Error() string   { return "importing" }
func (busy) Temporary() bool { return true }
func (busy) Busy() bool      { return true }

// TestTransientAndBusy: a wrapped error keeps what it says of the
// destination: down for now (transient), working on it (busy, which is
// transient too), or neither.
func TestTransientAndBusy(t *testing.T) {
	for _, c := range []struct {
		name            string
		err             error
		transient, busy bool
	}{
		{"nil", nil, false, false},
		{"plain", errors.New("refused"), false, false},
		{"unavailable", Unavailable(errors.New("connection refused"), true), true, false},
		{"not marked", Unavailable(errors.New("bad request"), false), false, false},
		{"busy, wrapped", fmt.Errorf("deliver x.zip: %w", busy{}), true, true},
	} {
		if got := IsTransient(c.err); got != c.transient {
			t.Errorf("%s: IsTransient = %v", c.name, got)
		}
		if got := IsBusy(c.err); got != c.busy {
			t.Errorf("%s: IsBusy = %v", c.name, got)
		}
	}
}
