package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

func TestWithPoolCap(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u@127.0.0.1:5432/db?sslmode=disable", "postgres://u@127.0.0.1:5432/db?pool_max_conns=4&sslmode=disable"},
		{"postgres://u@h/db?pool_max_conns=10", "postgres://u@h/db?pool_max_conns=10"},
		{"host=127.0.0.1 dbname=db ", "host=127.0.0.1 dbname=db pool_max_conns=4"},
		{"host=h pool_max_conns = 9 dbname=db", "host=h pool_max_conns = 9 dbname=db"},
		{"host=h application_name=xpool_max_conns", "host=h application_name=xpool_max_conns pool_max_conns=4"},
	}
	for _, tc := range tests {
		got, err := WithPoolCap(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("WithPoolCap(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u@127.0.0.1:5432/db?sslmode=disable", "postgres://u@127.0.0.1:5432/db?search_path=s1&sslmode=disable"},
		{"postgres://u@h/db?search_path=old", "postgres://u@h/db?search_path=s1"},
		{"host=127.0.0.1 dbname=db ", "host=127.0.0.1 dbname=db search_path=s1"},
	}
	for _, tc := range tests {
		got, err := WithSearchPath(tc.in, "s1")
		if err != nil || got != tc.want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// schemaOf returns the current schema of a connection to dsn ("" when the
// search_path names no existing schema) and how many tables it holds. It
// connects with a pool, as the stores do: DSN's pool_max_conns is a pool's.
func schemaOf(t *testing.T, dsn string) (string, int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var schema *string
	var tables int
	err = conn.QueryRow(ctx, `SELECT current_schema(),
		(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())`).Scan(&schema, &tables)
	if err != nil {
		t.Fatal(err)
	}
	if schema == nil {
		return "", tables
	}
	return *schema, tables
}

func TestDSN(t *testing.T) {
	var dsn string
	t.Run("use", func(t *testing.T) {
		dsn = DSN(t)
		schema, tables := schemaOf(t, dsn)
		if schema == "" || tables != 0 {
			t.Fatalf("DSN gives schema %q with %d tables, want a fresh empty one", schema, tables)
		}
		if cfg, err := pgxpool.ParseConfig(dsn); err != nil {
			t.Errorf("DSN %s: %v", dsn, err)
		} else if !strings.Contains(os.Getenv(EnvDSN), "pool_max_conns") && cfg.MaxConns != PoolMaxConns {
			t.Errorf("DSN %s: pool of %d connections, want %d", dsn, cfg.MaxConns, PoolMaxConns)
		}
		if other := DSN(t); other == dsn {
			t.Errorf("two calls gave the same DSN %s", dsn)
		}
	})
	if t.Skipped() || dsn == "" {
		return
	}
	if schema, _ := schemaOf(t, dsn); schema != "" {
		t.Errorf("schema %s left after the test ended", schema)
	}
}

func TestMissingSchemaDSN(t *testing.T) {
	dsn := MissingSchemaDSN(t)
	if schema, _ := schemaOf(t, dsn); schema != "" {
		t.Errorf("MissingSchemaDSN names schema %s, which exists", schema)
	}
}
