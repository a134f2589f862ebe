package notice

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/internal/record"
)

// How is how a notice was given to tenants.
type How string

// The ways a notice can be given.
const (
	Posted  How = "posted"  // put up in the building; a photo proves it
	Mailed  How = "mailed"  // a paper copy to each household
	Emailed How = "emailed" // an email to each household
)

// Hows returns the ways a notice can be given, in a fixed order.
func Hows() []How { return []How{Posted, Mailed, Emailed} }

// RecordLifetime is how long a notice record may wait in the outbox before
// the back office refuses it as expired (its header's expires_at), as for
// the other install records: half a year covers an installer offline for
// weeks.
const RecordLifetime = 180 * 24 * time.Hour

// ClockSkew is how far in the future given_at may be, against the laptop's
// clock: a phone and a laptop disagree by a minute or two, but a notice
// dated tomorrow was not given yet.
const ClockSkew = 5 * time.Minute

// ErrRecord means a notice record is incomplete or contradicts itself; the
// error says which field.
var ErrRecord = errors.New("notice record")

// Record is the payload of a record.KindNotice record: the installer's
// signed statement of how, when and where the tenant notice was given. The
// hub's courier gate reads given_at from it.
type Record struct {
	record.Header
	// Consent is the id of the consent record whose tenant notice this is:
	// a notice opens the courier gate only for that consent.
	Consent string    `json:"consent"`
	How     How       `json:"how"`
	GivenAt time.Time `json:"given_at"`
	// Where is where the notice was posted ("lobby notice board"), or, for
	// mailed and emailed notices, optionally to whom ("every flat's
	// mailbox").
	Where string `json:"where,omitempty"`
	// PhotoSHA256 is the lower-case hex SHA-256 of the photo of the posted
	// notice; required when How is Posted.
	PhotoSHA256 string `json:"photo_sha256,omitempty"`
	// Recipients is how many households a mailed or emailed notice went to.
	Recipients int    `json:"recipients,omitempty"`
	Lang       string `json:"lang"`
	// TextSHA256 is the lower-case hex SHA-256 of the notice's text (Text),
	// so the record names exactly the notice that was given.
	TextSHA256 string `json:"text_sha256"`
}

// Given is what the installer says about a notice they gave.
type Given struct {
	// ID is the record's id (ids.New); Job and Consent (the consent
	// record's id) are required, Unit optional.
	ID, Job, Unit, Consent string
	How                    How
	GivenAt                time.Time
	Where                  string
	// PhotoSHA256 is the hex SHA-256 of the photo's bytes (PhotoSHA256Of).
	PhotoSHA256 string
	Recipients  int
	Lang        string
	// Text is the notice as given (Text of the job's facts). It must pass
	// Check: a notice that lacks an item cannot be recorded as given.
	Text string
}

// SHA256Hex returns the lower-case hex SHA-256 of b, the form of
// PhotoSHA256 and TextSHA256.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BuildRecord makes the notice record for g, created at now. It refuses a
// notice given more than ClockSkew after now, a posted notice without a
// photo or a place, a mailed or emailed notice without a count of
// recipients, and a text that fails the content check.
func BuildRecord(g Given, now time.Time) (Record, error) {
	now = now.UTC()
	if strings.TrimSpace(g.Job) == "" {
		return Record{}, fmt.Errorf("%w: no job (the notice belongs to a job)", ErrRecord)
	}
	if strings.TrimSpace(g.Consent) == "" {
		return Record{}, fmt.Errorf("%w: no consent (a tenant notice tells tenants about a signed consent; sign it first)", ErrRecord)
	}
	if strings.TrimSpace(g.Text) == "" {
		return Record{}, fmt.Errorf("%w: no notice text", ErrRecord)
	}
	if !slices.Contains(Languages(), g.Lang) {
		return Record{}, fmt.Errorf("%w: language %q (want one of %s)", ErrRecord, g.Lang, strings.Join(Languages(), ", "))
	}
	if missing := Check(g.Text, g.Lang); len(missing) > 0 {
		var s []string
		for _, m := range missing {
			s = append(s, m.String())
		}
		return Record{}, fmt.Errorf("%w: the notice fails the content check: %s", ErrRecord, strings.Join(s, "; "))
	}
	if g.GivenAt.After(now.Add(ClockSkew)) {
		return Record{}, fmt.Errorf("%w: given at %s, which is after now (%s); record a notice once it was given",
			ErrRecord, g.GivenAt.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
	}
	r := Record{
		Header: record.Header{
			ID: g.ID, CreatedAt: now, ExpiresAt: now.Add(RecordLifetime),
			Job: g.Job, Unit: g.Unit,
		},
		Consent:     strings.TrimSpace(g.Consent),
		How:         g.How,
		GivenAt:     g.GivenAt.UTC(),
		Where:       strings.TrimSpace(g.Where),
		PhotoSHA256: strings.ToLower(strings.TrimSpace(g.PhotoSHA256)),
		Recipients:  g.Recipients,
		Lang:        g.Lang,
		TextSHA256:  SHA256Hex([]byte(g.Text)),
	}
	if err := r.Check(); err != nil {
		return Record{}, err
	}
	return r, nil
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Check reports whether r is a complete notice record: a valid header with
// a job, a known way of giving, a given_at, and the evidence each way needs.
// The back office runs it on every notice record it takes in.
func (r Record) Check() error {
	if err := r.Header.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	switch {
	case r.Job == "":
		return fmt.Errorf("%w: no job", ErrRecord)
	case r.Consent == "":
		return fmt.Errorf("%w: no consent", ErrRecord)
	case !slices.Contains(Hows(), r.How):
		return fmt.Errorf("%w: how %q (want posted, mailed or emailed)", ErrRecord, r.How)
	case r.GivenAt.IsZero():
		return fmt.Errorf("%w: no given_at (when the notice was given)", ErrRecord)
	case !slices.Contains(Languages(), r.Lang):
		return fmt.Errorf("%w: language %q", ErrRecord, r.Lang)
	case !hexSHA256.MatchString(r.TextSHA256):
		return fmt.Errorf("%w: text_sha256 %q (want 64 lower-case hex digits)", ErrRecord, r.TextSHA256)
	case r.PhotoSHA256 != "" && !hexSHA256.MatchString(r.PhotoSHA256):
		return fmt.Errorf("%w: photo_sha256 %q (want 64 lower-case hex digits)", ErrRecord, r.PhotoSHA256)
	case len([]rune(r.Where)) > maxField || strings.IndexFunc(r.Where, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: where must be one line of at most %d characters", ErrRecord, maxField)
	case r.Recipients < 0:
		return fmt.Errorf("%w: %d recipients", ErrRecord, r.Recipients)
	}
	switch r.How {
	case Posted:
		switch {
		case r.PhotoSHA256 == "":
			return fmt.Errorf("%w: a posted notice needs a photo of it where it hangs", ErrRecord)
		case r.Where == "":
			return fmt.Errorf("%w: a posted notice needs where it was posted (e.g. \"lobby notice board\")", ErrRecord)
		case r.Recipients != 0:
			return fmt.Errorf("%w: recipients are counted for mailed and emailed notices, not posted ones", ErrRecord)
		}
	case Mailed, Emailed:
		if r.Recipients < 1 {
			return fmt.Errorf("%w: a %s notice needs how many households it went to", ErrRecord, r.How)
		}
	}
	return nil
}
