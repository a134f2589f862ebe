package hub_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli/hub"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// TestCompareStored: the bench's check counts what a faulty hub would
// make it see, so the figures it prints can be other than 0.
func TestCompareStored(t *testing.T) {
	rec := func(id, digest string) hubsvc.Record { return hubsvc.Record{ID: id, Digest: digest} }
	want := map[string]string{"a": "da", "b": "db", "c": "dc", "d": "dd"}
	for _, tc := range []struct {
		name       string
		stored     []hubsvc.Record
		dups, lost int
	}{
		{"all once", []hubsvc.Record{rec("a", "da"), rec("b", "db"), rec("c", "dc"), rec("d", "dd")}, 0, 0},
		{"one twice", []hubsvc.Record{rec("a", "da"), rec("a", "da"), rec("b", "db"), rec("c", "dc"), rec("d", "dd")}, 1, 0},
		{"one three times", []hubsvc.Record{rec("a", "da"), rec("a", "da"), rec("a", "da"), rec("b", "db"), rec("c", "dc"), rec("d", "dd")}, 2, 0},
		{"one never acknowledged", []hubsvc.Record{rec("a", "da"), rec("b", "db"), rec("c", "dc"), rec("d", "dd"), rec("x", "dx")}, 1, 0},
		{"two missing", []hubsvc.Record{rec("a", "da"), rec("b", "db")}, 0, 2},
		{"one with another digest", []hubsvc.Record{rec("a", "da"), rec("b", "XX"), rec("c", "dc"), rec("d", "dd")}, 0, 1},
		{"twice, first with another digest", []hubsvc.Record{rec("a", "XX"), rec("a", "da"), rec("b", "db"), rec("c", "dc"), rec("d", "dd")}, 1, 1},
		{"nothing stored", nil, 0, 4},
	} {
		dups, lost := hub.CompareStored(tc.stored, want)
		if dups != tc.dups || lost != tc.lost {
			t.Errorf("%s: duplicates %d, lost %d; want %d and %d", tc.name, dups, lost, tc.dups, tc.lost)
		}
	}
	rows, dups := hub.CountRows([]hubsvc.Record{rec("a", ""), rec("b", ""), rec("a", ""), rec("a", "")})
	if rows != 4 || dups != 2 {
		t.Errorf("CountRows = %d rows, %d duplicates; want 4 and 2", rows, dups)
	}
}

// TestQuantile: nearest rank, whatever the order of the durations.
func TestQuantile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // 100 … 1
	}
	for _, tc := range []struct {
		ds   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7 * time.Millisecond},
		{ms(30, 10, 20), 0.5, 20 * time.Millisecond},
		{ms(30, 10, 20), 0.99, 30 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{hundred, 0.5, 50 * time.Millisecond},
		{hundred, 0.99, 99 * time.Millisecond},
		{hundred, 1, 100 * time.Millisecond},
		{hundred, 0, 1 * time.Millisecond},
		{append(ms(1, 1, 1, 1, 1, 1, 1, 1, 1), 900*time.Millisecond), 0.99, 900 * time.Millisecond},
	} {
		if got := hub.Quantile(tc.ds, tc.q); got != tc.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.ds, tc.q, got, tc.want)
		}
	}
	if hundred[0] != 100*time.Millisecond {
		t.Error("quantile sorted its argument in place")
	}
}

// TestLoopbackOnly: the bench's check sees the hosts the PostgreSQL driver
// will connect to, not the ones net/url reads.
func TestLoopbackOnly(t *testing.T) {
	t.Setenv("PGSERVICE", "")
	t.Setenv("PGSERVICEFILE", "")
	t.Setenv("PGHOST", "db.example.com")
	defer hub.SetLookupHost(func(_ context.Context, host string) ([]string, error) {
		switch host {
		case "localhost":
			return []string{"127.0.0.1", "::1"}, nil
		case "db.example.com":
			return []string{"203.0.113.7"}, nil
		case "split.example.com":
			return []string{"127.0.0.1", "203.0.113.8"}, nil
		}
		return nil, errors.New("no such host")
	})()
	for _, tc := range []struct {
		dsn, refused string // refused: the host named in the refusal; "" when accepted
	}{
		{"postgres://postgres@127.0.0.1:5432/latchkey", ""},
		{"postgres://postgres@localhost/latchkey", ""},
		{"postgres://postgres@[::1]:5432,127.0.0.2/latchkey?sslmode=disable", ""},
		{"postgres://postgres@%2Frun%2Fpostgresql/latchkey", ""},
		{"postgres://postgres@127.0.0.1/latchkey?host=/tmp", ""},
		{"postgres://postgres@10.0.0.5/latchkey", "10.0.0.5"},
		{"postgres://postgres@split.example.com/latchkey", "split.example.com"},
		{"postgres://postgres@nowhere.invalid/latchkey", "nowhere.invalid"},
		// Read by pgx, not by net/url:
		{"postgres:///latchkey", "db.example.com"},                                                 // no host: PGHOST
		{"postgres://127.0.0.1/latchkey?host=127.0.0.1&host=db.example.com", "db.example.com"},     // the last ?host= wins
		{"postgres://127.0.0.1#@db.example.com:5432/latchkey", "db.example.com"},                   // '#' is no fragment
		{"postgres://127.0.0.1,db.example.com/latchkey", "db.example.com"},                         // a fallback host
		{"postgres://postgres@127.0.0.1/latchkey?service=prod", "service"},                         // a service file
		{"postgres://postgres@127.0.0.1/latchkey?servicefile=%2Ftmp%2Fpg_service.conf", "service"}, // names hosts
	} {
		err := hub.LoopbackOnly(tc.dsn)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.dsn, err)
		case tc.refused != "" && err == nil:
			t.Errorf("%s: accepted, want it refused naming %s", tc.dsn, tc.refused)
		case tc.refused != "" && !strings.Contains(err.Error(), tc.refused):
			t.Errorf("%s: %v; want it to name %s", tc.dsn, err, tc.refused)
		}
	}
}

// TestBenchLimits: every size and the duration are bounded, as usage
// errors (exit 2), before anything starts.
func TestBenchLimits(t *testing.T) {
	m := clitest.New(t, "bench-limits")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--intake", "1000001"}, "at most 1000000"},
		{[]string{"--sync", "2000000"}, "at most 1000000"},
		{[]string{"--records", "1000001"}, "at most 1000000"},
		{[]string{"--pairs", "1001"}, "--pairs must be at most 1000"},
		{[]string{"--duration", "11m"}, "at most 10m0s"},
		{[]string{"--duration", "0s"}, "more than 0"},
		{[]string{"--workers", "65"}, "--workers must be 1 to 64"},
		{[]string{"--intake", "-1"}, "0 (skip) or more"},
		{[]string{"--intake", "0", "--sync", "0", "--records", "0", "--pairs", "0"}, "nothing to measure"},
	} {
		r := m.Run(append([]string{"hub", "bench"}, tc.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("hub bench %v = exit %d\n%s\nwant exit 2 saying %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
}

// TestBenchOverallLimit: a run that outlasts --duration plus the margin
// stops with exit status 1 and says why.
func TestBenchOverallLimit(t *testing.T) {
	defer hub.SetBenchMargin(0)()
	m := clitest.New(t, "bench-limit")
	r := m.Run("hub", "bench", "--intake", "20000", "--sync", "0", "--records", "0", "--pairs", "0", "--duration", "1ms")
	if r.Code != 1 || !strings.Contains(r.Stderr, "took longer than its limit") || !strings.Contains(r.Stderr, "lower --intake") {
		t.Errorf("hub bench past its limit = exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestBenchServerDown: hubs that cannot start (no server at the port) end
// the bench with exit status 1 and a hint, not a panic, and no advice to
// drop a schema that was never made.
func TestBenchServerDown(t *testing.T) {
	m := clitest.New(t, "bench-down")
	r := m.Run("hub", "bench", "--database", "postgres://postgres@127.0.0.1:1/latchkey?connect_timeout=5",
		"--intake", "1", "--sync", "0", "--records", "0")
	if r.Code != 1 || !strings.Contains(r.Stderr, "check the URL") || strings.Contains(r.Stderr, "panic") ||
		strings.Contains(r.Stderr, "DROP SCHEMA") {
		t.Errorf("hub bench on a closed port = exit %d\n%s\n%s\nwant exit 1 with a hint and no DROP SCHEMA advice", r.Code, r.Stdout, r.Stderr)
	}
}
