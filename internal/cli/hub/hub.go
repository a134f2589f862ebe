// Package hub is `latchkey hub`: the reference back office. `hub serve` runs
// its HTTP API; the admin verbs (enroll, users, job, jobs, records, units)
// work straight on its database, also while the server runs; `hub bench`
// and `hub faults` measure it and try to break it.
package hub

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/pgstore"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/packet"
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
directory): hub.db (SQLite) and hub.key, the hub's signing key (mode 0600).
An operator with many buildings keeps the database in PostgreSQL instead
(--database postgres://USER@HOST/DB, or $LATCHKEY_HUB_DATABASE) and runs
several 'hub serve' behind a load balancer on it; 'hub migrate' moves a
SQLite hub's data there. The signing key stays in --data: give every
instance the same hub.key (a copy, mode 0600). The database remembers the
key it was first opened with, and every verb refuses another hub.key (whose
packets installers would refuse) and makes no new one for it.`,
		Example: `  latchkey hub serve
  latchkey hub enroll --name dana --role sales
  latchkey hub job create --building 'Elm Court' --address '12 Elm St' --doors lobby,garage --installer sam
  latchkey hub records list --kind visit
  latchkey hub serve --database postgres://hub@db.internal/latchkey`,
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
		newCmdMigrate(f),
	)
	return cmd
}

// EnvDatabase names the hub's database when --database is not given.
const EnvDatabase = "LATCHKEY_HUB_DATABASE"

// where is the --data and --database pair every hub verb takes.
type where struct {
	data     string
	database string
}

func (w *where) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&w.data, "data", "", "the hub's data directory, with its signing key hub.key (default: hub/ in latchkey's data directory)")
	cmd.Flags().StringVar(&w.database, "database", "", "database: sqlite:PATH, a file path, or postgres://USER@HOST/DB (default: $"+EnvDatabase+", else hub.db in --data)")
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

// db resolves --database, then $LATCHKEY_HUB_DATABASE, then hub.db in dir.
func (w *where) db(f *cmdutil.Factory, dir string) (database, error) {
	if w.database != "" {
		return parseDatabase("--database", w.database)
	}
	if v := strings.TrimSpace(f.Getenv(EnvDatabase)); v != "" {
		return parseDatabase(EnvDatabase, v)
	}
	return database{path: filepath.Join(dir, "hub.db")}, nil
}

// database is where a hub keeps its state: a SQLite file or a PostgreSQL
// server.
type database struct {
	path string // SQLite file, when dsn is ""
	dsn  string // PostgreSQL connection URL
}

func (d database) postgres() bool { return d.dsn != "" }

// String names the database for people and logs: a PostgreSQL URL with its
// password masked.
func (d database) String() string {
	if d.postgres() {
		return pgstore.Redacted(d.dsn)
	}
	return d.path
}

// parseDatabase reads a database named by what (a flag or variable):
// sqlite:PATH or file:PATH, postgres://… or postgresql://…, or else a path
// to a SQLite file.
func parseDatabase(what, s string) (database, error) {
	if keywordDSN.MatchString(s) {
		// Not a file name: pgx would take it, but a hub's URL is easier to
		// tell from a path, and this one was about to become a SQLite file.
		return database{}, cmdutil.Usagef("%s: write the PostgreSQL database as a URL, postgres://USER@HOST:PORT/DB?sslmode=…, not key=value pairs", what)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // "C:\..." is a path
		if i := strings.Index(s, "://"); i > 0 && !strings.ContainsAny(s[:i], `/\`) {
			// A URL that did not parse: say so rather than make a file
			// named like it.
			return database{}, cmdutil.Usagef("%s: %q is not a valid URL; write postgres://USER:PASSWORD@HOST:PORT/DB or sqlite:PATH", what, pgstore.Redacted(s))
		}
		return database{path: s}, nil
	}
	switch strings.ToLower(u.Scheme) {
	case "sqlite", "file":
		p := u.Opaque
		if p == "" {
			p = u.Path
		}
		if p == "" {
			return database{}, cmdutil.Usagef("%s %q names no file; write sqlite:PATH", what, s)
		}
		return database{path: p}, nil
	case "postgres", "postgresql":
		if u.Opaque != "" {
			return database{}, cmdutil.Usagef("%s %q: write postgres://USER@HOST:PORT/DB", what, pgstore.Redacted(s))
		}
		return database{dsn: s}, nil
	}
	return database{}, cmdutil.Usagef("%s %q: unknown scheme %q; want sqlite:PATH or postgres://USER@HOST/DB", what, pgstore.Redacted(s), u.Scheme)
}

// openStorage opens (and creates or migrates) the hub's database.
func openStorage(ctx context.Context, db database) (hubsvc.Storage, error) {
	if !db.postgres() {
		return sqlstore.Open(ctx, db.path)
	}
	st, err := pgstore.Open(ctx, db.dsn)
	if err != nil {
		// pgstore's error names the database, password masked.
		return nil, cmdutil.WithHint(err, "check the URL, that the PostgreSQL server runs and that its user may connect and create tables")
	}
	return st, nil
}

// keywordDSN matches the start of a key=value PostgreSQL DSN
// ("host=db dbname=latchkey").
var keywordDSN = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|sslmode|service|connect_timeout)\s*=`)

// backOffice is an opened hub: its store, keys and admin.
type backOffice struct {
	dir   string
	db    database
	store hubsvc.Storage
	key   identity.Identity
	admin *hubsvc.Admin
}

func (b *backOffice) Close() error { return b.store.Close() }

// open opens the hub's database and keys, creating them on first use, and
// checks the key is the one the database's hub signs with (hubKey).
func (w *where) open(ctx context.Context, f *cmdutil.Factory) (*backOffice, error) {
	dir, err := w.dataDir(f)
	if err != nil {
		return nil, err
	}
	db, err := w.db(f, dir)
	if err != nil {
		return nil, err
	}
	st, err := openStorage(ctx, db)
	if err != nil {
		return nil, err
	}
	key, err := hubKey(ctx, dir, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	admin, err := hubsvc.NewAdmin(hubsvc.AdminConfig{Store: st, Key: key, Now: f.Now, Rand: f.Rand})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &backOffice{dir: dir, db: db, store: st, key: key, admin: admin}, nil
}

// hubKey returns the hub's key from dir and pins it in st (hub.KeyPin): the
// first process to open a database with a key records it, and a later one
// with another hub.key is refused rather than signing packets installers
// refuse. A database that has a key pinned already needs that key: hub.key
// is then only read, never made.
func hubKey(ctx context.Context, dir string, st hubsvc.Storage) (identity.Identity, error) {
	keyHint := "check that --data names the hub's directory and that you may write to it"
	pin, ok := st.(hubsvc.KeyPin)
	if !ok {
		key, err := hubsvc.LoadKeys(dir)
		if err != nil {
			return identity.Identity{}, cmdutil.WithHint(fmt.Errorf("hub keys: %w", err), keyHint)
		}
		return key, nil
	}
	pinned, err := pin.PinnedKey(ctx)
	var key identity.Identity
	switch {
	case err == nil:
		key, err = hubsvc.ReadKeys(dir)
		if errors.Is(err, hubsvc.ErrNoKey) {
			return identity.Identity{}, cmdutil.WithHint(
				fmt.Errorf("no %s in %s, and this database's hub signs with key %s: not making a new one", hubsvc.KeyFile, dir, hubsvc.KeyFingerprint(pinned)),
				"copy hub.key from a running instance into --data (mode 0600), or give --data its directory")
		}
	case errors.Is(err, hubsvc.ErrNotFound):
		// Nothing recorded yet: a new database, or one made before keys
		// were recorded. Only a new, empty one may get a key made here;
		// an older one must be given the key its hub signed with.
		key, err = hubsvc.ReadKeys(dir)
		if errors.Is(err, hubsvc.ErrNoKey) {
			if used, uerr := inUse(ctx, st); uerr != nil {
				return identity.Identity{}, uerr
			} else if used {
				return identity.Identity{}, cmdutil.WithHint(
					fmt.Errorf("no %s in %s, and this database already has users or jobs of a hub: not making a new key", hubsvc.KeyFile, dir),
					"run the command with the --data of the hub that made the database (its hub.key), or copy that hub.key into --data")
			}
			key, err = hubsvc.LoadKeys(dir)
		}
		if err == nil {
			if err := signedJobs(ctx, st, key.Public().Sign, dir); err != nil {
				return identity.Identity{}, err
			}
		}
	default:
		return identity.Identity{}, err
	}
	if err != nil {
		return identity.Identity{}, cmdutil.WithHint(fmt.Errorf("hub keys: %w", err), keyHint)
	}
	if pinned != nil {
		err = hubsvc.CheckPin(key.Public().Sign, pinned) // no write when the key is pinned
	} else {
		err = pin.PinKey(ctx, key.Public().Sign)
	}
	if err != nil {
		var mm *hubsvc.KeyMismatchError
		if errors.As(err, &mm) {
			return identity.Identity{}, &explained{err: err, msg: fmt.Sprintf(
				"%s: this hub.key (fingerprint %s) is not the key this database's hub signs with (%s): copy hub.key from a running instance into --data",
				filepath.Join(dir, hubsvc.KeyFile), hubsvc.KeyFingerprint(mm.Offered), hubsvc.KeyFingerprint(mm.Pinned))}
		}
		return identity.Identity{}, err
	}
	return key, nil
}

// inUse reports whether the database already holds users or jobs.
func inUse(ctx context.Context, st hubsvc.Storage) (bool, error) {
	users, err := st.Users(ctx)
	if err != nil || len(users) > 0 {
		return len(users) > 0, err
	}
	jobs, err := st.Jobs(ctx, "")
	return len(jobs) > 0, err
}

// signedJobs checks, before a key is first recorded for a database made
// before keys were, that the database's newest job packet was signed with
// it: a hub.key from another hub is refused instead of recorded.
func signedJobs(ctx context.Context, st hubsvc.Storage, pub ed25519.PublicKey, dir string) error {
	jobs, err := st.Jobs(ctx, "")
	if err != nil || len(jobs) == 0 {
		return err
	}
	if _, err := packet.Verify(jobs[0].Packet, pub, time.Time{}); errors.Is(err, packet.ErrBadSignature) {
		return cmdutil.WithHint(
			fmt.Errorf("%s (fingerprint %s) did not sign this database's jobs: not recording it as the hub's key",
				filepath.Join(dir, hubsvc.KeyFile), hubsvc.KeyFingerprint(pub)),
			"run the command with the --data of the hub that made the database (its hub.key)")
	}
	return nil
}

// explained is err said in the command line's words.
type explained struct {
	err error
	msg string
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }
