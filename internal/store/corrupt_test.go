package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// garbage returns n reproducible bytes that do not start with the SQLite
// magic string.
func garbage(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// realDatabase writes a migrated database holding rows to p and returns its
// page size.
func realDatabase(t *testing.T, p string, rows int) int {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		for i := range rows {
			id := fmt.Sprintf("visit-%04d", i)
			if err := insertRevision(ctx, tx, id, 1); err != nil {
				return err
			}
			if err := insertNote(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var pageSize int
	if err := s.DB().QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	// Closing the last connection checkpoints the WAL into the main file
	// and removes it, so everything below is in the one file we damage.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WAL file left after Close: %v", err)
	}
	return pageSize
}

// overwrite replaces p's bytes from offset on with garbage, keeping its size.
func overwrite(t *testing.T, p string, from int) {
	t.Helper()
	b := readFile(t, p)
	if len(b) <= from {
		t.Fatalf("%s is %d bytes, nothing after %d to damage", p, len(b), from)
	}
	copy(b[from:], garbage(len(b)-from, uint64(from)))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkDamageError asserts err is a store error about a damaged file at p.
func checkDamageError(t *testing.T, err error, p string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error for a damaged database")
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("err = %v, want ErrCorrupt", err)
	}
	for _, s := range []error{ErrTooNew, ErrBusy} {
		if errors.Is(err, s) {
			t.Errorf("err = %v also matches %v", err, s)
		}
	}
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Errorf("err = %v (%T), want a *FileError", err, err)
	} else if fe.Path != p {
		t.Errorf("FileError.Path = %q, want %q", fe.Path, p)
	}
	if !strings.Contains(err.Error(), p) {
		t.Errorf("message %q does not name %s", err, p)
	}
}

func TestOpenDamagedFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// make writes the damaged file at p.
		make func(t *testing.T, p string)
	}{
		{"random bytes", func(t *testing.T, p string) {
			writeFile(t, p, garbage(64<<10, 1))
		}},
		{"two bytes", func(t *testing.T, p string) {
			writeFile(t, p, []byte{0x42, 0x42})
		}},
		{"short text file", func(t *testing.T, p string) {
			writeFile(t, p, []byte("visits: none yet\n"))
		}},
		{"long text file", func(t *testing.T, p string) {
			writeFile(t, p, []byte(strings.Repeat("building,outcome,rep\nMain St 1,interested,ana\n", 500)))
		}},
		{"magic string then garbage", func(t *testing.T, p string) {
			writeFile(t, p, append([]byte("SQLite format 3\x00"), garbage(8192, 2)...))
		}},
		{"header kept, rest of page 1 garbage", func(t *testing.T, p string) {
			realDatabase(t, p, 200)
			overwrite(t, p, 100) // the 100-byte header survives, sqlite_master does not
		}},
		{"truncated to half the header", func(t *testing.T, p string) {
			realDatabase(t, p, 10)
			b := readFile(t, p)
			writeFile(t, p, b[:50])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "latchkey.db")
			tt.make(t, p)
			before := readFile(t, p)

			s, err := Open(context.Background(), p)
			if err == nil {
				s.Close()
			}
			checkDamageError(t, err, p)

			if after := readFile(t, p); !bytes.Equal(before, after) {
				t.Errorf("Open changed the damaged file (%d bytes before, %d after)", len(before), len(after))
			}
			// A second attempt fails the same way: nothing was "repaired".
			_, err2 := Open(context.Background(), p)
			if !errors.Is(err2, ErrCorrupt) {
				t.Errorf("second Open: %v, want ErrCorrupt again", err2)
			}
			if after := readFile(t, p); !bytes.Equal(before, after) {
				t.Error("second Open changed the damaged file")
			}
		})
	}
}

// TestDamagedPagesAfterFirst keeps page 1 (header and schema) of a real
// database and overwrites every later page. Page 1 is all Open reads, so
// whether Open notices depends on the store; either Open or the first query
// must report ErrCorrupt, and the file must not change.
func TestDamagedPagesAfterFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "latchkey.db")
	pageSize := realDatabase(t, p, 300)
	overwrite(t, p, pageSize)
	before := readFile(t, p)

	s, err := Open(ctx, p)
	if err != nil {
		checkDamageError(t, err, p)
	} else {
		defer s.Close()
		t.Logf("Open of a database with damaged pages after page 1 succeeded (only page 1 is read); the damage shows on the first query")

		queries := []struct {
			name string
			run  func() error
		}{
			{"count notes", func() error {
				var n int
				return s.DB().QueryRowContext(ctx, "SELECT count(*) FROM test_notes").Scan(&n)
			}},
			{"list revisions", func() error {
				rows, err := s.DB().QueryContext(ctx, "SELECT visit_id, notes FROM visit_revisions ORDER BY visit_id")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
				}
				return rows.Err()
			}},
			{"write through Tx", func() error {
				return s.Tx(ctx, func(tx *sql.Tx) error { return insertRevision(ctx, tx, "new-visit", 1) })
			}},
		}
		for _, q := range queries {
			err := Classify(q.run())
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: err = %v, want ErrCorrupt", q.name, err)
			}
			var fe *FileError
			if errors.As(err, &fe) {
				t.Logf("%s: names the file: %v", q.name, err)
			} else {
				t.Logf("%s: error does not name the file (no *FileError): %v", q.name, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Logf("Close: %v", err)
		}
	}
	if after := readFile(t, p); !bytes.Equal(before, after) {
		t.Error("the damaged file changed")
	}
}

// TestOpenEmptyFile records what Open does with a 0-byte file: SQLite treats
// it as a new, empty database, so Open migrates it like a missing file. That
// is safe because an empty file holds nothing to lose. SQLite's unix VFS also
// reports a 1-byte file as 0 bytes (it writes such a byte itself on some
// filesystems, see os_unix.c unixFileSize and SQLite ticket #3260), so a
// 1-byte file is likewise taken as new and overwritten.
func TestOpenEmptyFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content []byte
	}{
		{"0 bytes", nil},
		{"1 byte", []byte{0x42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := filepath.Join(t.TempDir(), "latchkey.db")
			writeFile(t, p, tt.content)
			s, err := Open(ctx, p)
			if err != nil {
				t.Fatalf("Open of a %d-byte file: %v", len(tt.content), err)
			}
			defer s.Close()
			if got := userVersionOf(t, s.DB()); got != SchemaVersion() {
				t.Errorf("user_version = %d, want %d", got, SchemaVersion())
			}
			if !tableExists(t, s.DB(), "visit_revisions") {
				t.Error("file not migrated")
			}
		})
	}
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
