package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/storetest"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
)

// openAt opens a store on dsn and closes it when the test ends.
func openAt(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openTest opens a store on a fresh schema.
func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, pgtest.DSN(t))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hub.Storage { return openTest(t) })
}

// TestConformanceExecMode runs the suite without prepared statements, as
// behind PgBouncer in transaction mode (docs/hub-postgres.md): every
// parameter then travels as text, typed by its Go type.
func TestConformanceExecMode(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hub.Storage {
		return openAt(t, withParam(pgtest.DSN(t), "default_query_exec_mode", "exec"))
	})
}

// withParam adds a setting to a DSN of either form.
func withParam(dsn, key, value string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " " + key + "=" + value
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + key + "=" + url.QueryEscape(value)
}

var now = time.Date(2026, 3, 2, 9, 30, 15, 987654321, time.UTC)

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func user(seed string) hub.User {
	return hub.User{ID: "id-" + seed, SignKey: []byte("sign-" + seed), KexKey: []byte("kex-" + seed),
		KeyID: "key-" + seed, Fingerprint: "fp-" + seed, TokenHash: hexSum("token-" + seed), EnrolledAt: now}
}

// enrollWith creates a code for name and redeems it with u.
func enrollWith(t testing.TB, s hub.Storage, name, role string, u hub.User) (hub.User, error) {
	t.Helper()
	ctx := context.Background()
	code := hexSum(fmt.Sprintf("code-%s-%s-%s-%s", name, role, u.KeyID, u.TokenHash))
	err := s.CreateEnrollment(ctx, hub.Enrollment{CodeHash: code, Name: name, Role: role, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("CreateEnrollment: %v", err)
	}
	return s.Enroll(ctx, code, now, u)
}

func record(id, unit string, created time.Time) hub.Record {
	env := fmt.Appendf(nil, `{"payloadType":"application/vnd.latchkey.survey+json","payload":%q}`, id)
	return hub.Record{ID: id, Kind: "survey", Signer: "alice", KeyIDs: []string{"key-alice"}, Digest: hexSum(string(env)),
		Job: "job-1", Unit: unit, CreatedAt: created, ReceivedAt: created, Envelope: env}
}

func intakeReq(key string, recs ...hub.Record) hub.IntakeRequest {
	items := make([]hub.IntakeItem, len(recs))
	for i := range recs {
		items[i] = hub.IntakeItem{Record: &recs[i]}
	}
	return hub.IntakeRequest{User: "alice", Key: key, RequestDigest: hexSum(key), Items: items, Now: now, ExpiresAt: now.Add(hubapi.IdempotencyTTL)}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	alice, err := enrollWith(t, s, "alice", hubapi.RoleInstaller, user("alice"))
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	r := record("rec-1", "LK-1", now)
	if _, err := s.Intake(ctx, intakeReq("k1", r)); err != nil {
		t.Fatalf("Intake: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping of a closed store: no error")
	}

	s2 := openAt(t, dsn)
	if u, err := s2.UserByToken(ctx, alice.TokenHash); err != nil || u.ID != alice.ID || !u.EnrolledAt.Equal(alice.EnrolledAt) {
		t.Errorf("UserByToken after reopen = %+v, %v; want %+v", u, err, alice)
	}
	if res, err := s2.Intake(ctx, intakeReq("k1", r)); err != nil || !res.Replayed {
		t.Errorf("replay after reopen = %+v, %v; want replayed", res, err)
	}
	var versions int
	if err := s2.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != SchemaVersion() {
		t.Errorf("schema_migrations holds %d rows, %v; want %d (reopening applies nothing twice)", versions, err, SchemaVersion())
	}
}

// TestOpenConcurrent is two (here four) hub instances starting at once on
// a database with no schema yet: the advisory lock lets one migrate while
// the others wait, and every one comes up.
func TestOpenConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.MissingSchemaDSN(t)
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range stores {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(ctx, dsn)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		if err := stores[i].Ping(ctx); err != nil {
			t.Errorf("Ping %d: %v", i, err)
		}
	}
	var versions, max int
	if errs[0] == nil {
		if err := stores[0].pool.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&versions, &max); err != nil {
			t.Fatal(err)
		}
		if versions != SchemaVersion() || max != SchemaVersion() {
			t.Errorf("schema_migrations: %d rows up to %d, want each of 1-%d once", versions, max, SchemaVersion())
		}
	}
	for _, s := range stores {
		if s != nil {
			s.Close()
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openAt(t, dsn)
	if _, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer than this build") {
		if s2 != nil {
			s2.Close()
		}
		t.Errorf("Open of a database from a newer build: error = %v, want one saying so", err)
	}
}

func TestOpenSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openAt(t, dsn)
	var timeout, app, schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name'), current_schema()`).
		Scan(&timeout, &app, &schema); err != nil {
		t.Fatal(err)
	}
	if timeout != "15s" || app != "latchkey-hub" || !strings.HasPrefix(schema, "t_") {
		t.Errorf("statement_timeout %q, application_name %q, schema %q; want 15s, latchkey-hub, the test schema", timeout, app, schema)
	}
	// A DSN's own setting wins.
	s2 := openAt(t, withParam(dsn, "statement_timeout", "30000"))
	if err := s2.pool.QueryRow(ctx, `SELECT current_setting('statement_timeout')`).Scan(&timeout); err != nil || timeout != "30s" {
		t.Errorf("statement_timeout with the DSN's = %q, %v; want 30s", timeout, err)
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://hub:s3cret@db.example:5432/hub?sslmode=require", "postgres://hub:xxxxx@db.example:5432/hub?sslmode=require"},
		{"postgres://hub@db/hub?password=s3cret&search_path=a", "postgres://hub@db/hub?password=xxxxx&search_path=a"},
		{"postgres://hub@db/hub", "postgres://hub@db/hub"},
		{"host=db user=hub password=s3cret dbname=hub", "host=db user=hub password=xxxxx dbname=hub"},
		{"host=db password='s3 c\\'ret' dbname=hub", "host=db password=xxxxx dbname=hub"},
		{"host=db password = s3cret", "host=db password = xxxxx"},
		{"postgres://hub@db/hub?sslkey=k.pem&sslpassword=s3cret", "postgres://hub@db/hub?sslkey=k.pem&sslpassword=xxxxx"},
		{"postgres://hub:s3cret@db/hub?sslpassword=s3cret&password=s3cret", "postgres://hub:xxxxx@db/hub?password=xxxxx&sslpassword=xxxxx"},
		{"host=db sslkey=k.pem sslpassword=s3cret dbname=hub", "host=db sslkey=k.pem sslpassword=xxxxx dbname=hub"},
		{"host=db sslpassword='s3 cret' password=s3cret", "host=db sslpassword=xxxxx password=xxxxx"},
	}
	for _, tc := range tests {
		if got := Redacted(tc.in); got != tc.want {
			t.Errorf("Redacted(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(Redacted(tc.in), "s3") {
			t.Errorf("Redacted(%q) keeps the password", tc.in)
		}
	}
}

func TestFirstSchema(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "bench1": "bench1", "Bench1, public": "bench1", `"Bench 1",public`: "Bench 1", `"$user", public`: "", "$user,public": "", ` "$user"`: "", `"$User"`: "$User",
	} {
		if got := firstSchema(in); got != want {
			t.Errorf("firstSchema(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRecordsImmutable checks the triggers: no SQL changes a stored record.
func TestRecordsImmutable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	r := record("rec-1", "LK-1", now)
	if _, err := s.Intake(ctx, intakeReq("k1", r)); err != nil {
		t.Fatalf("Intake: %v", err)
	}
	for _, q := range []string{
		`UPDATE records SET digest = 'x' WHERE id = 'rec-1'`,
		`UPDATE records SET journal_seq = 99 WHERE id = 'rec-1'`,
		`DELETE FROM records WHERE id = 'rec-1'`,
		`TRUNCATE records`,
		`INSERT INTO records SELECT * FROM records`,
	} {
		if _, err := s.pool.Exec(ctx, q); err == nil {
			t.Errorf("%s: no error, want it refused", q)
		}
	}
	recs, err := s.Records(ctx, hub.RecordFilter{})
	if err != nil || len(recs) != 1 || recs[0].Digest != r.Digest || recs[0].JournalSeq != 0 {
		t.Errorf("Records = %+v, %v; want rec-1 unchanged", recs, err)
	}
}

// TestStoredTimes checks the stored form: the microsecond in timestamptz
// and the nanoseconds below it beside it, ordered by the pair.
func TestStoredTimes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	cet := time.FixedZone("CET", 3600)
	whole := time.Date(2026, 3, 2, 10, 0, 0, 0, cet)
	if _, err := s.Intake(ctx, intakeReq("k1",
		record("a", "", whole), record("b", "", whole.Add(-time.Nanosecond)), record("c", "", whole.Add(-999*time.Nanosecond)))); err != nil {
		t.Fatalf("Intake: %v", err)
	}
	var created time.Time
	var ns int16
	if err := s.pool.QueryRow(ctx, `SELECT created_at, created_at_ns FROM records WHERE id = 'b'`).Scan(&created, &ns); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 2, 8, 59, 59, 999999000, time.UTC); !created.Equal(want) || ns != 999 {
		t.Errorf("stored created_at of b = %v + %dns, want %v + 999ns", created, ns, want)
	}
	recs, err := s.Records(ctx, hub.RecordFilter{})
	if err != nil || len(recs) != 3 || recs[0].ID != "c" || recs[1].ID != "b" || !recs[2].CreatedAt.Equal(whole) {
		t.Errorf("Records = %v, %v; want c, b, a (by nanosecond)", recs, err)
	}
	// The zero time and times before 1970 round-trip too.
	for i, at := range []time.Time{{}, time.Date(1969, 12, 31, 23, 59, 59, 123456789, time.UTC)} {
		id := fmt.Sprint("job-", i)
		if err := s.CreateJob(ctx, hub.Job{ID: id, CreatedAt: at, ExpiresAt: at}); err != nil {
			t.Fatalf("CreateJob at %v: %v", at, err)
		}
		if j, err := s.Job(ctx, id); err != nil || !j.CreatedAt.Equal(at) || !j.ExpiresAt.Equal(at) {
			t.Errorf("Job at %v = %v, %v", at, j.CreatedAt, err)
		}
	}
}

// TestLists checks that a nil list and an empty one stay apart, as they do
// in SQLite's JSON.
func TestLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	for id, doors := range map[string][]string{"nil": nil, "empty": {}, "two": {"front", `back "B"`}} {
		if err := s.CreateJob(ctx, hub.Job{ID: id, Doors: doors, CreatedAt: now, ExpiresAt: now}); err != nil {
			t.Fatal(err)
		}
		j, err := s.Job(ctx, id)
		if err != nil || (j.Doors == nil) != (doors == nil) || !slices.Equal(j.Doors, doors) {
			t.Errorf("Doors %#v came back as %#v, %v", doors, j.Doors, err)
		}
	}
}

// TestIntakeNUL: jsonb holds no NUL, so a refusal's reason carrying one
// is stored (and answered) with U+FFFD in its place, not refused whole.
func TestIntakeNUL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	req := intakeReq("k1")
	req.Items = []hub.IntakeItem{{Refused: &hub.Refusal{ID: "x", Code: hubapi.CodeMalformed, Reason: "bad \x00 byte"}}}
	first, err := s.Intake(ctx, req)
	if err != nil {
		t.Fatalf("Intake: %v", err)
	}
	again, err := s.Intake(ctx, req)
	if err != nil || !again.Replayed || len(again.Results) != 1 || again.Results[0] != first.Results[0] {
		t.Fatalf("replay = %+v, %v; want %+v", again, err, first)
	}
	if want := "bad \uFFFD byte"; first.Results[0].Reason != want {
		t.Errorf("reason = %q, want %q", first.Results[0].Reason, want)
	}
}

// TestIntakeBatchOrder: a batch's records are inserted by id, but each
// answer is in request order, and of an id given twice the first is stored.
func TestIntakeBatchOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	c, a, b := record("c", "", now), record("a", "", now), record("b", "", now)
	bAltered := b
	bAltered.Digest = hexSum("altered")
	req := intakeReq("k1", c, b, a, bAltered, b)
	req.Items = slices.Insert(req.Items, 1, hub.IntakeItem{Refused: &hub.Refusal{ID: "z", Code: hubapi.CodeMalformed, Reason: "r"}})
	res, err := s.Intake(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Results {
		got = append(got, r.ID+":"+string(r.Outcome))
	}
	want := []string{"c:stored", "z:refused", "b:stored", "a:stored", "b:conflict", "b:duplicate"}
	if !slices.Equal(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
}

func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// An empty table is cheapest to scan; forbid that to see which index
	// the planner would use for a big one.
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off; SET enable_bitmapscan = off`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `RESET enable_seqscan; RESET enable_bitmapscan`)
	plan := func(q string, args ...any) string {
		t.Helper()
		rows, err := conn.Query(ctx, "EXPLAIN "+q, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.TrimSpace(line))
		}
		return strings.Join(out, "; ")
	}
	tests := []struct {
		name  string
		q     string
		args  []any
		index string
	}{
		{name: "all records", index: "records_created"},
		{name: "kind", index: "records_kind"},
		{name: "job", index: "records_job"},
		{name: "signer", index: "records_signer"},
		{name: "count by kind", index: "records_kind"},
		{name: "jobs of an installer", q: `SELECT id FROM jobs WHERE installer = $1 ORDER BY created_at DESC, created_at_ns DESC, id DESC`, args: []any{"ann"}, index: "jobs_installer"},
		{name: "all jobs", q: `SELECT id FROM jobs ORDER BY created_at DESC, created_at_ns DESC, id DESC`, index: "jobs_created"},
		{name: "sweep", q: `SELECT 1 FROM idempotency WHERE (expires_at, expires_at_ns) < ($1::timestamptz, $2::smallint)`, args: []any{now, int16(0)}, index: "idempotency_expires"},
		{name: "journal head", q: `SELECT journal_seq FROM records WHERE signer = $1 AND journal_seq > 0 ORDER BY journal_seq DESC LIMIT 1`, args: []any{"alice"}, index: "records_journal"},
	}
	tests[0].q, tests[0].args = recordsQuery(hub.RecordFilter{})
	tests[1].q, tests[1].args = recordsQuery(hub.RecordFilter{Kind: "survey"})
	tests[2].q, tests[2].args = recordsQuery(hub.RecordFilter{Job: "job-1", Limit: 5})
	tests[3].q, tests[3].args = recordsQuery(hub.RecordFilter{Signer: "alice"})
	tests[4].q, tests[4].args = countQuery(hub.RecordFilter{Kind: "survey"})
	for _, tc := range tests {
		p := plan(tc.q, tc.args...)
		if !strings.Contains(p, tc.index) || strings.Contains(p, "Sort") {
			t.Errorf("%s: plan %q, want index %s and no sort", tc.name, p, tc.index)
		}
	}
}
