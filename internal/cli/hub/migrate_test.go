package hub_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"github.com/latchkey/latchkey/internal/testutil/dirtest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// TestMigrateRefusesOtherFiles: `hub migrate --from` a SQLite file that is
// not a hub's, or a hub of an older schema, is refused before anything
// connects to PostgreSQL, and the file is byte for byte as it was (the
// hub's sqlstore.Open would have given it the hub's tables and WAL mode).
func TestMigrateRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	m := clitest.New(t, "migrate-refusals")
	const to = "postgres://nobody@127.0.0.1:1/hub?connect_timeout=5"

	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.db")
	db, err := sql.Open("sqlite", "file:"+notes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := dirtest.Files(t, dir)
	r := m.Run("hub", "migrate", "--from", notes, "--to", to)
	if r.Code != 1 || !strings.Contains(r.Stderr, "not a latchkey hub database") || strings.Contains(r.Stdout, "copied") {
		t.Errorf("hub migrate --from an unrelated SQLite file = exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	after := dirtest.Files(t, dir)
	if len(after) != len(before) || !bytes.Equal(after["notes.db"], before["notes.db"]) {
		t.Errorf("the unrelated file changed: %d files before, %d after", len(before), len(after))
	}

	// A hub of the schema before this build's: made current, then taken
	// back one version as an older build left it.
	old := filepath.Join(t.TempDir(), "hub.db")
	st, err := sqlstore.Open(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err = sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf(`DROP TABLE hub_key; PRAGMA user_version = %d`, sqlstore.SchemaVersion()-1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	oldBytes, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	r = m.Run("hub", "migrate", "--from", old, "--to", to)
	if r.Code != 1 || !strings.Contains(r.Stderr, "upgrade it by running 'latchkey hub serve' on it once, then migrate") {
		t.Errorf("hub migrate --from an older hub = exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if b, err := os.ReadFile(old); err != nil || !bytes.Equal(b, oldBytes) {
		t.Errorf("the older hub's file changed (%v)", err)
	}
}
