package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
)

// TestWritesUnderSerializableDefault runs the single-statement writes on a
// database whose default_transaction_isolation is serializable, each
// waiting on a row another transaction writes and then commits. Run as a
// bare statement at that level, each would fail with 40001 ("could not
// serialize access due to concurrent update"); the store runs them READ
// COMMITTED, so they see the other's row and answer as always.
func TestWritesUnderSerializableDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openAt(t, withParam(pgtest.DSN(t), "default_transaction_isolation", "serializable"))
	var level string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('default_transaction_isolation')`).Scan(&level); err != nil || level != "serializable" {
		t.Fatalf("default_transaction_isolation = %q, %v; want serializable", level, err)
	}
	if err := s.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-1", Reason: "first", DeniedAt: now}); err != nil {
		t.Fatal(err)
	}
	enrollment := hub.Enrollment{CodeHash: hexSum("code"), Name: "alice", Role: hubapi.RoleInstaller, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	tests := []struct {
		name  string
		other string // the other transaction's write
		write func() error
		check func(err error) bool
	}{
		{
			name:  "DenyUnit",
			other: `UPDATE denylist SET reason = 'other' WHERE serial = 'LK-1'`,
			write: func() error {
				return s.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-1", Reason: "mine", DeniedAt: now.Add(time.Hour)})
			},
			check: func(err error) bool { return err == nil },
		},
		{
			name: "CreateEnrollment",
			other: `INSERT INTO enrollments (code_hash, name, role, created_at, created_at_ns, expires_at, expires_at_ns)
				VALUES ('` + enrollment.CodeHash + `', 'bob', 'installer', now(), 0, now(), 0)`,
			write: func() error { return s.CreateEnrollment(ctx, enrollment) },
			check: func(err error) bool { return errors.Is(err, hub.ErrExists) },
		},
		{
			name: "CreateJob",
			other: `INSERT INTO jobs (id, building, address, doors, access_hours, incentive, terms, installer,
				created_at, created_at_ns, expires_at, expires_at_ns, packet)
				VALUES ('job-1', '', '', NULL, '', '', '', '', now(), 0, now(), 0, '')`,
			write: func() error { return s.CreateJob(ctx, hub.Job{ID: "job-1", CreatedAt: now, ExpiresAt: now}) },
			check: func(err error) bool { return errors.Is(err, hub.ErrExists) },
		},
	}
	for _, tc := range tests {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, tc.other); err != nil {
			t.Fatalf("%s: other transaction: %v", tc.name, err)
		}
		errc := make(chan error, 1)
		go func() { errc <- tc.write() }()
		// Wait until the write waits for the other transaction.
		for deadline := time.Now().Add(10 * time.Second); ; {
			var waiting bool
			if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)))`, pid).
				Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the write never waited for the other transaction", tc.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !tc.check(err) {
			t.Errorf("%s after a concurrent write: error = %v", tc.name, err)
		}
	}
	if d, err := s.Denylist(ctx); err != nil || len(d) != 1 || d[0].Reason != "mine" {
		t.Errorf("Denylist = %+v, %v; want LK-1 with reason mine", d, err)
	}
	// SetCourier, which meets no other row, works at that level too.
	if err := s.SetCourier(ctx, hub.CourierDecision{Serial: "LK-1", Enabled: true, At: now}); err != nil {
		t.Errorf("SetCourier: %v", err)
	}
}
