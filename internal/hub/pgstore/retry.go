package pgstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the store branches on.
const (
	codeSerialization = "40001" // serialization_failure
	codeDeadlock      = "40P01" // deadlock_detected
	codeUnique        = "23505" // unique_violation
)

// maxAttempts bounds how often a transaction runs: a conflict that outlasts
// this many tries is not a race but a fault, and comes back as an error.
const maxAttempts = 10

// retryBase and retryCap shape the backoff between attempts: a random wait
// below retryBase·2^(attempt-1), at most retryCap ("full jitter"), so that
// two instances that collided do not collide again in step.
const (
	retryBase = 2 * time.Millisecond
	retryCap  = 200 * time.Millisecond
)

// errRetry marks an error after which the whole transaction may run again
// (the race it lost is over by then).
var errRetry = errors.New("lost a race with a concurrent transaction")

// sqlState is the SQLSTATE of a PostgreSQL error in err's chain ("" when
// there is none).
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports whether a transaction that failed with err may run
// again: a serialization failure or a deadlock (PostgreSQL rolled it back
// to let another one through), or a race a transaction marked with errRetry.
func retryable(err error) bool {
	switch sqlState(err) {
	case codeSerialization, codeDeadlock:
		return true
	}
	return errors.Is(err, errRetry)
}

// backoff is the wait before attempt+1.
func backoff(attempt int) time.Duration {
	limit := min(retryBase<<min(attempt-1, 16), retryCap)
	return time.Duration(rand.Int64N(int64(limit))) + time.Millisecond/4
}

// retry runs fn until it succeeds, fails with an error retryable does not
// accept, runs maxAttempts times, or ctx ends. It returns fn's last error.
func retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// inTx runs fn in a transaction at the isolation level iso, committing when
// fn returns nil, and runs it again (a fresh transaction) as retry says.
// fn must not keep anything from a failed attempt.
func (s *Store) inTx(ctx context.Context, iso pgx.TxIsoLevel, fn func(tx pgx.Tx) error) error {
	return retry(ctx, func() error {
		err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: iso}, fn)
		if err != nil && s.sawRetryable != nil && retryable(err) {
			s.sawRetryable(err)
		}
		return err
	})
}
