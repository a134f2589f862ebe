package consent

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/record"
)

// RevocationLifetime is how long a revocation record may wait in an outbox.
// It is long on purpose: a revocation must reach the back office even
// from a laptop that stayed offline for months.
const RevocationLifetime = 365 * 24 * time.Hour

// Revoker is who revoked a consent: the signer's side (any Authority) or the
// operator.
type Revoker struct {
	Name string `json:"name"`
	Role string `json:"role"` // owner, managing-agent, board or operator
}

// RevokerRoles lists the roles a Revoker may have.
func RevokerRoles() []string {
	return []string{string(Owner), string(ManagingAgent), string(Board), "operator"}
}

// Revocation is the payload of a revocation record (record.KindRevocation):
// consent Consent of job is revoked at RevokedAt by By, for Reason. Its
// header's unit is the unit the consent was for.
type Revocation struct {
	record.Header
	Version   int       `json:"version"`
	Consent   string    `json:"consent"`
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
	By        Revoker   `json:"by"`
}

// BuildRevocation makes the revocation of consent c at now, with its id
// drawn from rand. Sign it with record.Sign(record.KindRevocation, …): a
// revocation needs no unit, which may already be off the wall. Errors wrap
// ErrInvalid.
func BuildRevocation(c Consent, reason string, by Revoker, now time.Time, rand io.Reader) (Revocation, error) {
	now = now.UTC().Truncate(time.Second)
	switch {
	case c.ID == "" || c.Job == "":
		return Revocation{}, fmt.Errorf("build revocation: %w: consent has no id or job", ErrInvalid)
	case text(reason, maxLongText) != nil:
		return Revocation{}, fmt.Errorf("build revocation: %w: reason: %v", ErrInvalid, text(reason, maxLongText))
	case text(by.Name, maxText) != nil:
		return Revocation{}, fmt.Errorf("build revocation: %w: by.name: %v", ErrInvalid, text(by.Name, maxText))
	case !slices.Contains(RevokerRoles(), by.Role):
		return Revocation{}, fmt.Errorf("build revocation: %w: by.role %q (one of %v)", ErrInvalid, by.Role, RevokerRoles())
	case now.Before(c.CreatedAt):
		return Revocation{}, fmt.Errorf("build revocation: %w: revoked at %s, before the consent was made (%s)", ErrInvalid, now.Format(time.RFC3339), c.CreatedAt.Format(time.RFC3339))
	}
	id, err := uuid.NewRandomFromReader(rand)
	if err != nil {
		return Revocation{}, fmt.Errorf("build revocation: record id: %w", err)
	}
	r := Revocation{
		Header:  record.Header{ID: id.String(), CreatedAt: now, ExpiresAt: now.Add(RevocationLifetime), Job: c.Job, Unit: c.Unit},
		Version: SchemaVersion, Consent: c.ID, Reason: reason, RevokedAt: now, By: by,
	}
	if err := r.Header.Check(); err != nil {
		return Revocation{}, fmt.Errorf("build revocation: %w", err)
	}
	return r, nil
}
