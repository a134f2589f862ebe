package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
)

// admin runs statements on the test server as its own (super)user.
func admin(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// schemaExists reports whether the test database holds a schema so named.
func schemaExists(t *testing.T, schema string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// schemaOf is the first schema of dsn's search_path.
func schemaOf(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return firstSchema(cfg.ConnConfig.RuntimeParams["search_path"])
}

// asRole is dsn with another user and password, in either DSN form.
func asRole(t *testing.T, dsn, role, password string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " user=" + role + " password=" + password
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, password)
	return u.String()
}

func randomHex(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// TestOpenLeastPrivilege opens the store as a role that owns its schema
// and may not create schemas in the database (docs/hub-postgres.md's
// least-privilege setup): Open must not need CREATE on the database once
// the schema is there, and the role can use, reopen and drop it.
func TestOpenLeastPrivilege(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.MissingSchemaDSN(t)
	schema := schemaOf(t, dsn)
	role, password := "t_role_"+randomHex(t), randomHex(t)
	admin(t, `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN PASSWORD '`+password+`'`)
	t.Cleanup(func() {
		admin(t, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		admin(t, `DROP ROLE IF EXISTS `+pgx.Identifier{role}.Sanitize())
	})
	admin(t, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()+` AUTHORIZATION `+pgx.Identifier{role}.Sanitize())

	mine := asRole(t, dsn, role, password)
	pool, err := pgxpool.New(ctx, mine) // the DSN's pool_max_conns is a pool's
	if err != nil {
		t.Fatal(err)
	}
	var canCreate bool
	err = pool.QueryRow(ctx, `SELECT has_database_privilege(current_user, current_database(), 'CREATE')`).Scan(&canCreate)
	pool.Close()
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	if canCreate {
		t.Skipf("a new role may create schemas in this database (CREATE granted to PUBLIC): nothing to test")
	}

	// The first Open migrates the empty schema, the second finds it up to
	// date.
	s, err := Open(ctx, mine)
	if err != nil {
		t.Fatalf("Open as a role without CREATE on the database: %v", err)
	}
	if _, err := enrollWith(t, s, "alice", hubapi.RoleInstaller, user("alice")); err != nil {
		t.Errorf("Enroll: %v", err)
	}
	s.Close()
	s, err = Open(ctx, mine)
	if err != nil {
		t.Fatalf("second Open as a role without CREATE on the database: %v", err)
	}
	defer s.Close()
	if u, err := s.User(ctx, "alice"); err != nil || u.Name != "alice" {
		t.Errorf("User after reopening = %+v, %v", u, err)
	}
	if err := s.DropSchema(ctx); err != nil {
		t.Fatalf("DropSchema as the schema's owner: %v", err)
	}
	if schemaExists(t, schema) {
		t.Errorf("schema %s still there after DropSchema", schema)
	}
}

// TestDropSchema drops the schema Open made, tables and all.
func TestDropSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.MissingSchemaDSN(t)
	schema := schemaOf(t, dsn)
	s := openAt(t, dsn)
	if _, err := s.Intake(ctx, intakeReq("k1", record("rec-1", "LK-1", now))); err != nil {
		t.Fatal(err)
	}
	if !schemaExists(t, schema) {
		t.Fatalf("schema %s missing after Open", schema)
	}
	if err := s.DropSchema(ctx); err != nil {
		t.Fatalf("DropSchema: %v", err)
	}
	if schemaExists(t, schema) {
		t.Errorf("schema %s still there after DropSchema", schema)
	}
	if _, err := s.Records(ctx, hub.RecordFilter{}); err == nil {
		t.Error("Records after DropSchema: no error, want the table gone")
	}
}

// TestDropSchemaRefuses: no schema named, public, $user (either form) and
// system schemas are never dropped; nothing reaches the database.
func TestDropSchemaRefuses(t *testing.T) {
	ctx := context.Background()
	for _, searchPath := range []string{"", "public", "PUBLIC, x", "$user, public", `"$user", public`, "pg_catalog", "pg_temp", "information_schema"} {
		s := &Store{schema: firstSchema(searchPath)} // no pool: it must not be used
		if err := s.DropSchema(ctx); err == nil {
			t.Errorf("DropSchema with search_path %q: no error", searchPath)
		}
	}
}
