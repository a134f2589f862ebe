package pgstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/hubapi"
)

// sqliteHub makes a SQLite hub holding a little of everything: users
// enrolled, re-enrolled and revoked, codes pending, used and expired, jobs,
// records with and without journal references, idempotency keys with every
// outcome, a denylist and courier decisions.
func sqliteHub(t *testing.T) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cet := time.FixedZone("CET", 3600)
	at := func(d time.Duration) time.Time { return now.In(cet).Add(d) }

	for _, seed := range []string{"alice1", "alice2"} {
		_, err := enrollWith(t, s, "alice", hubapi.RoleInstaller, user(seed))
		must(err)
	}
	_, err = enrollWith(t, s, "bob", hubapi.RoleSales, user("bob"))
	must(err)
	_, err = s.RevokeUser(ctx, "bob", at(time.Minute+time.Nanosecond))
	must(err)
	_, err = enrollWith(t, s, "carol", hubapi.RoleSupport, user("carol"))
	must(err)
	must(s.CreateEnrollment(ctx, hub.Enrollment{CodeHash: hexSum("pending"), Name: "dave", Role: hubapi.RoleInstaller, CreatedAt: at(0), ExpiresAt: at(time.Hour)}))
	must(s.CreateEnrollment(ctx, hub.Enrollment{CodeHash: hexSum("expired"), Name: "erin", Role: hubapi.RoleSales, CreatedAt: at(-2 * time.Hour), ExpiresAt: at(-time.Hour)}))

	for i, doors := range [][]string{nil, {}, {"front", "back ünïcode"}} {
		must(s.CreateJob(ctx, hub.Job{ID: fmt.Sprint("job-", i), Building: "B", Address: "1 Main St", Doors: doors,
			AccessHours: "08-20", Incentive: "gift-card", Terms: "2026-01", Installer: []string{"alice", "alice", "carol"}[i],
			CreatedAt: at(time.Duration(i) * time.Second), ExpiresAt: at(24 * time.Hour), Packet: []byte{0, 0xff, byte(i)}}))
	}

	r1, r2, r3 := record("rec-1", "LK-1", at(time.Hour)), record("rec-2", "LK-2", at(2*time.Hour+123)), record("rec-3", "", at(3*time.Hour))
	r1.KeyIDs = []string{"key-alice1"}
	r1.JournalSeq, r1.JournalHash = 4, hexSum("j4")
	r2.KeyIDs = []string{"key-alice2", "key-unit-LK-2"}
	r2.JournalSeq, r2.JournalHash = 1, hexSum("j1")
	r3.KeyIDs = nil
	conflict := r1
	conflict.Digest = hexSum("other")
	req := intakeReq("k1", r1, r2, r1, conflict)
	req.Items = append(req.Items, hub.IntakeItem{Refused: &hub.Refusal{ID: "bad", Kind: "survey", Code: hubapi.CodeBadSignature, Reason: `signature "x" <bad>`}})
	_, err = s.Intake(ctx, req)
	must(err)
	_, err = s.Intake(ctx, intakeReq("k2", r3))
	must(err)

	must(s.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-2", Reason: "stolen", DeniedAt: at(5 * time.Hour)}))
	must(s.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-9", Reason: "counterfeit", DeniedAt: at(6 * time.Hour)}))
	for i, d := range []hub.CourierDecision{
		{Serial: "LK-1", Enabled: true, Job: "job-0", Consent: "rec-1", Reason: "notice given", At: at(7 * time.Hour)},
		{Serial: "LK-2", Enabled: true, Job: "job-2", Consent: "", Reason: "", At: at(8 * time.Hour)},
		{Serial: "LK-1", Enabled: false, Job: "job-0", Consent: "rec-1", Reason: "revoked", At: at(9 * time.Hour)},
	} {
		if err := s.SetCourier(ctx, d); err != nil {
			t.Fatalf("SetCourier %d: %v", i, err)
		}
	}
	must(s.PinKey(ctx, hubKey("sqlite")))
	return s
}

// hubKey is a 32-byte stand-in for a hub's public key.
func hubKey(seed string) ed25519.PublicKey {
	sum := sha256.Sum256([]byte("hub key " + seed))
	return sum[:]
}

// answers is what a hub reads from its storage, as JSON, to compare two.
func answers(t *testing.T, s interface {
	hub.Storage
	hub.CourierLog
	hub.KeyPin
}) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	add := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			v = "error: " + err.Error()
		}
		b, jerr := json.Marshal(v)
		if jerr != nil {
			t.Fatal(jerr)
		}
		out[name] = string(b)
	}
	v1, err := s.Users(ctx)
	add("Users", v1, err)
	for _, key := range []string{"key-alice1", "key-alice2", "key-bob"} {
		u, err := s.UserByKeyID(ctx, key)
		add("UserByKeyID "+key, u, err)
	}
	u, err := s.UserByToken(ctx, hexSum("token-alice2"))
	add("UserByToken", u, err)
	for _, inst := range []string{"", "alice"} {
		v, err := s.Jobs(ctx, inst)
		add("Jobs "+inst, v, err)
	}
	v3, err := s.Records(ctx, hub.RecordFilter{})
	add("Records", v3, err)
	n, err := s.CountRecords(ctx, hub.RecordFilter{Signer: "alice"})
	add("CountRecords", n, err)
	for _, name := range []string{"alice", "bob"} {
		seq, hash, err := s.JournalHead(ctx, name)
		add("JournalHead "+name, fmt.Sprint(seq, hash), err)
	}
	v4, err := s.Units(ctx)
	add("Units", v4, err)
	v5, err := s.Denylist(ctx)
	add("Denylist", v5, err)
	v6, err := s.CourierDecisions(ctx)
	add("CourierDecisions", v6, err)
	k, err := s.PinnedKey(ctx)
	add("PinnedKey", k, err)
	// A replay answers from the idempotency table.
	r, err := s.Intake(ctx, intakeReq("k2", record("rec-3", "", now)))
	add("replay", r, err)
	// Codes: the pending one redeems, the expired one does not.
	e, err := s.Enroll(ctx, hexSum("expired"), now, user("erin"))
	add("Enroll expired", e, err)
	d, err := s.Enroll(ctx, hexSum("pending"), now.Add(time.Minute), user("dave"))
	add("Enroll pending", d, err)
	return out
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := sqliteHub(t)
	dst := openTest(t)
	type call struct{ done, total int }
	calls := map[string][]call{}
	reports, err := Migrate(ctx, src, dst, func(table string, done, total int) {
		calls[table] = append(calls[table], call{done, total})
	})
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	wantRows := map[string]int{"enrollments": 6, "users": 3, "user_keys": 4, "jobs": 3, "records": 3,
		"idempotency": 2, "denylist": 2, "courier_decisions": 3, "hub_key": 1}
	if len(reports) != len(wantRows) {
		t.Errorf("%d reports, want %d: %+v", len(reports), len(wantRows), reports)
	}
	for _, r := range reports {
		if r.Rows != wantRows[r.Table] || r.SourceDigest != r.TargetDigest || len(r.SourceDigest) != 64 {
			t.Errorf("report %+v, want %d rows and equal digests", r, wantRows[r.Table])
		}
		c := calls[r.Table]
		if len(c) < 2 || c[0] != (call{0, r.Rows}) || c[len(c)-1] != (call{r.Rows, r.Rows}) {
			t.Errorf("progress of %s = %v, want from 0 to %d of %d", r.Table, c, r.Rows, r.Rows)
		}
	}

	want, got := answers(t, src), answers(t, dst)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s differs after migration:\nSQLite:     %s\nPostgreSQL: %s", name, w, got[name])
		}
	}
	// New courier decisions go on after the copied ids: the newest wins.
	if err := dst.SetCourier(ctx, hub.CourierDecision{Serial: "LK-1", Enabled: true, Job: "job-0", Consent: "rec-1", At: now}); err != nil {
		t.Fatal(err)
	}
	ds, err := dst.CourierDecisions(ctx)
	if err != nil || len(ds) != 2 || ds[0].Serial != "LK-1" || !ds[0].Enabled {
		t.Errorf("CourierDecisions after a new one = %+v, %v; want LK-1 enabled", ds, err)
	}
}

// TestMigrateChunks copies in chunks bounded by rows, then by bytes: each
// chunk is one COPY, reported by one progress call, and the copy is the
// same whatever the chunks.
func TestMigrateChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := sqliteHub(t)
	for _, tc := range []struct {
		name        string
		rows, bytes int
	}{
		{"two rows", 2, copyChunkBytes},
		{"one byte", copyChunk, 1},
	} {
		dst := openTest(t)
		calls := map[string]int{}
		reports, err := migrate(ctx, src, dst, func(table string, done, total int) { calls[table]++ }, tc.rows, tc.bytes)
		if err != nil {
			t.Fatalf("%s: migrate: %v", tc.name, err)
		}
		for _, r := range reports {
			// The first call announces the table; each chunk is one more.
			if got, want := calls[r.Table]-1, chunks(r.Rows, tc.rows, tc.bytes); got != want {
				t.Errorf("%s: table %s (%d rows): %d chunks, want %d", tc.name, r.Table, r.Rows, got, want)
			}
			if r.SourceDigest != r.TargetDigest {
				t.Errorf("%s: table %s: digests differ", tc.name, r.Table)
			}
		}
	}
}

// chunks is how many COPYs n rows take with the given bounds, when every
// row is at least one byte.
func chunks(n, rows, bytes int) int {
	per := rows
	if bytes <= 1 {
		per = 1
	}
	return (n + per - 1) / per
}

func TestMigrateNotEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := sqliteHub(t)
	dst := openTest(t)
	if err := dst.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-0", Reason: "test", DeniedAt: now}); err != nil {
		t.Fatal(err)
	}
	_, err := Migrate(ctx, src, dst, nil)
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "denylist") {
		t.Fatalf("Migrate into a hub with a denied unit: %v; want ErrNotEmpty naming denylist", err)
	}
	if users, err := dst.Users(ctx); err != nil || len(users) != 0 {
		t.Errorf("Users after a refused migration = %d, %v; want none", len(users), err)
	}
}

// TestMigrateMismatch makes PostgreSQL change rows as they arrive (a
// trigger the hub never has), so the verification must catch it and roll
// everything back.
func TestMigrateMismatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := sqliteHub(t)
	dst := openTest(t)
	if _, err := dst.pool.Exec(ctx, `
		CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN NEW.reason := upper(NEW.reason); RETURN NEW; END $$;
		CREATE TRIGGER tamper BEFORE INSERT ON denylist FOR EACH ROW EXECUTE FUNCTION tamper();`); err != nil {
		t.Fatal(err)
	}
	_, err := Migrate(ctx, src, dst, nil)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "table denylist") {
		t.Fatalf("Migrate with a tampering trigger: %v; want ErrMismatch naming denylist", err)
	}
	for _, table := range []string{"users", "records", "denylist"} {
		var n int
		if err := dst.pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s after a failed migration: %d rows, %v; want none", table, n, err)
		}
	}
}

// TestMigrateFromReadOnly copies from the SQLite hub opened read-only, as
// `hub migrate` does: the same tables and digests as from a Store.
func TestMigrateFromReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := sqliteHub(t)
	want, err := Migrate(ctx, src, openTest(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := sqlstore.OpenReadOnly(ctx, src.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := Migrate(ctx, ro, openTest(t), nil)
	if err != nil {
		t.Fatalf("Migrate from sqlstore.ReadOnly: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reports from ReadOnly %+v, from Store %+v", got, want)
	}
}

// TestMigratePinnedTarget: a target whose only row is a pinned hub key
// (an instance started on it first) takes the copy when it is the SQLite
// hub's key, and refuses it, keeping nothing, when it is another.
func TestMigratePinnedTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := sqliteHub(t)

	same := openTest(t)
	if err := same.PinKey(ctx, hubKey("sqlite")); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, src, same, nil); err != nil {
		t.Fatalf("Migrate into a database pinned to the same key: %v", err)
	}
	if k, err := same.PinnedKey(ctx); err != nil || !bytes.Equal(k, hubKey("sqlite")) {
		t.Errorf("PinnedKey after = %x, %v", k, err)
	}

	other := openTest(t)
	if err := other.PinKey(ctx, hubKey("other")); err != nil {
		t.Fatal(err)
	}
	_, err := Migrate(ctx, src, other, nil)
	if !errors.Is(err, hub.ErrKeyMismatch) {
		t.Fatalf("Migrate into a database pinned to another key: %v; want ErrKeyMismatch", err)
	}
	if k, err := other.PinnedKey(ctx); err != nil || !bytes.Equal(k, hubKey("other")) {
		t.Errorf("PinnedKey after the refusal = %x, %v; want the other key still", k, err)
	}
	if users, err := other.Users(ctx); err != nil || len(users) != 0 {
		t.Errorf("Users after the refusal = %d, %v; want none", len(users), err)
	}

	// A SQLite hub that pinned no key leaves the target's pin as it was.
	unpinned, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer unpinned.Close()
	if _, err := Migrate(ctx, unpinned, other, nil); err != nil {
		t.Fatalf("Migrate of an unpinned SQLite hub into a pinned database: %v", err)
	}
	if k, err := other.PinnedKey(ctx); err != nil || !bytes.Equal(k, hubKey("other")) {
		t.Errorf("PinnedKey after = %x, %v; want the target's key kept", k, err)
	}
}
