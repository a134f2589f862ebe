package cmdutil

import (
	"context"
	"path/filepath"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/provision"
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

// Surveys returns the jobs' building surveys over the local store.
func (f *Factory) Surveys(ctx context.Context) (*install.Surveys, error) {
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
	return install.NewSurveys(st, install.NewJobs(st, f.Now), ob, j, f.Now), nil
}

// Session returns the install sessions over the local store.
func (f *Factory) Session(ctx context.Context) (*install.Session, error) {
	sv, err := f.Surveys(ctx)
	if err != nil {
		return nil, err
	}
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
	return install.NewSession(install.NewJobs(st, f.Now), sv, ob, j, f.Now), nil
}
