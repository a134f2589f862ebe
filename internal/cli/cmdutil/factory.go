package cmdutil

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/paths"
	"github.com/latchkey/latchkey/internal/sales"
	"github.com/latchkey/latchkey/internal/store"
)

// BuildInfo says which build this is; the linker sets it in main.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go"`
}

// Global holds the root command's persistent flags after config precedence
// (flag > LATCHKEY_* > config file > default) was applied.
type Global struct {
	JSON    bool
	NoColor bool
	Verbose bool
}

// Factory hands commands their dependencies. Nothing is opened until a
// command asks for it, so `latchkey --version` and shell completion stay
// fast, and what is opened is closed by Close when the command ends.
type Factory struct {
	IO     *IO
	Build  BuildInfo
	Now    func() time.Time
	Rand   io.Reader
	Getenv func(string) string
	GOOS   string
	Global Global
	Log    *slog.Logger
	// FileKeys keeps this home's keys and hub token in files in its data
	// directory (mode 0600), never in the OS keyring: for a home that is
	// thrown away, as the demo's is, so nothing of it outlives the
	// directory.
	FileKeys bool

	dirs     *paths.Dirs
	cfg      *config.Config
	store    *store.Store
	idStore  identity.Store
	identity *identity.Identity
	outbox   *outbox.Outbox
}

// Dirs returns latchkey's base directories.
func (f *Factory) Dirs() (paths.Dirs, error) {
	if f.dirs == nil {
		d, err := paths.Resolve(f.Getenv, f.GOOS)
		if err != nil {
			return paths.Dirs{}, WithHint(err, "set LATCHKEY_HOME to a directory latchkey may use")
		}
		f.dirs = &d
	}
	return *f.dirs, nil
}

// Config loads the config file once.
func (f *Factory) Config() (*config.Config, error) {
	if f.cfg == nil {
		d, err := f.Dirs()
		if err != nil {
			return nil, err
		}
		c, err := config.Load(d.ConfigFile(), f.Getenv)
		if err != nil {
			return nil, WithHint(err, "fix that line, or move the file aside to start again from the defaults")
		}
		f.cfg = c
	}
	return f.cfg, nil
}

// Store opens the local database once.
func (f *Factory) Store(ctx context.Context) (*store.Store, error) {
	if f.store == nil {
		d, err := f.Dirs()
		if err != nil {
			return nil, err
		}
		st, err := store.Open(ctx, d.StoreFile())
		if err != nil {
			return nil, err
		}
		f.Log.Debug("opened store", "path", st.Path())
		f.store = st
	}
	return f.store, nil
}

// IdentityStore returns where the user's keys are kept: the OS keyring,
// else a file in the data directory (identity.DefaultStore).
func (f *Factory) IdentityStore() (identity.Store, error) {
	if f.idStore == nil {
		d, err := f.Dirs()
		if err != nil {
			return nil, err
		}
		if f.FileKeys {
			f.idStore = &identity.File{Path: filepath.Join(d.Data, identity.FileName)}
		} else {
			f.idStore = identity.DefaultStore(d.Data)
		}
	}
	return f.idStore, nil
}

// Identity loads the user's keys once, making them on first use. A warning
// from the store (keys kept in a file because there is no keyring) is
// printed to stderr, once.
func (f *Factory) Identity() (identity.Identity, error) {
	if f.identity == nil {
		s, err := f.IdentityStore()
		if err != nil {
			return identity.Identity{}, err
		}
		id, _, warning, err := identity.LoadOrCreate(s, f.Rand)
		if err != nil {
			return identity.Identity{}, WithHint(err, "run 'latchkey identity show' to see where your keys are kept")
		}
		if warning != "" {
			fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", warning)
		}
		f.identity = &id
	}
	return *f.identity, nil
}

// Outbox returns the queue of records waiting for the back office, in the
// local store. Records are signed with the user's key, which is loaded (or
// made) only when the first record is queued, and each is journaled.
func (f *Factory) Outbox(ctx context.Context) (*outbox.Outbox, error) {
	if f.outbox == nil {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		j, err := f.Journal(ctx)
		if err != nil {
			return nil, err
		}
		f.outbox = outbox.New(st, f.signingKey, f.Now, f.Rand, j)
	}
	return f.outbox, nil
}

func (f *Factory) signingKey() (ed25519.PrivateKey, error) {
	id, err := f.Identity()
	if err != nil {
		return nil, err
	}
	return id.Sign, nil
}

// Sales returns the visit service over the local store; it queues a record
// of every change in the outbox.
func (f *Factory) Sales(ctx context.Context) (*sales.Service, error) {
	ob, err := f.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	return sales.NewService(st, ob, f.Now, f.Rand), nil
}

// Close closes whatever was opened.
func (f *Factory) Close() error {
	var errs []error
	if f.store != nil {
		errs = append(errs, f.store.Close())
		f.store, f.outbox = nil, nil
	}
	return errors.Join(errs...)
}

// Setting resolves a config key with a flag's value taking precedence when
// the flag was set on the command line.
func (f *Factory) Setting(name, flagValue string, flagSet bool) (config.Value, error) {
	c, err := f.Config()
	if err != nil {
		return config.Value{}, err
	}
	v, err := c.Resolve(name, flagValue, flagSet)
	if err != nil {
		return config.Value{}, fmt.Errorf("setting %s: %w", name, err)
	}
	return v, nil
}
