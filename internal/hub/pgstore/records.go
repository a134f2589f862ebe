package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/hub"
)

// storedResult is the stored form of a hub.ItemResult, with the same JSON
// names as sqlstore's, so that a migrated key replays the same answer.
type storedResult struct {
	ID      string      `json:"id"`
	Kind    string      `json:"kind"`
	Digest  string      `json:"digest"`
	Outcome hub.Outcome `json:"outcome"`
	Code    string      `json:"code,omitempty"`
	Reason  string      `json:"reason,omitempty"`
}

func encodeResults(rs []hub.ItemResult) ([]byte, error) {
	out := make([]storedResult, len(rs))
	for i, r := range rs {
		out[i] = storedResult(r)
	}
	return json.Marshal(out)
}

func decodeResults(b []byte) ([]hub.ItemResult, error) {
	var in []storedResult
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("bad stored results: %w", err)
	}
	out := make([]hub.ItemResult, len(in))
	for i, r := range in {
		out[i] = hub.ItemResult(r)
	}
	return out, nil
}

// jsonSafe replaces NUL characters, which jsonb cannot hold, with U+FFFD.
// Only a refusal's reason can carry one (from a hostile record); the answer
// returned is the answer stored, so a replay says the same.
func jsonSafe(r hub.ItemResult) hub.ItemResult {
	for _, p := range []*string{&r.ID, &r.Kind, &r.Digest, &r.Code, &r.Reason} {
		if strings.Contains(*p, "\x00") {
			*p = strings.ReplaceAll(*p, "\x00", "\uFFFD")
		}
	}
	return r
}

// Intake stores a batch under an idempotency key (see hub.Storage), in one
// READ COMMITTED transaction that two hub instances may run at once:
//
//   - The key is claimed first, with an INSERT ... ON CONFLICT DO NOTHING of
//     its row. A concurrent request with the same key waits on the unique
//     index until this transaction ends, then finds the row and replays its
//     answer (or refuses another body).
//   - Records go in with INSERT ... ON CONFLICT (id) DO NOTHING, pipelined
//     in one round trip, in id order so that two batches sharing records
//     take their row locks in the same order and cannot deadlock. A record
//     not inserted is looked up: the same digest is a duplicate, another a
//     conflict.
//   - The results are written to the key's row.
//
// Serialization failures and deadlocks run the whole transaction again.
func (s *Store) Intake(ctx context.Context, req hub.IntakeRequest) (hub.IntakeResult, error) {
	for i, it := range req.Items {
		if (it.Record == nil) == (it.Refused == nil) {
			return hub.IntakeResult{}, fmt.Errorf("intake: item %d must have exactly one of a record and a refusal", i)
		}
	}
	var out hub.IntakeResult
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		var err error
		out, err = intake(ctx, tx, req)
		return err
	})
	if err != nil {
		return hub.IntakeResult{}, fmt.Errorf("intake %d records for %s: %w", len(req.Items), req.User, err)
	}
	return out, nil
}

func intake(ctx context.Context, tx pgx.Tx, req hub.IntakeRequest) (hub.IntakeResult, error) {
	created, createdNs := splitTime(req.Now)
	expires, expiresNs := splitTime(req.ExpiresAt)
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency
		(user_name, key, request_digest, results, created_at, created_at_ns, expires_at, expires_at_ns)
		VALUES ($1, $2, $3, '[]', $4, $5, $6, $7) ON CONFLICT (user_name, key) DO NOTHING`,
		req.User, req.Key, req.RequestDigest, created, createdNs, expires, expiresNs)
	if err != nil {
		return hub.IntakeResult{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		// The key was used before (committed: the insert waited for any
		// transaction still holding it). This statement sees that row.
		var digest string
		var stored []byte
		err := tx.QueryRow(ctx, `SELECT request_digest, results FROM idempotency WHERE user_name = $1 AND key = $2`,
			req.User, req.Key).Scan(&digest, &stored)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// Swept between the two statements: claim it again.
			return hub.IntakeResult{}, fmt.Errorf("%w: idempotency key swept while read", errRetry)
		case err != nil:
			return hub.IntakeResult{}, err
		case digest != req.RequestDigest:
			return hub.IntakeResult{}, hub.ErrIdempotencyMismatch
		}
		rs, err := decodeResults(stored)
		if err != nil {
			return hub.IntakeResult{}, err
		}
		return hub.IntakeResult{Results: rs, Replayed: true}, nil
	}

	results, err := putRecords(ctx, tx, req.Items)
	if err != nil {
		return hub.IntakeResult{}, err
	}
	enc, err := encodeResults(results)
	if err != nil {
		return hub.IntakeResult{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE idempotency SET results = $3::jsonb WHERE user_name = $1 AND key = $2`,
		req.User, req.Key, string(enc)); err != nil {
		return hub.IntakeResult{}, fmt.Errorf("store the answer: %w", err)
	}
	return hub.IntakeResult{Results: results}, nil
}

const insertRecord = `INSERT INTO records
	(id, kind, signer, key_ids, digest, job, unit, created_at, created_at_ns, received_at, received_at_ns,
	 envelope, journal_seq, journal_hash)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
	ON CONFLICT (id) DO NOTHING`

// putRecords stores the records among items and says what became of each,
// in items' order. A record whose id comes twice in items is stored once,
// by its first occurrence, as sqlstore does.
func putRecords(ctx context.Context, tx pgx.Tx, items []hub.IntakeItem) ([]hub.ItemResult, error) {
	results := make([]hub.ItemResult, len(items))
	var order []int // indexes of the records, by id then position
	for i, it := range items {
		if f := it.Refused; f != nil {
			results[i] = jsonSafe(hub.ItemResult{ID: f.ID, Kind: f.Kind, Digest: f.Digest, Outcome: hub.OutcomeRefused, Code: f.Code, Reason: f.Reason})
			continue
		}
		r := it.Record
		results[i] = hub.ItemResult{ID: r.ID, Kind: r.Kind, Digest: r.Digest, Outcome: hub.OutcomeStored}
		order = append(order, i)
	}
	if len(order) == 0 {
		return results, nil
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(items[a].Record.ID, items[b].Record.ID) })

	b := &pgx.Batch{}
	for _, i := range order {
		r := items[i].Record
		created, createdNs := splitTime(r.CreatedAt)
		received, receivedNs := splitTime(r.ReceivedAt)
		b.Queue(insertRecord, r.ID, r.Kind, r.Signer, r.KeyIDs, r.Digest, r.Job, r.Unit,
			created, createdNs, received, receivedNs, nonNil(r.Envelope), r.JournalSeq, r.JournalHash)
	}
	br := tx.SendBatch(ctx, b)
	var seen []string // ids of the records not inserted
	for _, i := range order {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("store record %s: %w", items[i].Record.ID, err)
		}
		if tag.RowsAffected() == 0 {
			results[i].Outcome = hub.OutcomeConflict // until the lookup says duplicate
			seen = append(seen, items[i].Record.ID)
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("store records: %w", err)
	}
	if len(seen) == 0 {
		return results, nil
	}

	// A new statement: it sees rows committed by a concurrent transaction
	// that the inserts above waited for.
	have := make(map[string]string, len(seen))
	rows, err := tx.Query(ctx, `SELECT id, digest FROM records WHERE id = ANY($1)`, seen)
	if err != nil {
		return nil, fmt.Errorf("look up stored records: %w", err)
	}
	for rows.Next() {
		var id, digest string
		if err := rows.Scan(&id, &digest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("look up stored records: %w", err)
		}
		have[id] = digest
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up stored records: %w", err)
	}
	for i, r := range results {
		if r.Outcome != hub.OutcomeConflict {
			continue
		}
		digest, ok := have[r.ID]
		if !ok {
			return nil, fmt.Errorf("record %s was neither stored nor found", r.ID)
		}
		if digest == r.Digest {
			results[i].Outcome = hub.OutcomeDuplicate
		}
	}
	return results, nil
}

// recordWhere builds the WHERE clause of a filter, its parameters numbered
// from $1. Each field is a plain equality, so an index serves it.
func recordWhere(f hub.RecordFilter) (string, []any) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, val string }{{"kind", f.Kind}, {"job", f.Job}, {"signer", f.Signer}} {
		if c.val != "" {
			args = append(args, c.val)
			conds = append(conds, c.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// badFilter reports whether a field of f cannot be PostgreSQL text (see
// badText): no stored record matches it.
func badFilter(f hub.RecordFilter) bool { return badText(f.Kind, f.Job, f.Signer) }

// limit is the LIMIT of a filter; PostgreSQL reads NULL as none.
func limit(f hub.RecordFilter) any {
	if f.Limit <= 0 {
		return nil
	}
	return int64(f.Limit)
}

// recordsQuery is the query of Records.
func recordsQuery(f hub.RecordFilter) (string, []any) {
	where, args := recordWhere(f)
	args = append(args, limit(f))
	return `SELECT id, kind, signer, key_ids, digest, job, unit, created_at, created_at_ns, received_at, received_at_ns,
		envelope, journal_seq, journal_hash
		FROM records` + where + ` ORDER BY created_at, created_at_ns, id LIMIT $` + strconv.Itoa(len(args)) + `::bigint`, args
}

// countQuery is the query of CountRecords.
func countQuery(f hub.RecordFilter) (string, []any) {
	where, args := recordWhere(f)
	args = append(args, limit(f))
	return `SELECT count(*) FROM (SELECT 1 FROM records` + where + ` LIMIT $` + strconv.Itoa(len(args)) + `::bigint) AS matching`, args
}

// Records lists stored records, oldest (by CreatedAt, then id) first.
func (s *Store) Records(ctx context.Context, f hub.RecordFilter) ([]hub.Record, error) {
	if badFilter(f) {
		return nil, nil
	}
	q, args := recordsQuery(f)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	defer rows.Close()
	var out []hub.Record
	for rows.Next() {
		var r hub.Record
		var created, received time.Time
		var createdNs, receivedNs int16
		if err := rows.Scan(&r.ID, &r.Kind, &r.Signer, &r.KeyIDs, &r.Digest, &r.Job, &r.Unit,
			&created, &createdNs, &received, &receivedNs, &r.Envelope, &r.JournalSeq, &r.JournalHash); err != nil {
			return nil, fmt.Errorf("list records: %w", err)
		}
		r.CreatedAt, r.ReceivedAt = joinTime(created, createdNs), joinTime(received, receivedNs)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return out, nil
}

// CountRecords counts the records Records would list for f (so Limit caps
// the count too).
func (s *Store) CountRecords(ctx context.Context, f hub.RecordFilter) (int, error) {
	if badFilter(f) {
		return 0, nil
	}
	q, args := countQuery(f)
	var n int
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count records: %w", err)
	}
	return n, nil
}

// JournalHead returns the highest journal reference among the records user
// signed with their current key (the first of a record's key ids is its
// signer's), through the index on (signer, journal_seq).
func (s *Store) JournalHead(ctx context.Context, user string) (int64, string, error) {
	if badText(user) {
		return 0, "", fmt.Errorf("journal head of %q: %w", user, hub.ErrNotFound)
	}
	var seq int64
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT journal_seq, journal_hash FROM records
		WHERE signer = $1 AND journal_seq > 0
		  AND key_ids[1] = (SELECT key_id FROM users WHERE name = $1)
		ORDER BY journal_seq DESC LIMIT 1`, user).Scan(&seq, &hash)
	if err != nil {
		return 0, "", fmt.Errorf("journal head of %s: %w", user, notFound(err))
	}
	return seq, hash, nil
}

// SweepIdempotency forgets keys whose expiry is before now. Two instances
// sweeping at once may deadlock on the rows both delete; the loser runs
// again and finds them gone.
func (s *Store) SweepIdempotency(ctx context.Context, now time.Time) (int, error) {
	t, ns := splitTime(now)
	var n int64
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM idempotency WHERE (expires_at, expires_at_ns) < ($1::timestamptz, $2::smallint)`, t, ns)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep idempotency keys: %w", err)
	}
	return int(n), nil
}
