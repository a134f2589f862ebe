package cmdutil

import (
	"context"

	"github.com/latchkey/latchkey/internal/install"
)

// Consents returns the jobs' signed consents over the local store; their
// records go to the outbox and what is done to the journal.
func (f *Factory) Consents(ctx context.Context) (*install.Consents, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	ob, err := f.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return nil, err
	}
	return install.NewConsents(st, ob, j, f.Now), nil
}
