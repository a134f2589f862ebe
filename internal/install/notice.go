package install

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/ids"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// Journal actions of the tenant notice and the courier gate.
const (
	ActionNoticeRecorded = "notice.recorded"
)

// ErrNoticeFacts means a notice cannot be made yet: a fact it must carry
// (the contact, the policy address) was not given and cannot be found in
// the job, its consent or its survey. The message names the flag to give.
var ErrNoticeFacts = errors.New("the notice lacks a fact")

// Notices keeps the tenant notices of each job: the facts a notice is
// made from, the signed record of each notice the installer gave, and the
// courier gate that reads them (docs/notice.md).
//
// The consent is read from the consents table directly (one small query):
// the consent's "tenant notice by" date and serial are what the gate needs,
// and a job without a consent row has no notice date, so its gate stays
// closed.
type Notices struct {
	st      *store.Store
	jobs    *Jobs
	queue   Queue
	journal Journal
	now     func() time.Time
	rand    io.Reader
}

// NewNotices returns the notices over st. q and j are needed only by
// Record; rand draws record ids.
func NewNotices(st *store.Store, jobs *Jobs, q Queue, j Journal, now func() time.Time, rand io.Reader) *Notices {
	return &Notices{st: st, jobs: jobs, queue: q, journal: j, now: now, rand: rand}
}

// NoticeInput is what the installer says about a notice beyond what the
// job, its consent and its survey say. Empty fields take those.
type NoticeInput struct {
	// Lang is the notice's language; "" is the consent's language, else
	// English.
	Lang string
	// Operator runs the unit; "" is the consent's operator.
	Operator string
	// Contact is whom tenants reach; required (name, and a phone or an
	// email).
	Contact notice.Contact
	// PolicyURL is where the full policy is; required.
	PolicyURL string
	// RetentionDays is how long door openings are kept; 0 is the
	// consent's retention, else DefaultRetentionDays.
	RetentionDays int
	// Recipients are the others who receive data, one line each.
	Recipients []string
	// UnitLocation is where the unit is; "" is the survey's mount
	// location.
	UnitLocation string
}

// DefaultRetentionDays is the retention a notice states when neither the
// installer nor a consent says: the 90-day cap every consent is held to
// (consent.MaxRetentionDays).
const DefaultRetentionDays = 90

// NoticeConsent is what a notice and the courier gate read from a job's
// consent.
type NoticeConsent struct {
	RecordID string
	Serial   string
	Lang     string
	// NoticeBy is the "tenant notice by" date, as midnight UTC of that day
	// when the row holds a date (YYYY-MM-DD); zero when it holds none.
	NoticeBy time.Time
	Revoked  bool
	// SignedAt and ExpiresAt are the consent's; a notice counts only when
	// given at or after SignedAt, and the gate closes at ExpiresAt.
	SignedAt  time.Time
	ExpiresAt time.Time
	Operator  string
	Doors     []string
	Hours     string // the doors' hours when they all share them
	Retention int    // days
}

// consentPayload is the part of a consent record's payload a notice uses
// (internal/consent.Consent).
type consentPayload struct {
	ExpiresAt time.Time `json:"expires_at"`
	Operator  string    `json:"operator"`
	Doors     []struct {
		Name  string `json:"name"`
		Hours string `json:"hours"`
	} `json:"doors"`
	Logging struct {
		RetentionDays int `json:"retention_days"`
	} `json:"logging"`
}

// ParseNoticeBy reads a consent's "tenant notice by" date: a day
// (YYYY-MM-DD, taken as midnight UTC, as the back office reads
// notice.due) or an RFC 3339 time. "" is the zero time: no date.
func ParseNoticeBy(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("notice date %q: want YYYY-MM-DD or an RFC 3339 time", s)
	}
	return t, nil
}

// Consent returns the job's consent as the notice reads it, and false when
// the job has none.
func (n *Notices) Consent(ctx context.Context, jobID string) (NoticeConsent, bool, error) {
	var c NoticeConsent
	var by, signed string
	var revoked sql.NullString
	var env []byte
	err := n.st.DB().QueryRowContext(ctx, `SELECT record_id, serial, lang, notice_by, revoked_at, envelope, signed_at FROM consents WHERE job = ?`, jobID).
		Scan(&c.RecordID, &c.Serial, &c.Lang, &by, &revoked, &env, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return NoticeConsent{}, false, nil
	}
	if err != nil {
		return NoticeConsent{}, false, n.st.Check(err)
	}
	c.Revoked = revoked.Valid && revoked.String != ""
	if c.NoticeBy, err = ParseNoticeBy(by); err != nil {
		return NoticeConsent{}, false, fmt.Errorf("consent of job %s: %w", jobID, err)
	}
	if c.SignedAt, err = time.Parse(time.RFC3339Nano, signed); err != nil {
		return NoticeConsent{}, false, fmt.Errorf("consent of job %s: signed_at: %w", jobID, err)
	}
	// The envelope is the signed record; its payload gives the facts the
	// manager agreed to. One that does not read still leaves the date,
	// which is all the gate needs.
	if e, err := record.Decode(env); err == nil {
		if body, err := e.Body(); err == nil {
			var p consentPayload
			if json.Unmarshal(body, &p) == nil {
				c.Operator, c.Retention, c.ExpiresAt = p.Operator, p.Logging.RetentionDays, p.ExpiresAt
				same := true
				for i, d := range p.Doors {
					c.Doors = append(c.Doors, d.Name)
					if i > 0 && d.Hours != p.Doors[0].Hours {
						same = false
					}
				}
				if same && len(p.Doors) > 0 {
					c.Hours = p.Doors[0].Hours
				}
			}
		}
	}
	return c, true, nil
}

// Serial returns the serial of the job's unit: the consent's, else the
// paired unit's, else "".
func (n *Notices) Serial(ctx context.Context, jobID string) (string, error) {
	c, ok, err := n.Consent(ctx, jobID)
	if err != nil {
		return "", err
	}
	if ok && c.Serial != "" {
		return c.Serial, nil
	}
	var serial string
	err = n.st.DB().QueryRowContext(ctx, `SELECT serial FROM pairings WHERE job = ?`, jobID).Scan(&serial)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return serial, n.st.Check(err)
}

// installedAt is when the job's unit was fitted: its pairing, else now.
func (n *Notices) installedAt(ctx context.Context, jobID string) (time.Time, error) {
	var at string
	err := n.st.DB().QueryRowContext(ctx, `SELECT paired_at FROM pairings WHERE job = ?`, jobID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return n.now(), nil
	}
	if err != nil {
		return time.Time{}, n.st.Check(err)
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, fmt.Errorf("pairing of job %s: %w", jobID, err)
	}
	return t.In(n.now().Location()), nil
}

// Facts gathers the facts of the job's notice: building, address and
// doors from the consent (else the job), hours from the consent when all
// doors share them (else the job), operator and retention from the
// consent unless in says otherwise, the unit's location from the survey,
// the installation date from the pairing, and the day access starts at the
// earliest from the consent's notice date. The contact and policy address
// come from in alone: a notice must not name a contact nobody gave.
func (n *Notices) Facts(ctx context.Context, jobRef string, in NoticeInput) (notice.Facts, error) {
	job, err := n.jobs.Get(ctx, jobRef)
	if err != nil {
		return notice.Facts{}, err
	}
	c, hasConsent, err := n.Consent(ctx, job.ID)
	if err != nil {
		return notice.Facts{}, err
	}
	f := notice.Facts{
		Building: job.Building, Address: job.Address, Doors: job.Doors, AccessHours: job.AccessHours,
		Operator: in.Operator, Contact: in.Contact, PolicyURL: in.PolicyURL,
		Recipients: in.Recipients, UnitLocation: in.UnitLocation, Lang: in.Lang,
	}
	days := in.RetentionDays
	if hasConsent {
		if len(c.Doors) > 0 {
			f.Doors = c.Doors
		}
		if c.Hours != "" {
			f.AccessHours = c.Hours
		}
		if f.Operator == "" {
			f.Operator = c.Operator
		}
		if days == 0 {
			days = c.Retention
		}
		if f.Lang == "" {
			f.Lang = c.Lang
		}
		f.StartsOn = c.NoticeBy
	}
	if days == 0 {
		days = DefaultRetentionDays
	}
	f.Retention = time.Duration(days) * 24 * time.Hour
	if f.Lang == "" {
		f.Lang = notice.English
	}
	if f.UnitLocation == "" {
		sv := NewSurveys(n.st, n.jobs, nil, nil, n.now)
		if s, err := sv.Get(ctx, job.ID); err == nil {
			f.UnitLocation = strings.TrimSpace(s.Survey.Mount.Location)
		}
	}
	if f.InstalledAt, err = n.installedAt(ctx, job.ID); err != nil {
		return notice.Facts{}, err
	}
	var missing []string
	if f.Operator == "" {
		missing = append(missing, "the operator (--operator; the consent names it once signed)")
	}
	if f.UnitLocation == "" {
		missing = append(missing, "where the unit is (--unit-location, or the survey's mount location)")
	}
	if f.Contact.Name == "" {
		missing = append(missing, "a contact name (--contact-name)")
	}
	if f.Contact.Phone == "" && f.Contact.Email == "" {
		missing = append(missing, "a contact phone or email (--contact-phone, --contact-email)")
	}
	if f.PolicyURL == "" {
		missing = append(missing, "the policy's web address (--policy-url)")
	}
	if len(missing) > 0 {
		return notice.Facts{}, fmt.Errorf("%w: job %s: give %s", ErrNoticeFacts, job.ID, strings.Join(missing, "; "))
	}
	if err := f.Validate(); err != nil {
		return notice.Facts{}, fmt.Errorf("job %s: %w", job.ID, err)
	}
	return f, nil
}

// Notice is a notice record as kept for its job.
type Notice struct {
	Record     string     `json:"record"`
	Job        string     `json:"job"`
	Unit       string     `json:"unit,omitempty"`
	How        notice.How `json:"how"`
	GivenAt    time.Time  `json:"given_at"`
	Lang       string     `json:"lang"`
	RecordedAt time.Time  `json:"recorded_at"`
	Consent    string     `json:"consent"`
}

// Record signs and keeps the record of a notice given for the job: it
// builds the record with notice.BuildRecord (which refuses a posted
// notice without a photo and a text that fails the content check),
// stores it in notices, queues it and journals it, in one transaction.
// g.Job is set from jobRef; g.ID and g.Unit are filled in when empty (a
// new id; the consent's or pairing's serial).
func (n *Notices) Record(ctx context.Context, jobRef string, g notice.Given) (Notice, error) {
	job, err := n.jobs.Get(ctx, jobRef)
	if err != nil {
		return Notice{}, err
	}
	g.Job = job.ID
	c, ok, err := n.Consent(ctx, job.ID)
	switch {
	case err != nil:
		return Notice{}, err
	case !ok:
		return Notice{}, fmt.Errorf("%w: job %s has no signed consent: the notice tells tenants about it; sign it first (latchkey consent sign)", notice.ErrRecord, job.ID)
	case c.Revoked:
		return Notice{}, fmt.Errorf("%w: the consent of job %s was revoked", notice.ErrRecord, job.ID)
	}
	g.Consent = c.RecordID
	if g.Unit == "" {
		if g.Unit, err = n.Serial(ctx, job.ID); err != nil {
			return Notice{}, err
		}
	}
	if g.ID == "" {
		if g.ID, err = ids.New(n.rand); err != nil {
			return Notice{}, err
		}
	}
	now := n.now()
	r, err := notice.BuildRecord(g, now)
	if err != nil {
		return Notice{}, err
	}
	out := Notice{Record: r.ID, Job: r.Job, Unit: r.Unit, How: r.How, GivenAt: r.GivenAt, Lang: r.Lang, RecordedAt: r.CreatedAt, Consent: r.Consent}
	err = n.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notices (record_id, job, how, given_at, lang, recorded_at, consent_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Job, string(r.How), r.GivenAt.UTC().Format(time.RFC3339Nano), r.Lang, r.CreatedAt.UTC().Format(time.RFC3339Nano), r.Consent)
		if err != nil {
			return err
		}
		if _, err := n.queue.Add(ctx, tx, record.KindNotice, r); err != nil {
			return err
		}
		_, err = n.journal.Append(ctx, tx, journal.Entry{Action: ActionNoticeRecorded, Job: r.Job, Unit: r.Unit, Record: r.ID,
			Outcome: journal.OK, Detail: fmt.Sprintf("%s %s, given %s", r.How, r.Lang, r.GivenAt.Format(time.RFC3339))})
		return err
	})
	if err != nil {
		return Notice{}, fmt.Errorf("record the notice of job %s: %w", job.ID, err)
	}
	return out, nil
}

// List returns the job's notice records, earliest given first.
func (n *Notices) List(ctx context.Context, jobRef string) ([]Notice, error) {
	job, err := n.jobs.Get(ctx, jobRef)
	if err != nil {
		return nil, err
	}
	return n.list(ctx, job.ID)
}

func (n *Notices) list(ctx context.Context, jobID string) ([]Notice, error) {
	serial, err := n.Serial(ctx, jobID)
	if err != nil {
		return nil, err
	}
	rows, err := n.st.DB().QueryContext(ctx, `SELECT record_id, job, how, given_at, lang, recorded_at, consent_id FROM notices
		WHERE job = ? ORDER BY given_at, record_id`, jobID)
	if err != nil {
		return nil, n.st.Check(err)
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		var nt Notice
		var how, given, recorded string
		if err := rows.Scan(&nt.Record, &nt.Job, &how, &given, &nt.Lang, &recorded, &nt.Consent); err != nil {
			return nil, n.st.Check(err)
		}
		nt.How, nt.Unit = notice.How(how), serial
		if nt.GivenAt, err = time.Parse(time.RFC3339Nano, given); err != nil {
			return nil, fmt.Errorf("notice %s: given_at: %w", nt.Record, err)
		}
		if nt.RecordedAt, err = time.Parse(time.RFC3339Nano, recorded); err != nil {
			return nil, fmt.Errorf("notice %s: recorded_at: %w", nt.Record, err)
		}
		out = append(out, nt)
	}
	return out, n.st.Check(rows.Err())
}

// GateResult is the courier gate's answer for a job.
type GateResult struct {
	Job     string `json:"job"`
	Serial  string `json:"serial,omitempty"`
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	// GivenAt is the earliest notice's given_at; NoticeBy the consent's
	// notice date. Zero when there is none.
	GivenAt  time.Time `json:"given_at,omitzero"`
	NoticeBy time.Time `json:"notice_by,omitzero"`
}

// Gate applies the courier gate (notice.CourierAllowed) to the job at now:
// a notice recorded (the earliest given_at counts: tenants were told from
// then) and the consent's notice date passed. A job without a consent row
// has no notice date, and a revoked consent lets no courier in: both stay
// closed.
func (n *Notices) Gate(ctx context.Context, jobRef string, now time.Time) (GateResult, error) {
	job, err := n.jobs.Get(ctx, jobRef)
	if err != nil {
		return GateResult{}, err
	}
	ns, err := n.list(ctx, job.ID)
	if err != nil {
		return GateResult{}, err
	}
	c, hasConsent, err := n.Consent(ctx, job.ID)
	if err != nil {
		return GateResult{}, err
	}
	res := GateResult{Job: job.ID, NoticeBy: c.NoticeBy}
	if res.Serial, err = n.Serial(ctx, job.ID); err != nil {
		return GateResult{}, err
	}
	// Only a notice given for this consent, at or after it was signed,
	// tells tenants about it.
	recorded := false
	for _, nt := range ns {
		if hasConsent && nt.Consent == c.RecordID && !nt.GivenAt.Before(c.SignedAt) {
			res.GivenAt, recorded = nt.GivenAt, true
			break
		}
	}
	switch {
	case hasConsent && c.Revoked:
		res.Reason = "courier access off: the consent was revoked"
		return res, nil
	case hasConsent && !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
		res.Reason = "courier access off: the consent expired on " + c.ExpiresAt.UTC().Format(time.DateOnly)
		return res, nil
	}
	res.Allowed, res.Reason = notice.CourierAllowed(recorded, res.GivenAt, res.NoticeBy, now)
	return res, nil
}

// Journal actions of the courier switch.
const (
	ActionCourierSetting = "unit.courier_setting"
	ActionCourierOn      = "unit.courier_on"
	ActionCourierOff     = "unit.courier_off"
	ActionCourierRefused = "unit.courier_refused"
)

// ErrCourierGate means courier access was not turned on because the gate
// does not hold; the error carries the gate's reason.
var ErrCourierGate = errors.New("courier access stays off")

// ErrWrongUnit means the unit on the cable is not the job's unit.
var ErrWrongUnit = errors.New("not the job's unit")

// DoorUnit is what the courier switch asks of a unit (*device.Unit).
type DoorUnit interface {
	Identity(ctx context.Context) (device.Identity, error)
	DoorConfig(ctx context.Context) (device.DoorConfig, error)
	SetDoorConfig(ctx context.Context, c device.DoorConfig) (device.DoorConfig, error)
}

// CourierResult is what the courier switch did.
type CourierResult struct {
	Job     string            `json:"job"`
	Serial  string            `json:"serial"`
	Courier bool              `json:"courier"`
	Door    device.DoorConfig `json:"door"`
	Gate    GateResult        `json:"gate"`
}

// SetCourier turns courier access on the job's unit u on or off, keeping
// the rest of its door configuration (hours, pulse, mode, zone). Turning
// it on needs the courier gate to hold now (Gate) and u to be the job's
// unit; a refusal is journalled and wraps ErrCourierGate or ErrWrongUnit,
// and nothing is written to the unit. Turning it off is always allowed:
// it is the safe side.
func (n *Notices) SetCourier(ctx context.Context, jobRef string, u DoorUnit, on bool) (CourierResult, error) {
	gate, err := n.Gate(ctx, jobRef, n.now())
	if err != nil {
		return CourierResult{}, err
	}
	res := CourierResult{Job: gate.Job, Serial: gate.Serial, Gate: gate}
	refuse := func(serial string, err error) (CourierResult, error) {
		jerr := n.st.Tx(ctx, func(tx *sql.Tx) error {
			_, err := n.journal.Append(ctx, tx, journal.Entry{Action: ActionCourierRefused, Job: gate.Job, Unit: serial,
				Outcome: journal.Refused, Detail: err.Error()})
			return err
		})
		return res, errors.Join(err, jerr)
	}
	if on && !gate.Allowed {
		return refuse(gate.Serial, fmt.Errorf("%w on job %s: %s", ErrCourierGate, gate.Job, gate.Reason))
	}
	if u == nil {
		return res, errors.New("set courier access: no unit")
	}
	id, err := u.Identity(ctx)
	if err != nil {
		return res, err
	}
	if on && id.Serial != gate.Serial {
		return refuse(id.Serial, fmt.Errorf("%w: the unit on the cable is %s, job %s's unit is %s", ErrWrongUnit, id.Serial, gate.Job, gate.Serial))
	}
	res.Serial = id.Serial
	cfg, err := u.DoorConfig(ctx)
	if err != nil {
		return res, err
	}
	if on {
		// The unit is the paired one (its key, not only its serial), and
		// couriers get exactly the hours the manager agreed to.
		var key []byte
		if err := n.st.DB().QueryRowContext(ctx, `SELECT sign_key FROM pairings WHERE job = ?`, gate.Job).Scan(&key); err != nil {
			return res, fmt.Errorf("the pairing of job %s: %w", gate.Job, err)
		}
		if !bytes.Equal(key, id.SignKey) {
			return refuse(id.Serial, fmt.Errorf("%w: unit %s does not hold the key it was paired with", ErrWrongUnit, id.Serial))
		}
		c, _, err := n.Consent(ctx, gate.Job)
		if err != nil {
			return res, err
		}
		if c.Hours == "" && len(c.Doors) > 1 {
			return refuse(id.Serial, fmt.Errorf("%w: the consent gives the doors different hours, and the unit keeps one schedule; ask the office", ErrCourierGate))
		}
		windows, err := notice.ParseHours(c.Hours)
		if err != nil {
			return refuse(id.Serial, fmt.Errorf("%w: %w", ErrCourierGate, err))
		}
		cfg.Hours = cfg.Hours[:0]
		for _, w := range windows {
			cfg.Hours = append(cfg.Hours, device.AccessWindow{Days: w.Days, From: w.From, To: w.To})
		}
	}
	cfg.Courier = on
	// Journalled before the unit is written: a crash in between still
	// leaves the journal saying couriers may have been let in.
	err = n.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := n.journal.Append(ctx, tx, journal.Entry{Action: ActionCourierSetting, Job: gate.Job, Unit: id.Serial, Outcome: journal.OK,
			Detail: fmt.Sprintf("writing courier %v to the unit", on)})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("journal courier access of unit %s: %w", id.Serial, err)
	}
	if res.Door, err = u.SetDoorConfig(ctx, cfg); err != nil {
		return res, err
	}
	res.Courier = res.Door.Courier
	action, detail := ActionCourierOff, "courier access off"
	if on {
		action, detail = ActionCourierOn, gate.Reason
	}
	err = n.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := n.journal.Append(ctx, tx, journal.Entry{Action: action, Job: gate.Job, Unit: id.Serial, Outcome: journal.OK, Detail: detail})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("journal courier access of unit %s: %w", id.Serial, err)
	}
	return res, nil
}
