package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/internal/store"
)

// Errors of OpenReadOnly.
var (
	// ErrNotHub: the file is not a latchkey hub database (another SQLite
	// file, or not SQLite at all).
	ErrNotHub = errors.New("not a latchkey hub database")
	// ErrOldSchema: the hub database's schema is older than this build's;
	// OpenReadOnly does not migrate it.
	ErrOldSchema = errors.New("the hub database's schema is older than this build's")
)

// SchemaVersion is the newest hub schema this build knows: the number of
// its migrations, as PRAGMA user_version of an up-to-date hub.db says.
func SchemaVersion() int {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return 0
	}
	return len(entries)
}

// hubTables are the tables every hub database has had since its first
// schema: a file without them is not a hub's.
var hubTables = []string{"enrollments", "users", "user_keys", "jobs", "records", "idempotency", "denylist"}

// ReadOnly is a hub database opened only to be read (OpenReadOnly): it can
// be dumped, never written.
type ReadOnly struct {
	db   *sql.DB
	path string
}

// OpenReadOnly opens the hub database at path to read it, writing nothing
// to it: the file is opened read-only (mode=ro) with query_only set, no
// migration runs and its journal mode is left as it is. (Reading a
// database in WAL mode, as a hub's is, SQLite makes its -shm file and an
// empty -wal file when they are missing; the database file itself is not
// written.) A missing file, a
// file that is not a hub database (ErrNotHub), one whose schema is older
// than this build's (ErrOldSchema) or newer (store.ErrTooNew) is refused.
func OpenReadOnly(ctx context.Context, path string) (*ReadOnly, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &store.FileError{Path: path, Op: "open database read-only", Err: err}
	}
	fail := func(err error) (*ReadOnly, error) {
		return nil, &store.FileError{Path: abs, Op: "open database read-only", Err: err}
	}
	if fi, err := os.Stat(abs); err != nil {
		return fail(err)
	} else if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("%w: not a regular file", ErrNotHub))
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	q.Set("_busy_timeout", fmt.Sprint(store.BusyTimeout.Milliseconds()))
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return fail(err)
	}
	r := &ReadOnly{db: db, path: abs}
	if err := r.check(ctx); err != nil {
		db.Close()
		return fail(err)
	}
	return r, nil
}

// check refuses a file that is not an up-to-date hub database.
func (r *ReadOnly) check(ctx context.Context) error {
	rows, err := r.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return notHub(err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return notHub(err)
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return notHub(err)
	}
	rows.Close()
	var missing []string
	for _, t := range hubTables {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: it has no %s table", ErrNotHub, strings.Join(missing, ", "))
	}
	var v int
	if err := r.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return store.Classify(err)
	}
	switch latest := SchemaVersion(); {
	case v < 1:
		return fmt.Errorf("%w: schema version %d", ErrNotHub, v)
	case v > latest:
		return fmt.Errorf("%w: schema version %d, this build knows up to %d", store.ErrTooNew, v, latest)
	case v < latest:
		return fmt.Errorf("%w: version %d, this build's is %d: upgrade it by running 'latchkey hub serve' on it once, then migrate", ErrOldSchema, v, latest)
	}
	return nil
}

// notHub classifies an error reading the schema: a file SQLite cannot read
// as a database is not a hub's.
func notHub(err error) error {
	err = store.Classify(err)
	if errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("%w: %w", ErrNotHub, err)
	}
	return err
}

// Path is the absolute path of the database file.
func (r *ReadOnly) Path() string { return r.path }

// Close closes the database.
func (r *ReadOnly) Close() error { return r.db.Close() }

// Dump is Store.Dump on a read-only database: every row of every table in
// one read transaction, a consistent snapshot. Unlike Store.Dump it takes
// no write lock, so a hub still serving on the file goes on (its writes
// after the snapshot are not in the dump: stop it first).
func (r *ReadOnly) Dump(ctx context.Context, table func(t Table, rows int) error, row func(values []any) error) error {
	err := func() error {
		tx, err := r.db.BeginTx(ctx, nil)
		if err != nil {
			return store.Classify(err)
		}
		defer tx.Rollback()
		for _, t := range Tables() {
			if err := dumpTable(ctx, tx, t, table, row); err != nil {
				return fmt.Errorf("table %s: %w", t.Name, store.Classify(err))
			}
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("dump hub database %s: %w", r.path, err)
	}
	return nil
}
