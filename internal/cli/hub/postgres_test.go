package hub_test

// The back office on PostgreSQL through the command line: two hub
// instances on one database answering the same request at once, `hub
// migrate` from SQLite, and `hub bench` with two instances. They need a
// server (scripts/postgres): without one they skip, unless
// LATCHKEY_REQUIRE_POSTGRES=1, when they fail.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli/hub"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/pgstore"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/hubtest"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
)

// twins are two hub instances on one PostgreSQL schema, each with its own
// connection pool, sharing the signing key, and a sales rep's client for
// each.
type twins struct {
	stores  [2]*pgstore.Store
	clients [2]*hubclient.Client
	rep     identity.Identity
}

func startTwins(t *testing.T) *twins {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	key, err := hubsvc.LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tw := &twins{}
	var urls [2]string
	for i := range 2 {
		st, err := pgstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv, err := hubsvc.NewServer(hubsvc.ServerConfig{Store: st, Signer: key.Sign})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		tw.stores[i], urls[i] = st, ts.URL
	}
	admin, err := hubsvc.NewAdmin(hubsvc.AdminConfig{Store: tw.stores[0], Key: key})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := admin.Enroll(ctx, "dana", hubapi.RoleSales, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tw.rep, err = identity.Generate(rand.Reader); err != nil {
		t.Fatal(err)
	}
	c, err := hubclient.New(urls[1], hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Enroll(ctx, code, tw.rep.Public())
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range urls {
		if tw.clients[i], err = hubclient.New(u, hubclient.Options{Token: resp.Token}); err != nil {
			t.Fatal(err)
		}
	}
	return tw
}

// visits signs n visit records with ids PREFIX-N.
func (tw *twins) visits(t *testing.T, prefix string, n int) [][]byte {
	t.Helper()
	now := time.Now().UTC()
	keyID := record.KeyID(tw.rep.Public().Sign)
	out := make([][]byte, n)
	for i := range out {
		payload := map[string]any{
			"id": fmt.Sprintf("%s-%d", prefix, i), "created_at": now, "expires_at": now.Add(24 * time.Hour),
			"building": "Elm Court", "outcome": "interested",
		}
		env, err := record.Sign(record.KindVisit, payload, tw.rep.Sign, keyID)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = json.Marshal(env); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// both sends a batch to both instances at the same moment, with keys[i] to
// instance i.
func (tw *twins) both(keys [2]string, envs [][]byte) (rs [2][]hubapi.RecordResult, errs [2]error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		wg.Go(func() {
			<-start
			rs[i], errs[i] = tw.clients[i].SendBatch(context.Background(), keys[i], envs)
		})
	}
	close(start)
	wg.Wait()
	return rs, errs
}

// checkOnce checks the hub holds want records, each id once.
func (tw *twins) checkOnce(t *testing.T, want int) {
	t.Helper()
	ctx := context.Background()
	for i, st := range tw.stores {
		n, err := st.CountRecords(ctx, hubsvc.RecordFilter{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := st.Records(ctx, hubsvc.RecordFilter{})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]int{}
		for _, r := range rs {
			ids[r.ID]++
		}
		if n != want || len(rs) != want || len(ids) != want {
			t.Errorf("instance %d sees %d records (%d listed, %d distinct ids), want %d, each once", i, n, len(rs), len(ids), want)
		}
	}
}

// TestTwoInstancesSameRequest sends the same batch request (same
// Idempotency-Key, same body, same token) to two hub instances on one
// PostgreSQL database at the same moment, round after round: both answer
// OK with the same results, and each record is stored once.
func TestTwoInstancesSameRequest(t *testing.T) {
	tw := startTwins(t)
	const rounds, per = 40, 5
	for round := range rounds {
		envs := tw.visits(t, fmt.Sprintf("twin-%02d", round), per)
		key := fmt.Sprintf("sync-%02d", round)
		rs, errs := tw.both([2]string{key, key}, envs)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: instance %d: %v", round, i, err)
			}
			for _, r := range rs[i] {
				if r.Status != hubapi.StatusStored {
					t.Fatalf("round %d: instance %d answered %+v, want stored", round, i, r)
				}
			}
		}
		if !reflect.DeepEqual(rs[0], rs[1]) {
			t.Fatalf("round %d: the instances answered differently:\n%+v\n%+v", round, rs[0], rs[1])
		}
	}
	tw.checkOnce(t, rounds*per)
}

// TestTwoInstancesSameRecords sends the same records under two different
// Idempotency-Keys to two instances at once (a laptop that lost its answer
// and rebatched): one instance stores each record, the other says it is
// already stored, and each is stored once.
func TestTwoInstancesSameRecords(t *testing.T) {
	tw := startTwins(t)
	const rounds, per = 20, 5
	for round := range rounds {
		envs := tw.visits(t, fmt.Sprintf("pair-%02d", round), per)
		rs, errs := tw.both([2]string{fmt.Sprintf("a-%02d", round), fmt.Sprintf("b-%02d", round)}, envs)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: instance %d: %v", round, i, err)
			}
		}
		for j := range per {
			a, b := rs[0][j], rs[1][j]
			stored := 0
			for _, r := range []hubapi.RecordResult{a, b} {
				switch {
				case r.Status == hubapi.StatusStored:
					stored++
				case r.Code != hubapi.CodeReplayed:
					t.Errorf("round %d record %s: answer %+v, want stored or %s", round, r.ID, r, hubapi.CodeReplayed)
				}
			}
			if stored != 1 || a.Digest != b.Digest {
				t.Errorf("round %d record %d: answers %+v and %+v, want one stored, the other already stored", round, j, a, b)
			}
		}
	}
	tw.checkOnce(t, rounds*per)
}

// TestMigrateToPostgres moves a SQLite hub with users, a record, a pending
// enrollment and a denied unit into PostgreSQL with `hub migrate`; the admin
// verbs then show the same on PostgreSQL as on SQLite, and a second
// migration into the same database is refused.
func TestMigrateToPostgres(t *testing.T) {
	o := hubtest.Start(t)
	dana := o.Join("dana", "sales")
	dana.MustRun(visitArgs("Elm Court")...)
	dana.MustRun(visitArgs("Oak House")...)
	dana.MustRun("sync")
	o.MustHub("enroll", "--name", "sam", "--role", "installer")
	o.MustHub("units", "deny", "LK-00042", "--reason", "reported stolen")
	dsn := pgtest.DSN(t)

	r := o.Hub("migrate", "--to", dsn)
	if r.Code != 0 || !strings.Contains(r.Stdout, "every count and digest matches") || !strings.Contains(r.Stdout, "records") {
		t.Fatalf("hub migrate = exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, verb := range [][]string{{"records", "list"}, {"users", "list"}, {"units", "list"}} {
		var fromSQLite, fromPG any
		o.Admin.JSON(&fromSQLite, append(append([]string{"hub"}, verb...), "--data", o.Data)...)
		o.Admin.JSON(&fromPG, append(append([]string{"hub"}, verb...), "--data", o.Data, "--database", dsn)...)
		if !reflect.DeepEqual(fromSQLite, fromPG) {
			t.Errorf("hub %s on PostgreSQL differs from SQLite:\n%v\n%v", strings.Join(verb, " "), fromPG, fromSQLite)
		}
	}
	var recs []struct{ ID, Signer string }
	o.Admin.JSON(&recs, "hub", "records", "list", "--data", o.Data, "--database", dsn)
	if len(recs) != 2 || recs[0].Signer != "dana" {
		t.Errorf("records on PostgreSQL = %+v, want dana's 2 visits", recs)
	}

	// The database can come from the environment too.
	o.Admin.Env[hub.EnvDatabase] = dsn
	r = o.Hub("units", "list")
	if r.Code != 0 || !strings.Contains(r.Stdout, "reported stolen") {
		t.Errorf("units list with %s = exit %d\n%s\n%s", hub.EnvDatabase, r.Code, r.Stdout, r.Stderr)
	}
	delete(o.Admin.Env, hub.EnvDatabase)

	r = o.Hub("migrate", "--to", dsn, "--json")
	if r.Code != 1 || !strings.Contains(r.Stderr, "search_path=NEW_SCHEMA") {
		t.Errorf("second hub migrate = exit %d\n%s\n%s, want exit 1 saying the target is not empty", r.Code, r.Stdout, r.Stderr)
	}
}

// TestBenchTwoInstancesPostgres runs a small `hub bench` with two hub
// instances on PostgreSQL: nothing duplicated, nothing lost, the replays
// answered as the first time.
func TestBenchTwoInstancesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	// A run-time option written with %20 for its space: pgx reads it as a
	// space only if the bench keeps it as written.
	base := pgtest.Server(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	base += sep + "options=-c%20work_mem%3D8MB"
	m := clitest.New(t, "bench-pg")
	r := m.Run("hub", "bench", "--database", base, "--instances", "2", "--intake", "300", "--sync", "100", "--batch", "50",
		"--installers", "4", "--records", "400", "--duration", "90s", "--pairs", "6", "--json")
	if r.Code != 0 {
		t.Fatalf("hub bench = exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var res hub.BenchResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("hub bench --json: %v\n%s", err, r.Stdout)
	}
	t.Logf("%+v load %+v", res, res.Load)
	l := res.Load
	switch {
	case res.Database != "postgres" || res.Instances != 2:
		t.Errorf("bench ran on %s with %d instances, want postgres with 2", res.Database, res.Instances)
	case res.Duplicates != 0 || res.Lost != 0:
		t.Errorf("duplicates %d, lost %d; want 0 and 0", res.Duplicates, res.Lost)
	case l == nil || l.Acknowledged != 400 || l.Unsent != 0 || l.Replayed != 4 || l.ReplayMismatch != 0:
		t.Errorf("load phase %+v, want 400 acknowledged, 4 batches replayed the same", l)
	case res.Pairs == nil || res.Pairs.Batches != 6 || res.Pairs.Stored != 150 || res.Pairs.Duplicates != 0 || res.Pairs.Mismatch != 0:
		t.Errorf("pairs %+v, want 6 batches of 25 answered alike by both instances, each record stored once", res.Pairs)
	case res.Stored != 950 || res.Acknowledged != 950:
		t.Errorf("stored %d, acknowledged %d; want 950 and 950", res.Stored, res.Acknowledged)
	}
}
