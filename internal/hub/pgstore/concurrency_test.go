package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
)

// twoHubs opens two stores on one fresh schema: two pools, as two hub
// instances behind a load balancer have.
func twoHubs(t *testing.T) [2]*Store {
	t.Helper()
	dsn := pgtest.DSN(t)
	return [2]*Store{openAt(t, dsn), openAt(t, dsn)}
}

// both runs f on each hub at the same moment and waits for both.
func both(hubs [2]*Store, f func(i int, s *Store)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range hubs {
		wg.Go(func() {
			<-start
			f(i, s)
		})
	}
	close(start)
	wg.Wait()
}

// TestTwoHubsSameRequest sends one request (same user, key, digest and
// records) to two hub instances at once, round after round, as a laptop
// retrying through a load balancer does: one stores, the other replays the
// same answer, and each record is stored once.
func TestTwoHubsSameRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hubs := twoHubs(t)
	const rounds, size = 25, 8
	for round := range rounds {
		recs := make([]hub.Record, size)
		for j := range recs {
			recs[j] = record(fmt.Sprintf("r%02d-%d", round, j), "LK-1", now.Add(time.Duration(round*size+j)))
		}
		req := intakeReq(fmt.Sprint("k", round), recs...)
		var res [2]hub.IntakeResult
		var errs [2]error
		both(hubs, func(i int, s *Store) { res[i], errs[i] = s.Intake(ctx, req) })
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v; %v", round, errs[0], errs[1])
		}
		if res[0].Replayed == res[1].Replayed {
			t.Errorf("round %d: replayed %v and %v, want exactly one replay", round, res[0].Replayed, res[1].Replayed)
		}
		if !slices.Equal(res[0].Results, res[1].Results) {
			t.Errorf("round %d: answers differ:\n%+v\n%+v", round, res[0].Results, res[1].Results)
		}
		for j, r := range res[0].Results {
			if r.Outcome != hub.OutcomeStored || r.ID != recs[j].ID {
				t.Errorf("round %d: result %d = %+v, want %s stored", round, j, r, recs[j].ID)
			}
		}
	}
	checkStoredOnce(t, hubs[0], rounds*size)
}

// TestTwoHubsSameRecords sends the same records under two keys (two
// laptops of one user, or a retry with a new key) to two instances at once,
// in opposite orders: each record is reported stored by exactly one of
// them and duplicate by the other, with no deadlock: not as an error, nor
// as one the retries hid (the records go in by id, so the two take their
// locks in one order).
func TestTwoHubsSameRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hubs := twoHubs(t)
	var deadlocks, retried atomic.Int32
	for _, s := range hubs {
		s.sawRetryable = func(err error) {
			retried.Add(1)
			if sqlState(err) == codeDeadlock {
				deadlocks.Add(1)
			}
		}
	}
	const rounds, size = 20, 10
	for round := range rounds {
		recs := make([]hub.Record, size)
		for j := range recs {
			recs[j] = record(fmt.Sprintf("r%02d-%d", round, j), "LK-1", now)
		}
		var res [2]hub.IntakeResult
		var errs [2]error
		both(hubs, func(i int, s *Store) {
			mine := slices.Clone(recs)
			if i == 1 {
				slices.Reverse(mine)
			}
			res[i], errs[i] = s.Intake(ctx, intakeReq(fmt.Sprintf("k%d-%d", round, i), mine...))
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v; %v", round, errs[0], errs[1])
		}
		stored := map[string]int{}
		for i := range res {
			for _, r := range res[i].Results {
				switch r.Outcome {
				case hub.OutcomeStored:
					stored[r.ID]++
				case hub.OutcomeDuplicate:
				default:
					t.Errorf("round %d, hub %d: %s %s, want stored or duplicate", round, i, r.ID, r.Outcome)
				}
			}
		}
		for _, r := range recs {
			if stored[r.ID] != 1 {
				t.Errorf("round %d: %s reported stored %d times, want once", round, r.ID, stored[r.ID])
			}
		}
	}
	checkStoredOnce(t, hubs[1], rounds*size)
	if n := deadlocks.Load(); n != 0 {
		t.Errorf("%d deadlocks (40P01) retried, want none", n)
	}
	t.Logf("%d attempts retried", retried.Load())
}

// TestSawRetryable checks the hook TestTwoHubsSameRecords counts deadlocks
// with: it sees each retryable failure of an attempt, the retried ones
// included.
func TestSawRetryable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	var seen []string
	s.sawRetryable = func(err error) { seen = append(seen, sqlState(err)) }
	n := 0
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		if n++; n < 3 {
			return &pgconn.PgError{Code: codeDeadlock}
		}
		return nil
	})
	if err != nil || n != 3 || !slices.Equal(seen, []string{codeDeadlock, codeDeadlock}) {
		t.Errorf("inTx = %v after %d attempts, hook saw %v; want success on the third, two deadlocks seen", err, n, seen)
	}
}

// checkStoredOnce fails unless the store holds n records with distinct ids.
func checkStoredOnce(t *testing.T, s *Store, n int) {
	t.Helper()
	recs, err := s.Records(context.Background(), hub.RecordFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.ID] = true
	}
	if len(recs) != n || len(ids) != n {
		t.Errorf("%d records with %d distinct ids stored, want %d", len(recs), len(ids), n)
	}
}

// TestTwoHubsOneCode redeems one enrollment code through two instances at
// once: exactly one enrolls.
func TestTwoHubsOneCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hubs := twoHubs(t)
	for round := range 20 {
		name := fmt.Sprint("user", round)
		code := hexSum("code-" + name)
		if err := hubs[round%2].CreateEnrollment(ctx, hub.Enrollment{CodeHash: code, Name: name, Role: hubapi.RoleInstaller,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var errs [2]error
		both(hubs, func(i int, s *Store) {
			_, errs[i] = s.Enroll(ctx, code, now, user(fmt.Sprintf("%s-%d", name, i)))
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, hub.ErrEnrollInvalid):
				t.Errorf("round %d, hub %d: %v, want success or ErrEnrollInvalid", round, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: code redeemed %d times, want once", round, wins)
		}
	}
	if users, err := hubs[0].Users(ctx); err != nil || len(users) != 20 {
		t.Errorf("Users = %d, %v; want 20", len(users), err)
	}
}

// TestTwoHubsOneName redeems two codes for one new name through two
// instances at once: both succeed, as one after the other (the second a
// re-enrollment), leaving one user whose other key is replaced.
func TestTwoHubsOneName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hubs := twoHubs(t)
	for round := range 10 {
		name := fmt.Sprint("user", round)
		var codes [2]string
		for i := range codes {
			codes[i] = hexSum(fmt.Sprint("code-", name, i))
			if err := hubs[0].CreateEnrollment(ctx, hub.Enrollment{CodeHash: codes[i], Name: name, Role: hubapi.RoleInstaller,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		var got [2]hub.User
		var errs [2]error
		both(hubs, func(i int, s *Store) {
			got[i], errs[i] = s.Enroll(ctx, codes[i], now.Add(time.Duration(i)), user(fmt.Sprintf("%s-%d", name, i)))
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v; %v", round, errs[0], errs[1])
		}
		if got[0].ID != got[1].ID {
			t.Errorf("round %d: two users %s and %s for one name", round, got[0].ID, got[1].ID)
		}
		current, err := hubs[0].User(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		other := got[0].KeyID
		if current.KeyID == other {
			other = got[1].KeyID
		}
		if old, err := hubs[1].UserByKeyID(ctx, other); err != nil || !old.Revoked() || old.ID != current.ID {
			t.Errorf("round %d: the replaced key %s = %+v, %v; want %s's, revoked", round, other, old, err, name)
		}
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	pgErr := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name     string
		err      error
		attempts int
	}{
		{"serialization failure", pgErr(codeSerialization), maxAttempts},
		{"deadlock", pgErr(codeDeadlock), maxAttempts},
		{"marked race", fmt.Errorf("x: %w", errRetry), maxAttempts},
		{"unique violation", pgErr(codeUnique), 1},
		{"other", errors.New("boom"), 1},
	}
	for _, tc := range tests {
		n := 0
		err := retry(ctx, func() error { n++; return tc.err })
		if n != tc.attempts || !errors.Is(err, tc.err) {
			t.Errorf("%s: %d attempts, %v; want %d and the error", tc.name, n, err, tc.attempts)
		}
	}
	// A failure that clears is retried until it does.
	n := 0
	if err := retry(ctx, func() error {
		if n++; n < 3 {
			return pgErr(codeSerialization)
		}
		return nil
	}); err != nil || n != 3 {
		t.Errorf("clearing failure: %d attempts, %v; want 3, nil", n, err)
	}
	// A cancelled context stops the waiting.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	n = 0
	if err := retry(cctx, func() error { n++; return pgErr(codeSerialization) }); n != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %d attempts, %v; want 1 and context.Canceled", n, err)
	}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if d := backoff(attempt); d <= 0 || d > retryCap+time.Millisecond {
			t.Errorf("backoff(%d) = %v, want within (0, %v]", attempt, d, retryCap)
		}
	}
}

// TestSerializationFailureRetried provokes a real serialization failure:
// another instance changes a row between the transaction's first read and
// its write. The first attempt fails with 40001, the second succeeds.
func TestSerializationFailureRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hubs := twoHubs(t)
	code := hexSum("code")
	if err := hubs[0].CreateEnrollment(ctx, hub.Enrollment{CodeHash: code, Name: "alice", Role: hubapi.RoleInstaller, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	var firstErr error
	err := hubs[0].inTx(ctx, pgx.Serializable, func(tx pgx.Tx) error {
		n := attempts.Add(1)
		var role string
		if err := tx.QueryRow(ctx, `SELECT role FROM enrollments WHERE code_hash = $1`, code).Scan(&role); err != nil {
			return err
		}
		if n == 1 {
			if _, err := hubs[1].pool.Exec(ctx, `UPDATE enrollments SET role = 'other' WHERE code_hash = $1`, code); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE enrollments SET role = $2 WHERE code_hash = $1`, code, role+"+mine")
		if n == 1 {
			firstErr = err
		}
		return err
	})
	if err != nil || attempts.Load() != 2 || sqlState(firstErr) != codeSerialization {
		t.Fatalf("inTx = %v after %d attempts (first: %v); want success on the second after a serialization failure", err, attempts.Load(), firstErr)
	}
	var role string
	if err := hubs[1].pool.QueryRow(ctx, `SELECT role FROM enrollments WHERE code_hash = $1`, code).Scan(&role); err != nil || role != "other+mine" {
		t.Errorf("role = %q, %v; want other+mine (the retry read the other's write)", role, err)
	}
}
