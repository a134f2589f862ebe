// Package hub is `latchkey hub`: the reference back office. `hub serve` runs
// its HTTP API; the admin verbs (enroll, users, job, jobs, records, units)
// work straight on its database, also while the server runs; `hub bench`
// and `hub faults` measure it and try to break it.
package hub

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/identity"
)

// NewCmdHub groups the hub verbs.
func NewCmdHub(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Run and administer the back office",
		Long: `The back office ("hub") enrolls the people who use latchkey, issues
installation jobs with their building keys sealed to the installer, and takes
in the signed records laptops upload. 'latchkey hub serve' runs its HTTP API
(docs/api.md); the other verbs administer it on the same database, also while
it runs.

Its state lives in --data (default: the hub/ folder of latchkey's data
directory): hub.db (SQLite) and hub.key, the hub's signing key (mode 0600).`,
		Example: `  latchkey hub serve
  latchkey hub enroll --name dana --role sales
  latchkey hub job create --building 'Elm Court' --address '12 Elm St' --doors lobby,garage --installer sam
  latchkey hub records list --kind visit`,
	}
	cmd.AddCommand(
		newCmdServe(f),
		newCmdEnroll(f),
		newCmdUsers(f),
		newCmdJob(f),
		newCmdJobs(f),
		newCmdRecords(f),
		newCmdUnits(f),
		newCmdBench(f),
		newCmdFaults(f),
		newCmdKey(f),
	)
	return cmd
}

// where is the --data and --database pair every hub verb takes.
type where struct {
	data     string
	database string
}

func (w *where) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&w.data, "data", "", "the hub's data directory (default: hub/ in latchkey's data directory)")
	cmd.Flags().StringVar(&w.database, "database", "", "database URL: sqlite:PATH or a file path (default: hub.db in --data)")
	_ = cmd.MarkFlagDirname("data")
}

// dataDir resolves --data.
func (w *where) dataDir(f *cmdutil.Factory) (string, error) {
	if w.data != "" {
		return filepath.Abs(w.data)
	}
	d, err := f.Dirs()
	if err != nil {
		return "", err
	}
	return filepath.Join(d.Data, "hub"), nil
}

// dbPath resolves --database to a SQLite file.
func (w *where) dbPath(dir string) (string, error) {
	if w.database == "" {
		return filepath.Join(dir, "hub.db"), nil
	}
	u, err := url.Parse(w.database)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // "C:\..." is a path
		return w.database, nil
	}
	switch strings.ToLower(u.Scheme) {
	case "sqlite", "file":
		p := u.Opaque
		if p == "" {
			p = u.Path
		}
		if p == "" {
			return "", cmdutil.Usagef("--database %q names no file; write sqlite:PATH", w.database)
		}
		return p, nil
	case "postgres", "postgresql":
		return "", cmdutil.WithHint(fmt.Errorf("--database %s: this build of the hub stores in SQLite only", u.Scheme+"://…"),
			"use --data DIR (SQLite), or a latchkey built with PostgreSQL support")
	}
	return "", cmdutil.Usagef("--database %q: unknown scheme %q; want sqlite:PATH", w.database, u.Scheme)
}

// backOffice is an opened hub: its store, keys and admin.
type backOffice struct {
	dir   string
	store *sqlstore.Store
	key   identity.Identity
	admin *hubsvc.Admin
}

func (b *backOffice) Close() error { return b.store.Close() }

// open opens the hub's database and keys, creating them on first use.
func (w *where) open(ctx context.Context, f *cmdutil.Factory) (*backOffice, error) {
	dir, err := w.dataDir(f)
	if err != nil {
		return nil, err
	}
	path, err := w.dbPath(dir)
	if err != nil {
		return nil, err
	}
	key, err := hubsvc.LoadKeys(dir)
	if err != nil {
		return nil, cmdutil.WithHint(fmt.Errorf("hub keys: %w", err), "check that --data names the hub's directory and that you may write to it")
	}
	st, err := sqlstore.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	admin, err := hubsvc.NewAdmin(hubsvc.AdminConfig{Store: st, Key: key, Now: f.Now, Rand: f.Rand})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &backOffice{dir: dir, store: st, key: key, admin: admin}, nil
}
