package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openTest opens a store at a fresh path under t.TempDir and closes it when
// the test ends.
func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens path with the sqlite driver and nothing of this package, the
// way another tool (or an older or newer latchkey) would.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("sql.Open %s: %v", dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func userVersionOf(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatalf("PRAGMA user_version: %v", err)
	}
	return v
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(&n); err != nil {
		t.Fatalf("look up table %s: %v", name, err)
	}
	return n == 1
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const insertRevisionSQL = `INSERT INTO visit_revisions (
		visit_id, revision, recorded_at, visited_at, rep,
		building_name, building_address, building_city, building_units,
		contact_name, contact_role, contact_phone, contact_email,
		outcome, objections, objection_notes, incentive, follow_up, notes
	) VALUES (?, ?, '2025-01-02T03:04:05Z', '2025-01-02T03:04:05Z', 'rep',
		'b', 'addr', 'city', 12, 'c', 'manager', '', '', 'interested', '', '', '', '', '')`

// insertRevision writes a minimal visit_revisions row.
func insertRevision(ctx context.Context, db execer, id string, revision int) error {
	_, err := db.ExecContext(ctx, insertRevisionSQL, id, revision)
	return err
}

// insertNote writes a row into a table the test owns, creating it first, so
// that bulk writes do not depend on columns other packages are still shaping.
func insertNote(ctx context.Context, db execer, id string) error {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS test_notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)"); err != nil {
		return fmt.Errorf("create test_notes: %w", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO test_notes (id, body) VALUES (?, ?)", id, strings.Repeat(id, 8)); err != nil {
		return fmt.Errorf("insert note %s: %w", id, err)
	}
	return nil
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestOpenCreatesFileAndMigrates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rel  string // path relative to a temp dir; directories do not exist yet
	}{
		{"file in existing dir", "latchkey.db"},
		{"missing directories", "a/b/c/latchkey.db"},
		{"name needing escaping", "dir with space/late#st?ore%.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			p := filepath.Join(dir, tt.rel)

			s, err := Open(ctx, p)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := s.Path(); got != p || !filepath.IsAbs(got) {
				t.Errorf("Path() = %q, want absolute %q", got, p)
			}
			if got := userVersionOf(t, s.DB()); got != SchemaVersion() {
				t.Errorf("user_version = %d, want SchemaVersion() %d", got, SchemaVersion())
			}
			for _, table := range []string{"visit_revisions", "visits"} {
				if !tableExists(t, s.DB(), table) {
					t.Errorf("table %s missing after Open", table)
				}
			}
			if err := s.Tx(ctx, func(tx *sql.Tx) error { return insertRevision(ctx, tx, "v1", 1) }); err != nil {
				t.Fatalf("write after Open: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			// The file is where we asked, not somewhere the DSN escaping put it.
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("database file not created at %s: %v", p, err)
			}
			if fi.Size() == 0 {
				t.Errorf("database file %s is empty after Open and a write", p)
			}
			entries, err := os.ReadDir(filepath.Dir(p))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if n := e.Name(); n != filepath.Base(p) && !strings.HasPrefix(n, filepath.Base(p)+"-") {
					t.Errorf("unexpected file %q next to the database", n)
				}
			}

			// Reopening applies nothing: were 0001 run again its CREATE TABLE
			// would fail, and the row written above would be gone.
			s2, err := Open(ctx, p)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s2.Close()
			if got := userVersionOf(t, s2.DB()); got != SchemaVersion() {
				t.Errorf("user_version after reopen = %d, want %d", got, SchemaVersion())
			}
			if n := countRows(t, s2.DB(), "visit_revisions"); n != 1 {
				t.Errorf("visit_revisions after reopen = %d, want 1", n)
			}
		})
	}
}

func TestOpenRelativePathIsMadeAbsolute(t *testing.T) {
	// Not parallel: changes the working directory.
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := Open(context.Background(), filepath.Join("sub", "rel.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	want := filepath.Join(dir, "sub", "rel.db")
	if s.Path() != want {
		t.Errorf("Path() = %q, want %q", s.Path(), want)
	}
	if _, err := os.Stat(want); err != nil {
		t.Errorf("file not at %s: %v", want, err)
	}
}

func TestOpenUncreatableDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(blocker, "sub", "latchkey.db")
	_, err := Open(context.Background(), p)
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("Open under a file: err = %v (%T), want *FileError", err, err)
	}
	if fe.Path != p || !strings.Contains(err.Error(), p) {
		t.Errorf("FileError path %q / message %q, want path %q", fe.Path, err, p)
	}
}

// TestMigrateAppliesOnlyMissing drives migrate with made-up migration lists
// on one file to show which ones run.
func TestMigrateAppliesOnlyMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "m.db")
	real := migrations()
	last := real[len(real)-1].version

	s, err := open(ctx, p, real)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	s.Close()

	// The real migrations again, but every one replaced with SQL that
	// cannot run, plus one new migration: only the new one may run.
	var migs []migration
	for _, m := range real {
		migs = append(migs, migration{version: m.version, name: m.name, sql: "THIS IS NOT SQL"})
	}
	migs = append(migs, migration{version: last + 1, name: "extra", sql: "CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (1);"})
	s, err = open(ctx, p, migs)
	if err != nil {
		t.Fatalf("open with one new migration: %v", err)
	}
	if got := userVersionOf(t, s.DB()); got != last+1 {
		t.Errorf("user_version = %d, want %d", got, last+1)
	}
	var n int
	if err := s.DB().QueryRow("SELECT count(*) FROM extra").Scan(&n); err != nil || n != 1 {
		t.Errorf("extra rows = %d, %v; want 1 (migration ran exactly once)", n, err)
	}
	s.Close()

	// And opening again runs nothing at all.
	s, err = open(ctx, p, migs)
	if err != nil {
		t.Fatalf("third open: %v", err)
	}
	if err := s.DB().QueryRow("SELECT count(*) FROM extra").Scan(&n); err != nil || n != 1 {
		t.Errorf("extra rows after reopen = %d, %v; want 1", n, err)
	}
	s.Close()
}

// TestMigrateFailureRollsBack shows a migration that fails halfway leaves
// neither its tables nor a bumped version behind.
func TestMigrateFailureRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "m.db")
	real := migrations()
	last := real[len(real)-1].version
	migs := append(append([]migration(nil), real...), migration{
		version: last + 1, name: "broken",
		sql: "CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);",
	})

	_, err := open(ctx, p, migs)
	if err == nil {
		t.Fatal("open with a broken migration succeeded")
	}
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != p {
		t.Errorf("err = %v, want *FileError for %s", err, p)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%04d_broken", last+1)) {
		t.Errorf("error %q does not name the migration", err)
	}

	db := rawDB(t, "file:"+p)
	if got := userVersionOf(t, db); got != last {
		t.Errorf("user_version = %d, want %d (earlier migrations kept, broken one not recorded)", got, last)
	}
	if tableExists(t, db, "half") {
		t.Error("table from the failed migration survived")
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)

	// Holding the first connection forces the pool to dial a second and a
	// third, which only get the pragmas if they are in the DSN.
	const n = 3
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatalf("Conn %d: %v", i, err)
		}
		defer c.Close()
		conns[i] = c
	}

	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", strconv.FormatInt(BusyTimeout.Milliseconds(), 10)},
	}
	for i, c := range conns {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("conn%d/%s", i, tt.pragma), func(t *testing.T) {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
					t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
				}
				if !strings.EqualFold(got, tt.want) {
					t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
				}
			})
		}
	}

	// The connections really are different ones: a temp table is private to
	// its connection, so if two Conns shared one the second CREATE would fail.
	for i, c := range conns {
		if _, err := c.ExecContext(ctx, "CREATE TEMP TABLE mine (x)"); err != nil {
			t.Fatalf("conn%d shares a driver connection: %v", i, err)
		}
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE parent (id TEXT PRIMARY KEY);
		CREATE TABLE child (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES parent (id))`); err != nil {
		t.Fatal(err)
	}
	// Each attempt may land on a different pooled connection; all must
	// enforce the reference.
	for i := range 5 {
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO child VALUES (?, 'nobody')", fmt.Sprint(i))
			return err
		})
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			t.Fatalf("child row without parent: err = %v, want SQLITE_CONSTRAINT_FOREIGNKEY", err)
		}
		if errors.Is(err, ErrBusy) || errors.Is(err, ErrCorrupt) {
			t.Errorf("constraint error classified as %v", err)
		}
	}
	if n := countRows(t, s.DB(), "child"); n != 0 {
		t.Errorf("child rows = %d after failed inserts; want 0", n)
	}
}

var (
	migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9]+(_[a-z0-9]+)*\.sql$`)
	txControl     = regexp.MustCompile(`(?im)^\s*(BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*;|COMMIT\b|END\s+TRANSACTION\b|ROLLBACK\b|PRAGMA\s+user_version\b)`)
)

func TestMigrationFiles(t *testing.T) {
	t.Parallel()
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no migrations embedded")
	}
	seen := map[int]string{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			t.Errorf("migration %q is not named NNNN_name.sql", e.Name())
			continue
		}
		v, _ := strconv.Atoi(m[1])
		if prev, ok := seen[v]; ok {
			t.Errorf("migrations %q and %q share number %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
	}

	migs := migrations()
	if len(migs) != len(entries) {
		t.Errorf("migrations() has %d entries, embedded dir has %d", len(migs), len(entries))
	}
	for i, m := range migs {
		t.Run(fmt.Sprintf("%04d_%s", m.version, m.name), func(t *testing.T) {
			if m.version != i+1 {
				t.Errorf("migration %d has number %d; numbers must run 1, 2, 3… without gaps", i, m.version)
			}
			if strings.TrimSpace(m.sql) == "" {
				t.Error("migration is empty")
			}
			if strings.Contains(m.name, ".") {
				t.Errorf("name %q still carries an extension", m.name)
			}
			// migrate wraps each file in its own transaction and sets
			// user_version itself; a file that does either would break that.
			// (BEGIN … END inside CREATE TRIGGER is fine.)
			if loc := txControl.FindStringIndex(m.sql); loc != nil {
				t.Errorf("migration controls its own transaction or version: %q", m.sql[loc[0]:loc[1]])
			}
		})
	}
	if got, want := SchemaVersion(), migs[len(migs)-1].version; got != want {
		t.Errorf("SchemaVersion() = %d, want last migration %d", got, want)
	}
	if SchemaVersion() != len(migs) {
		t.Errorf("SchemaVersion() = %d with %d migrations", SchemaVersion(), len(migs))
	}
}

func TestTooNewSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ahead int
	}{
		{"one ahead", 1},
		{"far ahead", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := filepath.Join(t.TempDir(), "new.db")
			s, err := Open(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Tx(ctx, func(tx *sql.Tx) error { return insertRevision(ctx, tx, "v1", 1) }); err != nil {
				t.Fatal(err)
			}
			s.Close()

			future := SchemaVersion() + tt.ahead
			db, err := sql.Open("sqlite", "file:"+p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", future)); err != nil {
				t.Fatal(err)
			}
			db.Close()
			before := readFile(t, p)

			s, err = Open(ctx, p)
			if err == nil {
				s.Close()
				t.Fatal("Open of a newer schema succeeded")
			}
			if !errors.Is(err, ErrTooNew) {
				t.Errorf("err = %v, want ErrTooNew", err)
			}
			if errors.Is(err, ErrCorrupt) {
				t.Errorf("newer schema reported as damaged: %v", err)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != p {
				t.Errorf("err = %#v, want *FileError with Path %s", err, p)
			}
			for _, want := range []string{p, strconv.Itoa(future), strconv.Itoa(SchemaVersion())} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			if after := readFile(t, p); string(after) != string(before) {
				t.Error("Open changed the bytes of a newer database")
			}
			check := rawDB(t, "file:"+p)
			if got := userVersionOf(t, check); got != future {
				t.Errorf("user_version = %d after failed Open, want %d", got, future)
			}
		})
	}
}

func TestVisitRevisionsImmutable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sql  string
	}{
		{"update a column", "UPDATE visit_revisions SET notes = 'changed' WHERE visit_id = 'v1'"},
		{"update the key", "UPDATE visit_revisions SET revision = 2 WHERE visit_id = 'v1'"},
		{"delete one", "DELETE FROM visit_revisions WHERE visit_id = 'v1'"},
		{"delete all", "DELETE FROM visit_revisions"},
		{"upsert", `INSERT INTO visit_revisions (
			visit_id, revision, recorded_at, visited_at, rep,
			building_name, building_address, building_city, building_units,
			contact_name, contact_role, contact_phone, contact_email,
			outcome, objections, objection_notes, incentive, follow_up, notes)
			SELECT visit_id, revision, recorded_at, visited_at, rep,
			building_name, building_address, building_city, building_units,
			contact_name, contact_role, contact_phone, contact_email,
			outcome, objections, objection_notes, incentive, follow_up, notes
			FROM visit_revisions WHERE visit_id = 'v1'
			ON CONFLICT (visit_id, revision) DO UPDATE SET notes = 'changed'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openTest(t)
			if err := s.Tx(ctx, func(tx *sql.Tx) error { return insertRevision(ctx, tx, "v1", 1) }); err != nil {
				t.Fatalf("insert: %v", err)
			}
			err := s.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, tt.sql)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "immutable") {
				t.Errorf("%s: err = %v, want the immutability trigger to abort it", tt.sql, err)
			}
			// Outside Tx too, on a plain pooled connection.
			if _, err := s.DB().ExecContext(ctx, tt.sql); err == nil || !strings.Contains(err.Error(), "immutable") {
				t.Errorf("%s outside Tx: err = %v, want abort", tt.sql, err)
			}
			var notes string
			var n int
			if err := s.DB().QueryRow("SELECT count(*), max(notes) FROM visit_revisions WHERE visit_id = 'v1' AND revision = 1").Scan(&n, &notes); err != nil {
				t.Fatal(err)
			}
			if n != 1 || notes != "" {
				t.Errorf("row after %s: count %d notes %q, want the original row", tt.name, n, notes)
			}
		})
	}
}

// TestVisitRevisionsNoReplace checks that INSERT OR REPLACE cannot swap a
// stored revision for a new one. SQLite deletes the old row without firing
// DELETE triggers unless recursive_triggers is on
// (https://sqlite.org/lang_conflict.html), so the delete trigger alone does
// not stop it.
func TestVisitRevisionsNoReplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if err := s.Tx(ctx, func(tx *sql.Tx) error { return insertRevision(ctx, tx, "v1", 1) }); err != nil {
		t.Fatalf("insert: %v", err)
	}
	replace := strings.Replace(insertRevisionSQL, "INSERT INTO", "INSERT OR REPLACE INTO", 1)
	replace = strings.Replace(replace, "'interested'", "'rejected'", 1)
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, replace, "v1", 1)
		return err
	})
	var outcome string
	if err := s.DB().QueryRow("SELECT outcome FROM visit_revisions WHERE visit_id = 'v1' AND revision = 1").Scan(&outcome); err != nil {
		t.Fatal(err)
	}
	if err == nil || outcome != "interested" {
		t.Fatalf("INSERT OR REPLACE rewrote a stored revision (err %v, outcome now %q)", err, outcome)
	}
	if !strings.Contains(err.Error(), "immutable") {
		t.Errorf("INSERT OR REPLACE: err = %v, want the immutability error", err)
	}
}

func TestTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertRevision(ctx, tx, "v1", 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Tx err = %v, want fn's error", err)
	}
	var n int
	if err := s.DB().QueryRow("SELECT count(*) FROM visit_revisions").Scan(&n); err != nil || n != 0 {
		t.Errorf("rows after rolled back Tx = %d, %v; want 0", n, err)
	}
}

// busyError returns a real SQLITE_BUSY from the driver: one connection holds
// the write lock, another with no busy timeout asks for it.
func busyError(t *testing.T) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "busy.db")
	holder := rawDB(t, "file:"+p+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	other := rawDB(t, "file:"+p+"?_pragma=busy_timeout(0)&_txlock=immediate")
	tx2, err := other.Begin()
	if err == nil {
		tx2.Rollback()
		t.Fatal("second write transaction began while the first held the lock")
	}
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("second BEGIN IMMEDIATE: %v, want SQLITE_BUSY", err)
	}
	return err
}

// corruptError returns a real SQLITE_NOTADB from the driver.
func corruptError(t *testing.T) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(p, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, "file:"+p)
	var n int
	err := db.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n)
	if err == nil {
		t.Fatal("query on a text file succeeded")
	}
	return err
}

// constraintError returns a real SQLITE_CONSTRAINT from the driver.
func constraintError(t *testing.T) error {
	t.Helper()
	db := rawDB(t, "file:"+filepath.Join(t.TempDir(), "c.db"))
	if _, err := db.Exec("CREATE TABLE t (x NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec("INSERT INTO t VALUES (NULL)")
	if err == nil {
		t.Fatal("NOT NULL not enforced")
	}
	return err
}

func TestClassify(t *testing.T) {
	t.Parallel()
	plain := errors.New("plain")
	tests := []struct {
		name     string
		err      func(t *testing.T) error
		want     error // sentinel the result must match; nil for none
		sameErr  bool  // Classify must return its argument unchanged
		contains string
	}{
		{name: "nil", err: func(*testing.T) error { return nil }},
		{name: "not sqlite", err: func(*testing.T) error { return plain }, sameErr: true},
		{name: "constraint passes through", err: constraintError, sameErr: true},
		{name: "busy", err: busyError, want: ErrBusy, contains: "locked"},
		{name: "wrapped busy", err: func(t *testing.T) error { return fmt.Errorf("save visit: %w", busyError(t)) }, want: ErrBusy},
		{name: "not a database", err: corruptError, want: ErrCorrupt, contains: "not a database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.err(t)
			got := Classify(in)
			switch {
			case in == nil:
				if got != nil {
					t.Errorf("Classify(nil) = %v", got)
				}
				return
			case tt.sameErr:
				if got != in {
					t.Errorf("Classify(%v) = %v, want it unchanged", in, got)
				}
			}
			for _, s := range []error{ErrBusy, ErrCorrupt, ErrTooNew, ErrNotFound} {
				if is := errors.Is(got, s); is != (s == tt.want) {
					t.Errorf("errors.Is(Classify(%v), %v) = %v", in, s, is)
				}
			}
			if tt.contains != "" && !strings.Contains(got.Error(), tt.contains) {
				t.Errorf("Classify message %q lacks the driver's %q", got, tt.contains)
			}
			if Classify(got).Error() != got.Error() {
				t.Errorf("Classify is not idempotent: %q then %q", got, Classify(got))
			}
		})
	}
}

// TestClassifyKeepsDriverError checks the promise in Classify's doc comment
// ("keeping the original error in the chain"), so callers can still read the
// extended result code.
func TestClassifyKeepsDriverError(t *testing.T) {
	t.Parallel()
	got := Classify(busyError(t))
	var se *sqlite.Error
	if !errors.As(got, &se) {
		t.Fatalf("Classify drops the *sqlite.Error from the chain: %v", got)
	}
	if se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Errorf("code in chain = %d, want SQLITE_BUSY", se.Code())
	}
}

// TestTxBusyIsClassified shows that Store.Tx reports a writer that cannot get
// the lock as ErrBusy. The store's own 15 s timeout is too long for a test,
// so a Store is built on a DSN with a short one.
func TestTxBusyIsClassified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	short := strings.Replace(dsn(s.Path()), "_busy_timeout="+strconv.FormatInt(BusyTimeout.Milliseconds(), 10), "_busy_timeout=50", 1)
	if short == dsn(s.Path()) {
		t.Fatalf("DSN %q has no busy timeout to shorten", short)
	}
	impatient := &Store{db: rawDB(t, short), path: s.Path()}

	hold := make(chan struct{})
	held := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Tx(ctx, func(tx *sql.Tx) error {
			if err := insertNote(ctx, tx, "holder"); err != nil {
				return err
			}
			close(held)
			<-hold
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("holder Tx ended before holding the lock: %v", err)
	}
	start := time.Now()
	err := impatient.Tx(ctx, func(tx *sql.Tx) error { return insertNote(ctx, tx, "waiter") })
	close(hold)
	if !errors.Is(err, ErrBusy) {
		t.Errorf("Tx while another holds the lock: err = %v, want ErrBusy", err)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("gave up after %v, before the 50ms busy timeout", el)
	}
	if err := <-done; err != nil {
		t.Fatalf("holder Tx: %v", err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenSchema(t *testing.T) {
	ctx := context.Background()
	good := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"m/0002_b.sql": {Data: []byte("CREATE TABLE b (y INTEGER);")},
	}
	p := filepath.Join(t.TempDir(), "hub.db")
	s, err := OpenSchema(ctx, p, good, "m")
	if err != nil {
		t.Fatalf("OpenSchema: %v", err)
	}
	var v int
	if err := s.DB().QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != 2 {
		t.Errorf("user_version = %d, %v; want 2", v, err)
	}
	if _, err := s.DB().ExecContext(ctx, "INSERT INTO b (y) VALUES (1)"); err != nil {
		t.Errorf("table from second migration: %v", err)
	}
	s.Close()

	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"m/0001_a.sql": {Data: []byte("SELECT 1;")}, "m/0003_c.sql": {Data: []byte("SELECT 1;")}},
		"bad name":  {"m/first.sql": {Data: []byte("SELECT 1;")}},
		"not sql":   {"m/0001_a.txt": {Data: []byte("SELECT 1;")}},
		"empty dir": {"other/0001_a.sql": {Data: []byte("SELECT 1;")}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := OpenSchema(ctx, filepath.Join(t.TempDir(), "x.db"), fsys, "m")
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("OpenSchema = %v, want a FileError", err)
			}
		})
	}
}
