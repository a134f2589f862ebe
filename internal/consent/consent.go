// Package consent owns the building manager's consent to a door-access
// unit: the terms they read (versioned, in English and Spanish, with the
// tenant-facing items of NYC's Tenant Data Privacy Law, Local Law 63 of 2021,
// and the US ESIGN/UETA disclosures), the consent record that names every
// fact they agreed to, its signing (by the installer, countersigned by the
// unit over the same DSSE pre-authentication encoding), its verification,
// its revocation, and the PDF copy the manager keeps.
//
// The record is RFC 8785 canonical JSON in a DSSE envelope of payload type
// application/vnd.latchkey.consent+json (internal/record); docs/consent.md
// lists its fields and shows how to verify one with openssl alone.
package consent

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/record"
)

// SchemaVersion is the version of the consent payload's schema.
const SchemaVersion = 1

// Authority is the standing under which the signer grants consent.
type Authority string

// The authorities a signer may claim.
const (
	Owner         Authority = "owner"
	ManagingAgent Authority = "managing-agent"
	Board         Authority = "board"
)

// Authorities lists every authority, in the order forms show them.
func Authorities() []Authority { return []Authority{Owner, ManagingAgent, Board} }

// Captured says how the consent was taken.
type Captured string

// The ways a consent is captured: the install wizard on screen, or flags
// (scripted, the manager having read the terms from the printed copy).
const (
	Wizard Captured = "wizard"
	Flags  Captured = "flags"
)

// WhoCouriers is the only class of person a consent lets in: couriers
// holding a parcel scanned for the building.
const WhoCouriers = "couriers-with-scanned-parcel"

// Log events a unit may record (Logging.Events).
const (
	EventDoorOpen   = "door.open"
	EventDoorDenied = "door.denied"
	EventTamper     = "tamper"
	EventHealth     = "health"
)

// Events lists the log events a consent may disclose, in the order the
// terms list them. door.open is always among them: a unit always logs the
// openings, so a consent cannot leave them out.
func Events() []string {
	return []string{EventDoorOpen, EventDoorDenied, EventTamper, EventHealth}
}

// Who tells tenants (Notice.By).
const (
	NoticeByManager  = "manager"  // the signer's side: owner, agent or board
	NoticeByOperator = "operator" // the delivery operator
)

// Notice methods (Notice.How).
const (
	NoticePosted        = "posted"
	NoticeMailed        = "mailed"
	NoticeEmailed       = "emailed"
	NoticeHandDelivered = "hand-delivered"
)

// NoticeMethods lists every notice method, in the order the terms list them.
func NoticeMethods() []string {
	return []string{NoticePosted, NoticeMailed, NoticeEmailed, NoticeHandDelivered}
}

// Limits of a consent. The notice window keeps the gap between signing and
// telling tenants short; the retention cap follows the 90-day horizon of
// LL63's destruction rules, which the product applies everywhere.
const (
	MaxNoticeDays    = 30
	MaxRetentionDays = 90
	MinTermDays      = 30
	MaxTermDays      = 3 * 366
	DefaultTermDays  = 365
	MaxDoors         = 16
	maxText          = 200
	maxLongText      = 1000
)

// Errors Build and BuildRevocation wrap.
var (
	// ErrInvalid is a fact, signer or terms text that cannot go into a
	// consent; the message names the field.
	ErrInvalid = errors.New("invalid consent")
)

// Building names the building the consent is for.
type Building struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Door is one door the unit opens and when couriers may open it.
type Door struct {
	Name  string `json:"name"`
	Hours string `json:"hours"` // e.g. "Mon-Sat 08:00-20:00", shown to the signer as written
}

// Logging is what the unit logs and for how long.
type Logging struct {
	Events        []string `json:"events"`
	RetentionDays int      `json:"retention_days"`
}

// Notice is who tells tenants, how, and by which date (YYYY-MM-DD).
type Notice struct {
	By  string   `json:"by"`
	How []string `json:"how"`
	Due string   `json:"due"`
}

// Receipt is a burn receipt's key check value for one door's key slot
// (provision.SlotResult).
type Receipt struct {
	Door string `json:"door"`
	Slot int    `json:"slot"`
	KCV  string `json:"kcv"` // lower-case hex
}

// Unit is the paired unit: its serial, the SHA-256 fingerprint of its
// attestation certificate, and the nonce of the pairing challenge it
// answered (provision.Pairing).
type Unit struct {
	Serial      string `json:"serial"`
	Attestation string `json:"attestation_sha256"`
	Nonce       string `json:"pairing_nonce"` // standard base64, as in the pairing record
}

// TermsRef names the terms text the signer read: its version, language and
// the SHA-256 of its exact bytes (Text.SHA256).
type TermsRef struct {
	Version string `json:"version"`
	Lang    string `json:"lang"`
	SHA256  string `json:"sha256"`
}

// Signer is the manager or owner who signs: typed name and title, the
// authority they confirmed, the exact statement of intent they confirmed
// (Text.Intent), and when (ESIGN/UETA: intent, consent to electronic
// records, a copy to keep).
type Signer struct {
	Name      string    `json:"name"`
	Title     string    `json:"title"`
	Authority Authority `json:"authority"`
	Intent    string    `json:"intent"`
	SignedAt  time.Time `json:"signed_at"`
}

// Facts is what a consent is about, gathered by the install session.
type Facts struct {
	Job       string
	Operator  string // the delivery operator, e.g. "Parcelway Inc."
	Installer string // the installer's user name
	Building  Building
	Doors     []Door
	Logging   Logging
	Notice    Notice
	Incentive string // incentive syntax: "none" or KIND:AMOUNT:CURRENCY
	Revoke    string // how to revoke: a phone number, address or email
	Unit      Unit
	Receipts  []Receipt
	Survey    string // SHA-256 (hex) of the survey record's payload
	TermDays  int    // how long the consent lasts; 0 means DefaultTermDays
	Captured  Captured
}

// Consent is the consent record's payload. Header.CreatedAt is when it was
// issued, Header.ExpiresAt when it lapses (TermDays later), Header.Unit the
// unit's serial and Header.ID a random UUID.
type Consent struct {
	record.Header
	Version   int       `json:"version"`
	Operator  string    `json:"operator"`
	Installer string    `json:"installer"`
	Building  Building  `json:"building"`
	Doors     []Door    `json:"doors"`
	Who       string    `json:"who"`
	Signer    Signer    `json:"signer"`
	Logging   Logging   `json:"logging"`
	Notice    Notice    `json:"notice"`
	Incentive string    `json:"incentive"`
	Revoke    string    `json:"revoke"`
	UnitInfo  Unit      `json:"unit_info"`
	Receipts  []Receipt `json:"receipts"`
	Survey    string    `json:"survey_sha256"`
	Terms     TermsRef  `json:"terms"`
	Captured  Captured  `json:"captured"`
}

// Canonical returns the consent's RFC 8785 canonical JSON: the bytes that
// are signed.
func (c Consent) Canonical() ([]byte, error) { return record.Canonical(c) }

// Build makes the consent record of facts, signed by signer after reading
// terms, at now, with its id drawn from rand. It checks everything a
// verifier will check and more: the terms text must be the one TermsFor
// renders from these facts (so its hash is of what the signer read), the
// signer's intent must be the terms' statement word for word, and every
// door needs a burn receipt. Errors wrap ErrInvalid.
func Build(f Facts, s Signer, terms Text, now time.Time, rand io.Reader) (Consent, error) {
	now = now.UTC().Truncate(time.Second)
	if f.TermDays == 0 {
		f.TermDays = DefaultTermDays
	}
	if err := checkFacts(f, now); err != nil {
		return Consent{}, fmt.Errorf("build consent: %w", err)
	}
	want, err := TermsFor(terms.Version, terms.Lang, f)
	if err != nil {
		return Consent{}, fmt.Errorf("build consent: %w", err)
	}
	switch {
	case want.SHA256 != terms.SHA256 || want.Body != terms.Body:
		return Consent{}, fmt.Errorf("build consent: %w: terms: the text shown is not the %s %s terms for these facts; render it again with TermsFor", ErrInvalid, terms.Version, terms.Lang)
	case s.Intent != want.Intent:
		return Consent{}, fmt.Errorf("build consent: %w: signer.intent: not the statement the terms show (%q)", ErrInvalid, want.Intent)
	}
	s.SignedAt = s.SignedAt.UTC()
	if err := checkSigner(s, now); err != nil {
		return Consent{}, fmt.Errorf("build consent: %w", err)
	}
	id, err := uuid.NewRandomFromReader(rand)
	if err != nil {
		return Consent{}, fmt.Errorf("build consent: record id: %w", err)
	}
	c := Consent{
		Header: record.Header{ID: id.String(), CreatedAt: now, ExpiresAt: now.AddDate(0, 0, f.TermDays),
			Job: f.Job, Unit: f.Unit.Serial},
		Version: SchemaVersion, Operator: f.Operator, Installer: f.Installer, Building: f.Building,
		Doors: slices.Clone(f.Doors), Who: WhoCouriers, Signer: s,
		Logging:   Logging{Events: slices.Clone(f.Logging.Events), RetentionDays: f.Logging.RetentionDays},
		Notice:    Notice{By: f.Notice.By, How: slices.Clone(f.Notice.How), Due: f.Notice.Due},
		Incentive: mustIncentive(f.Incentive), Revoke: f.Revoke, UnitInfo: f.Unit,
		Receipts: slices.Clone(f.Receipts), Survey: f.Survey,
		Terms:    TermsRef{Version: want.Version, Lang: want.Lang, SHA256: want.SHA256},
		Captured: f.Captured,
	}
	if err := c.Check(); err != nil {
		return Consent{}, fmt.Errorf("build consent: %w", err)
	}
	return c, nil
}

func mustIncentive(s string) string {
	o, err := incentive.Parse(s)
	if err != nil {
		return s // checkFacts refused it already
	}
	return o.String()
}

// Check reports whether c is a well-formed consent: the header, every fact
// as Build requires it except the dates relative to the signing time
// (a verifier checks a record long after it was made). Errors wrap
// ErrInvalid or record.ErrHeader.
func (c Consent) Check() error {
	if err := c.Header.Check(); err != nil {
		return err
	}
	if _, err := uuid.Parse(c.ID); err != nil || len(c.ID) != 36 {
		return fmt.Errorf("%w: id %q is not a UUID", ErrInvalid, c.ID)
	}
	if c.Version != SchemaVersion {
		return fmt.Errorf("%w: version %d (want %d)", ErrInvalid, c.Version, SchemaVersion)
	}
	if c.Who != WhoCouriers {
		return fmt.Errorf("%w: who %q (want %q)", ErrInvalid, c.Who, WhoCouriers)
	}
	if c.Unit != c.UnitInfo.Serial {
		return fmt.Errorf("%w: unit %q and unit_info.serial %q differ", ErrInvalid, c.Unit, c.UnitInfo.Serial)
	}
	days := int(c.ExpiresAt.Sub(c.CreatedAt).Hours() / 24)
	f := Facts{Job: c.Job, Operator: c.Operator, Installer: c.Installer, Building: c.Building, Doors: c.Doors,
		Logging: c.Logging, Notice: c.Notice, Incentive: c.Incentive, Revoke: c.Revoke, Unit: c.UnitInfo,
		Receipts: c.Receipts, Survey: c.Survey, TermDays: days, Captured: c.Captured}
	if err := checkStatic(f); err != nil {
		return err
	}
	if mustIncentive(c.Incentive) != c.Incentive {
		return fmt.Errorf("%w: incentive %q is not in canonical form", ErrInvalid, c.Incentive)
	}
	if _, ok := templates[c.Terms.Version+"."+c.Terms.Lang]; !ok {
		return fmt.Errorf("%w: terms %s %s: no such terms", ErrInvalid, c.Terms.Version, c.Terms.Lang)
	}
	if !hex64.MatchString(c.Terms.SHA256) {
		return fmt.Errorf("%w: terms.sha256 %q (want 64 lower-case hex digits)", ErrInvalid, c.Terms.SHA256)
	}
	if err := checkSignerStatic(c.Signer); err != nil {
		return err
	}
	if c.Signer.SignedAt.After(c.CreatedAt) || c.CreatedAt.Sub(c.Signer.SignedAt) > maxSignAge {
		return fmt.Errorf("%w: signer.signed_at %s is not in the hour before created_at %s", ErrInvalid,
			c.Signer.SignedAt.Format(time.RFC3339), c.CreatedAt.Format(time.RFC3339))
	}
	return nil
}

// maxSignAge bounds how long before the record is built the signer may
// have signed: the record is made on the spot, in front of them.
const maxSignAge = time.Hour

// checkFacts checks f against now (the notice date) and on its own.
func checkFacts(f Facts, now time.Time) error {
	if err := checkStatic(f); err != nil {
		return err
	}
	due, _ := time.Parse(time.DateOnly, f.Notice.Due)
	today := now.Truncate(24 * time.Hour)
	switch {
	case !due.After(today):
		return fmt.Errorf("%w: notice.due %s: tenants must be told on a later day than the signing (%s)", ErrInvalid, f.Notice.Due, today.Format(time.DateOnly))
	case due.After(today.AddDate(0, 0, MaxNoticeDays)):
		return fmt.Errorf("%w: notice.due %s is more than %d days after %s", ErrInvalid, f.Notice.Due, MaxNoticeDays, today.Format(time.DateOnly))
	}
	return nil
}

// checkStatic checks what does not depend on the time of signing.
func checkStatic(f Facts) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
	}
	for _, t := range []struct {
		field, v string
		max      int
	}{
		{"job", f.Job, 128}, {"operator", f.Operator, maxText}, {"installer", f.Installer, maxText},
		{"building.name", f.Building.Name, maxText}, {"building.address", f.Building.Address, maxLongText},
		{"revoke", f.Revoke, maxLongText}, {"unit.serial", f.Unit.Serial, 32},
	} {
		if err := text(t.v, t.max); err != nil {
			return bad(t.field, "%v", err)
		}
	}
	if err := (record.Header{ID: "x", CreatedAt: time.Unix(1, 0), ExpiresAt: time.Unix(2, 0), Job: f.Job, Unit: f.Unit.Serial}).Check(); err != nil {
		return bad("job or unit.serial", "%v", err)
	}
	if !hex64.MatchString(f.Unit.Attestation) {
		return bad("unit.attestation_sha256", "%q is not 64 lower-case hex digits", f.Unit.Attestation)
	}
	if n, err := base64.StdEncoding.Strict().DecodeString(f.Unit.Nonce); err != nil || len(n) < 16 ||
		base64.StdEncoding.EncodeToString(n) != f.Unit.Nonce {
		return bad("unit.pairing_nonce", "want standard padded base64 of at least 16 bytes")
	}
	if !hex64.MatchString(f.Survey) {
		return bad("survey_sha256", "%q is not 64 lower-case hex digits", f.Survey)
	}
	if _, err := incentive.Parse(f.Incentive); err != nil || f.Incentive == "" {
		return bad("incentive", "%v (write none if nothing was offered)", err)
	}
	switch f.Captured {
	case Wizard, Flags:
	default:
		return bad("captured", "%q (want wizard or flags)", f.Captured)
	}
	if f.TermDays < MinTermDays || f.TermDays > MaxTermDays {
		return bad("term", "%d days (want %d to %d)", f.TermDays, MinTermDays, MaxTermDays)
	}

	if len(f.Doors) == 0 || len(f.Doors) > MaxDoors {
		return bad("doors", "%d doors (want 1 to %d)", len(f.Doors), MaxDoors)
	}
	seen := map[string]bool{}
	for i, d := range f.Doors {
		if err := text(d.Name, 64); err != nil {
			return bad(fmt.Sprintf("doors[%d].name", i), "%v", err)
		}
		if err := text(d.Hours, maxText); err != nil {
			return bad(fmt.Sprintf("doors[%d].hours", i), "%v", err)
		}
		if seen[d.Name] {
			return bad(fmt.Sprintf("doors[%d].name", i), "%q given twice", d.Name)
		}
		seen[d.Name] = true
	}
	receipts := map[string]bool{}
	slots := map[int]bool{}
	for i, r := range f.Receipts {
		field := fmt.Sprintf("receipts[%d]", i)
		switch {
		case !seen[r.Door]:
			return bad(field, "door %q is not among the doors", r.Door)
		case receipts[r.Door]:
			return bad(field, "door %q has two receipts", r.Door)
		case r.Slot < 0 || r.Slot > 255 || slots[r.Slot]:
			return bad(field, "slot %d (want 0 to 255, each once)", r.Slot)
		case !hexAny.MatchString(r.KCV) || len(r.KCV) < 6 || len(r.KCV) > 64 || len(r.KCV)%2 != 0:
			return bad(field, "kcv %q is not 3 to 32 bytes of lower-case hex", r.KCV)
		}
		receipts[r.Door], slots[r.Slot] = true, true
	}
	for _, d := range f.Doors {
		if !receipts[d.Name] {
			return bad("receipts", "no burn receipt for door %q: burn its key before consent", d.Name)
		}
	}

	if len(f.Logging.Events) == 0 || !slices.Contains(f.Logging.Events, EventDoorOpen) {
		return bad("logging.events", "must include %s", EventDoorOpen)
	}
	if err := subset(f.Logging.Events, Events()); err != nil {
		return bad("logging.events", "%v", err)
	}
	if r := f.Logging.RetentionDays; r < 1 || r > MaxRetentionDays {
		return bad("logging.retention_days", "%d (want 1 to %d)", r, MaxRetentionDays)
	}
	switch f.Notice.By {
	case NoticeByManager, NoticeByOperator:
	default:
		return bad("notice.by", "%q (want %s or %s)", f.Notice.By, NoticeByManager, NoticeByOperator)
	}
	if len(f.Notice.How) == 0 {
		return bad("notice.how", "say how tenants are told (%s)", strings.Join(NoticeMethods(), ", "))
	}
	if err := subset(f.Notice.How, NoticeMethods()); err != nil {
		return bad("notice.how", "%v", err)
	}
	if d, err := time.Parse(time.DateOnly, f.Notice.Due); err != nil || d.Format(time.DateOnly) != f.Notice.Due {
		return bad("notice.due", "%q is not a date YYYY-MM-DD", f.Notice.Due)
	}
	return nil
}

// subset checks vs holds only members of all, each once, in all's order,
// so one set of facts has one encoding.
func subset(vs, all []string) error {
	last := -1
	for _, v := range vs {
		i := slices.Index(all, v)
		switch {
		case i < 0:
			return fmt.Errorf("unknown %q (one of %s)", v, strings.Join(all, ", "))
		case i <= last:
			return fmt.Errorf("%q repeated or out of order (order: %s)", v, strings.Join(all, ", "))
		}
		last = i
	}
	return nil
}

func checkSigner(s Signer, now time.Time) error {
	if err := checkSignerStatic(s); err != nil {
		return err
	}
	if s.SignedAt.After(now) || now.Sub(s.SignedAt) > maxSignAge {
		return fmt.Errorf("%w: signer.signed_at %s is not within the hour before %s", ErrInvalid,
			s.SignedAt.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return nil
}

func checkSignerStatic(s Signer) error {
	if err := text(s.Name, maxText); err != nil {
		return fmt.Errorf("%w: signer.name: %v", ErrInvalid, err)
	}
	if err := text(s.Title, maxText); err != nil {
		return fmt.Errorf("%w: signer.title: %v", ErrInvalid, err)
	}
	if !slices.Contains(Authorities(), s.Authority) {
		return fmt.Errorf("%w: signer.authority %q (want owner, managing-agent or board)", ErrInvalid, s.Authority)
	}
	if err := text(s.Intent, maxLongText); err != nil {
		return fmt.Errorf("%w: signer.intent: %v", ErrInvalid, err)
	}
	if s.SignedAt.IsZero() || s.SignedAt.Location() != time.UTC {
		return fmt.Errorf("%w: signer.signed_at: want a UTC time", ErrInvalid)
	}
	return nil
}

// text checks a one-line field: present, at most max bytes, valid UTF-8
// (record.Canonical would silently replace invalid bytes, and the signer
// must read what is signed), no surrounding spaces and no control
// characters (a pasted escape sequence must not repaint a terminal, and a
// line break must not start a new heading in the terms).
func text(s string, max int) error {
	switch {
	case s == "":
		return errors.New("required")
	case len(s) > max:
		return fmt.Errorf("%d bytes, at most %d", len(s), max)
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case strings.TrimSpace(s) != s:
		return errors.New("leading or trailing spaces")
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }):
		return errors.New("control characters or line breaks")
	case strings.Contains(s, "{{"):
		return errors.New(`"{{" is reserved for the terms' placeholders`)
	}
	return nil
}

// hex64 is a lower-case hex SHA-256; hexAny any run of lower-case hex.
var (
	hexAny = regexp.MustCompile(`^[0-9a-f]+$`)
	hex64  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// SHA256 returns the lower-case hex SHA-256 of b, the digest form every
// consent field uses.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
