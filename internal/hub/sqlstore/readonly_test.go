package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"github.com/latchkey/latchkey/internal/testutil/dirtest"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/store"
)

// checkUnchanged fails unless dir holds the files of before, byte for
// byte. With wal, an empty -wal and a -shm file may appear beside a WAL
// database: SQLite's read-only readers of one need them (the database file
// is still not written).
func checkUnchanged(t *testing.T, dir string, before map[string][]byte, wal bool) {
	t.Helper()
	after := dirtest.Files(t, dir)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed: %d bytes before, %d after", name, len(b), len(after[name]))
		}
	}
	for name, b := range after {
		if _, ok := before[name]; ok {
			continue
		}
		switch {
		case wal && strings.HasSuffix(name, "-shm"):
		case wal && strings.HasSuffix(name, "-wal") && len(b) == 0:
		default:
			t.Errorf("%s (%d bytes) appeared next to the database", name, len(b))
		}
	}
}

// TestOpenReadOnlyRefusesOtherFiles: a SQLite file that is not a hub's and a
// file that is not SQLite are refused as ErrNotHub, and neither is touched
// (Open would have given the first the hub's tables and WAL mode).
func TestOpenReadOnlyRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.db")
	db, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	text := filepath.Join(dir, "readme.txt")
	if err := os.WriteFile(text, bytes.Repeat([]byte("not a database\n"), 300), 0o600); err != nil {
		t.Fatal(err)
	}
	before := dirtest.Files(t, dir)
	for _, p := range []string{other, text} {
		r, err := OpenReadOnly(ctx, p)
		if err == nil {
			r.Close()
			t.Errorf("OpenReadOnly %s: no error, want ErrNotHub", filepath.Base(p))
		} else if !errors.Is(err, ErrNotHub) {
			t.Errorf("OpenReadOnly %s: %v, want ErrNotHub", filepath.Base(p), err)
		}
	}
	if _, err := OpenReadOnly(ctx, filepath.Join(dir, "missing.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenReadOnly of a missing file: %v, want it not to exist", err)
	}
	checkUnchanged(t, dir, before, false)
}

// TestOpenReadOnlyRefusesOldSchema: a hub database of an older schema is
// refused with the way to upgrade it, and not migrated.
func TestOpenReadOnlyRefusesOldSchema(t *testing.T) {
	ctx := context.Background()
	old := fstest.MapFS{}
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries[:len(entries)-1] {
		b, err := fs.ReadFile(migrations, "migrations/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+e.Name()] = &fstest.MapFile{Data: b}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.db")
	st, err := store.OpenSchema(ctx, path, old, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	before := dirtest.Files(t, dir)
	_, err = OpenReadOnly(ctx, path)
	if !errors.Is(err, ErrOldSchema) || !strings.Contains(err.Error(), "latchkey hub serve") {
		t.Fatalf("OpenReadOnly of a version %d hub: %v, want ErrOldSchema saying how to upgrade", len(entries)-1, err)
	}
	checkUnchanged(t, dir, before, true)
}

// TestOpenReadOnlyDumps: an up-to-date hub, closed or still open by
// another store, dumps the same rows as Store.Dump, and the file is the
// same after.
func TestOpenReadOnlyDumps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enrollWith(t, s, "alice", hubapi.RoleSales, user("alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.PinKey(ctx, bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	dumpOf := func(dump func(context.Context, func(Table, int) error, func([]any) error) error) map[string]int {
		t.Helper()
		rows := map[string]int{}
		var cur string
		err := dump(ctx, func(tb Table, n int) error { cur = tb.Name; rows[cur] = n; return nil },
			func([]any) error { rows[cur+" read"]++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	want := dumpOf(s.Dump)
	if want["users"] != 1 || want["users read"] != 1 || want["hub_key"] != 1 {
		t.Fatalf("Store.Dump rows = %v", want)
	}

	// While the store is open (its WAL in use).
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("OpenReadOnly beside an open store: %v", err)
	}
	if got := dumpOf(r.Dump); len(got) != len(want) || got["users read"] != 1 || got["hub_key read"] != 1 {
		t.Errorf("ReadOnly.Dump rows = %v, want %v", got, want)
	}
	r.Close()
	s.Close()

	// Closed: nothing may change.
	before := dirtest.Files(t, dir)
	r, err = OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	if got := dumpOf(r.Dump); len(got) != len(want) || got["users read"] != 1 {
		t.Errorf("ReadOnly.Dump rows = %v, want %v", got, want)
	}
	if _, err := r.db.ExecContext(ctx, `DELETE FROM denylist`); err == nil {
		t.Error("a write through the read-only database succeeded")
	}
	r.Close()
	checkUnchanged(t, dir, before, true)
}
