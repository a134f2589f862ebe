package store

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
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors callers branch on.
var (
	// ErrCorrupt means the file is not a SQLite database or its pages are damaged.
	ErrCorrupt = errors.New("database file is damaged")
	// ErrTooNew means the file's schema is newer than this build understands.
	ErrTooNew = errors.New("database was written by a newer latchkey")
	// ErrNotFound means a looked-up row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrBusy means another process held the write lock past the busy timeout.
	ErrBusy = errors.New("database is busy")
)

// BusyTimeout is how long a statement waits for another process's write lock
// before it fails. Writes here are single records, so a second latchkey
// process finishes within milliseconds; the margin covers a slow laptop disk
// doing fsync under synchronous=FULL.
const BusyTimeout = 15 * time.Second

// FileError ties a store failure to the database file it happened on.
type FileError struct {
	Path string
	Op   string
	Err  error
}

func (e *FileError) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Store is an open latchkey database.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens the database at path, creating it and its directory when missing,
// and applies any migrations this build has that the file lacks.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, migrations())
}

// OpenSchema is Open for another schema than the laptop's: the migrations
// are the NNNN_name.sql files in directory dir of fsys (the back office keeps
// its own). The file gets the same pragmas, locking and damage checks.
func OpenSchema(ctx context.Context, path string, fsys fs.FS, dir string) (*Store, error) {
	migs, err := readMigrations(fsys, dir)
	if err != nil {
		return nil, &FileError{Path: path, Op: "open database", Err: err}
	}
	return open(ctx, path, migs)
}

func open(ctx context.Context, path string, migs []migration) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &FileError{Path: path, Op: "open database", Err: err}
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, &FileError{Path: abs, Op: "open database", Err: err}
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, &FileError{Path: abs, Op: "open database", Err: err}
	}
	s := &Store{db: db, path: abs}
	if err := s.setUp(ctx, migs); err != nil {
		db.Close()
		return nil, &FileError{Path: abs, Op: "open database", Err: err}
	}
	return s, nil
}

// setUp makes the first connection and applies migrations, trying again
// while another process holds the file. Two processes opening a brand-new
// file at once both read it under a shared lock and then both ask for the
// exclusive lock that switching to WAL needs; SQLite refuses one of them at
// once, without its busy handler, to break the deadlock. That refusal is
// not a real conflict, so it gets the same patience as any other lock wait.
func (s *Store) setUp(ctx context.Context, migs []migration) error {
	deadline := time.Now().Add(BusyTimeout)
	wait := 5 * time.Millisecond
	for {
		err := s.migrate(ctx, migs)
		if err == nil || !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// dsn builds the connection string. Pragmas go in the DSN so that every
// pooled connection gets them, not only the first one.
func dsn(path string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	// BEGIN IMMEDIATE takes the write lock up front. A deferred transaction
	// that reads and then writes while another process commits fails at once
	// with SQLITE_BUSY, which no busy timeout can help; immediate ones queue.
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB is the connection pool, for reads outside a transaction.
func (s *Store) DB() *sql.DB { return s.db }

// Tx runs fn in a write transaction, committing when fn returns nil and
// rolling back otherwise. Errors are classified (see Check).
func (s *Store) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.Check(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return s.Check(err)
	}
	return s.Check(tx.Commit())
}

// Check classifies err like Classify and ties damage found after the file
// was opened (a bad page deep in a table) to this store's file, so the
// message names it.
func (s *Store) Check(err error) error {
	err = Classify(err)
	var fe *FileError
	if errors.Is(err, ErrCorrupt) && !errors.As(err, &fe) {
		return &FileError{Path: s.path, Op: "read database", Err: err}
	}
	return err
}

// Classify maps SQLite result codes onto this package's sentinel errors,
// keeping the driver's error in the chain too.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var c *classified
	if errors.As(err, &c) {
		return err
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return &classified{kind: ErrCorrupt, cause: err, detail: describe(se)}
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return &classified{kind: ErrBusy, cause: err, detail: describe(se)}
	}
	return err
}

// classified is a driver error sorted under one of the sentinels.
type classified struct {
	kind   error
	cause  error
	detail string
}

func (c *classified) Error() string   { return c.kind.Error() + " (" + c.detail + ")" }
func (c *classified) Unwrap() []error { return []error{c.kind, c.cause} }

// describe shortens the driver's message, which repeats the code in brackets.
func describe(se *sqlite.Error) string {
	msg := se.Error()
	if i := strings.Index(msg, " ("); i > 0 {
		msg = msg[:i]
	}
	return msg
}
