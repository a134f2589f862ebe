package cmdutil

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/store"
)

// TrustStore is where the trusted manufacturer roots are kept: the trust/
// folder of the config directory.
func (f *Factory) TrustStore() (provision.TrustStore, error) {
	d, err := f.Dirs()
	if err != nil {
		return provision.TrustStore{}, err
	}
	return provision.TrustStore{Dir: filepath.Join(d.Config, "trust")}, nil
}

// Jobs returns the pulled jobs over the local store.
func (f *Factory) Jobs(ctx context.Context) (*install.Jobs, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	return install.NewJobs(st, f.Now), nil
}

// Provision returns the pairing and burning service: the local store, the
// pulled jobs, the outbox and journal, the trusted roots, and the hub key
// pinned at login (job packets must be signed by it).
func (f *Factory) Provision(ctx context.Context) (*provision.Service, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := f.HubSession()
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
	trust, err := f.TrustStore()
	if err != nil {
		return nil, err
	}
	return &provision.Service{
		Store: st, Jobs: install.NewJobs(st, f.Now), Queue: ob, Journal: j,
		Roots: trust.Roots, HubKey: sess.HubKey, Identity: f.Identity, Now: f.Now, Rand: f.Rand,
	}, nil
}

// Recording is what every step of an install writes with: the local
// store, the outbox its signed records go to, and the journal.
type Recording struct {
	Store   *store.Store
	Outbox  *outbox.Outbox
	Journal *journal.Journal
}

// Recording opens the store, outbox and journal once for a command.
func (f *Factory) Recording(ctx context.Context) (Recording, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return Recording{}, err
	}
	ob, err := f.Outbox(ctx)
	if err != nil {
		return Recording{}, err
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return Recording{}, err
	}
	return Recording{Store: st, Outbox: ob, Journal: j}, nil
}

// Surveys returns the jobs' building surveys over the local store.
func (f *Factory) Surveys(ctx context.Context) (*install.Surveys, error) {
	r, err := f.Recording(ctx)
	if err != nil {
		return nil, err
	}
	return install.NewSurveys(r.Store, install.NewJobs(r.Store, f.Now), r.Outbox, r.Journal, f.Now), nil
}

// Session returns the install sessions over the local store.
func (f *Factory) Session(ctx context.Context) (*install.Session, error) {
	r, err := f.Recording(ctx)
	if err != nil {
		return nil, err
	}
	jobs := install.NewJobs(r.Store, f.Now)
	return install.NewSession(jobs, install.NewSurveys(r.Store, jobs, r.Outbox, r.Journal, f.Now), r.Outbox, r.Journal, f.Now), nil
}

// Job finds a pulled job by its id or a unique prefix, as --job names it:
// a usage error when none was named, and what to do next when it is not
// there.
func (f *Factory) Job(ctx context.Context, ref string) (install.Job, error) {
	if ref == "" {
		return install.Job{}, Usagef("--job is required (see 'latchkey jobs list')")
	}
	js, err := f.Jobs(ctx)
	if err != nil {
		return install.Job{}, err
	}
	j, err := js.Get(ctx, ref)
	return j, JobHint(err)
}

// JobHint says what to do about a job that is not there (or a prefix that
// names several); other errors pass through.
func JobHint(err error) error {
	if errors.Is(err, install.ErrJobNotFound) || errors.Is(err, install.ErrAmbiguous) {
		return WithHint(err, "see 'latchkey jobs list', or 'latchkey jobs pull' for new jobs")
	}
	return err
}
