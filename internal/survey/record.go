package survey

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/record"
)

// RecordLifetime is how long a survey record may wait in the outbox before
// the back office refuses it as expired, as for the other install records.
const RecordLifetime = 180 * 24 * time.Hour

// ErrInvalid is a survey Record refuses to make a record of because
// Validate finds problems with it.
var ErrInvalid = errors.New("survey is not valid")

// Hash returns the lower-case hex SHA-256 of the survey's RFC 8785
// canonical JSON (record.Canonical), lists empty rather than absent and
// times in UTC, so the same survey read from JSON or YAML has one hash. The
// consent record cites it.
func Hash(s Survey) (string, error) {
	b, err := record.Canonical(normalize(s))
	if err != nil {
		return "", fmt.Errorf("hash survey: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Payload is the payload of a record.KindSurvey record: the common header,
// the survey, its hash and the verdict the rules gave when it was recorded.
type Payload struct {
	record.Header
	Survey     Survey  `json:"survey"`
	SurveyHash string  `json:"survey_hash"`
	Verdict    Verdict `json:"verdict"`
	// Override is the installer's written reason to go ahead despite a
	// no-go verdict, when one was given; it is signed with the survey.
	Override *Override `json:"override,omitempty"`
}

// Override is a written, signed reason to install despite a no-go verdict
// (a fire contractor on site who will wire the release today, say).
type Override struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Record returns the payload of the survey's record, for the caller to
// queue in the outbox with record.KindSurvey. Its id is
// survey.<job>.<first 16 digits of the hash>, so the same survey recorded
// twice is the same record and each change is a new one; it is created at
// s.UpdatedAt (now when that is unset) and expires RecordLifetime later.
// The header names the unit that measured the signal, if any. An invalid
// survey is refused (ErrInvalid); the job's doors were checked when it was
// saved.
func Record(s Survey, now time.Time) (Payload, error) {
	if ps := Validate(s, nil); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.String()
		}
		return Payload{}, fmt.Errorf("survey record: %w: %s", ErrInvalid, strings.Join(msgs, "; "))
	}
	s = normalize(s)
	h, err := Hash(s)
	if err != nil {
		return Payload{}, fmt.Errorf("survey record: %w", err)
	}
	created := s.UpdatedAt
	if created.IsZero() {
		created = now.UTC()
	}
	id := "survey." + s.Job + "." + h[:16]
	if len(id) > 128 {
		id = "survey." + h[:32]
	}
	p := Payload{
		Header:     record.Header{ID: id, CreatedAt: created, ExpiresAt: created.Add(RecordLifetime), Job: s.Job},
		Survey:     s,
		SurveyHash: h,
		Verdict:    Evaluate(s),
	}
	if s.Signal != nil {
		p.Unit = s.Signal.Unit
	}
	if err := p.Header.Check(); err != nil {
		return Payload{}, fmt.Errorf("survey record: %w", err)
	}
	return p, nil
}
