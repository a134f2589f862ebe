package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/internal/config"
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

	dirs  *paths.Dirs
	cfg   *config.Config
	store *store.Store
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

// Sales returns the visit service over the local store.
func (f *Factory) Sales(ctx context.Context) (*sales.Service, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	return sales.NewService(st, f.Now, f.Rand), nil
}

// Close closes whatever was opened.
func (f *Factory) Close() error {
	var errs []error
	if f.store != nil {
		errs = append(errs, f.store.Close())
		f.store = nil
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
