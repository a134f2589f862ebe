package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/hub"
)

// querier is what reads need, in or out of a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// nonNil keeps NOT NULL bytea columns happy: a nil slice would bind as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// --- users ---

// userColumns select a user with one of its keys; scanUser works out the
// token and revocation from them, as sqlstore's userColumns do in SQL: the
// token is the user's only while the key is current, and a replaced key is
// revoked from its replacement, or from the user's revocation when that
// came first.
const userColumns = `u.id, u.name, k.role, k.sign_key, k.kex_key, k.key_id, k.fingerprint, u.token_hash,
	k.enrolled_at, k.enrolled_at_ns, k.replaced_at, k.replaced_at_ns, u.revoked_at, u.revoked_at_ns`

// currentUser joins each user with their current key.
const currentUser = `SELECT ` + userColumns + ` FROM users u JOIN user_keys k ON k.key_id = u.key_id`

func scanUser(r pgx.Row) (hub.User, error) {
	var u hub.User
	var enrolled time.Time
	var replaced, revoked *time.Time
	var enrolledNs, replacedNs, revokedNs int16
	if err := r.Scan(&u.ID, &u.Name, &u.Role, &u.SignKey, &u.KexKey, &u.KeyID, &u.Fingerprint, &u.TokenHash,
		&enrolled, &enrolledNs, &replaced, &replacedNs, &revoked, &revokedNs); err != nil {
		return hub.User{}, err
	}
	u.EnrolledAt = joinTime(enrolled, enrolledNs)
	replacedAt := joinNullTime(replaced, replacedNs)
	revokedAt := joinNullTime(revoked, revokedNs)
	u.RevokedAt = revokedAt
	if !replacedAt.IsZero() {
		u.TokenHash = ""
		if revokedAt.IsZero() || !revokedAt.Before(replacedAt) {
			u.RevokedAt = replacedAt
		}
	}
	return u, nil
}

func userWhere(ctx context.Context, q querier, what, where string, arg any) (hub.User, error) {
	if s, ok := arg.(string); ok && badText(s) {
		return hub.User{}, fmt.Errorf("look up user by %s: %w", what, hub.ErrNotFound)
	}
	u, err := scanUser(q.QueryRow(ctx, currentUser+" WHERE "+where, arg))
	if err != nil {
		return hub.User{}, fmt.Errorf("look up user by %s: %w", what, notFound(err))
	}
	return u, nil
}

// CreateEnrollment stores a pending enrollment. A code hash stored before is
// hub.ErrExists. Like every write, it runs in a READ COMMITTED transaction
// of its own (retried as inTx says) whatever the database's
// default_transaction_isolation: under REPEATABLE READ or SERIALIZABLE an
// ON CONFLICT that meets a row committed meanwhile fails with 40001.
func (s *Store) CreateEnrollment(ctx context.Context, e hub.Enrollment) error {
	created, createdNs := splitTime(e.CreatedAt)
	expires, expiresNs := splitTime(e.ExpiresAt)
	var inserted int64
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO enrollments
			(code_hash, name, role, created_at, created_at_ns, expires_at, expires_at_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code_hash) DO NOTHING`,
			e.CodeHash, e.Name, e.Role, created, createdNs, expires, expiresNs)
		inserted = tag.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("create enrollment for %s: %w", e.Name, err)
	case inserted == 0:
		return fmt.Errorf("create enrollment for %s: code: %w", e.Name, hub.ErrExists)
	}
	return nil
}

// Enroll redeems a code (see hub.Storage), with sqlstore's rules: a new user
// gets u.ID; a re-enrolled one keeps their id, gets the enrollment's role,
// and their old key stays findable by UserByKeyID, revoked from now
// (re-enrolling the current key only replaces the token). Re-enrollment
// does not lift a revocation. A signing key enrolled before by another user
// or replaced since, or a new user's id already taken, is hub.ErrExists; the
// code is then not used up.
//
// The transaction is SERIALIZABLE and retried on serialization failures:
// two instances redeeming one code, or enrolling one name with two codes,
// at the same moment run as if one after the other. A unique violation
// (two new users racing for one name, should PostgreSQL report the race so)
// runs the transaction once more: the second then sees the first and
// re-enrolls. A second one is a real clash (say, a token hash taken) and
// comes back as hub.ErrExists.
func (s *Store) Enroll(ctx context.Context, codeHash string, now time.Time, u hub.User) (hub.User, error) {
	if badText(codeHash) {
		return hub.User{}, fmt.Errorf("enroll: %w", hub.ErrEnrollInvalid)
	}
	var out hub.User
	uniques := 0
	err := s.inTx(ctx, pgx.Serializable, func(tx pgx.Tx) error {
		var err error
		out, err = enroll(ctx, tx, codeHash, now, u)
		if sqlState(err) == codeUnique {
			if uniques++; uniques == 1 {
				return fmt.Errorf("%w: %w", errRetry, err)
			}
		}
		return err
	})
	if sqlState(err) == codeUnique {
		err = fmt.Errorf("%w: %w", hub.ErrExists, err)
	}
	if err != nil {
		return hub.User{}, fmt.Errorf("enroll: %w", err)
	}
	return out, nil
}

func enroll(ctx context.Context, tx pgx.Tx, codeHash string, now time.Time, u hub.User) (hub.User, error) {
	at, atNs := splitTime(now)
	var name, role string
	err := tx.QueryRow(ctx, `UPDATE enrollments SET redeemed_at = $1, redeemed_at_ns = $2
		WHERE code_hash = $3 AND redeemed_at IS NULL AND (expires_at, expires_at_ns) > ($1::timestamptz, $2::smallint)
		RETURNING name, role`, at, atNs, codeHash).Scan(&name, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return hub.User{}, hub.ErrEnrollInvalid
	}
	if err != nil {
		return hub.User{}, err
	}
	var id, oldKey string
	err = tx.QueryRow(ctx, `SELECT id, key_id FROM users WHERE name = $1`, name).Scan(&id, &oldKey)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return hub.User{}, err
	}
	var owner string
	err = tx.QueryRow(ctx, `SELECT user_id FROM user_keys WHERE key_id = $1`, u.KeyID).Scan(&owner)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return hub.User{}, err
	}
	enrolled, enrolledNs := splitTime(u.EnrolledAt)
	switch {
	case owner != "" && (owner != id || u.KeyID != oldKey):
		// Another user's key, or this user's replaced one: taking it
		// would make its revocation void.
		return hub.User{}, fmt.Errorf("signing key %s was enrolled before: %w", u.KeyID, hub.ErrExists)
	case owner != "":
		// The same key again, with a new token (the old one was lost).
		if _, err := tx.Exec(ctx, `UPDATE user_keys SET role = $1, kex_key = $2, fingerprint = $3, enrolled_at = $4, enrolled_at_ns = $5
			WHERE key_id = $6`, role, nonNil(u.KexKey), u.Fingerprint, enrolled, enrolledNs, u.KeyID); err != nil {
			return hub.User{}, err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET token_hash = $1 WHERE id = $2`, u.TokenHash, id); err != nil {
			return hub.User{}, err
		}
	default:
		if id == "" {
			if u.ID == "" {
				return hub.User{}, errors.New("new user has no id")
			}
			var taken bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, u.ID).Scan(&taken); err != nil {
				return hub.User{}, err
			}
			if taken {
				return hub.User{}, fmt.Errorf("user id %s: %w", u.ID, hub.ErrExists)
			}
			id = u.ID
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, name, key_id, token_hash) VALUES ($1, $2, $3, $4)`,
				id, name, u.KeyID, u.TokenHash); err != nil {
				return hub.User{}, err
			}
		} else {
			if _, err := tx.Exec(ctx, `UPDATE user_keys SET replaced_at = $1, replaced_at_ns = $2 WHERE key_id = $3`,
				at, atNs, oldKey); err != nil {
				return hub.User{}, err
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET key_id = $1, token_hash = $2 WHERE id = $3`,
				u.KeyID, u.TokenHash, id); err != nil {
				return hub.User{}, err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_keys
			(key_id, user_id, role, sign_key, kex_key, fingerprint, enrolled_at, enrolled_at_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.KeyID, id, role, nonNil(u.SignKey), nonNil(u.KexKey), u.Fingerprint, enrolled, enrolledNs); err != nil {
			return hub.User{}, err
		}
	}
	return userWhere(ctx, tx, "id", "u.id = $1", id)
}

// Users lists every user with their current key, by name.
func (s *Store) Users(ctx context.Context) ([]hub.User, error) {
	rows, err := s.pool.Query(ctx, currentUser+" ORDER BY u.name")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []hub.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// User finds a user by name.
func (s *Store) User(ctx context.Context, name string) (hub.User, error) {
	return userWhere(ctx, s.pool, "name", "u.name = $1", name)
}

// UserByToken finds the user whose current token hashes to tokenHash.
func (s *Store) UserByToken(ctx context.Context, tokenHash string) (hub.User, error) {
	return userWhere(ctx, s.pool, "token", "u.token_hash = $1", tokenHash)
}

// UserByKeyID finds the user who enrolled the key, current or replaced. For
// a replaced key the answer carries that key, its role, no token, and
// RevokedAt set to when it was replaced (or the user revoked, if earlier).
func (s *Store) UserByKeyID(ctx context.Context, keyID string) (hub.User, error) {
	if badText(keyID) {
		return hub.User{}, fmt.Errorf("look up user by key id: %w", hub.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM user_keys k JOIN users u ON u.id = k.user_id WHERE k.key_id = $1`, keyID))
	if err != nil {
		return hub.User{}, fmt.Errorf("look up user by key id: %w", notFound(err))
	}
	return u, nil
}

// RevokeUser marks a user revoked at at. Revoking again keeps the earlier
// time: a revocation never moves later.
func (s *Store) RevokeUser(ctx context.Context, name string, at time.Time) (hub.User, error) {
	if badText(name) {
		return hub.User{}, fmt.Errorf("revoke user %q: %w", name, hub.ErrNotFound)
	}
	var out hub.User
	t, ns := splitTime(at)
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		// Both SET expressions read the row as it was, so the condition
		// is the same for the two columns.
		const earlier = `(revoked_at IS NULL OR ($1::timestamptz, $2::smallint) < (revoked_at, revoked_at_ns))`
		tag, err := tx.Exec(ctx, `UPDATE users SET
			revoked_at = CASE WHEN `+earlier+` THEN $1 ELSE revoked_at END,
			revoked_at_ns = CASE WHEN `+earlier+` THEN $2 ELSE revoked_at_ns END
			WHERE name = $3`, t, ns, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return hub.ErrNotFound
		}
		out, err = userWhere(ctx, tx, "name", "u.name = $1", name)
		return err
	})
	if err != nil {
		return hub.User{}, fmt.Errorf("revoke user %s: %w", name, err)
	}
	return out, nil
}

// --- jobs ---

// CreateJob stores a job (hub.ErrExists on its id), in a READ COMMITTED
// transaction as CreateEnrollment does.
func (s *Store) CreateJob(ctx context.Context, j hub.Job) error {
	created, createdNs := splitTime(j.CreatedAt)
	expires, expiresNs := splitTime(j.ExpiresAt)
	var inserted int64
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO jobs
			(id, building, address, doors, access_hours, incentive, terms, installer,
			 created_at, created_at_ns, expires_at, expires_at_ns, packet)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
			j.ID, j.Building, j.Address, j.Doors, j.AccessHours, j.Incentive, j.Terms, j.Installer,
			created, createdNs, expires, expiresNs, nonNil(j.Packet))
		inserted = tag.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("create job %s: %w", j.ID, err)
	case inserted == 0:
		return fmt.Errorf("create job %s: %w", j.ID, hub.ErrExists)
	}
	return nil
}

const jobColumns = `SELECT id, building, address, doors, access_hours, incentive, terms, installer,
	created_at, created_at_ns, expires_at, expires_at_ns, packet FROM jobs`

func scanJob(r pgx.Row) (hub.Job, error) {
	var j hub.Job
	var created, expires time.Time
	var createdNs, expiresNs int16
	if err := r.Scan(&j.ID, &j.Building, &j.Address, &j.Doors, &j.AccessHours, &j.Incentive, &j.Terms, &j.Installer,
		&created, &createdNs, &expires, &expiresNs, &j.Packet); err != nil {
		return hub.Job{}, err
	}
	j.CreatedAt, j.ExpiresAt = joinTime(created, createdNs), joinTime(expires, expiresNs)
	return j, nil
}

// Job finds a job by id.
func (s *Store) Job(ctx context.Context, id string) (hub.Job, error) {
	if badText(id) {
		return hub.Job{}, fmt.Errorf("look up job %q: %w", id, hub.ErrNotFound)
	}
	j, err := scanJob(s.pool.QueryRow(ctx, jobColumns+" WHERE id = $1", id))
	if err != nil {
		return hub.Job{}, fmt.Errorf("look up job %s: %w", id, notFound(err))
	}
	return j, nil
}

// Jobs lists jobs, newest first (ties by id, descending); installer ""
// means every installer.
func (s *Store) Jobs(ctx context.Context, installer string) ([]hub.Job, error) {
	if badText(installer) {
		return nil, nil // no installer has such a name
	}
	q, args := jobColumns, []any{}
	if installer != "" {
		q += " WHERE installer = $1"
		args = append(args, installer)
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY created_at DESC, created_at_ns DESC, id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []hub.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}
