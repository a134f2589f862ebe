// Package flow owns the order of an install as the wizard walks it: one
// method per step (survey, pair, self-test, burn, consent, notice, finish,
// upload), each the same operation as the step's command and each saved in
// the laptop's store before it returns, so the full-screen wizard and its
// --plain line mode can be left at any point and resumed where they stopped.
// It knows nothing of screens: the unit link and the uploader are injected.
package flow

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/fsutil"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/survey"
)

// Errors callers branch on.
var (
	// ErrNothingToResume: no pulled job has an install that was started and
	// not finished.
	ErrNothingToResume = errors.New("no unfinished install to resume")
	// ErrLabelMismatch: the installer said the label code on the box is not
	// the one the unit shows.
	ErrLabelMismatch = errors.New("the label code on the box does not match the unit")
	// ErrWrongUnit: the unit on the cable is not the one paired with the job.
	ErrWrongUnit = errors.New("the unit on the cable is not the job's unit")
	// ErrTermsChanged: the terms shown to the signer are not the ones the
	// facts give now; show them again.
	ErrTermsChanged = errors.New("the terms changed since they were shown")
	// ErrNameMismatch: the name typed to sign is not the signer's.
	ErrNameMismatch = errors.New("the name typed does not match the signer's name")
)

// Link is the unit on the cable. Do runs op with the unit; after a pulled
// cable it may reopen the link and run op again from its start.
type Link interface {
	Do(ctx context.Context, op func(context.Context, *device.Unit) error) error
	Close() error
}

// Opener opens the link to the unit (finding the port, waiting for it).
type Opener func(ctx context.Context) (Link, error)

// Upload is what one upload of the outbox did.
type Upload struct {
	Hub       string `json:"hub,omitempty"`
	Sent      int    `json:"sent"`
	Refused   int    `json:"refused"`
	Remaining int    `json:"remaining"`
	// Offline is true when the back office could not be reached (or the
	// laptop is not logged in): the records stay queued, nothing is lost.
	Offline bool   `json:"offline"`
	Err     string `json:"error,omitempty"`
}

// Uploader sends the outbox, calling progress as records are sent. It
// returns an error only when the outbox itself fails; an unreachable back
// office is an Upload with Offline set.
type Uploader func(ctx context.Context, progress func(done, total int)) (Upload, error)

// Defaults are the installer's settings the consent and notice start from
// (config notice.*), each editable on its screen.
type Defaults struct {
	Operator      string
	RevokeContact string
	Contact       notice.Contact
	PolicyURL     string
}

// Config is what a Flow works with.
type Config struct {
	Jobs      *install.Jobs
	Surveys   *install.Surveys
	Session   *install.Session
	Provision *provision.Service
	Consents  *install.Consents
	Notices   *install.Notices
	// InstallerKey signs the consent (the installer's identity key).
	InstallerKey ed25519.PrivateKey
	Open         Opener
	Upload       Uploader
	// PhotoDir is where photos are kept by content hash.
	PhotoDir string
	// NoticeDir is where printed notices are written.
	NoticeDir string
	Defaults  Defaults
	Now       func() time.Time
	Rand      io.Reader
}

// Flow walks installs.
type Flow struct{ c Config }

// New returns a flow over c.
func New(c Config) *Flow { return &Flow{c: c} }

// Defaults returns the installer's settings.
func (f *Flow) Defaults() Defaults { return f.c.Defaults }

// JobItem is one pulled job with where its install stands.
type JobItem struct {
	Job install.Job `json:"job"`
	// Next is the first step not done; "" when finished and uploaded.
	Next     install.Step `json:"next,omitempty"`
	Started  bool         `json:"started"`
	Finished bool         `json:"finished"`
	Expired  bool         `json:"expired"`
}

// Jobs lists the pulled jobs (offline: what the last pull stored), each
// with where its install stands.
func (f *Flow) Jobs(ctx context.Context) ([]JobItem, error) {
	jobs, err := f.c.Jobs.List(ctx)
	if err != nil {
		return nil, err
	}
	now := f.c.Now()
	out := make([]JobItem, 0, len(jobs))
	for _, j := range jobs {
		st, err := f.c.Session.Status(ctx, j.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, JobItem{Job: j, Next: Current(st), Started: Started(st), Finished: st.Finished, Expired: j.Expired(now)})
	}
	return out, nil
}

// Resume returns the id of the install to continue: of the pulled jobs
// whose install was started and is not finished, the one worked on last (the
// journal's newest entry); when every started install is finished, the last
// one whose records are still waiting to be sent. An install whose upload is
// blocked by refused records is not resumed: sending again changes nothing
// ('latchkey outbox list --state rejected' says why).
func (f *Flow) Resume(ctx context.Context) (string, error) {
	items, err := f.Jobs(ctx)
	if err != nil {
		return "", err
	}
	type pick struct {
		id       string
		finished bool
		seq      int64
	}
	var best *pick
	for _, it := range items {
		if !it.Started || it.Next == "" || it.Expired {
			continue
		}
		if it.Finished {
			st, err := f.c.Session.Status(ctx, it.Job.ID)
			if err != nil {
				return "", err
			}
			if StepOf(st, install.StepUpload).State != install.Partial {
				continue
			}
		}
		seq, err := f.c.Session.LastWorked(ctx, it.Job.ID)
		if err != nil {
			return "", err
		}
		p := pick{id: it.Job.ID, finished: it.Finished, seq: seq}
		// Unfinished installs first, then the one worked on last.
		if best == nil || (best.finished && !p.finished) || (best.finished == p.finished && p.seq > best.seq) {
			best = &p
		}
	}
	if best == nil {
		return "", ErrNothingToResume
	}
	return best.id, nil
}

// Status is where the job's install stands.
func (f *Flow) Status(ctx context.Context, jobRef string) (install.Status, error) {
	return f.c.Session.Status(ctx, jobRef)
}

// Job returns the pulled job.
func (f *Flow) Job(ctx context.Context, jobRef string) (install.Job, error) {
	return f.c.Jobs.Get(ctx, jobRef)
}

// Current is the first step of st that is not done, or "" when every step
// is.
func Current(st install.Status) install.Step {
	for _, s := range st.Steps {
		if s.State != install.Done {
			return s.Step
		}
	}
	return ""
}

// Started reports whether any step past choosing the job has begun.
func Started(st install.Status) bool {
	for _, s := range st.Steps {
		if s.Step != install.StepJob && s.State != install.Todo {
			return true
		}
	}
	return false
}

// StepOf returns st's status of one step.
func StepOf(st install.Status, step install.Step) install.StepStatus {
	for _, s := range st.Steps {
		if s.Step == step {
			return s
		}
	}
	return install.StepStatus{Step: step, State: install.Todo}
}

// SurveyDraft returns the job's saved survey, or a new one with an entrance
// for each of the job's doors and the job's address.
func (f *Flow) SurveyDraft(ctx context.Context, jobRef string) (survey.Survey, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return survey.Survey{}, err
	}
	saved, err := f.c.Surveys.Get(ctx, job.ID)
	if err == nil {
		return saved.Survey.Clone(), nil
	}
	if !errors.Is(err, install.ErrNoSurvey) {
		return survey.Survey{}, err
	}
	s := survey.Survey{Version: survey.Version, Job: job.ID, Building: survey.Building{Address: job.Address}}
	for _, d := range job.Doors {
		s.Entrances = append(s.Entrances, survey.Entrance{Name: d})
	}
	return s, nil
}

// CheckSurvey lists what is wrong with s for the job, as the save would.
func (f *Flow) CheckSurvey(ctx context.Context, jobRef string, s survey.Survey) ([]survey.Problem, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return nil, err
	}
	s.Job = job.ID
	probs := survey.Validate(s, job.Doors)
	if f.c.PhotoDir != "" {
		probs = append(probs, survey.CheckPhotos(f.c.PhotoDir, s)...)
	}
	return probs, nil
}

// PhotoInput is a photo to add to the survey: a file on this laptop.
type PhotoInput struct {
	Path    string
	Caption string
}

// SaveSurvey adds the photos (copied under their hash) and saves s as the
// job's survey, signed and queued; a *install.ValidationError lists what is
// wrong. The verdict says whether the install may go on.
func (f *Flow) SaveSurvey(ctx context.Context, jobRef string, s survey.Survey, photos []PhotoInput) (install.Saved, error) {
	for _, p := range photos {
		ph, err := survey.AddPhoto(f.c.PhotoDir, p.Path, p.Caption)
		if err != nil {
			return install.Saved{}, err
		}
		if !slices.ContainsFunc(s.Photos, func(x survey.Photo) bool { return x.SHA256 == ph.SHA256 }) {
			s.Photos = append(s.Photos, ph)
		}
	}
	return f.c.Surveys.Save(ctx, jobRef, s)
}

// OverrideSurvey records the installer's written reason to go ahead despite
// a no-go survey.
func (f *Flow) OverrideSurvey(ctx context.Context, jobRef, reason string) (install.Saved, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return install.Saved{}, err
	}
	return f.c.Surveys.Override(ctx, job.ID, reason)
}

// PairResult is a pairing with the signal measured at the mount point.
type PairResult struct {
	Pairing provision.Pairing `json:"pairing"`
	// Verdict is the survey's verdict with the signal; "" when the job has
	// no survey yet.
	Verdict survey.Outcome `json:"verdict,omitempty"`
	// RSSI is the signal in dBm; nil when the modem found no network.
	RSSI *int `json:"rssi_dbm,omitempty"`
}

// Pair proves the unit on the cable genuine for the job (attestation,
// denylist) and, once confirm says the label code on the box matches the
// one the unit shows, pairs it and measures the signal at the mount point.
// confirm may block until the installer answers; answering false stops
// with ErrLabelMismatch and nothing paired.
func (f *Flow) Pair(ctx context.Context, jobRef string, confirm func(ctx context.Context, label string) (bool, error)) (PairResult, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return PairResult{}, err
	}
	l, err := f.c.Open(ctx)
	if err != nil {
		return PairResult{}, err
	}
	defer l.Close()
	var res PairResult
	err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		ask := func(label string) error {
			ok, err := confirm(ctx, label)
			if err != nil {
				// No answer either way: the unit was not rejected.
				return fmt.Errorf("%w: %w", provision.ErrUnanswered, err)
			}
			if !ok {
				return fmt.Errorf("%w (the unit shows %s): the unit may have been swapped; nothing was paired", ErrLabelMismatch, label)
			}
			return nil
		}
		p, err := f.c.Provision.Pair(ctx, u, job.ID, ask, false)
		if err != nil {
			return err
		}
		res.Pairing = p
		res.RSSI, res.Verdict, err = f.measure(ctx, u, p)
		return err
	})
	return res, err
}

// MeasureSignal reads the signal again with the job's paired unit on the
// cable and re-judges the survey: for a pairing whose signal reading was
// lost (a kill or a pulled cable between the two), which leaves the survey
// pending its signal. The unit on the cable must be the job's.
func (f *Flow) MeasureSignal(ctx context.Context, jobRef string) (PairResult, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return PairResult{}, err
	}
	p, err := f.c.Provision.Paired(ctx, job.ID)
	if err != nil {
		return PairResult{}, fmt.Errorf("job %s: %w: pair its unit first", job.ID, install.ErrNotReady)
	}
	l, err := f.c.Open(ctx)
	if err != nil {
		return PairResult{}, err
	}
	defer l.Close()
	res := PairResult{Pairing: p}
	err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		id, err := u.Identity(ctx)
		if err != nil {
			return err
		}
		if id.Serial != p.Serial {
			return fmt.Errorf("%w: unit %s is on the cable, the job's unit is %s: connect it", ErrWrongUnit, id.Serial, p.Serial)
		}
		res.RSSI, res.Verdict, err = f.measure(ctx, u, p)
		return err
	})
	return res, err
}

// measure reads the cellular signal where the unit is mounted, keeps it for
// the job and re-judges its survey.
func (f *Flow) measure(ctx context.Context, u *device.Unit, p provision.Pairing) (*int, survey.Outcome, error) {
	st, err := u.Status(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("read the signal at the mount point: %w", err)
	}
	sig := SignalOf(st, p.Serial, f.c.Now())
	saved, err := f.c.Surveys.WithSignal(ctx, p.Job, sig)
	if errors.Is(err, install.ErrNoSurvey) {
		return sig.RSSIDBm, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return sig.RSSIDBm, saved.Verdict.Outcome, nil
}

// SignalOf is the survey's signal reading from a unit's status.
func SignalOf(st device.Status, serial string, now time.Time) survey.Signal {
	sig := survey.Signal{MeasuredAt: now.UTC(), Unit: serial}
	if st.RSSI != nil {
		n := int(*st.RSSI)
		sig.RSSIDBm = &n
	}
	if st.RSRP != nil {
		n := int(*st.RSRP)
		sig.RSRPDBm = &n
	}
	return sig
}

// SelfTest is a self-test run recorded for the install.
type SelfTest struct {
	Serial  string                  `json:"serial"`
	Passed  bool                    `json:"passed"`
	Results []device.SelfTestResult `json:"results"`
}

// SelfTest runs the paired unit's self-tests (the relay, which opens the
// door, only with relay) and records the result for the install. The unit
// on the cable must be the job's.
func (f *Flow) SelfTest(ctx context.Context, jobRef string, relay bool) (SelfTest, error) {
	st, err := f.c.Session.Status(ctx, jobRef)
	if err != nil {
		return SelfTest{}, err
	}
	if st.Serial == "" {
		return SelfTest{}, fmt.Errorf("job %s: %w: pair its unit first", st.Job, install.ErrNotReady)
	}
	l, err := f.c.Open(ctx)
	if err != nil {
		return SelfTest{}, err
	}
	defer l.Close()
	var results []device.SelfTestResult
	err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		id, err := u.Identity(ctx)
		if err != nil {
			return err
		}
		if id.Serial != st.Serial {
			return fmt.Errorf("%w: unit %s is on the cable, the job's unit is %s: connect it", ErrWrongUnit, id.Serial, st.Serial)
		}
		results, err = u.RunSelfTest(ctx, "", relay)
		return err
	})
	if err != nil {
		return SelfTest{}, err
	}
	passed, err := f.c.Session.RecordSelfTest(ctx, st.Job, st.Serial, results)
	if err != nil {
		return SelfTest{}, err
	}
	return SelfTest{Serial: st.Serial, Passed: passed, Results: results}, nil
}

// BurnPlan is the doors of a job in slot order, with what is burned
// already.
type BurnPlan struct {
	Serial string                 `json:"serial"`
	Doors  []string               `json:"doors"`
	Done   []provision.SlotResult `json:"done"`
}

// BurnPlan says which doors the burn writes and which are done.
func (f *Flow) BurnPlan(ctx context.Context, jobRef string) (BurnPlan, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return BurnPlan{}, err
	}
	st, err := f.c.Session.Status(ctx, job.ID)
	if err != nil {
		return BurnPlan{}, err
	}
	done, err := f.c.Provision.Burned(ctx, job.ID)
	if err != nil {
		return BurnPlan{}, err
	}
	return BurnPlan{Serial: st.Serial, Doors: slices.Clone(job.Doors), Done: done}, nil
}

// Burn writes the job's door keys into its paired unit, calling progress
// after each slot with its verified receipt. Every step is saved before it
// is taken: after a kill or a pulled cable, Burn again finishes exactly what
// is missing. A job burned before returns its stored receipts.
func (f *Flow) Burn(ctx context.Context, jobRef string, progress func(provision.SlotResult)) (provision.BurnResult, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return provision.BurnResult{}, err
	}
	res, done, err := f.c.Provision.Finished(ctx, job.ID)
	if err != nil || done {
		return res, err
	}
	if err := f.c.Surveys.ReadyToBurn(ctx, job.ID); err != nil {
		return provision.BurnResult{}, fmt.Errorf("not burning: %w", err)
	}
	if err := f.c.Session.ReadyToBurn(ctx, job.ID); err != nil {
		return provision.BurnResult{}, fmt.Errorf("not burning: %w", err)
	}
	l, err := f.c.Open(ctx)
	if err != nil {
		return provision.BurnResult{}, err
	}
	defer l.Close()
	err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		var berr error
		res, berr = f.c.Provision.Burn(ctx, u, job.ID, progress)
		return berr
	})
	return res, err
}

// ConsentInput is what the consent's terms take besides the job's facts.
type ConsentInput struct {
	Operator      string   `json:"operator"`
	RevokeContact string   `json:"revoke_contact"`
	NoticeBy      string   `json:"notice_by"`  // consent.NoticeByManager or NoticeByOperator
	NoticeHow     []string `json:"notice_how"` // posted, mailed, emailed, hand-delivered
	NoticeDue     string   `json:"notice_due"` // YYYY-MM-DD
	Lang          string   `json:"lang"`       // en or es
}

// ConsentDefaults returns the input the consent screen starts from: the
// installer's settings, the manager tells tenants by posting a notice,
// within 14 days, in English.
func (f *Flow) ConsentDefaults() ConsentInput {
	return ConsentInput{
		Operator: f.c.Defaults.Operator, RevokeContact: f.revokeDefault(),
		NoticeBy: consent.NoticeByManager, NoticeHow: []string{consent.NoticePosted},
		NoticeDue: f.c.Now().AddDate(0, 0, 14).Format(time.DateOnly), Lang: "en",
	}
}

func (f *Flow) revokeDefault() string {
	if f.c.Defaults.RevokeContact != "" {
		return f.c.Defaults.RevokeContact
	}
	c := f.c.Defaults.Contact
	for _, v := range []string{c.Phone, c.Email, c.Web} {
		if v != "" {
			return v
		}
	}
	return ""
}

// Terms are the consent's terms for a job as the signer reads them.
type Terms struct {
	Text  consent.Text
	basis install.ConsentBasis
}

// Terms makes the job's consent terms from its facts and in. The job must
// be surveyed go, paired and burned (install.ErrConsentNotReady says what
// is missing); bad input is a consent.ErrInvalid naming the field.
func (f *Flow) Terms(ctx context.Context, jobRef string, in ConsentInput) (Terms, error) {
	if _, err := time.Parse(time.DateOnly, in.NoticeDue); err != nil {
		return Terms{}, fmt.Errorf("%w: tenants told by %q: want a date YYYY-MM-DD", consent.ErrInvalid, in.NoticeDue)
	}
	if !slices.Contains(consent.Langs(), in.Lang) {
		return Terms{}, fmt.Errorf("%w: language %q: want %s", consent.ErrInvalid, in.Lang, strings.Join(consent.Langs(), " or "))
	}
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return Terms{}, err
	}
	basis, err := install.FactsFor(ctx, install.ConsentSources{Jobs: f.c.Jobs, Pairings: f.c.Provision, Receipts: f.c.Provision, Surveys: f.c.Surveys}, job.ID,
		install.ConsentTerms{Operator: in.Operator, Revoke: in.RevokeContact, NoticeBy: in.NoticeBy, NoticeHow: in.NoticeHow,
			NoticeDue: in.NoticeDue, Captured: consent.Wizard})
	if err != nil {
		return Terms{}, err
	}
	text, err := consent.TermsFor(basis.TermsVersion, in.Lang, basis.Facts)
	if err != nil {
		return Terms{}, err
	}
	return Terms{Text: text, basis: basis}, nil
}

// Signer is the manager who signs.
type Signer struct {
	Name      string `json:"name"`
	Title     string `json:"title"`
	Authority string `json:"authority"` // owner, managing-agent or board
}

// SameName compares a typed name with the signer's as people type them:
// case and runs of spaces do not matter.
func SameName(typed, name string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	return norm(typed) != "" && norm(typed) == norm(name)
}

// SignConsent signs the consent whose terms the signer read (shown), once
// they typed their name (typed) and agreed: made again from the facts, the
// terms must be the ones shown (ErrTermsChanged otherwise). The record is
// signed with the installer's key, countersigned by the job's unit on the
// cable, verified, stored, journalled and queued; nothing is kept when any
// of that fails.
func (f *Flow) SignConsent(ctx context.Context, jobRef string, in ConsentInput, shown Terms, s Signer, typed string) (install.StoredConsent, error) {
	if !slices.Contains(consent.Authorities(), consent.Authority(s.Authority)) {
		return install.StoredConsent{}, fmt.Errorf("%w: authority %q: want owner, managing-agent or board", consent.ErrInvalid, s.Authority)
	}
	if !SameName(typed, s.Name) {
		return install.StoredConsent{}, fmt.Errorf("%w: %q is not %q; nothing was signed", ErrNameMismatch, typed, s.Name)
	}
	now, err := f.Terms(ctx, jobRef, in)
	if err != nil {
		return install.StoredConsent{}, err
	}
	if now.Text.SHA256 != shown.Text.SHA256 {
		return install.StoredConsent{}, fmt.Errorf("%w: show the terms again and have them read", ErrTermsChanged)
	}
	signer := consent.Signer{Name: strings.TrimSpace(s.Name), Title: strings.TrimSpace(s.Title), Authority: consent.Authority(s.Authority),
		Intent: now.Text.Intent, SignedAt: f.c.Now().UTC().Truncate(time.Second)}
	l, err := f.c.Open(ctx)
	if err != nil {
		return install.StoredConsent{}, err
	}
	defer l.Close()
	var stored install.StoredConsent
	err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		var serr error
		stored, _, serr = f.c.Consents.Sign(ctx, install.SignRequest{Basis: now.basis, Signer: signer, Terms: now.Text,
			InstallerKey: f.c.InstallerKey, Unit: u, Rand: f.c.Rand})
		return serr
	})
	return stored, err
}

// Consent returns the job's signed consent (install.ErrNoConsent).
func (f *Flow) Consent(ctx context.Context, jobRef string) (install.StoredConsent, error) {
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return install.StoredConsent{}, err
	}
	return f.c.Consents.Get(ctx, job.ID)
}

// NoticeDefaults is the notice input the notice screen starts from: the
// installer's settings, in the consent's language.
func (f *Flow) NoticeDefaults() install.NoticeInput {
	return install.NoticeInput{Contact: f.c.Defaults.Contact, PolicyURL: f.c.Defaults.PolicyURL}
}

// Printed is a tenant notice written out for printing.
type Printed struct {
	Lang       string `json:"lang"`
	Text       string `json:"text"`
	TextSHA256 string `json:"text_sha256"`
	PDF        string `json:"pdf"`
	TextFile   string `json:"text_file"`
}

// PrintNotice makes the job's tenant notice from its facts and in, and
// writes it as a PDF and as text into the notice directory.
func (f *Flow) PrintNotice(ctx context.Context, jobRef string, in install.NoticeInput) (Printed, error) {
	facts, err := f.c.Notices.Facts(ctx, jobRef, in)
	if err != nil {
		return Printed{}, err
	}
	text, err := notice.Text(facts)
	if err != nil {
		return Printed{}, err
	}
	pdf, err := notice.PDF(facts, f.c.Now())
	if err != nil {
		return Printed{}, err
	}
	job, err := f.c.Jobs.Get(ctx, jobRef)
	if err != nil {
		return Printed{}, err
	}
	if err := os.MkdirAll(f.c.NoticeDir, 0o755); err != nil {
		return Printed{}, fmt.Errorf("make the notice folder: %w", err)
	}
	base := filepath.Join(f.c.NoticeDir, fmt.Sprintf("notice-%s-%s", shortID(job.ID), facts.Lang))
	p := Printed{Lang: facts.Lang, Text: text, TextSHA256: notice.SHA256Hex([]byte(text)), PDF: base + ".pdf", TextFile: base + ".txt"}
	// A notice is for a notice board: nothing in it is private.
	for _, out := range []struct {
		path string
		data []byte
	}{{p.PDF, pdf}, {p.TextFile, []byte(text)}} {
		err := fsutil.WriteFile(out.path, 0o644, func(w io.Writer) error {
			_, err := w.Write(out.data)
			return err
		})
		if err != nil {
			return Printed{}, err
		}
	}
	return p, nil
}

// Given is how the notice was given.
type Given struct {
	How        notice.How `json:"how"` // posted, mailed or emailed
	GivenAt    time.Time  `json:"given_at"`
	Where      string     `json:"where,omitempty"`
	Photo      string     `json:"photo,omitempty"` // a file on this laptop, for a posted notice
	Recipients int        `json:"recipients,omitempty"`
}

// RecordNotice signs, stores, journals and queues the record of how the
// notice made from in was given.
func (f *Flow) RecordNotice(ctx context.Context, jobRef string, in install.NoticeInput, g Given) (install.Notice, error) {
	facts, err := f.c.Notices.Facts(ctx, jobRef, in)
	if err != nil {
		return install.Notice{}, err
	}
	text, err := notice.Text(facts)
	if err != nil {
		return install.Notice{}, err
	}
	rec := notice.Given{How: g.How, GivenAt: g.GivenAt, Where: strings.TrimSpace(g.Where), Recipients: g.Recipients, Lang: facts.Lang, Text: text}
	if g.Photo != "" {
		ph, err := survey.AddPhoto(f.c.PhotoDir, g.Photo, "")
		if err != nil {
			return install.Notice{}, err
		}
		rec.PhotoSHA256 = ph.SHA256
	}
	return f.c.Notices.Record(ctx, jobRef, rec)
}

// Gate says whether couriers may be let in yet, and why not.
func (f *Flow) Gate(ctx context.Context, jobRef string) (install.GateResult, error) {
	return f.c.Notices.Gate(ctx, jobRef, f.c.Now())
}

// Finish checks every step and queues the signed install report; finishing
// twice returns the first report's id.
func (f *Flow) Finish(ctx context.Context, jobRef string) (string, error) {
	return f.c.Session.Finish(ctx, jobRef)
}

// Upload sends the outbox now; an unreachable back office leaves every
// record queued for the next sync.
func (f *Flow) Upload(ctx context.Context, progress func(done, total int)) (Upload, error) {
	if f.c.Upload == nil {
		return Upload{Offline: true, Err: "not logged in to a back office"}, nil
	}
	return f.c.Upload(ctx, progress)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
