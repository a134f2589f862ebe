package cmdutil

import (
	"context"

	"github.com/latchkey/latchkey/internal/journal"
)

// Journal returns the journal in the local store. Entries are signed with
// the user's key, which is loaded (or made) only when the first entry is
// appended. The journal keeps no state of its own, so each call may return
// a new value over the same store.
func (f *Factory) Journal(ctx context.Context) (*journal.Journal, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	return journal.New(st, f.signingKey, f.Now), nil
}
