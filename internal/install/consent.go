package install

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// Errors of the consent step that callers branch on.
var (
	// ErrConsentNotReady: the job is not ready for consent: no survey that says
	// go, no paired unit, or a door whose key is not burned yet. The
	// message says which and what to run.
	ErrConsentNotReady = errors.New("the job is not ready for the manager's consent")
	// ErrNoConsent: the job has no signed consent.
	ErrNoConsent = errors.New("the job has no signed consent")
	// ErrConsented: the job has a consent in force already; revoke it
	// before a new one is signed.
	ErrConsented = errors.New("the job has a signed consent already")
	// ErrConsentRevoked: the job's consent was revoked already.
	ErrConsentRevoked = errors.New("the job's consent was revoked")
)

// AnyHours is how a consent writes the hours of a job that names none: the
// doors may be opened at any time (the tenant notice reads it the same way).
const AnyHours = "24/7"

// Journal actions of the consent step.
const (
	ActionConsentSigning = "consent.signing"
	ActionConsentSigned  = "consent.signed"
	ActionConsentFailed  = "consent.failed"
	ActionConsentRevoked = "consent.revoked"
)

// ConsentSources are where the facts of a consent come from: the pulled
// job (Jobs), the unit paired for it and its burn receipts
// (provision.Service), and its survey (Surveys).
type ConsentSources struct {
	Jobs interface {
		Get(ctx context.Context, ref string) (Job, error)
	}
	Pairings interface {
		Paired(ctx context.Context, jobID string) (provision.Pairing, error)
	}
	Receipts interface {
		Finished(ctx context.Context, jobID string) (provision.BurnResult, bool, error)
	}
	Surveys interface {
		Get(ctx context.Context, jobID string) (Saved, error)
	}
}

// ConsentTerms are the facts of a consent the job packet does not carry:
// who the operator is and how to revoke, who tells tenants, how and by
// which date, what the unit logs and for how long, and the consent's term.
// Zero values take the defaults documented on each field.
type ConsentTerms struct {
	Operator  string
	Revoke    string
	NoticeBy  string   // consent.NoticeByManager when empty
	NoticeHow []string // posted when empty
	NoticeDue string   // YYYY-MM-DD, required
	Events    []string // every event (consent.Events) when empty
	Retention int      // days; 30 when 0
	TermDays  int      // consent.DefaultTermDays when 0
	Captured  consent.Captured
}

// ConsentRetentionDays is how long a unit's log is kept unless the consent
// says otherwise.
const ConsentRetentionDays = 30

// ConsentBasis is what a consent is built on: the facts, and the job and
// pairing they came from (the pairing's SignKey is the unit key that must
// countersign).
type ConsentBasis struct {
	Facts        consent.Facts
	TermsVersion string
	Job          Job
	Pairing      provision.Pairing
}

// FactsFor gathers the facts of jobRef's consent. The job must have a
// survey that says go (or go with conditions), a paired unit, and a burn
// receipt for every door from that unit; otherwise the error wraps
// ErrConsentNotReady and says what to run. It does not check t: consent.Build
// does, naming the field.
func FactsFor(ctx context.Context, src ConsentSources, jobRef string, t ConsentTerms) (ConsentBasis, error) {
	job, err := src.Jobs.Get(ctx, jobRef)
	if err != nil {
		return ConsentBasis{}, err
	}
	short := job.ID
	if len(short) > 8 {
		short = short[:8]
	}
	sv, err := src.Surveys.Get(ctx, job.ID)
	if errors.Is(err, ErrNoSurvey) {
		return ConsentBasis{}, fmt.Errorf("job %s: %w: %w", short, ErrConsentNotReady, err)
	}
	if err != nil {
		return ConsentBasis{}, err
	}
	if err := sv.Ready(); err != nil {
		return ConsentBasis{}, fmt.Errorf("job %s: %w: %w; see 'latchkey survey show --job %s'", short, ErrConsentNotReady, err, short)
	}
	p, err := src.Pairings.Paired(ctx, job.ID)
	if errors.Is(err, provision.ErrNotPaired) {
		return ConsentBasis{}, fmt.Errorf("%w: %w", ErrConsentNotReady, err)
	}
	if err != nil {
		return ConsentBasis{}, err
	}
	burnt, done, err := src.Receipts.Finished(ctx, job.ID)
	if err != nil {
		return ConsentBasis{}, err
	}
	if !done {
		return ConsentBasis{}, fmt.Errorf("job %s: %w: not every door's key is burned into unit %s; run 'latchkey burn --job %s' first",
			short, ErrConsentNotReady, p.Serial, short)
	}
	if burnt.Serial != p.Serial {
		return ConsentBasis{}, fmt.Errorf("job %s: %w: its keys are in unit %s but unit %s is paired: %w", short, ErrConsentNotReady, burnt.Serial, p.Serial, provision.ErrOtherUnit)
	}

	hours := job.AccessHours
	if hours == "" {
		hours = AnyHours
	}
	f := consent.Facts{
		Job: job.ID, Operator: t.Operator, Installer: job.Installer,
		Building:  consent.Building{Name: job.Building, Address: job.Address},
		Logging:   consent.Logging{Events: t.Events, RetentionDays: t.Retention},
		Notice:    consent.Notice{By: t.NoticeBy, How: t.NoticeHow, Due: t.NoticeDue},
		Incentive: job.Incentive, Revoke: t.Revoke,
		Unit:   consent.Unit{Serial: p.Serial, Attestation: p.UnitCert, Nonce: base64.StdEncoding.EncodeToString(p.Nonce)},
		Survey: sv.Hash, TermDays: t.TermDays, Captured: t.Captured,
	}
	for _, d := range job.Doors {
		f.Doors = append(f.Doors, consent.Door{Name: d, Hours: hours})
	}
	for _, s := range burnt.Slots {
		f.Receipts = append(f.Receipts, consent.Receipt{Door: s.Door, Slot: int(s.Slot), KCV: s.KCV})
	}
	if f.Incentive == "" {
		f.Incentive = "none"
	}
	if f.Notice.By == "" {
		f.Notice.By = consent.NoticeByManager
	}
	if len(f.Notice.How) == 0 {
		f.Notice.How = []string{consent.NoticePosted}
	}
	if len(f.Logging.Events) == 0 {
		f.Logging.Events = consent.Events()
	}
	if f.Logging.RetentionDays == 0 {
		f.Logging.RetentionDays = ConsentRetentionDays
	}
	if f.Captured == "" {
		f.Captured = consent.Flags
	}
	version := job.Terms
	if version == "" {
		version = consent.CurrentVersion
	}
	return ConsentBasis{Facts: f, TermsVersion: version, Job: job, Pairing: p}, nil
}

// FactsOf returns the facts a consent was built from, so its terms can be
// rendered again exactly as the signer read them (TermsOf).
func FactsOf(c consent.Consent) consent.Facts { return consent.FactsOf(c) }

// TermsOf renders the terms c names from its own facts. Their hash must be
// the one c carries, or the record and the text disagree.
func TermsOf(c consent.Consent) (consent.Text, error) {
	t, err := consent.TermsFor(c.Terms.Version, c.Terms.Lang, FactsOf(c))
	if err != nil {
		return consent.Text{}, err
	}
	if t.SHA256 != c.Terms.SHA256 {
		return consent.Text{}, fmt.Errorf("consent %s: the terms rendered from its facts (SHA-256 %s) are not the ones signed (%s)", c.ID, t.SHA256, c.Terms.SHA256)
	}
	return t, nil
}

// ConsentQueue queues records: those the outbox signs (a revocation) and
// those signed already (a consent, countersigned by the unit).
type ConsentQueue interface {
	Queue
	AddSigned(ctx context.Context, tx *sql.Tx, env record.Envelope) (outbox.Entry, error)
}

// ConsentUnit is the attached unit as the consent step needs it: who it
// is, and its countersignature (device.Unit).
type ConsentUnit interface {
	Identity(ctx context.Context) (device.Identity, error)
	consent.Countersigner
}

// Consents keeps each job's signed consent: the envelope as queued and the
// facts the tenant notice and the install session need.
type Consents struct {
	st      *store.Store
	queue   ConsentQueue
	journal Journal
	now     func() time.Time
}

// NewConsents returns the consents over st; q queues their records and j
// journals what is done.
func NewConsents(st *store.Store, q ConsentQueue, j Journal, now func() time.Time) *Consents {
	return &Consents{st: st, queue: q, journal: j, now: now}
}

// StoredConsent is a job's consent as kept. Its JSON form is stable for
// scripts.
type StoredConsent struct {
	Job         string     `json:"job"`
	Record      string     `json:"record"`
	Unit        string     `json:"unit"`
	TermsSHA256 string     `json:"terms_sha256"`
	Lang        string     `json:"lang"`
	NoticeBy    string     `json:"notice_by"` // YYYY-MM-DD: tenants told by then
	SignedAt    time.Time  `json:"signed_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	Revocation  string     `json:"revocation,omitempty"`
	// Envelope is the DSSE envelope exactly as queued.
	Envelope []byte `json:"-"`
}

// Revoked reports whether the consent was revoked.
func (s StoredConsent) Revoked() bool { return s.RevokedAt != nil }

// Consent decodes the stored envelope and parses its payload strictly. It
// does not verify the signatures (consent.Verify does, with the keys).
func (s StoredConsent) Consent() (consent.Consent, record.Envelope, error) {
	env, err := record.Decode(s.Envelope)
	if err != nil {
		return consent.Consent{}, record.Envelope{}, fmt.Errorf("stored consent of job %s: %w: %w", s.Job, err, store.ErrCorrupt)
	}
	body, err := env.Body()
	if err != nil {
		return consent.Consent{}, record.Envelope{}, fmt.Errorf("stored consent of job %s: %w: %w", s.Job, err, store.ErrCorrupt)
	}
	c, err := consent.Parse(body)
	if err != nil {
		return consent.Consent{}, record.Envelope{}, fmt.Errorf("stored consent of job %s: %w: %w", s.Job, err, store.ErrCorrupt)
	}
	return c, env, nil
}

// SignRequest is one signing: the basis from FactsFor, the signer as they
// confirmed (with Intent the terms' statement and SignedAt when they
// confirmed it), the terms they read, the installer's key and the attached
// unit.
type SignRequest struct {
	Basis        ConsentBasis
	Signer       consent.Signer
	Terms        consent.Text
	InstallerKey ed25519.PrivateKey
	Unit         ConsentUnit
	Rand         io.Reader
}

// Sign makes the job's consent record and keeps it. The unit on the cable
// must be the one paired for the job (serial and signing key). A
// "consent.signing" journal entry is appended first and its head goes into
// the record's header; then the record is built, signed by the installer,
// countersigned by the unit, verified with both keys as any reader would,
// and stored, queued and journalled ("consent.signed") in one transaction.
// A job with a consent in force is refused (ErrConsented).
func (c *Consents) Sign(ctx context.Context, req SignRequest) (StoredConsent, record.Envelope, error) {
	b := req.Basis
	jobID, serial := b.Job.ID, b.Pairing.Serial
	if old, err := c.Get(ctx, jobID); err == nil && !old.Revoked() {
		return StoredConsent{}, record.Envelope{}, fmt.Errorf("job %s: %w (record %s, signed %s); revoke it first",
			jobID, ErrConsented, old.Record, old.SignedAt.Format(time.RFC3339))
	} else if err != nil && !errors.Is(err, ErrNoConsent) {
		return StoredConsent{}, record.Envelope{}, err
	}
	id, err := req.Unit.Identity(ctx)
	if err != nil {
		return StoredConsent{}, record.Envelope{}, fmt.Errorf("read the unit's identity: %w", err)
	}
	if id.Serial != serial || !bytes.Equal(id.SignKey, b.Pairing.SignKey) {
		return StoredConsent{}, record.Envelope{}, fmt.Errorf("job %s: %w: unit %s is on the cable, unit %s is paired and holds the keys; plug that one in",
			jobID, provision.ErrOtherUnit, id.Serial, serial)
	}
	unitKey := ed25519.PublicKey(b.Pairing.SignKey)

	var ref record.JournalRef
	err = c.st.Tx(ctx, func(tx *sql.Tx) error {
		h, err := c.journal.Append(ctx, tx, journal.Entry{Action: ActionConsentSigning, Job: jobID, Unit: serial,
			Outcome: journal.OK, Detail: fmt.Sprintf("terms %s %s, signer %s", req.Terms.Version, req.Terms.Lang, req.Signer.Authority)})
		ref = h.Ref()
		return err
	})
	if err != nil {
		return StoredConsent{}, record.Envelope{}, fmt.Errorf("journal the consent of job %s: %w", jobID, err)
	}
	failed := func(err error) (StoredConsent, record.Envelope, error) {
		// Best effort: the failure itself must not wait on the journal.
		_ = c.st.Tx(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
			_, jerr := c.journal.Append(ctx, tx, journal.Entry{Action: ActionConsentFailed, Job: jobID, Unit: serial,
				Outcome: journal.Failed, Detail: truncate(err.Error(), journal.MaxDetail)})
			return jerr
		})
		return StoredConsent{}, record.Envelope{}, err
	}

	con, err := consent.Build(b.Facts, req.Signer, req.Terms, c.now(), req.Rand)
	if err != nil {
		return failed(err)
	}
	con.Journal = &ref
	env, err := consent.Sign(ctx, con, req.InstallerKey, req.Unit, unitKey)
	if err != nil {
		return failed(err)
	}
	wire, err := json.Marshal(env)
	if err != nil {
		return failed(err)
	}
	// Read back as anyone will: both signatures, strictly, before keeping it.
	if _, err := consent.Verify(wire, req.InstallerKey.Public().(ed25519.PublicKey), unitKey); err != nil {
		return failed(err)
	}
	s := StoredConsent{Job: jobID, Record: con.ID, Unit: serial, TermsSHA256: con.Terms.SHA256, Lang: con.Terms.Lang,
		NoticeBy: con.Notice.Due, SignedAt: con.Signer.SignedAt, Envelope: wire}
	err = c.st.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM consents WHERE job = ? AND revoked_at IS NULL`, jobID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("job %s: %w", jobID, ErrConsented)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO consents
			(job, record_id, serial, envelope, terms_sha256, lang, notice_by, signed_at, revoked_at, revocation_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)
			ON CONFLICT (job) DO UPDATE SET record_id = excluded.record_id, serial = excluded.serial,
			envelope = excluded.envelope, terms_sha256 = excluded.terms_sha256, lang = excluded.lang,
			notice_by = excluded.notice_by, signed_at = excluded.signed_at, revoked_at = NULL, revocation_id = NULL`,
			s.Job, s.Record, s.Unit, s.Envelope, s.TermsSHA256, s.Lang, s.NoticeBy, s.SignedAt.UTC().Format(time.RFC3339Nano))
		if err != nil {
			return err
		}
		if _, err := c.queue.AddSigned(ctx, tx, env); err != nil {
			return err
		}
		_, err = c.journal.Append(ctx, tx, journal.Entry{Action: ActionConsentSigned, Job: jobID, Unit: serial, Record: con.ID,
			Outcome: journal.OK, Detail: fmt.Sprintf("by %s (%s), tenants told by %s", con.Signer.Authority, con.Terms.Lang, con.Notice.Due)})
		return err
	})
	if err != nil {
		return failed(fmt.Errorf("save the consent of job %s: %w", jobID, err))
	}
	return s, env, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary: the journal refuses invalid UTF-8.
	for n > 0 && (s[n]&0xc0) == 0x80 {
		n--
	}
	return s[:n]
}

// Get returns the job's consent (ErrNoConsent), revoked or not.
func (c *Consents) Get(ctx context.Context, jobID string) (StoredConsent, error) {
	var s StoredConsent
	var signed string
	var revoked, revocation sql.NullString
	err := c.st.DB().QueryRowContext(ctx, `SELECT job, record_id, serial, envelope, terms_sha256, lang, notice_by, signed_at,
		revoked_at, revocation_id FROM consents WHERE job = ?`, jobID).Scan(&s.Job, &s.Record, &s.Unit, &s.Envelope,
		&s.TermsSHA256, &s.Lang, &s.NoticeBy, &signed, &revoked, &revocation)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredConsent{}, fmt.Errorf("job %s: %w", jobID, ErrNoConsent)
	}
	if err != nil {
		return StoredConsent{}, c.st.Check(err)
	}
	bad := func(what string, err error) error {
		return fmt.Errorf("stored consent of job %s: %s: %v: %w", jobID, what, err, store.ErrCorrupt)
	}
	if s.SignedAt, err = time.Parse(time.RFC3339Nano, signed); err != nil {
		return StoredConsent{}, bad("signed_at", err)
	}
	if revoked.Valid {
		t, err := time.Parse(time.RFC3339Nano, revoked.String)
		if err != nil {
			return StoredConsent{}, bad("revoked_at", err)
		}
		s.RevokedAt, s.Revocation = &t, revocation.String
	}
	return s, nil
}

// ByRecord returns the consent whose record id is id (ErrNoConsent).
func (c *Consents) ByRecord(ctx context.Context, id string) (StoredConsent, error) {
	var job string
	err := c.st.DB().QueryRowContext(ctx, `SELECT job FROM consents WHERE record_id = ?`, id).Scan(&job)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredConsent{}, fmt.Errorf("record %s: %w", id, ErrNoConsent)
	}
	if err != nil {
		return StoredConsent{}, c.st.Check(err)
	}
	return c.Get(ctx, job)
}

// Revoke revokes the job's consent: a revocation record by by, for reason,
// is signed and queued, the consent marked revoked and the change
// journalled, in one transaction. A consent revoked already is
// ErrConsentRevoked; errors of consent.BuildRevocation wrap consent.ErrInvalid.
func (c *Consents) Revoke(ctx context.Context, jobID, reason string, by consent.Revoker, rand io.Reader) (StoredConsent, consent.Revocation, error) {
	s, err := c.Get(ctx, jobID)
	if err != nil {
		return StoredConsent{}, consent.Revocation{}, err
	}
	if s.Revoked() {
		return StoredConsent{}, consent.Revocation{}, fmt.Errorf("job %s: %w on %s (record %s)", jobID, ErrConsentRevoked,
			s.RevokedAt.Format(time.RFC3339), s.Revocation)
	}
	con, _, err := s.Consent()
	if err != nil {
		return StoredConsent{}, consent.Revocation{}, err
	}
	r, err := consent.BuildRevocation(con, reason, by, c.now(), rand)
	if err != nil {
		return StoredConsent{}, consent.Revocation{}, err
	}
	err = c.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := c.markRevoked(ctx, tx, jobID, con.ID, r); err != nil {
			return err
		}
		if _, err := c.queue.Add(ctx, tx, record.KindRevocation, r); err != nil {
			return err
		}
		_, err := c.journal.Append(ctx, tx, journal.Entry{Action: ActionConsentRevoked, Job: jobID, Unit: con.Unit, Record: r.ID,
			Outcome: journal.OK, Detail: truncate(fmt.Sprintf("consent %s revoked by %s (%s): %s", con.ID, by.Name, by.Role, reason), journal.MaxDetail)})
		return err
	})
	if err != nil {
		return StoredConsent{}, consent.Revocation{}, fmt.Errorf("revoke the consent of job %s: %w", jobID, err)
	}
	t := r.RevokedAt
	s.RevokedAt, s.Revocation = &t, r.ID
	return s, r, nil
}

// markRevoked notes revocation r on the job's consent record consentID,
// which must not be revoked yet.
func (c *Consents) markRevoked(ctx context.Context, tx *sql.Tx, jobID, consentID string, r consent.Revocation) error {
	res, err := tx.ExecContext(ctx, `UPDATE consents SET revoked_at = ?, revocation_id = ?
		WHERE job = ? AND record_id = ? AND revoked_at IS NULL`, r.RevokedAt.UTC().Format(time.RFC3339Nano), r.ID, jobID, consentID)
	if err != nil {
		return store.Classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("job %s: %w", jobID, ErrConsentRevoked)
	}
	return nil
}
