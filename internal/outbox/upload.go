package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/store"
)

// Sender delivers one batch of signed records to the back office
// (hubapi.PathRecordsBatch); hubclient.Client is one.
//
// SendBatch MUST send idemKey as the request's Idempotency-Key and envs, in
// order, as its records, and return the hub's results one per record in the
// same order. A refusal of the whole request is a *hubapi.Error (its
// Retryable and RetryAfter say whether and when to try again); any other
// error is taken as a network failure, and the same batch is sent again with
// the same key.
type Sender interface {
	SendBatch(ctx context.Context, idemKey string, envs [][]byte) ([]hubapi.RecordResult, error)
}

// Codes of refusals the uploader records itself, next to the hub's own
// (hubapi.Code…) in Entry.RejectCode.
const (
	// CodeDigestMismatch: the hub says it stored the record, but under
	// another digest than the payload signed here.
	CodeDigestMismatch = "digest-mismatch"
	// CodeUnexplained: the hub refused the record without a code.
	CodeUnexplained = "unexplained"
	// CodeUnknownStatus: the hub answered with a status this build does
	// not know.
	CodeUnknownStatus = "unknown-status"
)

// Defaults of Uploader's zero fields.
const (
	DefaultBatchSize   = 200
	DefaultBase        = 250 * time.Millisecond
	DefaultCap         = 30 * time.Second
	DefaultMaxFailures = 6
	// DefaultMaxRetryAfter is the longest Retry-After the uploader waits
	// out; a hub that asks for more makes it stop (ErrGaveUp), so a sync
	// on a laptop in a lobby does not hang for an hour.
	DefaultMaxRetryAfter = 5 * time.Minute
)

// batchOverhead bounds the bytes of a batch request besides the envelopes:
// {"records":[...]} and a comma between each.
const batchOverhead = 64

// Uploader sends the queued entries of an Outbox. Zero fields take the
// defaults above; Sleep, Rand and the Outbox's clock are injected so tests
// run without waiting.
type Uploader struct {
	Outbox *Outbox
	Sender Sender
	// BatchSize is the most records per request, at most hubapi.MaxBatch.
	// Batches are also kept under hubapi.MaxBody bytes.
	BatchSize int
	// Base and Cap shape the backoff after a failed attempt n (0 for the
	// first): a wait drawn uniformly from [0, min(Cap, Base·2ⁿ)] ("full
	// jitter"), or the hub's Retry-After when that is longer.
	Base, Cap time.Duration
	// MaxFailures is how many failed attempts in a row end the run with
	// ErrGaveUp.
	MaxFailures int
	// MaxRetryAfter is the longest Retry-After waited out.
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends; nil sleeps on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand draws the jitter; nil is crypto/rand.
	Rand io.Reader
}

// Progress is reported after every answered batch.
type Progress struct {
	Done  int `json:"done"`  // entries answered in this run
	Total int `json:"total"` // Done plus those still queued
}

// Summary is what a run did.
type Summary struct {
	Sent      int     `json:"sent"`
	Rejected  []Entry `json:"rejected"`  // refused in this run, with the hub's reasons
	Remaining int     `json:"remaining"` // still queued when the run ended
	Batches   int     `json:"batches"`   // answered batch requests
	Retries   int     `json:"retries"`   // failed attempts that were tried again
}

// Run sends queued entries in order until none is left, and returns what it
// did. Entries are marked only from the hub's answer, each batch's in one
// transaction; a batch whose answer never came (a timeout, a crash) is sent
// again first, with the same rows and Idempotency-Key. A request the hub
// refuses for good (a revoked user, say) stops the run with the hub's
// *hubapi.Error; MaxFailures failed attempts in a row stop it with ErrGaveUp.
// Either way the unsent entries stay queued.
func (u *Uploader) Run(ctx context.Context, progress func(Progress)) (Summary, error) {
	if u.Outbox == nil || u.Sender == nil {
		return Summary{}, errors.New("upload records: uploader needs an Outbox and a Sender")
	}
	cfg := u.withDefaults()
	sum := Summary{Rejected: []Entry{}}
	finish := func(err error) (Summary, error) {
		if n, cerr := u.Outbox.queued(context.WithoutCancel(ctx)); cerr == nil {
			sum.Remaining = n
		} else if err == nil {
			err = cerr
		}
		return sum, err
	}
	done, failures := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return finish(fmt.Errorf("upload records: %w", err))
		}
		key, rows, err := u.Outbox.nextBatch(ctx, cfg.BatchSize)
		if err != nil {
			return finish(fmt.Errorf("upload records: %w", err))
		}
		if len(rows) == 0 {
			return finish(nil)
		}
		envs := make([][]byte, len(rows))
		for i, r := range rows {
			envs[i] = r.envelope
		}
		results, err := cfg.Sender.SendBatch(ctx, key, envs)
		if err == nil {
			err = checkAnswer(rows, results)
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return finish(fmt.Errorf("upload records: %w", cerr))
			}
			if tooLarge(err) {
				// The hub (or a proxy before it) refuses a body this
				// big: send fewer at a time. A single record too large
				// is refused for good, and the queue moves on.
				if len(rows) == 1 {
					if merr := u.Outbox.rejectOne(ctx, key, rows[0], hubapi.CodeTooLarge, err.Error()); merr != nil {
						return finish(fmt.Errorf("upload records: %w", merr))
					}
					rows[0].State, rows[0].RejectCode, rows[0].RejectReason = Rejected, hubapi.CodeTooLarge, err.Error()
					sum.Rejected = append(sum.Rejected, rows[0])
					done++
					continue
				}
				if merr := u.Outbox.markFailed(ctx, key, err.Error(), time.Time{}, true); merr != nil {
					return finish(fmt.Errorf("upload records: %w", merr))
				}
				cfg.BatchSize = max(1, len(rows)/2)
				continue
			}
			failures++
			retry, wait := retryable(err)
			if !retry {
				// The batch loses its key: sent again unchanged, it would
				// get the same answer for ever. Rebatching is safe, as the
				// hub knows every record it holds by id and digest.
				_ = u.Outbox.markFailed(ctx, key, err.Error(), time.Time{}, true)
				return finish(fmt.Errorf("upload batch of %d records: %w", len(rows), err))
			}
			if failures >= cfg.MaxFailures {
				_ = u.Outbox.markFailed(ctx, key, err.Error(), time.Time{}, false)
				return finish(fmt.Errorf("upload records: %w after %d failed attempts in a row: %w", ErrGaveUp, failures, err))
			}
			if wait > cfg.MaxRetryAfter {
				_ = u.Outbox.markFailed(ctx, key, err.Error(), u.Outbox.now().Add(wait), false)
				return finish(fmt.Errorf("upload records: %w: the hub asked to wait %s: %w", ErrGaveUp, wait, err))
			}
			d, jerr := cfg.backoff(failures - 1)
			if jerr != nil {
				return finish(fmt.Errorf("upload records: %w", jerr))
			}
			d = max(d, wait)
			if merr := u.Outbox.markFailed(ctx, key, err.Error(), u.Outbox.now().Add(d), false); merr != nil {
				return finish(fmt.Errorf("upload records: %w", merr))
			}
			sum.Retries++
			if serr := cfg.Sleep(ctx, d); serr != nil {
				return finish(fmt.Errorf("upload records: %w", serr))
			}
			continue
		}
		failures = 0
		// An answer in hand is stored even if the run is being cancelled.
		sent, rejected, err := u.Outbox.markAnswered(context.WithoutCancel(ctx), key, rows, results)
		if err != nil {
			return finish(fmt.Errorf("upload records: %w", err))
		}
		sum.Batches++
		sum.Sent += sent
		sum.Rejected = append(sum.Rejected, rejected...)
		done += len(rows)
		if progress != nil {
			left, err := u.Outbox.queued(ctx)
			if err != nil {
				return finish(fmt.Errorf("upload records: %w", err))
			}
			progress(Progress{Done: done, Total: done + left})
		}
	}
}

func (u *Uploader) withDefaults() Uploader {
	c := *u
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	c.BatchSize = min(c.BatchSize, hubapi.MaxBatch)
	if c.Base <= 0 {
		c.Base = DefaultBase
	}
	if c.Cap <= 0 {
		c.Cap = DefaultCap
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// backoff draws the wait after failed attempt n (0 for the first) with full
// jitter: uniform in [0, min(Cap, Base·2ⁿ)].
func (u Uploader) backoff(n int) (time.Duration, error) {
	ceil := u.Cap
	if n < 62 && u.Base <= u.Cap>>n {
		ceil = u.Base << n
	}
	var b [8]byte
	if _, err := io.ReadFull(u.Rand, b[:]); err != nil {
		return 0, fmt.Errorf("draw backoff: %w", err)
	}
	return time.Duration(binary.LittleEndian.Uint64(b[:]) % (uint64(ceil) + 1)), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// answerError is what a Sender's errors may say about the hub's answer:
// whether the same request may work later, and its HTTP status. Errors
// that say neither are network failures, which may.
type answerError interface {
	error
	Retryable() bool
	StatusCode() int
}

// retryable reports whether a failed batch may be sent again unchanged, and
// how long the hub asked to wait first.
func retryable(err error) (bool, time.Duration) {
	var he *hubapi.Error
	if errors.As(err, &he) {
		return he.Retryable(), he.RetryAfter
	}
	var ba *badAnswerError
	if errors.As(err, &ba) {
		// The hub answers a repeated key with the same answer: no use.
		return false, 0
	}
	var ae answerError
	if errors.As(err, &ae) {
		var wait time.Duration
		var ra interface{ RetryAfterDelay() time.Duration }
		if errors.As(err, &ra) {
			wait = ra.RetryAfterDelay()
		}
		return ae.Retryable(), wait
	}
	return true, 0
}

// tooLarge reports a refusal of the request's size: the hub's own
// too-large, or a 413 from a proxy in front of it.
func tooLarge(err error) bool {
	var he *hubapi.Error
	if errors.As(err, &he) {
		return he.Code == hubapi.CodeTooLarge || he.Status == http.StatusRequestEntityTooLarge
	}
	var ae answerError
	return errors.As(err, &ae) && ae.StatusCode() == http.StatusRequestEntityTooLarge
}

// badAnswerError is an answer that does not fit the batch it answers.
type badAnswerError struct{ msg string }

func (e *badAnswerError) Error() string { return "hub answer does not fit the batch: " + e.msg }

func checkAnswer(rows []Entry, results []hubapi.RecordResult) error {
	if len(results) != len(rows) {
		return &badAnswerError{fmt.Sprintf("%d results for %d records", len(results), len(rows))}
	}
	for i, r := range results {
		if r.ID != "" && r.ID != rows[i].ID {
			return &badAnswerError{fmt.Sprintf("result %d is for record %s, sent %s", i, r.ID, rows[i].ID)}
		}
	}
	return nil
}

// queued counts the entries waiting to be sent.
func (o *Outbox) queued(ctx context.Context) (int, error) {
	var n int
	err := o.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE state = 'queued'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count queued records: %w", o.st.Check(err))
	}
	return n, nil
}

// nextBatch returns the next batch to send and its Idempotency-Key. A batch
// that was keyed but never answered comes first, exactly as it was; else the
// oldest unbatched queued entries (at most size, and under hubapi.MaxBody
// bytes) get a new key, stored before this returns so that a crash after
// the request still finds it. No rows means nothing is queued.
func (o *Outbox) nextBatch(ctx context.Context, size int) (string, []Entry, error) {
	var key string
	var rows []Entry
	err := o.st.Tx(ctx, func(tx *sql.Tx) error {
		key, rows = "", nil
		err := tx.QueryRowContext(ctx, `SELECT batch_key FROM outbox WHERE state = 'queued' AND batch_key <> '' ORDER BY seq LIMIT 1`).Scan(&key)
		switch {
		case err == nil:
			rows, err = queryEntries(ctx, tx, `SELECT `+entryColumns+` FROM outbox WHERE state = 'queued' AND batch_key = ? ORDER BY seq`, key)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return store.Classify(err)
		}
		cands, err := queryEntries(ctx, tx, `SELECT `+entryColumns+` FROM outbox WHERE state = 'queued' AND batch_key = '' ORDER BY seq LIMIT ?`, size)
		if err != nil || len(cands) == 0 {
			return err
		}
		total := batchOverhead
		for _, c := range cands {
			if len(rows) > 0 && total+len(c.envelope)+1 > hubapi.MaxBody {
				break
			}
			total += len(c.envelope) + 1
			rows = append(rows, c)
		}
		if key, err = o.newKey(); err != nil {
			return err
		}
		seqs := make([]any, len(rows))
		for i := range rows {
			rows[i].BatchKey = key
			seqs[i] = rows[i].Seq
		}
		args := append([]any{key}, seqs...)
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET batch_key = ? WHERE seq IN (`+placeholders(len(seqs))+`)`, args...)
		return store.Classify(err)
	})
	if err != nil {
		return "", nil, fmt.Errorf("form batch: %w", err)
	}
	return key, rows, nil
}

// markFailed notes a failed attempt on the batch's rows. With fresh, the rows
// lose their batch key and will be batched anew.
func (o *Outbox) markFailed(ctx context.Context, key, msg string, next time.Time, fresh bool) error {
	// Noted even when the run is being cancelled: the attempt happened.
	ctx = context.WithoutCancel(ctx)
	err := o.st.Tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?`
		if fresh {
			q += `, batch_key = ''`
		}
		_, err := tx.ExecContext(ctx, q+` WHERE state = 'queued' AND batch_key = ?`, msg, formatTime(next), key)
		return store.Classify(err)
	})
	if err != nil {
		return fmt.Errorf("note failed attempt: %w", err)
	}
	return nil
}

// rejectOne marks one entry of a batch refused, with code and reason.
func (o *Outbox) rejectOne(ctx context.Context, key string, e Entry, code, reason string) error {
	ctx = context.WithoutCancel(ctx)
	err := o.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'rejected', attempts = attempts + 1, batch_key = '',
reject_code = ?, reject_reason = ?, last_error = '', next_attempt_at = '' WHERE seq = ? AND state = 'queued' AND batch_key = ?`,
			code, reason, e.Seq, key)
		return store.Classify(err)
	})
	if err != nil {
		return fmt.Errorf("note refused record: %w", err)
	}
	return nil
}

// markAnswered stores the hub's answer for a batch in one transaction and
// returns how many were sent and the entries rejected.
func (o *Outbox) markAnswered(ctx context.Context, key string, rows []Entry, results []hubapi.RecordResult) (int, []Entry, error) {
	now := o.now().UTC()
	var sent int
	var rejected []Entry
	err := o.st.Tx(ctx, func(tx *sql.Tx) error {
		sent, rejected = 0, nil
		args := []any{formatTime(now), key}
		for i, e := range rows {
			state, code, reason := judge(e, results[i])
			if state == Sent {
				args = append(args, e.Seq)
				continue
			}
			_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'rejected', attempts = attempts + 1,
reject_code = ?, reject_reason = ?, last_error = '', next_attempt_at = '' WHERE seq = ? AND state = 'queued' AND batch_key = ?`,
				code, reason, e.Seq, key)
			if err != nil {
				return store.Classify(err)
			}
			e.State, e.RejectCode, e.RejectReason = Rejected, code, reason
			e.Attempts++
			rejected = append(rejected, e)
		}
		if len(args) == 2 {
			return nil
		}
		// One statement for the sent rows: a batch is mostly those, and
		// preparing an UPDATE per row costs more than the rest of a sync.
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?,
last_error = '', next_attempt_at = '' WHERE state = 'queued' AND batch_key = ? AND seq IN (`+placeholders(len(args)-2)+`)`, args...)
		if err != nil {
			return store.Classify(err)
		}
		n, err := res.RowsAffected()
		sent = int(n)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store the hub's answer: %w", err)
	}
	return sent, rejected, nil
}

// judge turns the hub's result for e into the entry's new state.
func judge(e Entry, r hubapi.RecordResult) (State, string, string) {
	switch {
	case r.Status == hubapi.StatusStored && r.Digest == e.Digest:
		return Sent, "", ""
	case r.Status == hubapi.StatusStored:
		return Rejected, CodeDigestMismatch, fmt.Sprintf("the hub stored digest %q, this record's is %s: it did not store what was signed here", r.Digest, e.Digest)
	case r.Status == hubapi.StatusRejected && r.Code == hubapi.CodeReplayed && r.Digest == e.Digest:
		// The hub holds exactly this record already, from an earlier
		// attempt whose answer was lost.
		return Sent, "", ""
	case r.Status == hubapi.StatusRejected:
		code := r.Code
		if code == "" {
			code = CodeUnexplained
		}
		reason := r.Reason
		if reason == "" {
			reason = "the hub gave no reason"
		}
		return Rejected, code, reason
	}
	return Rejected, CodeUnknownStatus, fmt.Sprintf("the hub answered with status %q", r.Status)
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
