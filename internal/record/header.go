package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrHeader is a record payload whose common fields (see Header) are
// missing or malformed.
var ErrHeader = errors.New("record header is missing or malformed")

// Header is the part every record payload carries, whatever its kind, at the
// top level of its JSON object, next to the kind's own fields:
//
//	{"id": "...", "created_at": "...", "expires_at": "...", "job": "...", "unit": "...", ...}
//
// The back office files a record by it without knowing the kind's schema:
// id is unique per record (a record sent twice has the same id and digest),
// expires_at bounds how long a record may wait in an outbox before the hub
// refuses it as expired, and job and unit (optional) tie it to a job and a
// unit's serial number. journal (optional) is the head of the signer's
// local journal when the record was queued (internal/journal), so the back
// office can later tell the laptop which journal entries it has seen.
type Header struct {
	ID        string      `json:"id"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt time.Time   `json:"expires_at"`
	Job       string      `json:"job,omitempty"`
	Unit      string      `json:"unit,omitempty"`
	Journal   *JournalRef `json:"journal,omitempty"`
}

// JournalRef names one entry of a journal: its sequence number (from 1) and
// its hash (lower-case hex SHA-256, 64 digits).
type JournalRef struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// hashPattern is a lower-case hex SHA-256.
var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// idPattern is what a record id may look like: printable, no spaces, no
// path or query characters, so it can sit in a URL path and a log line.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// Check reports whether h is complete and well-formed.
func (h Header) Check() error {
	switch {
	case !idPattern.MatchString(h.ID):
		return fmt.Errorf("%w: id %q (want 1-128 of A-Z a-z 0-9 . _ : -)", ErrHeader, h.ID)
	case h.CreatedAt.IsZero():
		return fmt.Errorf("%w: no created_at", ErrHeader)
	case !h.ExpiresAt.After(h.CreatedAt):
		return fmt.Errorf("%w: expires_at %s is not after created_at %s", ErrHeader,
			h.ExpiresAt.Format(time.RFC3339), h.CreatedAt.Format(time.RFC3339))
	case h.Job != "" && !idPattern.MatchString(h.Job):
		return fmt.Errorf("%w: job %q", ErrHeader, h.Job)
	case h.Unit != "" && !idPattern.MatchString(h.Unit):
		return fmt.Errorf("%w: unit %q", ErrHeader, h.Unit)
	case h.Journal != nil && h.Journal.Seq < 1:
		return fmt.Errorf("%w: journal seq %d (want 1 or more)", ErrHeader, h.Journal.Seq)
	case h.Journal != nil && !hashPattern.MatchString(h.Journal.Hash):
		return fmt.Errorf("%w: journal hash %q (want 64 lower-case hex digits)", ErrHeader, h.Journal.Hash)
	}
	return nil
}

// ParseHeader reads the common fields from a record's canonical JSON body
// (Envelope.Body) and checks them.
func ParseHeader(body []byte) (Header, error) {
	var h Header
	if err := json.Unmarshal(body, &h); err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if err := h.Check(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// Header reads and checks the envelope's common fields.
func (e Envelope) Header() (Header, error) {
	body, err := e.Body()
	if err != nil {
		return Header{}, err
	}
	return ParseHeader(body)
}
