package install

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/survey"
)

// ErrNoSurvey: the job has no survey yet.
var ErrNoSurvey = errors.New("the job has no survey yet")

// ErrSurveyLocked: a consent in force names the survey, so it cannot change.
var ErrSurveyLocked = errors.New("the survey is part of a signed consent")

// Queue puts a signed record in the outbox inside a transaction.
type Queue interface {
	Add(ctx context.Context, tx *sql.Tx, kind record.Kind, payload any) (outbox.Entry, error)
}

// Journal records what was done.
type Journal interface {
	Append(ctx context.Context, tx *sql.Tx, e journal.Entry) (journal.Head, error)
}

// Surveys keeps each job's building survey: the newest revision and its
// verdict, every revision signed and queued as a survey record.
type Surveys struct {
	st      *store.Store
	jobs    *Jobs
	queue   Queue
	journal Journal
	now     func() time.Time
}

// NewSurveys returns the surveys over st.
func NewSurveys(st *store.Store, jobs *Jobs, q Queue, j Journal, now func() time.Time) *Surveys {
	return &Surveys{st: st, jobs: jobs, queue: q, journal: j, now: now}
}

// Saved is a stored survey with its verdict.
type Saved struct {
	Job       string         `json:"job"`
	Survey    survey.Survey  `json:"survey"`
	Hash      string         `json:"hash"`
	Verdict   survey.Verdict `json:"verdict"`
	Record    string         `json:"record"`
	UpdatedAt time.Time      `json:"updated_at"`
	// Override is the written reason to go ahead despite a no-go verdict.
	Override *survey.Override `json:"override,omitempty"`
}

// ErrNoOverride: an override is only for a no-go verdict, and needs a reason.
var ErrNoOverride = errors.New("nothing to override")

// Override records the installer's written reason to go ahead despite the
// survey's no-go verdict: a new revision of the same survey, signed with the
// reason, queued and journalled. A pending signal cannot be overridden (pair
// the unit), nor can a survey that is not no-go.
func (v *Surveys) Override(ctx context.Context, jobID, reason string) (Saved, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 10 {
		return Saved{}, fmt.Errorf("%w: write the reason out (at least 10 characters): who decided, and why it is safe", ErrNoOverride)
	}
	old, err := v.Get(ctx, jobID)
	if err != nil {
		return Saved{}, err
	}
	if old.Verdict.Outcome != survey.NoGo {
		return Saved{}, fmt.Errorf("%w: the survey of job %s says %s, not no-go", ErrNoOverride, jobID, old.Verdict.Outcome)
	}
	s := old.Survey
	s.UpdatedAt = v.now().UTC()
	return v.save(ctx, s, "survey.override", &survey.Override{Reason: reason, At: s.UpdatedAt})
}

// ValidationError lists what is wrong with a survey.
type ValidationError struct{ Problems []survey.Problem }

func (e *ValidationError) Error() string {
	msg := fmt.Sprintf("%d problem(s) in the survey", len(e.Problems))
	for _, p := range e.Problems {
		msg += "; " + p.String()
	}
	return msg
}

// Save validates s against the job's doors, runs the rules, and stores it as
// the job's survey, with its signed record queued and the change journalled,
// in one transaction. The job id in s is set from jobRef.
func (v *Surveys) Save(ctx context.Context, jobRef string, s survey.Survey) (Saved, error) {
	job, err := v.jobs.Get(ctx, jobRef)
	if err != nil {
		return Saved{}, err
	}
	s.Job = job.ID
	s.UpdatedAt = v.now().UTC()
	// The consent names the survey it was signed on: changing the survey
	// under a consent in force would make the two disagree.
	var consentID string
	err = v.st.DB().QueryRowContext(ctx, `SELECT record_id FROM consents WHERE job = ? AND revoked_at IS NULL`, job.ID).Scan(&consentID)
	switch {
	case err == nil:
		return Saved{}, fmt.Errorf("%w: job %s has a signed consent (%s) naming this survey; revoke it first (latchkey consent revoke) to change the survey", ErrSurveyLocked, job.ID, consentID)
	case !errors.Is(err, sql.ErrNoRows):
		return Saved{}, v.st.Check(err)
	}
	if s.Signal == nil {
		// A survey written or edited after pairing takes the signal the
		// unit measured.
		sig, err := v.Signal(ctx, job.ID)
		if err != nil {
			return Saved{}, err
		}
		s.Signal = sig
	}
	if probs := survey.Validate(s, job.Doors); len(probs) > 0 {
		return Saved{}, &ValidationError{Problems: probs}
	}
	return v.save(ctx, s, "survey.saved", nil)
}

// Signal returns the signal measured for the job, or nil.
func (v *Surveys) Signal(ctx context.Context, jobID string) (*survey.Signal, error) {
	var sig survey.Signal
	var rssi, rsrp sql.NullInt64
	var at string
	err := v.st.DB().QueryRowContext(ctx, `SELECT unit, rssi_dbm, rsrp_dbm, measured_at FROM signals WHERE job = ?`, jobID).
		Scan(&sig.Unit, &rssi, &rsrp, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, v.st.Check(err)
	}
	if rssi.Valid {
		n := int(rssi.Int64)
		sig.RSSIDBm = &n
	}
	if rsrp.Valid {
		n := int(rsrp.Int64)
		sig.RSRPDBm = &n
	}
	if sig.MeasuredAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return nil, err
	}
	return &sig, nil
}

// WithSignal keeps the signal the paired unit measured at the mount point
// and, when the job has a survey, fills it in and runs the rules again (a
// new revision, stored and queued like any other). Without a survey it
// returns ErrNoSurvey; the signal is kept for the survey to come.
func (v *Surveys) WithSignal(ctx context.Context, jobID string, sig survey.Signal) (Saved, error) {
	var rssi, rsrp any
	if sig.RSSIDBm != nil {
		rssi = *sig.RSSIDBm
	}
	if sig.RSRPDBm != nil {
		rsrp = *sig.RSRPDBm
	}
	err := v.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signals (job, unit, rssi_dbm, rsrp_dbm, measured_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET unit = excluded.unit, rssi_dbm = excluded.rssi_dbm, rsrp_dbm = excluded.rsrp_dbm,
			measured_at = excluded.measured_at`, jobID, sig.Unit, rssi, rsrp, sig.MeasuredAt.UTC().Format(time.RFC3339Nano))
		return err
	})
	if err != nil {
		return Saved{}, fmt.Errorf("keep the signal of job %s: %w", jobID, err)
	}
	old, err := v.Get(ctx, jobID)
	if err != nil {
		return Saved{}, err
	}
	s := survey.WithSignal(old.Survey, sig)
	s.UpdatedAt = v.now().UTC()
	return v.save(ctx, s, "survey.signal", nil)
}

func (v *Surveys) save(ctx context.Context, s survey.Survey, action string, override *survey.Override) (Saved, error) {
	verdict := survey.Evaluate(s)
	payload, err := survey.Record(s, s.UpdatedAt)
	if err != nil {
		return Saved{}, err
	}
	payload.Override = override
	var overrideReason, overrideAt string
	if override != nil {
		overrideReason, overrideAt = override.Reason, override.At.Format(time.RFC3339Nano)
	}
	body, err := record.Canonical(s)
	if err != nil {
		return Saved{}, err
	}
	verdictJSON, err := json.Marshal(verdict)
	if err != nil {
		return Saved{}, err
	}
	err = v.st.Tx(ctx, func(tx *sql.Tx) error {
		// Each revision is its own record, numbered: the same survey saved
		// again (an edit undone) is a new revision, not a replay.
		var rev int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(revision), 0) + 1 FROM surveys WHERE job = ?`, s.Job).Scan(&rev); err != nil {
			return err
		}
		payload.ID = fmt.Sprintf("survey.%s.r%d", s.Job, rev)
		_, err := tx.ExecContext(ctx, `INSERT INTO surveys (job, revision, body, hash, verdict, record_id, updated_at, override_reason, override_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET revision = excluded.revision, body = excluded.body, hash = excluded.hash,
			verdict = excluded.verdict, record_id = excluded.record_id, updated_at = excluded.updated_at,
			override_reason = excluded.override_reason, override_at = excluded.override_at`,
			s.Job, rev, string(body), payload.SurveyHash, string(verdictJSON), payload.ID, s.UpdatedAt.Format(time.RFC3339Nano),
			overrideReason, overrideAt)
		if err != nil {
			return err
		}
		if _, err := v.queue.Add(ctx, tx, record.KindSurvey, payload); err != nil {
			return err
		}
		detail := "verdict " + string(verdict.Outcome)
		if override != nil {
			detail += ", overridden: " + override.Reason
		}
		if len(detail) > journal.MaxDetail {
			detail = detail[:journal.MaxDetail]
		}
		_, err = v.journal.Append(ctx, tx, journal.Entry{Action: action, Job: s.Job, Record: payload.ID, Outcome: journal.OK, Detail: detail})
		return err
	})
	if err != nil {
		return Saved{}, fmt.Errorf("save the survey of job %s: %w", s.Job, err)
	}
	return Saved{Job: s.Job, Survey: s, Hash: payload.SurveyHash, Verdict: verdict, Record: payload.ID, UpdatedAt: s.UpdatedAt, Override: override}, nil
}

// Get returns the job's survey (ErrNoSurvey).
func (v *Surveys) Get(ctx context.Context, jobID string) (Saved, error) {
	var out Saved
	var body, verdict, at, oReason, oAt string
	err := v.st.DB().QueryRowContext(ctx, `SELECT job, body, hash, verdict, record_id, updated_at, override_reason, override_at
		FROM surveys WHERE job = ?`, jobID).
		Scan(&out.Job, &body, &out.Hash, &verdict, &out.Record, &at, &oReason, &oAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Saved{}, fmt.Errorf("job %s: %w; write one with 'latchkey survey new --job %s --from FILE' (see 'latchkey survey template')", jobID, ErrNoSurvey, jobID)
	}
	if err != nil {
		return Saved{}, v.st.Check(err)
	}
	s, err := survey.Parse([]byte(body), survey.FormatJSON)
	if err != nil {
		return Saved{}, fmt.Errorf("stored survey of job %s: %w", jobID, err)
	}
	out.Survey = s
	if err := json.Unmarshal([]byte(verdict), &out.Verdict); err != nil {
		return Saved{}, fmt.Errorf("stored verdict of job %s: %w", jobID, err)
	}
	if out.UpdatedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return Saved{}, err
	}
	if oReason != "" {
		t, err := time.Parse(time.RFC3339Nano, oAt)
		if err != nil {
			return Saved{}, err
		}
		out.Override = &survey.Override{Reason: oReason, At: t}
	}
	return out, nil
}

// ReadyToBurn reports whether the job's survey allows burning: there is
// one, and its verdict is go or go with conditions, or no-go with a
// recorded override.
func (v *Surveys) ReadyToBurn(ctx context.Context, jobID string) error {
	s, err := v.Get(ctx, jobID)
	if err != nil {
		return err
	}
	return s.Ready()
}

// Ready is the one rule for going on past the survey: its verdict is go or
// go with conditions, or no-go with a recorded override.
func (s Saved) Ready() error {
	verdict := survey.Evaluate(s.Survey)
	if verdict.Outcome == survey.NoGo && s.Override != nil {
		return nil
	}
	return verdict.Err()
}
