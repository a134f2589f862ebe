package hub_test

import (
	"encoding/json"
	"testing"

	"github.com/latchkey/latchkey/internal/cli/hub"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// runBench runs `hub bench ARGS --json` and decodes its result.
func runBench(t *testing.T, args ...string) hub.BenchResult {
	t.Helper()
	m := clitest.New(t, "bench")
	r := m.Run(append(append([]string{"hub", "bench"}, args...), "--json")...)
	if r.Code != 0 {
		t.Fatalf("hub bench %v = exit %d\n%s\n%s", args, r.Code, r.Stdout, r.Stderr)
	}
	var res hub.BenchResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("hub bench --json: %v\n%s", err, r.Stdout)
	}
	return res
}

// TestBenchSQLite runs every phase of a small bench on SQLite with two
// instances on the one file: each record the clients were told was stored
// is there once.
func TestBenchSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	res := runBench(t, "--intake", "200", "--sync", "100", "--batch", "50", "--installers", "3", "--records", "300", "--instances", "2",
		"--pairs", "4")
	l, p := res.Load, res.Pairs
	switch {
	case res.Database != "sqlite" || res.Instances != 2:
		t.Errorf("bench ran on %s with %d instances, want sqlite with 2", res.Database, res.Instances)
	case res.Duplicates != 0 || res.Lost != 0 || res.Stored != 700 || res.Acknowledged != 700:
		t.Errorf("result %+v, want 700 stored and acknowledged, no duplicates, nothing lost", res)
	case l == nil || l.Acknowledged != 300 || l.Replayed != 3 || l.ReplayMismatch != 0 || l.Requests < 3:
		t.Errorf("load phase %+v, want 300 acknowledged in at least 3 requests and 3 batches replayed the same", l)
	case p == nil || p.Batches != 4 || p.Records != 100 || p.Stored != 100 || p.Duplicates != 0 || p.Mismatch != 0:
		t.Errorf("pairs %+v, want 4 batches of 25 answered alike, each record stored once", p)
	}
}

// TestBenchDuration stops the load phase at --duration: what is still
// queued then is unsent, not lost, and what was acknowledged is stored.
func TestBenchDuration(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	res := runBench(t, "--intake", "0", "--sync", "0", "--pairs", "0", "--installers", "2", "--records", "1000", "--duration", "1ms")
	l := res.Load
	if l == nil || !l.StoppedByTimer || l.Acknowledged+l.Unsent != 1000 || l.Unsent == 0 {
		t.Fatalf("load phase %+v, want it stopped by --duration with records unsent", l)
	}
	if res.Duplicates != 0 || res.Lost != 0 || res.Stored != l.Acknowledged {
		t.Errorf("result %+v, want every acknowledged record stored once and nothing lost", res)
	}
}

// TestBenchOneInstancePairs: with one instance both requests of a pair go
// to it; the second waits out "idempotency-in-flight" and gets the same
// answer.
func TestBenchOneInstancePairs(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	res := runBench(t, "--intake", "0", "--sync", "0", "--records", "0", "--pairs", "6", "--batch", "10")
	p := res.Pairs
	if p == nil || p.Batches != 6 || p.Records != 60 || p.Stored != 60 || p.Duplicates != 0 || p.Mismatch != 0 {
		t.Fatalf("pairs %+v, want 6 batches of 10 answered alike, each record stored once", p)
	}
	if res.Stored != 60 || res.Acknowledged != 60 || res.Duplicates != 0 || res.Lost != 0 {
		t.Errorf("result %+v, want 60 stored and acknowledged", res)
	}
}
