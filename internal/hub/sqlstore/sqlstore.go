// Package sqlstore owns the back office's SQLite storage: the hub.Storage
// implementation on one database file, opened through internal/store (WAL,
// synchronous=FULL, a busy timeout, immediate write transactions, damage
// checks) with the hub's own numbered migrations in migrations/. Several
// processes may open the same file at once: `hub serve` and the admin
// commands beside it.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the hub's state in one SQLite file.
type Store struct {
	st *store.Store
}

var _ hub.Storage = (*Store)(nil)

// Open opens (creating when missing) the hub database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	st, err := store.OpenSchema(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return &Store{st: st}, nil
}

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.st.Path() }

// Close closes the database.
func (s *Store) Close() error { return s.st.Close() }

// Ping checks that the database answers, reading the schema so that a
// damaged file fails here.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.st.DB().QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return fmt.Errorf("ping database: %w", s.st.Check(err))
	}
	return nil
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction: fixed width keeps
// text order equal to time order, which the ORDER BY and max() below rely on.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q in database: %w", s, err)
	}
	return t, nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// nonNil keeps NOT NULL blob columns happy: a nil slice would bind as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func encodeStrings(v []string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeStrings(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("bad list %q in database: %w", s, err)
	}
	return v, nil
}

// notFound turns sql.ErrNoRows into hub.ErrNotFound and classifies the rest.
func (s *Store) notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hub.ErrNotFound
	}
	return s.st.Check(err)
}

// queryer is what reads need, in or out of a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// --- users ---

// userColumns select a user with one of its keys. The token is the user's
// only while the key is current; a replaced key is revoked from its
// replacement, or from the user's revocation when that came first.
const userColumns = `u.id, u.name, k.role, k.sign_key, k.kex_key, k.key_id, k.fingerprint,
	CASE WHEN k.replaced_at IS NULL THEN u.token_hash ELSE '' END,
	k.enrolled_at,
	CASE WHEN u.revoked_at IS NOT NULL AND (k.replaced_at IS NULL OR u.revoked_at < k.replaced_at)
		THEN u.revoked_at ELSE k.replaced_at END`

// currentUser joins each user with their current key.
const currentUser = `SELECT ` + userColumns + ` FROM users u JOIN user_keys k ON k.key_id = u.key_id`

func scanUser(r rowScanner) (hub.User, error) {
	var u hub.User
	var enrolled string
	var revoked sql.NullString
	if err := r.Scan(&u.ID, &u.Name, &u.Role, &u.SignKey, &u.KexKey, &u.KeyID, &u.Fingerprint, &u.TokenHash, &enrolled, &revoked); err != nil {
		return hub.User{}, err
	}
	var err error
	if u.EnrolledAt, err = parseTime(enrolled); err != nil {
		return hub.User{}, err
	}
	if u.RevokedAt, err = parseNullTime(revoked); err != nil {
		return hub.User{}, err
	}
	return u, nil
}

func (s *Store) userWhere(ctx context.Context, q queryer, what, where string, arg any) (hub.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, currentUser+" WHERE "+where, arg))
	if err != nil {
		return hub.User{}, fmt.Errorf("look up user by %s: %w", what, s.notFound(err))
	}
	return u, nil
}

// CreateEnrollment stores a pending enrollment. A code hash stored before is
// hub.ErrExists.
func (s *Store) CreateEnrollment(ctx context.Context, e hub.Enrollment) error {
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO enrollments (code_hash, name, role, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (code_hash) DO NOTHING`,
			e.CodeHash, e.Name, e.Role, formatTime(e.CreatedAt), formatTime(e.ExpiresAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("code: %w", hub.ErrExists)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create enrollment for %s: %w", e.Name, err)
	}
	return nil
}

// Enroll redeems a code (see hub.Storage). A new user gets u.ID; a
// re-enrolled one keeps their id, gets the enrollment's role, and their old
// key stays findable by UserByKeyID, revoked from now (re-enrolling the
// current key only replaces the token). Re-enrollment does not lift a
// revocation: a revoked user stays revoked. A signing key enrolled before by
// another user or replaced since, a new user's id already taken, or a token
// hash another user holds, is hub.ErrExists; the code is then not used up.
func (s *Store) Enroll(ctx context.Context, codeHash string, now time.Time, u hub.User) (hub.User, error) {
	var out hub.User
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		at := formatTime(now)
		var name, role string
		err := tx.QueryRowContext(ctx, `UPDATE enrollments SET redeemed_at = ?1
			WHERE code_hash = ?2 AND redeemed_at IS NULL AND expires_at > ?1
			RETURNING name, role`, at, codeHash).Scan(&name, &role)
		if errors.Is(err, sql.ErrNoRows) {
			return hub.ErrEnrollInvalid
		}
		if err != nil {
			return err
		}
		var id, oldKey string
		err = tx.QueryRowContext(ctx, `SELECT id, key_id FROM users WHERE name = ?`, name).Scan(&id, &oldKey)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var owner string
		err = tx.QueryRowContext(ctx, `SELECT user_id FROM user_keys WHERE key_id = ?`, u.KeyID).Scan(&owner)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Token hashes are unique: a clash is refused as the other clashes
		// are, not left to the constraint.
		var clash int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE token_hash = ? AND id <> ?`, u.TokenHash, id).Scan(&clash); err != nil {
			return err
		}
		switch {
		case clash > 0:
			return fmt.Errorf("token: %w", hub.ErrExists)
		case owner != "" && (owner != id || u.KeyID != oldKey):
			// Another user's key, or this user's replaced one: taking it
			// would make its revocation void.
			return fmt.Errorf("signing key %s was enrolled before: %w", u.KeyID, hub.ErrExists)
		case owner != "":
			// The same key again, with a new token (the old one was lost).
			if _, err := tx.ExecContext(ctx, `UPDATE user_keys SET role = ?, kex_key = ?, fingerprint = ?, enrolled_at = ? WHERE key_id = ?`,
				role, nonNil(u.KexKey), u.Fingerprint, formatTime(u.EnrolledAt), u.KeyID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users SET token_hash = ? WHERE id = ?`, u.TokenHash, id); err != nil {
				return err
			}
		default:
			if id == "" {
				if u.ID == "" {
					return errors.New("new user has no id")
				}
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, u.ID).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return fmt.Errorf("user id %s: %w", u.ID, hub.ErrExists)
				}
				id = u.ID
				if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, key_id, token_hash) VALUES (?, ?, ?, ?)`,
					id, name, u.KeyID, u.TokenHash); err != nil {
					return err
				}
			} else {
				if _, err := tx.ExecContext(ctx, `UPDATE user_keys SET replaced_at = ? WHERE key_id = ?`, at, oldKey); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE users SET key_id = ?, token_hash = ? WHERE id = ?`,
					u.KeyID, u.TokenHash, id); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_keys (key_id, user_id, role, sign_key, kex_key, fingerprint, enrolled_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				u.KeyID, id, role, nonNil(u.SignKey), nonNil(u.KexKey), u.Fingerprint, formatTime(u.EnrolledAt)); err != nil {
				return err
			}
		}
		out, err = s.userWhere(ctx, tx, "id", "u.id = ?", id)
		return err
	})
	if err != nil {
		return hub.User{}, fmt.Errorf("enroll: %w", err)
	}
	return out, nil
}

// Users lists every user with their current key, by name.
func (s *Store) Users(ctx context.Context) ([]hub.User, error) {
	rows, err := s.st.DB().QueryContext(ctx, currentUser+" ORDER BY u.name")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", s.st.Check(err))
	}
	defer rows.Close()
	var out []hub.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", s.st.Check(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", s.st.Check(err))
	}
	return out, nil
}

// User finds a user by name.
func (s *Store) User(ctx context.Context, name string) (hub.User, error) {
	return s.userWhere(ctx, s.st.DB(), "name", "u.name = ?", name)
}

// UserByToken finds the user whose current token hashes to tokenHash.
func (s *Store) UserByToken(ctx context.Context, tokenHash string) (hub.User, error) {
	return s.userWhere(ctx, s.st.DB(), "token", "u.token_hash = ?", tokenHash)
}

// UserByKeyID finds the user who enrolled the key, current or replaced. For
// a replaced key the answer carries that key, its role, no token, and
// RevokedAt set to when it was replaced (or the user revoked, if earlier).
func (s *Store) UserByKeyID(ctx context.Context, keyID string) (hub.User, error) {
	u, err := scanUser(s.st.DB().QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM user_keys k JOIN users u ON u.id = k.user_id WHERE k.key_id = ?`, keyID))
	if err != nil {
		return hub.User{}, fmt.Errorf("look up user by key id: %w", s.notFound(err))
	}
	return u, nil
}

// RevokeUser marks a user revoked at at. Revoking again keeps the earlier
// time: a revocation never moves later.
func (s *Store) RevokeUser(ctx context.Context, name string, at time.Time) (hub.User, error) {
	var out hub.User
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		t := formatTime(at)
		res, err := tx.ExecContext(ctx, `UPDATE users
			SET revoked_at = CASE WHEN revoked_at IS NULL OR ?1 < revoked_at THEN ?1 ELSE revoked_at END
			WHERE name = ?2`, t, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hub.ErrNotFound
		}
		out, err = s.userWhere(ctx, tx, "name", "u.name = ?", name)
		return err
	})
	if err != nil {
		return hub.User{}, fmt.Errorf("revoke user %s: %w", name, err)
	}
	return out, nil
}

// --- jobs ---

// CreateJob stores a job (hub.ErrExists on its id).
func (s *Store) CreateJob(ctx context.Context, j hub.Job) error {
	doors, err := encodeStrings(j.Doors)
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs
			(id, building, address, doors, access_hours, incentive, terms, installer, created_at, expires_at, packet)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			j.ID, j.Building, j.Address, doors, j.AccessHours, j.Incentive, j.Terms, j.Installer,
			formatTime(j.CreatedAt), formatTime(j.ExpiresAt), nonNil(j.Packet))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hub.ErrExists
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	return nil
}

const jobColumns = `SELECT id, building, address, doors, access_hours, incentive, terms, installer, created_at, expires_at, packet FROM jobs`

func scanJob(r rowScanner) (hub.Job, error) {
	var j hub.Job
	var doors, created, expires string
	if err := r.Scan(&j.ID, &j.Building, &j.Address, &doors, &j.AccessHours, &j.Incentive, &j.Terms, &j.Installer, &created, &expires, &j.Packet); err != nil {
		return hub.Job{}, err
	}
	var err error
	if j.Doors, err = decodeStrings(doors); err != nil {
		return hub.Job{}, err
	}
	if j.CreatedAt, err = parseTime(created); err != nil {
		return hub.Job{}, err
	}
	if j.ExpiresAt, err = parseTime(expires); err != nil {
		return hub.Job{}, err
	}
	return j, nil
}

// Job finds a job by id.
func (s *Store) Job(ctx context.Context, id string) (hub.Job, error) {
	j, err := scanJob(s.st.DB().QueryRowContext(ctx, jobColumns+" WHERE id = ?", id))
	if err != nil {
		return hub.Job{}, fmt.Errorf("look up job %s: %w", id, s.notFound(err))
	}
	return j, nil
}

// Jobs lists jobs, newest first (ties by id, descending); installer ""
// means every installer.
func (s *Store) Jobs(ctx context.Context, installer string) ([]hub.Job, error) {
	q, args := jobColumns, []any{}
	if installer != "" {
		q += " WHERE installer = ?"
		args = append(args, installer)
	}
	rows, err := s.st.DB().QueryContext(ctx, q+" ORDER BY created_at DESC, id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", s.st.Check(err))
	}
	defer rows.Close()
	var out []hub.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", s.st.Check(err))
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", s.st.Check(err))
	}
	return out, nil
}

// --- records ---

// storedResult is the stored form of a hub.ItemResult. It has its own JSON
// names so that renaming a Go field cannot change what replays return.
type storedResult struct {
	ID      string      `json:"id"`
	Kind    string      `json:"kind"`
	Digest  string      `json:"digest"`
	Outcome hub.Outcome `json:"outcome"`
	Code    string      `json:"code,omitempty"`
	Reason  string      `json:"reason,omitempty"`
}

func encodeResults(rs []hub.ItemResult) (string, error) {
	out := make([]storedResult, len(rs))
	for i, r := range rs {
		out[i] = storedResult(r)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeResults(s string) ([]hub.ItemResult, error) {
	var in []storedResult
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("bad stored results: %w", err)
	}
	out := make([]hub.ItemResult, len(in))
	for i, r := range in {
		out[i] = hub.ItemResult(r)
	}
	return out, nil
}

// Intake stores a batch under an idempotency key (see hub.Storage). The
// whole call is one immediate transaction, so two requests with the same key
// run one after the other and the second replays the first's answer.
func (s *Store) Intake(ctx context.Context, req hub.IntakeRequest) (hub.IntakeResult, error) {
	for i, it := range req.Items {
		if (it.Record == nil) == (it.Refused == nil) {
			return hub.IntakeResult{}, fmt.Errorf("intake: item %d must have exactly one of a record and a refusal", i)
		}
	}
	var out hub.IntakeResult
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		var digest, stored string
		err := tx.QueryRowContext(ctx, `SELECT request_digest, results FROM idempotency WHERE user_name = ? AND key = ?`,
			req.User, req.Key).Scan(&digest, &stored)
		switch {
		case err == nil && digest == req.RequestDigest:
			rs, err := decodeResults(stored)
			if err != nil {
				return err
			}
			out = hub.IntakeResult{Results: rs, Replayed: true}
			return nil
		case err == nil:
			return hub.ErrIdempotencyMismatch
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		results, err := s.putRecords(ctx, tx, req.Items)
		if err != nil {
			return err
		}
		enc, err := encodeResults(results)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency (user_name, key, request_digest, results, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			req.User, req.Key, req.RequestDigest, enc, formatTime(req.Now), formatTime(req.ExpiresAt)); err != nil {
			return err
		}
		out = hub.IntakeResult{Results: results}
		return nil
	})
	if err != nil {
		return hub.IntakeResult{}, fmt.Errorf("intake %d records for %s: %w", len(req.Items), req.User, err)
	}
	return out, nil
}

// putRecords stores the records among items and says what became of each,
// with two prepared statements for the whole batch. The insert comes first
// and the lookup only when it stored nothing: a new record, the common case,
// costs one statement. INSERT OR IGNORE rather than a plain INSERT because a
// statement that may abort keeps a statement journal of every page it
// touches, which halved intake speed (BenchmarkIntake); no column here can
// be NULL, so the only row it ignores is one whose id is stored.
func (s *Store) putRecords(ctx context.Context, tx *sql.Tx, items []hub.IntakeItem) ([]hub.ItemResult, error) {
	results := make([]hub.ItemResult, 0, len(items))
	var lookup, insert *sql.Stmt
	defer func() {
		if lookup != nil {
			lookup.Close()
		}
		if insert != nil {
			insert.Close()
		}
	}()
	for _, it := range items {
		if f := it.Refused; f != nil {
			results = append(results, hub.ItemResult{ID: f.ID, Kind: f.Kind, Digest: f.Digest, Outcome: hub.OutcomeRefused, Code: f.Code, Reason: f.Reason})
			continue
		}
		r := it.Record
		if insert == nil {
			var err error
			if insert, err = tx.PrepareContext(ctx, `INSERT OR IGNORE INTO records
				(id, kind, signer, key_ids, digest, job, unit, created_at, received_at, envelope, journal_seq, journal_hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
				return nil, err
			}
			if lookup, err = tx.PrepareContext(ctx, `SELECT digest FROM records WHERE id = ?`); err != nil {
				return nil, err
			}
		}
		keyIDs, err := encodeStrings(r.KeyIDs)
		if err != nil {
			return nil, err
		}
		res, err := insert.ExecContext(ctx, r.ID, r.Kind, r.Signer, keyIDs, r.Digest, r.Job, r.Unit,
			formatTime(r.CreatedAt), formatTime(r.ReceivedAt), nonNil(r.Envelope), r.JournalSeq, r.JournalHash)
		if err != nil {
			return nil, fmt.Errorf("store record %s: %w", r.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("store record %s: %w", r.ID, err)
		}
		out := hub.ItemResult{ID: r.ID, Kind: r.Kind, Digest: r.Digest, Outcome: hub.OutcomeStored}
		if n == 0 {
			var have string
			if err := lookup.QueryRowContext(ctx, r.ID).Scan(&have); err != nil {
				return nil, fmt.Errorf("look up record %s: %w", r.ID, err)
			}
			out.Outcome = hub.OutcomeConflict
			if have == r.Digest {
				out.Outcome = hub.OutcomeDuplicate
			}
		}
		results = append(results, out)
	}
	return results, nil
}

// recordWhere builds the WHERE clause of a filter. Each field is a plain
// equality so that SQLite can use the index on it.
func recordWhere(f hub.RecordFilter) (string, []any) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, val string }{{"kind", f.Kind}, {"job", f.Job}, {"signer", f.Signer}} {
		if c.val != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// limit is the LIMIT of a filter; SQLite reads a negative one as none.
func limit(f hub.RecordFilter) int {
	if f.Limit <= 0 {
		return -1
	}
	return f.Limit
}

// recordsQuery is the query of Records.
func recordsQuery(f hub.RecordFilter) (string, []any) {
	where, args := recordWhere(f)
	return `SELECT id, kind, signer, key_ids, digest, job, unit, created_at, received_at, envelope, journal_seq, journal_hash
		FROM records` + where + ` ORDER BY created_at, id LIMIT ?`, append(args, limit(f))
}

// countQuery is the query of CountRecords.
func countQuery(f hub.RecordFilter) (string, []any) {
	where, args := recordWhere(f)
	return `SELECT count(*) FROM (SELECT 1 FROM records` + where + ` LIMIT ?)`, append(args, limit(f))
}

// Records lists stored records, oldest (by CreatedAt, then id) first.
func (s *Store) Records(ctx context.Context, f hub.RecordFilter) ([]hub.Record, error) {
	q, args := recordsQuery(f)
	rows, err := s.st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", s.st.Check(err))
	}
	defer rows.Close()
	var out []hub.Record
	for rows.Next() {
		var r hub.Record
		var keyIDs, created, received string
		if err := rows.Scan(&r.ID, &r.Kind, &r.Signer, &keyIDs, &r.Digest, &r.Job, &r.Unit, &created, &received, &r.Envelope,
			&r.JournalSeq, &r.JournalHash); err != nil {
			return nil, fmt.Errorf("list records: %w", s.st.Check(err))
		}
		if r.KeyIDs, err = decodeStrings(keyIDs); err != nil {
			return nil, fmt.Errorf("list records: record %s: %w", r.ID, err)
		}
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("list records: record %s: %w", r.ID, err)
		}
		if r.ReceivedAt, err = parseTime(received); err != nil {
			return nil, fmt.Errorf("list records: record %s: %w", r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list records: %w", s.st.Check(err))
	}
	return out, nil
}

// CountRecords counts the records Records would list for f (so Limit caps
// the count too).
func (s *Store) CountRecords(ctx context.Context, f hub.RecordFilter) (int, error) {
	q, args := countQuery(f)
	var n int
	err := s.st.DB().QueryRowContext(ctx, q, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count records: %w", s.st.Check(err))
	}
	return n, nil
}

// JournalHead returns the highest journal reference among the records user
// signed with their current key (the first of a record's key ids is its
// signer's). The index on (signer, journal_seq) gives the order; the scan
// stops at the first record by the current key.
func (s *Store) JournalHead(ctx context.Context, user string) (int64, string, error) {
	var seq int64
	var hash string
	err := s.st.DB().QueryRowContext(ctx, `SELECT journal_seq, journal_hash FROM records
		WHERE signer = ? AND journal_seq > 0
		  AND json_extract(key_ids, '$[0]') = (SELECT key_id FROM users WHERE name = ?)
		ORDER BY journal_seq DESC LIMIT 1`, user, user).Scan(&seq, &hash)
	if err != nil {
		return 0, "", fmt.Errorf("journal head of %s: %w", user, s.notFound(err))
	}
	return seq, hash, nil
}

// SweepIdempotency forgets keys whose expiry is before now.
func (s *Store) SweepIdempotency(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE expires_at < ?`, formatTime(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep idempotency keys: %w", err)
	}
	return int(n), nil
}

// --- units ---

// DenyUnit adds a unit to the denylist; for a unit denied before it updates
// the reason and keeps the first DeniedAt.
func (s *Store) DenyUnit(ctx context.Context, d hub.DeniedUnit) error {
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO denylist (serial, reason, denied_at) VALUES (?, ?, ?)
			ON CONFLICT (serial) DO UPDATE SET reason = excluded.reason`,
			d.Serial, d.Reason, formatTime(d.DeniedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("deny unit %s: %w", d.Serial, err)
	}
	return nil
}

// Denylist lists denied units, by serial.
func (s *Store) Denylist(ctx context.Context) ([]hub.DeniedUnit, error) {
	rows, err := s.st.DB().QueryContext(ctx, `SELECT serial, reason, denied_at FROM denylist ORDER BY serial`)
	if err != nil {
		return nil, fmt.Errorf("list denylist: %w", s.st.Check(err))
	}
	defer rows.Close()
	var out []hub.DeniedUnit
	for rows.Next() {
		var d hub.DeniedUnit
		var at string
		if err := rows.Scan(&d.Serial, &d.Reason, &at); err != nil {
			return nil, fmt.Errorf("list denylist: %w", s.st.Check(err))
		}
		if d.DeniedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list denylist: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list denylist: %w", s.st.Check(err))
	}
	return out, nil
}

// Units lists every unit named by a stored record or the denylist, by serial.
func (s *Store) Units(ctx context.Context) ([]hub.Unit, error) {
	rows, err := s.st.DB().QueryContext(ctx, `
		WITH seen AS (
			SELECT unit AS serial, count(*) AS n, max(created_at) AS last
			FROM records WHERE unit <> '' GROUP BY unit
		)
		SELECT all_units.serial, coalesce(seen.n, 0), seen.last, d.serial IS NOT NULL, coalesce(d.reason, ''), d.denied_at
		FROM (SELECT serial FROM seen UNION SELECT serial FROM denylist) AS all_units
		LEFT JOIN seen ON seen.serial = all_units.serial
		LEFT JOIN denylist d ON d.serial = all_units.serial
		ORDER BY all_units.serial`)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", s.st.Check(err))
	}
	defer rows.Close()
	var out []hub.Unit
	for rows.Next() {
		var u hub.Unit
		var last, denied sql.NullString
		if err := rows.Scan(&u.Serial, &u.Records, &last, &u.Denied, &u.Reason, &denied); err != nil {
			return nil, fmt.Errorf("list units: %w", s.st.Check(err))
		}
		if u.LastSeen, err = parseNullTime(last); err != nil {
			return nil, fmt.Errorf("list units: %w", err)
		}
		if u.DeniedAt, err = parseNullTime(denied); err != nil {
			return nil, fmt.Errorf("list units: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list units: %w", s.st.Check(err))
	}
	return out, nil
}
