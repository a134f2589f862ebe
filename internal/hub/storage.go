package hub

import (
	"context"
	"errors"
	"time"
)

// Storage errors callers branch on. Implementations wrap them with detail.
var (
	// ErrNotFound: no such user, job or record.
	ErrNotFound = errors.New("not found")
	// ErrExists: a user or job with that name or id already exists.
	ErrExists = errors.New("already exists")
	// ErrEnrollInvalid: the enrollment code is unknown, used or expired.
	ErrEnrollInvalid = errors.New("enrollment code is unknown, used or expired")
	// ErrIdempotencyMismatch: the idempotency key was used before with
	// another request body.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with another request")
)

// Storage is where the back office keeps its state. One implementation
// per database (SQLite in internal/hub/sqlstore; PostgreSQL later); all
// pass the shared conformance suite in internal/hub/storetest. Every method
// is safe for concurrent use, including from several processes on one
// database (the admin commands run beside `hub serve`).
type Storage interface {
	// CreateEnrollment stores a pending enrollment (only the code's hash);
	// a code hash stored before is ErrExists.
	CreateEnrollment(ctx context.Context, e Enrollment) error
	// Enroll redeems the enrollment whose code hashes to codeHash, at now,
	// creating u (Name and Role are taken from the enrollment; u brings
	// the id of a new user, keys, token hash and time; a known user keeps
	// their id). Atomic: a code is redeemed at
	// most once, even by two requests at the same moment; unknown, used
	// or expired codes are ErrEnrollInvalid. A second enrollment of a
	// name replaces the user's keys and token (re-enrollment after a lost
	// laptop); the old token stops working. Enrolling the user's current
	// key again replaces only the token and role. Re-enrollment does not
	// lift a revocation: the old key stays revoked from the earlier of the
	// revocation and its replacement. A signing key another user enrolled,
	// or this user's replaced one, a new user's id already taken, or a token
	// hash another user holds, is ErrExists, and the code is not used up.
	Enroll(ctx context.Context, codeHash string, now time.Time, u User) (User, error)
	// Users lists every user, by name.
	Users(ctx context.Context) ([]User, error)
	// User finds a user by name (ErrNotFound).
	User(ctx context.Context, name string) (User, error)
	// UserByToken finds the user whose token hashes to tokenHash (ErrNotFound).
	UserByToken(ctx context.Context, tokenHash string) (User, error)
	// UserByKeyID finds the user whose signing key has this record.KeyID,
	// including revoked users and keys replaced by re-enrollment (the
	// latter with RevokedAt set), so old records still verify (ErrNotFound).
	UserByKeyID(ctx context.Context, keyID string) (User, error)
	// RevokeUser marks a user revoked at at (ErrNotFound); revoking again
	// keeps the earlier time. Revoked users' tokens and signatures are
	// refused from then on.
	RevokeUser(ctx context.Context, name string, at time.Time) (User, error)

	// CreateJob stores a job with its sealed packet (ErrExists on its id).
	CreateJob(ctx context.Context, j Job) error
	// Job finds a job by id (ErrNotFound).
	Job(ctx context.Context, id string) (Job, error)
	// Jobs lists jobs, newest first; installer "" means every installer.
	Jobs(ctx context.Context, installer string) ([]Job, error)

	// Intake stores a batch of verified records under an idempotency key,
	// in one transaction:
	//   - key already used by this user with the same RequestDigest: nothing
	//     is written and the stored Results of the first request come back
	//     with Replayed true;
	//   - key used with another RequestDigest: ErrIdempotencyMismatch;
	//   - otherwise each record is put: stored when its id is new; a record
	//     whose id is stored with the same digest gets OutcomeDuplicate, with
	//     another digest OutcomeConflict; records refused before storage
	//     (Refused set) are kept as they are. Results (one per record, in
	//     order) are stored with the key, to expire at ExpiresAt.
	// A process killed mid-call leaves either everything or nothing. An
	// item with neither Record nor Refused, or both, fails the whole
	// request: nothing is stored and the key stays unused.
	Intake(ctx context.Context, req IntakeRequest) (IntakeResult, error)
	// Records lists stored records, oldest first, filtered.
	Records(ctx context.Context, f RecordFilter) ([]Record, error)
	// CountRecords counts stored records, filtered.
	CountRecords(ctx context.Context, f RecordFilter) (int, error)
	// JournalHead returns the journal reference with the highest seq among
	// the records user signed with their current key: the newest head of
	// that laptop's journal the hub acknowledged. Records signed with a key
	// replaced by re-enrollment belong to another laptop's journal and do
	// not count. ErrNotFound when no such record carries a reference.
	JournalHead(ctx context.Context, user string) (seq int64, hash string, err error)
	// SweepIdempotency forgets idempotency keys that expired before now and
	// says how many.
	SweepIdempotency(ctx context.Context, now time.Time) (int, error)

	// DenyUnit adds a unit to the denylist (a second call updates reason
	// and keeps the first DeniedAt).
	DenyUnit(ctx context.Context, d DeniedUnit) error
	// Denylist lists denied units, by serial.
	Denylist(ctx context.Context) ([]DeniedUnit, error)
	// Units lists every unit named by a stored record or the denylist, by
	// serial.
	Units(ctx context.Context) ([]Unit, error)

	// Ping checks the database answers (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// Enrollment is a one-time code waiting to be redeemed.
type Enrollment struct {
	CodeHash  string // hex SHA-256 of the code
	Name      string
	Role      string // hubapi.Role*
	CreatedAt time.Time
	ExpiresAt time.Time
}

// User is an enrolled person with keys.
type User struct {
	ID          string
	Name        string
	Role        string
	SignKey     []byte // Ed25519 public key
	KexKey      []byte // X25519 public key
	KeyID       string // record.KeyID(SignKey)
	Fingerprint string
	TokenHash   string // hex SHA-256 of the API token
	EnrolledAt  time.Time
	RevokedAt   time.Time // zero when active
}

// Revoked reports whether the user was revoked.
func (u User) Revoked() bool { return !u.RevokedAt.IsZero() }

// Job is an installation job. Its building keys exist only inside Packet,
// sealed to the installer; the hub keeps no plaintext key.
type Job struct {
	ID          string
	Building    string
	Address     string
	Doors       []string
	AccessHours string
	Incentive   string
	Terms       string // terms version
	Installer   string // user name
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Packet      []byte // signed sealed packet (internal/packet), as sent to the installer
}

// Outcome of putting one record.
type Outcome string

const (
	OutcomeStored    Outcome = "stored"
	OutcomeDuplicate Outcome = "duplicate" // same id, same digest already stored
	OutcomeConflict  Outcome = "conflict"  // same id, another digest stored
	OutcomeRefused   Outcome = "refused"   // refused before storage; see Code
)

// Record is a verified record as the hub stores it.
type Record struct {
	ID         string
	Kind       string
	Signer     string   // user name of the signer
	KeyIDs     []string // ids of the keys whose signatures verified (signer first)
	Digest     string   // hex SHA-256 of the payload
	Job        string   // from the header, may be ""
	Unit       string   // from the header, may be ""
	CreatedAt  time.Time
	ReceivedAt time.Time
	Envelope   []byte // the DSSE envelope as received
	// JournalSeq and JournalHash are the header's journal reference, the
	// signer's journal head when the record was queued; 0 and "" when the
	// header has none.
	JournalSeq  int64
	JournalHash string
}

// IntakeItem is one record of an intake request: verified (Record set) or
// refused before storage (Refused set, with the code and reason).
type IntakeItem struct {
	Record  *Record
	Refused *Refusal
}

// Refusal is why a record was not stored.
type Refusal struct {
	ID     string
	Kind   string
	Digest string
	Code   string // hubapi.Code*
	Reason string
}

// IntakeRequest is one request's worth of records.
type IntakeRequest struct {
	User          string // user name the idempotency key is scoped to
	Key           string // Idempotency-Key
	RequestDigest string // hex SHA-256 of the request body
	Items         []IntakeItem
	Now           time.Time
	ExpiresAt     time.Time // when the key may be forgotten
}

// ItemResult is what happened to one item.
type ItemResult struct {
	ID      string
	Kind    string
	Digest  string
	Outcome Outcome
	Code    string // for OutcomeRefused
	Reason  string // for OutcomeRefused
}

// IntakeResult is the answer to an intake request.
type IntakeResult struct {
	Results  []ItemResult
	Replayed bool // the stored answer of an earlier request with the key
}

// RecordFilter narrows Records and CountRecords; zero fields match all.
type RecordFilter struct {
	Kind   string
	Job    string
	Signer string
	Limit  int // 0: no limit
}

// DeniedUnit is a denylisted unit.
type DeniedUnit struct {
	Serial   string
	Reason   string
	DeniedAt time.Time
}

// Unit is a unit the hub has heard of.
type Unit struct {
	Serial   string
	Records  int       // stored records naming it
	LastSeen time.Time // newest record's created_at; zero if none
	Denied   bool
	Reason   string
	DeniedAt time.Time
}
