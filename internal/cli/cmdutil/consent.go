package cmdutil

import (
	"context"

	"github.com/latchkey/latchkey/internal/install"
)

// Consents returns the jobs' signed consents over the local store; their
// records go to the outbox and what is done to the journal.
func (f *Factory) Consents(ctx context.Context) (*install.Consents, error) {
	r, err := f.Recording(ctx)
	if err != nil {
		return nil, err
	}
	return install.NewConsents(r.Store, r.Outbox, r.Journal, f.Now), nil
}
