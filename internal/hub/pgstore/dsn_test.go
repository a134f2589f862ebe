package pgstore

import (
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestHosts: the hosts pgx connects to, where net/url reads another one.
func TestHosts(t *testing.T) {
	t.Setenv("PGSERVICE", "")
	t.Setenv("PGSERVICEFILE", "")
	t.Setenv("PGHOST", "db.example.com")
	for _, tc := range []struct {
		dsn  string
		want []string
	}{
		{"postgres://postgres@127.0.0.1:5432/latchkey", []string{"127.0.0.1"}},
		{"postgres://[::1]:5432,localhost/latchkey", []string{"::1", "localhost"}},
		{"postgres://%2Ftmp%2Fpg/latchkey", []string{"/tmp/pg"}},
		// net/url: no host, which read as "the default socket"; pgx: PGHOST.
		{"postgres:///latchkey", []string{"db.example.com"}},
		{"postgres://postgres@/latchkey", []string{"db.example.com"}},
		// net/url: the first ?host=; pgx: the last.
		{"postgres://127.0.0.1/latchkey?host=127.0.0.1&host=db.example.com", []string{"db.example.com"}},
		// net/url: host 127.0.0.1 and a fragment; pgx: user "127.0.0.1#".
		{"postgres://127.0.0.1#@db.example.com:5432/latchkey", []string{"db.example.com"}},
		{"postgres://127.0.0.1:5432/x#@db.example.com/latchkey", []string{"127.0.0.1"}},
		// Fallback hosts count too.
		{"postgres://127.0.0.1,db.example.com/latchkey", []string{"127.0.0.1", "db.example.com"}},
		{"host=127.0.0.1,/run/postgresql dbname=latchkey", []string{"127.0.0.1", "/run/postgresql"}},
		{"postgres://u@127.0.0.1/db?options=-c%20work_mem%3D64MB&pool_max_conns=3&ssl=true&dbname=x", []string{"127.0.0.1"}},
	} {
		got, err := Hosts(tc.dsn)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Hosts(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}

// TestHostsRefusesServiceFiles: a service file names hosts the check
// cannot pin down; in the URL, a keyword DSN or the environment.
func TestHostsRefusesServiceFiles(t *testing.T) {
	t.Setenv("PGSERVICE", "")
	t.Setenv("PGSERVICEFILE", "")
	for _, dsn := range []string{
		"postgres://127.0.0.1/latchkey?service=prod",
		"postgres://127.0.0.1/latchkey?servicefile=/tmp/pg_service.conf",
		"postgres://127.0.0.1/latchkey?sslmode=disable&%73ervice=prod",
		"host=127.0.0.1 service=prod",
		"host=127.0.0.1 servicefile = '/tmp/x'",
	} {
		if h, err := Hosts(dsn); !errors.Is(err, ErrServiceFile) {
			t.Errorf("Hosts(%q) = %q, %v; want ErrServiceFile", dsn, h, err)
		}
	}
	t.Setenv("PGSERVICE", "prod")
	if h, err := Hosts("postgres://127.0.0.1/latchkey"); !errors.Is(err, ErrServiceFile) {
		t.Errorf("Hosts with PGSERVICE set = %q, %v; want ErrServiceFile", h, err)
	}
}

// TestWithSearchPath sets search_path and leaves every other parameter as
// pgx read it before: %20 stays a space (net/url's Encode would make it a
// '+', which pgx keeps as a '+').
func TestWithSearchPath(t *testing.T) {
	for _, dsn := range []string{
		"postgres://postgres@127.0.0.1:5432/latchkey?options=-c%20work_mem%3D64MB&sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/latchkey?search_path=old&options=-c%20work_mem%3D64MB&search_path=older",
		"postgres://u:p%3Fw%26x@127.0.0.1/latchkey?options=-c%20work_mem%3D64MB",
	} {
		out, err := WithSearchPath(dsn, "bench_1 x")
		if err != nil {
			t.Fatalf("WithSearchPath(%q): %v", dsn, err)
		}
		before, err := pgconn.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		after, err := pgconn.ParseConfig(out)
		if err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if got := after.RuntimeParams["search_path"]; got != "bench_1 x" {
			t.Errorf("%s: search_path %q", out, got)
		}
		if got := after.RuntimeParams["options"]; got != "-c work_mem=64MB" || got != before.RuntimeParams["options"] {
			t.Errorf("%s: options %q, want -c work_mem=64MB", out, got)
		}
		if after.Password != before.Password || after.User != before.User || after.Host != before.Host || after.Database != before.Database {
			t.Errorf("%s: connection settings changed", out)
		}
	}
	if _, err := WithSearchPath("host=127.0.0.1", "x"); err == nil {
		t.Error("WithSearchPath of a keyword DSN: no error")
	}
}
