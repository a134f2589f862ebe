// Package hubapi owns the wire form of the back office's HTTP API, version 1:
// paths, headers, request and response bodies, and the error codes a client
// branches on. The hub (internal/hub) serves it and the client
// (internal/hubclient) speaks it; both import this package so they cannot
// drift apart. docs/api.md describes it for people.
//
// All bodies are JSON. Byte strings ([]byte fields) are standard base64 with
// padding, times are RFC 3339 in UTC. Every error answer is an ErrorBody.
package hubapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Paths of the API. Everything under /v1 except PathEnroll needs
// "Authorization: Bearer <token>".
const (
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
	PathMetrics = "/metrics"

	// PathEnroll: POST EnrollRequest → 201 EnrollResponse. Redeems a
	// one-time enrollment code and registers the user's public keys.
	PathEnroll = "/v1/enroll"
	// PathMe: GET → 200 User, the token's user.
	PathMe = "/v1/me"
	// PathJobs: GET → 200 JobsResponse, the caller's job packets and the
	// unit denylist.
	PathJobs = "/v1/jobs"
	// PathRecords: POST one DSSE envelope (the record) → 201 RecordResult
	// when stored, or an ErrorBody whose Result says why it was refused.
	// Needs HeaderIdempotencyKey.
	PathRecords = "/v1/records"
	// PathRecordsBatch: POST BatchRequest → 200 BatchResponse, one result
	// per record in request order, each stored or refused on its own.
	// Needs HeaderIdempotencyKey.
	PathRecordsBatch = "/v1/records/batch"
	// PathJournalHead: GET → 200 JournalHead, the newest journal reference
	// among the records the caller signed with their current key, or 404
	// CodeNotFound when none carries one.
	PathJournalHead = "/v1/journal/head"
	// PathDecommissionAuth: POST DecommissionAuthRequest → 200
	// DecommissionAuthResponse: the operator's signature a unit needs
	// before it wipes its keys (installers and support only).
	PathDecommissionAuth = "/v1/decommission/authorize"
)

// Headers.
const (
	// HeaderIdempotencyKey (draft-ietf-httpapi-idempotency-key-header):
	// the same key and the same body get the first answer again; the same
	// key with another body is 422 CodeIdempotencyMismatch; a request while
	// the first with that key is still being processed is 409
	// CodeIdempotencyInFlight. Keys are scoped to the token's user and kept
	// for IdempotencyTTL. 1–255 printable ASCII characters.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderRetryAfter is sent with 429 and 503 answers, in seconds.
	HeaderRetryAfter = "Retry-After"
)

// IdempotencyTTL is how long the hub keeps an idempotency key and its answer.
const IdempotencyTTL = 7 * 24 * time.Hour

// MaxBatch is the most records one batch request may carry.
const MaxBatch = 500

// MaxBody is the largest request body the hub reads, in bytes.
const MaxBody = 16 << 20

// Roles a user can have. Each record kind is accepted only from some roles.
const (
	RoleInstaller = "installer"
	RoleSales     = "sales"
	RoleSupport   = "support"
)

// Roles lists the roles in a fixed order.
func Roles() []string { return []string{RoleInstaller, RoleSales, RoleSupport} }

// EnrollRequest redeems an enrollment code.
type EnrollRequest struct {
	Code    string `json:"code"`
	SignKey []byte `json:"sign_key"` // Ed25519 public key, 32 bytes
	KexKey  []byte `json:"kex_key"`  // X25519 public key, 32 bytes
}

// EnrollResponse is the answer to a redeemed code. Token is shown once; the
// hub keeps only its SHA-256.
type EnrollResponse struct {
	Token  string `json:"token"`
	User   User   `json:"user"`
	HubKey []byte `json:"hub_key"` // the hub's Ed25519 key, which signs job packets
}

// User is an enrolled person.
type User struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	KeyID       string     `json:"key_id"`      // record.KeyID of the signing key
	Fingerprint string     `json:"fingerprint"` // identity.Public.Fingerprint
	EnrolledAt  time.Time  `json:"enrolled_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// JobsResponse is what an installer pulls.
type JobsResponse struct {
	// Packets are signed, sealed job packets (internal/packet), as issued.
	Packets []json.RawMessage `json:"packets"`
	// Denylist is the unit denylist signed by the hub's key with its issue
	// time (internal/packet, signed denylist), so nobody answering for the
	// hub can empty it and an older list can be told from a newer one.
	Denylist json.RawMessage `json:"denylist"`
}

// DeniedUnit is a unit the back office refuses: installers must not pair or
// burn keys into it.
type DeniedUnit struct {
	Serial   string    `json:"serial"`
	Reason   string    `json:"reason"`
	DeniedAt time.Time `json:"denied_at"`
}

// BatchRequest carries many records, each a DSSE envelope.
type BatchRequest struct {
	Records []json.RawMessage `json:"records"`
}

// BatchResponse has one result per record, in request order.
type BatchResponse struct {
	Results []RecordResult `json:"results"`
}

// JournalHead is the newest head of the caller's journal the hub holds: the
// journal reference (record header "journal") with the highest seq among
// the records they signed with their current key.
type DecommissionAuthRequest struct {
	Serial string `json:"serial"`
	Token  []byte `json:"token"` // the unit's single-use decommission token, 16 bytes
}

// DecommissionAuthResponse carries the operator's Ed25519 signature over
// the unit's decommission request (docs/protocol.md, section 6.4), made
// with the hub's key.
type DecommissionAuthResponse struct {
	Auth []byte `json:"auth"`
}

// JournalHead is the newest journal reference the hub holds of a user.
type JournalHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Record outcomes.
const (
	// StatusStored: verified and stored by this request (or by the first
	// request with this idempotency key, whose answer this is).
	StatusStored = "stored"
	// StatusRejected: refused; Code and Reason say why. Refusals are final:
	// sending the same record again gets the same refusal.
	StatusRejected = "rejected"
)

// RecordResult is the hub's answer for one record.
type RecordResult struct {
	// ID is the record id from its header, when it could be read.
	ID     string `json:"id,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Status string `json:"status"`
	// Digest is the lower-case hex SHA-256 of the record's payload (its
	// canonical JSON), as the hub computed it.
	Digest string `json:"digest,omitempty"`
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Error codes: in ErrorBody.Error.Code and RecordResult.Code.
const (
	// Request-level.
	CodeUnauthorized        = "unauthorized"          // 401: no token, unknown token
	CodeRevoked             = "revoked"               // 403: the token's user was revoked
	CodeBadRequest          = "bad-request"           // 400: not the JSON this path takes
	CodeTooLarge            = "too-large"             // 413
	CodeIdempotencyMissing  = "idempotency-missing"   // 400: no or bad Idempotency-Key
	CodeIdempotencyMismatch = "idempotency-mismatch"  // 422: key reused with another body
	CodeIdempotencyInFlight = "idempotency-in-flight" // 409: first request with the key still running
	CodeEnrollInvalid       = "enroll-invalid"        // 403: code unknown, used or expired
	CodeNotFound            = "not-found"             // 404
	CodeUnavailable         = "unavailable"           // 503: try again after Retry-After
	CodeRateLimited         = "rate-limited"          // 429: try again after Retry-After
	CodeInternal            = "internal"              // 500

	// Record-level (also request-level on PathRecords).
	CodeMalformed      = "malformed"       // 400: not a DSSE envelope, bad header, not canonical JSON
	CodePayloadType    = "payload-type"    // 400: not application/vnd.latchkey.<kind>+json
	CodeUnsigned       = "unsigned"        // 400: no signature
	CodeBadSignature   = "bad-signature"   // 422: a signature does not verify: tampered
	CodeUnknownSigner  = "unknown-signer"  // 403: signed by no enrolled user
	CodeRevokedSigner  = "revoked-signer"  // 403: signed by a revoked user
	CodeSignerMismatch = "signer-mismatch" // 403: signed by someone other than the token's user
	CodeForbiddenKind  = "forbidden-kind"  // 403: the signer's role may not make this kind
	CodeExpired        = "expired"         // 422: past the header's expires_at
	CodeReplayed       = "replayed"        // 409: this record (same id, same digest) is already stored
	CodeConflict       = "conflict"        // 409: a record with this id and another digest is stored
)

// ErrorBody is every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Result is set on PathRecords refusals.
type ErrorDetail struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Result  *RecordResult `json:"result,omitempty"`
}

// StatusFor is the HTTP status of an error code.
func StatusFor(code string) int {
	switch code {
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeRevoked, CodeEnrollInvalid, CodeUnknownSigner, CodeRevokedSigner, CodeSignerMismatch, CodeForbiddenKind:
		return http.StatusForbidden
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeIdempotencyMismatch, CodeBadSignature, CodeExpired:
		return http.StatusUnprocessableEntity
	case CodeIdempotencyInFlight, CodeReplayed, CodeConflict:
		return http.StatusConflict
	case CodeNotFound:
		return http.StatusNotFound
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeInternal:
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// Retryable reports whether a request refused with this status and code may
// succeed if sent again unchanged later: overload, restarts, a request still
// in flight. Everything else is final.
func Retryable(status int, code string) bool {
	switch {
	case code == CodeIdempotencyInFlight, code == CodeUnavailable, code == CodeRateLimited:
		return true
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout:
		return true
	case status >= 500:
		return true
	}
	return false
}

// maxRetryAfter bounds what ParseRetryAfter returns, so a huge value cannot
// overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// It returns 0 when v is empty or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// Error is an error answer as a Go error, for clients.
type Error struct {
	Status     int
	Code       string
	Message    string
	Result     *RecordResult
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("hub refused: %s (%d %s)", e.Message, e.Status, e.Code)
}

// Retryable reports whether sending the same request again later may work.
func (e *Error) Retryable() bool { return Retryable(e.Status, e.Code) }
