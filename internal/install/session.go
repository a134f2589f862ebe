package install

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/survey"
)

// Errors of the install session that callers branch on.
var (
	// ErrNotReady: a step the asked one needs is not done.
	ErrNotReady = errors.New("the install is not ready for that step")
	// ErrSelfTestFailed: a unit self-test failed.
	ErrSelfTestFailed = errors.New("a self-test failed")
)

// Step is one step of an install, in order.
type Step string

// The steps of an install.
const (
	StepJob      Step = "job"
	StepSurvey   Step = "survey"
	StepPair     Step = "pair"
	StepSelfTest Step = "self-test"
	StepBurn     Step = "burn"
	StepConsent  Step = "consent"
	StepNotice   Step = "notice"
	StepFinish   Step = "finish"
	StepUpload   Step = "upload"
)

// Steps lists the steps in order.
func Steps() []Step {
	return []Step{StepJob, StepSurvey, StepPair, StepSelfTest, StepBurn, StepConsent, StepNotice, StepFinish, StepUpload}
}

// Step states.
const (
	Done    = "done"
	Todo    = "todo"
	Blocked = "blocked" // done, but its outcome stops the install (a no-go survey, a failed self-test)
	Partial = "partial" // started and not finished
)

// StepStatus is where one step stands.
type StepStatus struct {
	Step    Step   `json:"step"`
	State   string `json:"state"`
	Detail  string `json:"detail,omitempty"`
	Command string `json:"command,omitempty"` // what to run next for it
}

// Status is where a job's install stands: every step, and the next thing to
// do.
type Status struct {
	Job      string       `json:"job"`
	Serial   string       `json:"serial,omitempty"`
	Steps    []StepStatus `json:"steps"`
	Next     string       `json:"next,omitempty"`
	Finished bool         `json:"finished"`
}

// Session is an install keyed by job id: its state is what each step saved
// in the store (the survey, pairing, self-test, burns, consent, notices and
// the outbox), so commands and the wizard can be mixed and resumed after a
// kill, a sleep or a pulled cable; Status reads it back.
type Session struct {
	st      *Jobs
	surveys *Surveys
	queue   Queue
	journal Journal
	now     func() time.Time
}

// NewSession returns the install sessions over the jobs' store.
func NewSession(jobs *Jobs, surveys *Surveys, q Queue, j Journal, now func() time.Time) *Session {
	return &Session{st: jobs, surveys: surveys, queue: q, journal: j, now: now}
}

func (s *Session) db() *sql.DB { return s.st.st.DB() }

// LastWorked is the number of the journal's newest entry about the job: the
// higher, the more recently its install was worked on; 0 when never.
func (s *Session) LastWorked(ctx context.Context, jobID string) (int64, error) {
	var seq sql.NullInt64
	if err := s.db().QueryRowContext(ctx, `SELECT max(seq) FROM journal WHERE job = ?`, jobID).Scan(&seq); err != nil {
		return 0, err
	}
	return seq.Int64, nil
}

// Status reads where the job's install stands.
func (s *Session) Status(ctx context.Context, jobRef string) (Status, error) {
	job, err := s.st.Get(ctx, jobRef)
	if err != nil {
		return Status{}, err
	}
	id := job.ID
	short := id
	if len(short) > 8 {
		short = short[:8]
	}
	st := Status{Job: id}
	add := func(step Step, state, detail, command string) {
		st.Steps = append(st.Steps, StepStatus{Step: step, State: state, Detail: detail, Command: command})
	}
	add(StepJob, Done, fmt.Sprintf("%s, %d doors", job.Building, len(job.Doors)), "")

	// Survey.
	if sv, err := s.surveys.Get(ctx, id); err == nil {
		v := survey.Evaluate(sv.Survey)
		switch v.Outcome {
		case survey.Go, survey.GoWithConditions:
			add(StepSurvey, Done, string(v.Outcome), "")
		case survey.PendingSignal:
			add(StepSurvey, Partial, "pending the signal reading (pairing measures it)", "latchkey pair --job "+short)
		default:
			if sv.Override != nil {
				add(StepSurvey, Done, "no-go, overridden: "+sv.Override.Reason, "")
			} else {
				add(StepSurvey, Blocked, "no-go: "+firstReason(v), "latchkey survey edit --job "+short+" --from FILE")
			}
		}
	} else if errors.Is(err, ErrNoSurvey) {
		add(StepSurvey, Todo, "", "latchkey survey template --job "+short+" > survey.yaml; latchkey survey new --job "+short+" --from survey.yaml")
	} else {
		return Status{}, err
	}

	// Pairing.
	var serial string
	err = s.db().QueryRowContext(ctx, `SELECT serial FROM pairings WHERE job = ?`, id).Scan(&serial)
	switch {
	case err == nil:
		st.Serial = serial
		add(StepPair, Done, "unit "+serial, "")
	case errors.Is(err, sql.ErrNoRows):
		add(StepPair, Todo, "", "latchkey pair --job "+short)
	default:
		return Status{}, err
	}

	// Self-test.
	var passed bool
	var testSerial string
	err = s.db().QueryRowContext(ctx, `SELECT passed, serial FROM selftests WHERE job = ?`, id).Scan(&passed, &testSerial)
	switch {
	case err == nil && passed && testSerial == serial:
		add(StepSelfTest, Done, "passed", "")
	case err == nil && !passed:
		add(StepSelfTest, Blocked, "failed: see 'latchkey install status --json'", "latchkey install selftest --job "+short)
	case err == nil || errors.Is(err, sql.ErrNoRows):
		add(StepSelfTest, Todo, "", "latchkey install selftest --job "+short)
	default:
		return Status{}, err
	}

	// Burn.
	var done int
	if err := s.db().QueryRowContext(ctx, `SELECT count(*) FROM burns WHERE job = ? AND state = 'done'`, id).Scan(&done); err != nil {
		return Status{}, err
	}
	switch {
	case done >= len(job.Doors):
		add(StepBurn, Done, fmt.Sprintf("%d of %d slots", done, len(job.Doors)), "")
	case done > 0:
		add(StepBurn, Partial, fmt.Sprintf("%d of %d slots", done, len(job.Doors)), "latchkey burn --job "+short)
	default:
		add(StepBurn, Todo, "", "latchkey burn --job "+short)
	}

	// Consent.
	var consentID string
	var revoked sql.NullString
	err = s.db().QueryRowContext(ctx, `SELECT record_id, revoked_at FROM consents WHERE job = ?`, id).Scan(&consentID, &revoked)
	switch {
	case err == nil && revoked.Valid:
		add(StepConsent, Blocked, "revoked "+revoked.String, "")
	case err == nil:
		add(StepConsent, Done, consentID, "")
	case errors.Is(err, sql.ErrNoRows):
		add(StepConsent, Todo, "", "latchkey consent sign --job "+short)
	default:
		return Status{}, err
	}

	// Notice.
	var notices int
	// Only notices given for the consent in force count: a consent signed
	// again after a revocation needs its own notice to tenants.
	if err := s.db().QueryRowContext(ctx, `SELECT count(*) FROM notices n JOIN consents c ON c.record_id = n.consent_id
		WHERE n.job = ? AND c.job = n.job AND c.revoked_at IS NULL`, id).Scan(&notices); err != nil {
		return Status{}, err
	}
	if notices > 0 {
		add(StepNotice, Done, fmt.Sprintf("%d recorded", notices), "")
	} else {
		add(StepNotice, Todo, "", "latchkey notice print --job "+short+"; latchkey notice record --job "+short)
	}

	// Finish.
	var report string
	err = s.db().QueryRowContext(ctx, `SELECT report_id FROM installs WHERE job = ?`, id).Scan(&report)
	switch {
	case err == nil:
		st.Finished = true
		add(StepFinish, Done, report, "")
	case errors.Is(err, sql.ErrNoRows):
		add(StepFinish, Todo, "", "latchkey install finish --job "+short)
	default:
		return Status{}, err
	}

	// Upload: every record of the job sent.
	var queued, rejected int
	if err := s.db().QueryRowContext(ctx, `SELECT coalesce(sum(state = 'queued'), 0), coalesce(sum(state = 'rejected'), 0) FROM outbox WHERE job = ?`, id).Scan(&queued, &rejected); err != nil {
		return Status{}, err
	}
	switch {
	case rejected > 0:
		add(StepUpload, Blocked, fmt.Sprintf("%d records refused by the back office", rejected), "latchkey outbox list --state rejected")
	case queued > 0:
		add(StepUpload, Partial, fmt.Sprintf("%d records waiting", queued), "latchkey sync")
	case st.Finished:
		add(StepUpload, Done, "every record sent", "")
	default:
		add(StepUpload, Todo, "", "latchkey sync")
	}

	for _, step := range st.Steps {
		if step.State != Done && step.Command != "" {
			st.Next = step.Command
			break
		}
	}
	return st, nil
}

func firstReason(v survey.Verdict) string {
	for _, r := range v.Reasons {
		if r.Severity == survey.SeverityNoGo {
			return r.Message
		}
	}
	return string(v.Outcome)
}

// RecordSelfTest stores the result of the unit's self-tests for the job and
// journals it, in one transaction. A failed test blocks the install.
func (s *Session) RecordSelfTest(ctx context.Context, jobID, serial string, results []device.SelfTestResult) (bool, error) {
	passed := len(results) > 0
	var failed []string
	for _, r := range results {
		if r.Result == device.TestFail {
			passed = false
			failed = append(failed, r.Name)
		}
	}
	body, err := json.Marshal(results)
	if err != nil {
		return false, err
	}
	outcome, detail := journal.OK, fmt.Sprintf("%d tests passed or skipped", len(results))
	if !passed {
		outcome, detail = journal.Failed, "failed: "+strings.Join(failed, ", ")
	}
	err = s.st.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO selftests (job, serial, passed, results, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET serial = excluded.serial, passed = excluded.passed, results = excluded.results, at = excluded.at`,
			jobID, serial, passed, string(body), s.now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			return err
		}
		_, err = s.journal.Append(ctx, tx, journal.Entry{Action: "unit.selftest", Unit: serial, Job: jobID, Outcome: outcome, Detail: detail})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("save the self-test of job %s: %w", jobID, err)
	}
	return passed, nil
}

// ReadyToBurn reports whether the job's unit passed its self-test (the step
// before burning): the paired unit's, recorded for this job.
func (s *Session) ReadyToBurn(ctx context.Context, jobID string) error {
	var serial string
	err := s.db().QueryRowContext(ctx, `SELECT serial FROM pairings WHERE job = ?`, jobID).Scan(&serial)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // burning says what is missing about the pairing itself
	}
	if err != nil {
		return err
	}
	var passed bool
	var tested string
	err = s.db().QueryRowContext(ctx, `SELECT passed, serial FROM selftests WHERE job = ?`, jobID).Scan(&passed, &tested)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && tested != serial):
		return fmt.Errorf("%w: the unit's self-test has not run for this job: latchkey install selftest --job %s", ErrNotReady, shortID(jobID))
	case err != nil:
		return err
	case !passed:
		return fmt.Errorf("%w: the unit failed its self-test: run 'latchkey install selftest --job %s' again once it is fixed", ErrSelfTestFailed, shortID(jobID))
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Report is the payload of the signed install-report record: what the
// install did, by reference to the records that prove each step.
type Report struct {
	record.Header
	Building   string   `json:"building"`
	Doors      []string `json:"doors"`
	SurveyHash string   `json:"survey_hash"`
	Verdict    string   `json:"verdict"`
	Pairing    string   `json:"pairing"`
	SelfTest   string   `json:"self_test"`
	Receipts   []string `json:"receipts"`
	Consent    string   `json:"consent"`
	Notices    []string `json:"notices"`
	FinishedAt string   `json:"finished_at"`
}

// Finish checks every step and queues the signed install-report: no survey
// that says go, no pairing, no passed self-test, no full burn, no consent or
// no tenant notice, no finish. Finishing twice returns the first report id.
func (s *Session) Finish(ctx context.Context, jobRef string) (string, error) {
	st, err := s.Status(ctx, jobRef)
	if err != nil {
		return "", err
	}
	if st.Finished {
		for _, step := range st.Steps {
			if step.Step == StepFinish {
				return step.Detail, nil
			}
		}
	}
	var missing []string
	for _, step := range st.Steps {
		if step.Step == StepFinish || step.Step == StepUpload {
			continue
		}
		if step.State != Done {
			missing = append(missing, fmt.Sprintf("%s (%s)", step.Step, orText(step.Detail, step.State)))
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: not finished: %s; next: %s", ErrNotReady, strings.Join(missing, ", "), st.Next)
	}
	job, err := s.st.Get(ctx, st.Job)
	if err != nil {
		return "", err
	}
	sv, err := s.surveys.Get(ctx, st.Job)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	rep := Report{
		Header:   record.Header{ID: "install-report." + st.Job, CreatedAt: now, ExpiresAt: now.Add(180 * 24 * time.Hour), Job: st.Job, Unit: st.Serial},
		Building: job.Building, Doors: job.Doors, SurveyHash: sv.Hash, Verdict: string(survey.Evaluate(sv.Survey).Outcome),
		FinishedAt: now.Format(time.RFC3339), Receipts: []string{}, Notices: []string{},
	}
	q := s.db()
	if err := q.QueryRowContext(ctx, `SELECT record_id FROM pairings WHERE job = ?`, st.Job).Scan(&rep.Pairing); err != nil {
		return "", err
	}
	if err := q.QueryRowContext(ctx, `SELECT at FROM selftests WHERE job = ?`, st.Job).Scan(&rep.SelfTest); err != nil {
		return "", err
	}
	if err := q.QueryRowContext(ctx, `SELECT record_id FROM consents WHERE job = ?`, st.Job).Scan(&rep.Consent); err != nil {
		return "", err
	}
	for _, list := range []struct {
		query string
		dst   *[]string
	}{
		{`SELECT record_id FROM burns WHERE job = ? ORDER BY slot`, &rep.Receipts},
		{`SELECT n.record_id FROM notices n JOIN consents c ON c.record_id = n.consent_id
			WHERE n.job = ? AND c.job = n.job AND c.revoked_at IS NULL ORDER BY n.given_at`, &rep.Notices},
	} {
		rows, err := q.QueryContext(ctx, list.query, st.Job)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var id sql.NullString
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return "", err
			}
			*list.dst = append(*list.dst, id.String)
		}
		rows.Close()
	}
	err = s.st.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO installs (job, report_id, finished_at) VALUES (?, ?, ?)`,
			st.Job, rep.ID, now.Format(time.RFC3339Nano)); err != nil {
			return err
		}
		if _, err := s.queue.Add(ctx, tx, record.KindInstallReport, rep); err != nil {
			return err
		}
		_, err := s.journal.Append(ctx, tx, journal.Entry{Action: "install.finished", Unit: st.Serial, Job: st.Job, Record: rep.ID, Outcome: journal.OK,
			Detail: fmt.Sprintf("%d doors, consent %s", len(job.Doors), rep.Consent)})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("finish job %s: %w", st.Job, err)
	}
	return rep.ID, nil
}

func orText(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
