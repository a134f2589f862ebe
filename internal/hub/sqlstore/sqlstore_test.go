package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/storetest"
	"github.com/latchkey/latchkey/internal/hubapi"
)

// openAt opens the store at path and closes it when the test ends.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
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

func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "hub.db"))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hub.Storage { return openTest(t) })
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
func enrollWith(t *testing.T, s hub.Storage, name, role string, u hub.User) (hub.User, error) {
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
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := Open(ctx, path)
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
	if err := s.CreateJob(ctx, hub.Job{ID: "job-1", Installer: "alice", CreatedAt: now, ExpiresAt: now, Packet: []byte("p")}); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	if err := s.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-9", Reason: "stolen", DeniedAt: now}); err != nil {
		t.Fatalf("DenyUnit: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := openAt(t, path)
	if u, err := s2.UserByToken(ctx, alice.TokenHash); err != nil || u.ID != alice.ID || !u.EnrolledAt.Equal(alice.EnrolledAt) {
		t.Errorf("UserByToken after reopen = %+v, %v; want %+v", u, err, alice)
	}
	if recs, err := s2.Records(ctx, hub.RecordFilter{}); err != nil || len(recs) != 1 || string(recs[0].Envelope) != string(r.Envelope) {
		t.Errorf("Records after reopen = %+v, %v; want rec-1", recs, err)
	}
	if res, err := s2.Intake(ctx, intakeReq("k1", r)); err != nil || !res.Replayed {
		t.Errorf("replay after reopen = %+v, %v; want replayed", res, err)
	}
	if _, err := s2.Job(ctx, "job-1"); err != nil {
		t.Errorf("Job after reopen: %v", err)
	}
	if d, err := s2.Denylist(ctx); err != nil || len(d) != 1 {
		t.Errorf("Denylist after reopen = %+v, %v; want LK-9", d, err)
	}
}

// TestTwoStoresOneFile is `hub serve` and an admin command on one file:
// each sees the other's writes at once, and they contend for one code.
func TestTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	server, admin := openAt(t, path), openAt(t, path)

	code := hexSum("code")
	if err := admin.CreateEnrollment(ctx, hub.Enrollment{CodeHash: code, Name: "alice", Role: hubapi.RoleInstaller, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("admin CreateEnrollment: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		s := []*Store{server, admin}[i%2]
		wg.Go(func() { _, errs[i] = s.Enroll(ctx, code, now, user(fmt.Sprint("alice", i))) })
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, hub.ErrEnrollInvalid):
			t.Errorf("Enroll %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("code redeemed %d times across two stores, want once", wins)
	}
	alice, err := admin.User(ctx, "alice")
	if err != nil {
		t.Fatalf("admin sees the server's enrollment: %v", err)
	}
	if _, err := admin.RevokeUser(ctx, "alice", now.Add(time.Minute)); err != nil {
		t.Fatalf("admin RevokeUser: %v", err)
	}
	if u, err := server.UserByToken(ctx, alice.TokenHash); err != nil || !u.Revoked() {
		t.Errorf("server sees the admin's revocation: %+v, %v", u, err)
	}
	if _, err := server.Intake(ctx, intakeReq("k1", record("rec-1", "LK-1", now))); err != nil {
		t.Fatalf("server Intake: %v", err)
	}
	if n, err := admin.CountRecords(ctx, hub.RecordFilter{}); err != nil || n != 1 {
		t.Errorf("admin counts %d records, %v; want 1", n, err)
	}
	if err := admin.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-1", Reason: "stolen", DeniedAt: now}); err != nil {
		t.Fatalf("admin DenyUnit: %v", err)
	}
	if units, err := server.Units(ctx); err != nil || len(units) != 1 || !units[0].Denied || units[0].Records != 1 {
		t.Errorf("server Units = %+v, %v; want LK-1 denied with 1 record", units, err)
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
	} {
		if _, err := s.st.DB().ExecContext(ctx, q); err == nil {
			t.Errorf("%s: no error, want the immutability trigger to refuse", q)
		}
	}
	// A replace is dropped rather than refused (see the migration).
	q := `INSERT OR REPLACE INTO records SELECT id, kind, signer, key_ids, 'x', job, unit, created_at, received_at, envelope,
		journal_seq, journal_hash FROM records`
	if _, err := s.st.DB().ExecContext(ctx, q); err != nil {
		t.Errorf("%s: %v", q, err)
	}
	recs, err := s.Records(ctx, hub.RecordFilter{})
	if err != nil || len(recs) != 1 || recs[0].Digest != r.Digest {
		t.Errorf("Records = %+v, %v; want rec-1 unchanged", recs, err)
	}
}

// TestStoredTimes checks the stored form: fixed-width RFC 3339 UTC, which
// the text ordering of the queries relies on.
func TestStoredTimes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	cet := time.FixedZone("CET", 3600)
	whole := time.Date(2026, 3, 2, 10, 0, 0, 0, cet)
	if _, err := s.Intake(ctx, intakeReq("k1", record("a", "", whole), record("b", "", whole.Add(-time.Nanosecond)))); err != nil {
		t.Fatalf("Intake: %v", err)
	}
	var created string
	if err := s.st.DB().QueryRowContext(ctx, `SELECT created_at FROM records WHERE id = 'a'`).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if want := "2026-03-02T09:00:00.000000000Z"; created != want {
		t.Errorf("stored created_at = %q, want %q", created, want)
	}
	recs, err := s.Records(ctx, hub.RecordFilter{})
	if err != nil || len(recs) != 2 || recs[0].ID != "b" || !recs[1].CreatedAt.Equal(whole) {
		t.Errorf("Records = %+v, %v; want b (a nanosecond older) before a", recs, err)
	}
}

// TestQueryPlans checks that each filter of Records is served by an index
// that also gives the order, and that no list sorts in a temporary b-tree:
// the records table grows by millions of rows a year.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	plan := func(q string, args ...any) string {
		t.Helper()
		rows, err := s.st.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	records := func(f hub.RecordFilter) (string, []any) { return recordsQuery(f) }
	count := func(f hub.RecordFilter) (string, []any) { return countQuery(f) }
	sql := func(q string, args ...any) func() (string, []any) {
		return func() (string, []any) { return q, args }
	}
	with := func(build func(hub.RecordFilter) (string, []any), f hub.RecordFilter) func() (string, []any) {
		return func() (string, []any) { return build(f) }
	}
	tests := []struct {
		name  string
		query func() (string, []any)
		index string
	}{
		{"all records", with(records, hub.RecordFilter{}), "records_created"},
		{"kind", with(records, hub.RecordFilter{Kind: "survey"}), "records_kind"},
		{"job", with(records, hub.RecordFilter{Job: "job-1", Limit: 5}), "records_job"},
		{"signer", with(records, hub.RecordFilter{Signer: "alice"}), "records_signer"},
		{"count by kind", with(count, hub.RecordFilter{Kind: "survey"}), "records_kind"},
		{"jobs of an installer", sql(`SELECT id FROM jobs WHERE installer = ? ORDER BY created_at DESC, id DESC`, "ann"), "jobs_installer"},
		{"all jobs", sql(`SELECT id FROM jobs ORDER BY created_at DESC, id DESC`), "jobs_created"},
		{"sweep", sql(`SELECT 1 FROM idempotency WHERE expires_at < ?`, "x"), "idempotency_expires"},
		{"units", sql(`SELECT unit, count(*), max(created_at) FROM records WHERE unit <> '' GROUP BY unit`), "records_unit"},
	}
	for _, tc := range tests {
		q, args := tc.query()
		p := plan(q, args...)
		if !strings.Contains(p, "INDEX "+tc.index) || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want index %s and no temporary b-tree", tc.name, p, tc.index)
		}
	}
}

func TestPingClosed(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	s.Close()
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping of a closed store: no error")
	}
}

// BenchmarkIntake stores batches of hubapi.MaxBatch records, each batch one
// request, the way the batch endpoint does.
func BenchmarkIntake(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	envelope := make([]byte, 1200) // about a signed survey record
	for i := range envelope {
		envelope[i] = byte('a' + i%26)
	}
	n := 0
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		recs := make([]hub.Record, hubapi.MaxBatch)
		for j := range recs {
			id := fmt.Sprintf("rec-%06d-%03d", i, j)
			recs[j] = hub.Record{ID: id, Kind: "survey", Signer: "alice", KeyIDs: []string{"key-alice", "key-unit"},
				Digest: hexSum(id), Job: fmt.Sprintf("job-%d", j%50), Unit: fmt.Sprintf("LK-%04d", j%50),
				CreatedAt: now.Add(time.Duration(i*hubapi.MaxBatch+j) * time.Millisecond), ReceivedAt: now, Envelope: envelope}
		}
		req := intakeReq(fmt.Sprint("k", i), recs...)
		res, err := s.Intake(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if res.Results[len(res.Results)-1].Outcome != hub.OutcomeStored {
			b.Fatalf("last result = %+v", res.Results[len(res.Results)-1])
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
}
