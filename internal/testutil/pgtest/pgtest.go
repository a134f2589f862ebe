// Package pgtest gives tests a PostgreSQL database: the server named by
// LATCHKEY_TEST_POSTGRES (scripts/postgres starts one on loopback and prints
// its DSN), and a fresh, empty schema on it per test, dropped when the test
// ends. Without a server tests skip, unless LATCHKEY_REQUIRE_POSTGRES=1 (CI
// sets it), when they fail. It is used only by tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables the package reads.
const (
	// EnvDSN names the server: a postgres:// URL or key=value DSN whose
	// user may create schemas in the database.
	EnvDSN = "LATCHKEY_TEST_POSTGRES"
	// EnvRequire set to 1 turns a missing or unreachable server from a
	// skip into a failure.
	EnvRequire = "LATCHKEY_REQUIRE_POSTGRES"
)

// hint says how to get a server.
const hint = "start one with scripts/postgres and export " + EnvDSN + "=<the DSN it prints last>"

// reach checks each DSN once per test binary: a server that is down is
// down for every test.
var reach struct {
	sync.Mutex
	errs map[string]error
}

func reachable(dsn string) error {
	reach.Lock()
	defer reach.Unlock()
	if err, ok := reach.errs[dsn]; ok {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := func() error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return conn.Ping(ctx)
	}()
	if reach.errs == nil {
		reach.errs = map[string]error{}
	}
	reach.errs[dsn] = err
	return err
}

// Server returns the DSN of the test server (EnvDSN). Without one, or when
// it does not answer, the test is skipped, or fails when EnvRequire is 1.
func Server(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	why := ""
	if dsn == "" {
		why = EnvDSN + " is not set"
	} else if err := reachable(dsn); err != nil {
		why = fmt.Sprintf("the PostgreSQL server in %s does not answer: %v", EnvDSN, err)
	}
	if why == "" {
		return dsn
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("PostgreSQL is required (%s=1) but %s; %s", EnvRequire, why, hint)
	}
	t.Skipf("no PostgreSQL: %s; %s", why, hint)
	return ""
}

// PoolMaxConns is the pool_max_conns DSN and MissingSchemaDSN add unless the
// server's DSN sets one: pgxpool's default is max(4, CPUs) per pool, and
// the suites open dozens of pools at once (each parallel subtest one or
// two), which on a many-core runner would exhaust the server's
// max_connections.
const PoolMaxConns = 4

// DSN returns a DSN to a fresh, empty schema t_<random> on the test server
// (its search_path), dropped with everything in it when the test ends. It
// carries pool_max_conns (PoolMaxConns), which pgxpool (and so
// pgstore.Open) reads but a single pgx.Connect would send to the server as
// an unknown setting. Skips or fails like Server.
func DSN(t testing.TB) string {
	t.Helper()
	dsn, schema := newSchema(t)
	if err := exec(Server(t), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create test schema %s: %v", schema, err)
	}
	return dsn
}

// MissingSchemaDSN is DSN for a schema that does not exist yet, for tests
// of what makes it; it is dropped, if made, when the test ends.
func MissingSchemaDSN(t testing.TB) string {
	t.Helper()
	dsn, _ := newSchema(t)
	return dsn
}

// newSchema picks a schema name, arranges for its drop at cleanup and
// returns a DSN whose search_path names it.
func newSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	base := Server(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema = "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := exec(base, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	dsn, err := WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	if dsn, err = WithPoolCap(dsn); err != nil {
		t.Fatal(err)
	}
	return dsn, schema
}

// exec runs one statement on its own connection to dsn.
func exec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// WithPoolCap returns dsn with pool_max_conns=PoolMaxConns added, in either
// DSN form, unless it sets pool_max_conns already.
func WithPoolCap(dsn string) (string, error) {
	const key = "pool_max_conns"
	value := strconv.Itoa(PoolMaxConns)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		q := u.Query()
		if q.Has(key) {
			return dsn, nil
		}
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if keywordPoolMax.MatchString(dsn) {
		return dsn, nil
	}
	return strings.TrimSpace(dsn) + " " + key + "=" + value, nil
}

// keywordPoolMax finds pool_max_conns= in a key=value DSN.
var keywordPoolMax = regexp.MustCompile(`(^|\s)pool_max_conns\s*=`)

// WithSearchPath returns dsn with its search_path set to schema, in either
// DSN form.
func WithSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return strings.TrimSpace(dsn) + " search_path=" + schema, nil
}
