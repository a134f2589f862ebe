// Package pgstore owns the back office's PostgreSQL storage: the hub.Storage
// and hub.CourierLog implementation on a PostgreSQL database (pgx v5, one
// connection pool per Store), its numbered migrations in migrations/, the
// rules that keep it correct when several hub instances share the database
// (constraints and transactions, retried on serialization failures and
// deadlocks), and Migrate, which copies an existing SQLite hub
// (internal/hub/sqlstore) into an empty PostgreSQL one and proves the copy
// equal. It mirrors sqlstore's semantics exactly; both pass the conformance
// suite in internal/hub/storetest. docs/hub-postgres.md is the operator's
// guide.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/hub"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// StatementTimeout is the statement_timeout every connection gets unless the
// DSN sets one: no statement of the hub's runs anywhere near it, so one that
// does is stuck (a lock held by a hung client) and fails rather than hangs a
// request.
const StatementTimeout = 15 * time.Second

// IdleInTransactionTimeout is the idle_in_transaction_session_timeout every
// connection gets unless the DSN sets one: a transaction left open by a
// stuck process releases its locks after this long.
const IdleInTransactionTimeout = time.Minute

// Store is the hub's state in a PostgreSQL database (the first schema of the
// DSN's search_path).
type Store struct {
	pool   *pgxpool.Pool
	schema string // from the DSN's search_path; "" when it names none

	// sawRetryable, when set (by tests, before the store is used), is
	// called with every error of an inTx attempt that retry would run
	// again: the races the retries hide.
	sawRetryable func(error)
}

var (
	_ hub.Storage    = (*Store)(nil)
	_ hub.CourierLog = (*Store)(nil)
)

// Open connects to the PostgreSQL database at dsn (a postgres:// URL or a
// key=value DSN) with a pool, and brings the schema up to date. Every
// connection gets StatementTimeout and IdleInTransactionTimeout unless the
// DSN sets them (e.g. ?statement_timeout=30s). The pool is pgxpool's: at
// most max(4, number of CPUs) connections, 4 on a 2-core machine, unless
// the DSN says pool_max_conns=N. A search_path in the DSN (e.g.
// ?search_path=bench1) is honoured and its first schema made when missing
// (only then is CREATE on the database needed: a role that owns its schema
// and no more can open it). Migrations run in one transaction under a PostgreSQL advisory lock, so two
// hub instances starting at once do not race.
func Open(ctx context.Context, dsn string) (*Store, error) {
	fail := func(err error) (*Store, error) {
		return nil, fmt.Errorf("open hub database %s: %w", Redacted(dsn), err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fail(err)
	}
	params := cfg.ConnConfig.RuntimeParams
	setDefault := func(name, value string) {
		if _, ok := params[name]; !ok && !strings.Contains(params["options"], name) {
			params[name] = value
		}
	}
	setDefault("statement_timeout", strconv.FormatInt(StatementTimeout.Milliseconds(), 10))
	setDefault("idle_in_transaction_session_timeout", strconv.FormatInt(IdleInTransactionTimeout.Milliseconds(), 10))
	setDefault("application_name", "latchkey-hub")
	schema := firstSchema(params["search_path"])
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	s := &Store{pool: pool, schema: schema}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return fail(err)
	}
	return s, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// DropSchema drops the schema the store was opened on (the first of the
// DSN's search_path, made by Open when missing) with everything in it, as
// `hub bench` does with its scratch schemas. It refuses when the DSN named
// no schema, or named public or a system schema (pg_*, information_schema):
// those hold more than the hub's tables. The store is of no use after it.
func (s *Store) DropSchema(ctx context.Context) error {
	if err := droppable(s.schema); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{s.schema}.Sanitize()+` CASCADE`); err != nil {
		return fmt.Errorf("drop schema %s: %w", s.schema, err)
	}
	return nil
}

// droppable says why DropSchema must not drop schema (nil when it may).
func droppable(schema string) error {
	switch {
	case schema == "":
		return errors.New("drop schema: the database URL names no schema (set search_path=SCHEMA)")
	case schema == "public", schema == "$user", schema == "information_schema", strings.HasPrefix(schema, "pg_"):
		return fmt.Errorf("drop schema: refusing to drop %s, which is not a schema of the hub's own", schema)
	}
	return nil
}

// Ping checks that the database answers and holds the hub's schema.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Redacted returns dsn with any password (the connection's, or the client
// key's sslpassword) replaced by "xxxxx", for logs and error messages.
func Redacted(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "postgres://(unparsable DSN)"
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		secret := false
		for _, k := range []string{"password", "sslpassword"} {
			if q.Has(k) {
				q.Set(k, "xxxxx")
				secret = true
			}
		}
		if secret {
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return keywordPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// keywordPassword finds the value of password= or sslpassword= in a
// key=value DSN: quoted (with backslash escapes) or up to the next space.
var keywordPassword = regexp.MustCompile(`(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)

// firstSchema is the first schema named by a search_path setting ("" for
// none, or when it is $user, quoted or not: PostgreSQL reads both as the
// schema named after the connecting role, not a schema called "$user").
func firstSchema(searchPath string) string {
	first, _, _ := strings.Cut(searchPath, ",")
	first = strings.TrimSpace(first)
	if first == "$user" || first == `"$user"` {
		return ""
	}
	if len(first) >= 2 && first[0] == '"' && first[len(first)-1] == '"' {
		return strings.ReplaceAll(first[1:len(first)-1], `""`, `"`)
	}
	// Unquoted identifiers fold to lower case, as PostgreSQL reads them.
	return strings.ToLower(first)
}

// migration is one numbered file of migrations/.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads migrations/NNNN_name.sql, numbered from 1 without gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want number %d (numbers start at 1, no gaps)", m.name, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int {
	m, err := migrations()
	if err != nil || len(m) == 0 {
		return 0
	}
	return m[len(m)-1].version
}

// migrateLockKey is the advisory lock migrations of schema hold: one per
// schema, so that hubs in different schemas of one database start apart.
func migrateLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("latchkey hub migrations\x00" + schema))
	return int64(h.Sum64())
}

// migrate makes the schema when the DSN named a missing one and applies the
// migrations the database lacks, all in one transaction holding an
// advisory lock: a second hub starting at the same moment waits, then finds
// the work done.
func (s *Store) migrate(ctx context.Context) error {
	migs, err := migrations()
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Waiting for another instance's migrations is not a stuck
		// statement; the caller's context bounds it.
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = '10min'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey(s.schema)); err != nil {
			return fmt.Errorf("wait for the migration lock: %w", err)
		}
		if s.schema != "" {
			// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
			// the database even when the schema exists: a role that owns
			// its schema and no more could not start. So only a missing
			// schema is made.
			var missing bool
			if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`,
				s.schema).Scan(&missing); err != nil {
				return fmt.Errorf("look for schema %s: %w", s.schema, err)
			}
			if missing {
				if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
					return fmt.Errorf("create schema %s: %w", s.schema, err)
				}
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer NOT NULL PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if latest := len(migs); have > latest {
			return fmt.Errorf("the database's schema is version %d, newer than this build knows (%d): upgrade latchkey", have, latest)
		}
		for _, m := range migs[have:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bring schema up to date: %w", err)
	}
	return nil
}

// --- times ---

// splitTime splits t into the microsecond timestamptz holds and the 0-999
// nanoseconds below it (see migrations/0001_hub.sql).
func splitTime(t time.Time) (time.Time, int16) {
	t = t.UTC()
	us := t.Truncate(time.Microsecond)
	return us, int16(t.Sub(us))
}

// splitNullTime is splitTime with the zero time as NULL.
func splitNullTime(t time.Time) (any, int16) {
	if t.IsZero() {
		return nil, 0
	}
	return splitTime(t)
}

// joinTime puts a split time back together, in UTC.
func joinTime(us time.Time, ns int16) time.Time {
	return us.UTC().Add(time.Duration(ns))
}

// joinNullTime is joinTime with NULL as the zero time.
func joinNullTime(us *time.Time, ns int16) time.Time {
	if us == nil {
		return time.Time{}
	}
	return joinTime(*us, ns)
}

// badText reports whether any of ss cannot be PostgreSQL text: a NUL byte
// or bytes that are not UTF-8. PostgreSQL refuses such a parameter with an
// error (SQLSTATE 22021), so no stored value equals it; a lookup by one (a
// key id or name a client sent) is answered "not found" before it reaches
// the database, as SQLite answers it.
func badText(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}

// notFound turns pgx.ErrNoRows into hub.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return hub.ErrNotFound
	}
	return err
}
