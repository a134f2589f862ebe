package wizard

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/survey"
)

// at is the fake clock of every test.
var at = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

const jobID = "3f2a9c1d-6b7e-4c21-9d0a-5e8f7a6b1c2d"

func testJob() install.Job {
	return install.Job{Job: packet.Job{ID: jobID, Building: "Elm Court", Address: "12 Elm St, Springfield",
		Doors: []string{"lobby", "garage"}, Installer: "sam", IssuedAt: at.AddDate(0, 0, -2), ExpiresAt: at.AddDate(0, 0, 12)},
		PulledAt: at.AddDate(0, 0, -1)}
}

// fakeDriver is an in-memory install: each call does what the real flow
// would to the install's steps, with canned answers from the unit.
type fakeDriver struct {
	mu     sync.Mutex
	jobs   []install.Job
	states map[install.Step]string
	calls  []string

	label    string // the unit's label code
	labelOK  *bool  // what the installer answered
	rssi     int
	relay    *bool // the last self-test's relay flag
	failTest bool
	survey   *survey.Survey
	override string
	consent  *install.StoredConsent
	report   string
	offline  bool
	checks   []survey.Survey // what CheckSurvey was given, in order

	errs map[string]error // by method name: the next call fails
}

func newFake() *fakeDriver {
	f := &fakeDriver{jobs: []install.Job{testJob()}, states: map[install.Step]string{}, label: "QRXS-FKZ1", rssi: -71, errs: map[string]error{}}
	for _, s := range install.Steps() {
		f.states[s] = install.Todo
	}
	f.states[install.StepJob] = install.Done
	return f
}

// upTo marks every step before step done.
func (f *fakeDriver) upTo(step install.Step) *fakeDriver {
	for _, s := range install.Steps() {
		if s == step {
			break
		}
		f.states[s] = install.Done
	}
	return f
}

func (f *fakeDriver) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	if err := f.errs[name]; err != nil {
		delete(f.errs, name)
		return err
	}
	return nil
}

func (f *fakeDriver) called(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.calls, name)
}

func (f *fakeDriver) find(ref string) (install.Job, error) {
	for _, j := range f.jobs {
		if j.ID == ref || (len(ref) >= 4 && len(j.ID) >= len(ref) && j.ID[:len(ref)] == ref) {
			return j, nil
		}
	}
	return install.Job{}, fmt.Errorf("job %q: not pulled to this laptop", ref)
}

func (f *fakeDriver) Jobs(ctx context.Context) ([]flow.JobItem, error) {
	if err := f.call("Jobs"); err != nil {
		return nil, err
	}
	var out []flow.JobItem
	for _, j := range f.jobs {
		st, _ := f.Status(ctx, j.ID)
		out = append(out, flow.JobItem{Job: j, Next: flow.Current(st), Started: flow.Started(st), Finished: st.Finished, Expired: j.Expired(at)})
	}
	return out, nil
}

func (f *fakeDriver) Resume(ctx context.Context) (string, error) {
	if err := f.call("Resume"); err != nil {
		return "", err
	}
	items, _ := f.Jobs(ctx)
	for _, it := range items {
		if it.Started && !it.Finished {
			return it.Job.ID, nil
		}
	}
	return "", flow.ErrNothingToResume
}

func (f *fakeDriver) Status(_ context.Context, job string) (install.Status, error) {
	j, err := f.find(job)
	if err != nil {
		return install.Status{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := install.Status{Job: j.ID}
	for _, s := range install.Steps() {
		st.Steps = append(st.Steps, install.StepStatus{Step: s, State: f.states[s]})
	}
	st.Finished = f.states[install.StepFinish] == install.Done
	if f.states[install.StepPair] == install.Done {
		st.Serial = "LK0000004242"
	}
	return st, nil
}

func (f *fakeDriver) Job(_ context.Context, job string) (install.Job, error) {
	if err := f.call("Job"); err != nil {
		return install.Job{}, err
	}
	return f.find(job)
}

func (f *fakeDriver) SurveyDraft(_ context.Context, job string) (survey.Survey, error) {
	if err := f.call("SurveyDraft"); err != nil {
		return survey.Survey{}, err
	}
	if f.survey != nil {
		return f.survey.Clone(), nil
	}
	j, _ := f.find(job)
	s := survey.Survey{Version: survey.Version, Job: j.ID, Building: survey.Building{Address: j.Address}}
	for _, d := range j.Doors {
		s.Entrances = append(s.Entrances, survey.Entrance{Name: d})
	}
	return s, nil
}

func (f *fakeDriver) CheckSurvey(_ context.Context, job string, s survey.Survey) ([]survey.Problem, error) {
	j, err := f.find(job)
	if err != nil {
		return nil, err
	}
	s.Job = j.ID
	f.mu.Lock()
	f.checks = append(f.checks, s)
	f.mu.Unlock()
	return survey.Validate(s, j.Doors), nil
}

// lastCheck is the survey the last CheckSurvey was given.
func (f *fakeDriver) lastCheck() (survey.Survey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.checks) == 0 {
		return survey.Survey{}, false
	}
	return f.checks[len(f.checks)-1], true
}

func (f *fakeDriver) SaveSurvey(ctx context.Context, job string, s survey.Survey, photos []flow.PhotoInput) (install.Saved, error) {
	if err := f.call("SaveSurvey"); err != nil {
		return install.Saved{}, err
	}
	probs, _ := f.CheckSurvey(ctx, job, s)
	if len(probs) > 0 {
		return install.Saved{}, &install.ValidationError{Problems: probs}
	}
	f.mu.Lock()
	if f.states[install.StepPair] == install.Done {
		rssi := f.rssi
		s.Signal = &survey.Signal{RSSIDBm: &rssi, MeasuredAt: at, Unit: "LK0000004242"}
	}
	v := survey.Evaluate(s)
	f.survey = &s
	switch v.Outcome {
	case survey.Go, survey.GoWithConditions:
		f.states[install.StepSurvey] = install.Done
	case survey.PendingSignal:
		f.states[install.StepSurvey] = install.Partial
	default:
		f.states[install.StepSurvey] = install.Blocked
	}
	f.mu.Unlock()
	return install.Saved{Job: jobID, Survey: s, Verdict: v, Record: "survey.1"}, nil
}

func (f *fakeDriver) OverrideSurvey(_ context.Context, job, reason string) (install.Saved, error) {
	if err := f.call("OverrideSurvey"); err != nil {
		return install.Saved{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override = reason
	f.states[install.StepSurvey] = install.Done
	s := *f.survey
	return install.Saved{Job: jobID, Survey: s, Verdict: survey.Evaluate(s), Override: &survey.Override{Reason: reason, At: at}}, nil
}

func (f *fakeDriver) Pair(ctx context.Context, job string, confirm func(ctx context.Context, label string) (bool, error)) (flow.PairResult, error) {
	if err := f.call("Pair"); err != nil {
		return flow.PairResult{}, err
	}
	ok, err := confirm(ctx, f.label)
	if err != nil {
		return flow.PairResult{}, err
	}
	f.mu.Lock()
	f.labelOK = &ok
	f.mu.Unlock()
	if !ok {
		return flow.PairResult{}, fmt.Errorf("%w (the unit shows %s): the unit may have been swapped; nothing was paired", flow.ErrLabelMismatch, f.label)
	}
	f.mu.Lock()
	f.states[install.StepPair] = install.Done
	var verdict survey.Outcome
	if f.survey != nil {
		rssi := f.rssi
		s := survey.WithSignal(*f.survey, survey.Signal{RSSIDBm: &rssi, MeasuredAt: at, Unit: "LK0000004242"})
		f.survey = &s
		verdict = survey.Evaluate(s).Outcome
		switch verdict {
		case survey.Go, survey.GoWithConditions:
			f.states[install.StepSurvey] = install.Done
		case survey.NoGo:
			f.states[install.StepSurvey] = install.Blocked
		}
	}
	f.mu.Unlock()
	rssi := f.rssi
	return pairResult(verdict, &rssi), nil
}

// MeasureSignal reads the signal again with the paired unit, as the flow
// does for a pairing whose signal reading was lost.
func (f *fakeDriver) MeasureSignal(_ context.Context, job string) (flow.PairResult, error) {
	if err := f.call("MeasureSignal"); err != nil {
		return flow.PairResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states[install.StepPair] != install.Done {
		return flow.PairResult{}, fmt.Errorf("job %s: %w: pair its unit first", job, install.ErrNotReady)
	}
	var verdict survey.Outcome
	rssi := f.rssi
	if f.survey != nil {
		s := survey.WithSignal(*f.survey, survey.Signal{RSSIDBm: &rssi, MeasuredAt: at, Unit: "LK0000004242"})
		f.survey = &s
		verdict = survey.Evaluate(s).Outcome
		switch verdict {
		case survey.Go, survey.GoWithConditions:
			f.states[install.StepSurvey] = install.Done
		case survey.NoGo:
			f.states[install.StepSurvey] = install.Blocked
		}
	}
	return pairResult(verdict, &rssi), nil
}

func pairResult(verdict survey.Outcome, rssi *int) flow.PairResult {
	return flow.PairResult{Pairing: provision.Pairing{Job: jobID, Record: "pairing.LK0000004242", Serial: "LK0000004242", Model: "LK1",
		Firmware: "1.4.2", Label: "QRXS-FKZ1", Root: "9b1c0e5f3a7d2b64c8e1f0a9d3b5c7e2", CertExpiry: time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC),
		PairedAt: at}, Verdict: verdict, RSSI: rssi}
}

func selfTestResults(pass bool) flow.SelfTest {
	st := flow.SelfTest{Serial: "LK0000004242", Passed: pass, Results: []device.SelfTestResult{
		{Name: "tamper", Result: device.TestPass, Detail: "enclosure closed"},
		{Name: "supply", Result: device.TestPass, Detail: "12.04 V"},
		{Name: "modem", Result: device.TestPass, Detail: "registered, -71 dBm"},
		{Name: "relay", Result: device.TestSkipped, Detail: "not asked for"},
	}}
	if !pass {
		st.Results[1] = device.SelfTestResult{Name: "supply", Result: device.TestFail, Detail: "9.1 V: below 10.5 V under load"}
	}
	return st
}

func (f *fakeDriver) SelfTest(_ context.Context, job string, relay bool) (flow.SelfTest, error) {
	if err := f.call("SelfTest"); err != nil {
		return flow.SelfTest{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.relay = &relay
	res := selfTestResults(!f.failTest)
	if relay {
		res.Results[3] = device.SelfTestResult{Name: "relay", Result: device.TestPass, Detail: "pulsed 500 ms"}
	}
	if res.Passed {
		f.states[install.StepSelfTest] = install.Done
	} else {
		f.states[install.StepSelfTest] = install.Blocked
	}
	return res, nil
}

func slotResult(slot int, door string) provision.SlotResult {
	kcv := []string{"3f9a2c", "b71e05"}[slot%2]
	return provision.SlotResult{Slot: uint8(slot), Door: door, Outcome: provision.Burned, KCV: kcv, Counter: uint64(slot + 1)}
}

func (f *fakeDriver) BurnPlan(_ context.Context, job string) (flow.BurnPlan, error) {
	if err := f.call("BurnPlan"); err != nil {
		return flow.BurnPlan{}, err
	}
	j, _ := f.find(job)
	return flow.BurnPlan{Serial: "LK0000004242", Doors: j.Doors}, nil
}

func (f *fakeDriver) Burn(_ context.Context, job string, progress func(provision.SlotResult)) (provision.BurnResult, error) {
	if err := f.call("Burn"); err != nil {
		return provision.BurnResult{}, err
	}
	j, _ := f.find(job)
	res := provision.BurnResult{Job: j.ID, Serial: "LK0000004242"}
	for i, d := range j.Doors {
		s := slotResult(i, d)
		progress(s)
		res.Slots = append(res.Slots, s)
	}
	f.mu.Lock()
	f.states[install.StepBurn] = install.Done
	f.mu.Unlock()
	return res, nil
}

func (f *fakeDriver) ConsentDefaults() flow.ConsentInput {
	return flow.ConsentInput{Operator: "ParcelWay Ltd", RevokeContact: "+1 555 0100", NoticeBy: consent.NoticeByManager,
		NoticeHow: []string{consent.NoticePosted}, NoticeDue: "2026-12-09", Lang: "en"}
}

func testTerms() flow.Terms {
	var body string
	for i := 1; i <= 40; i++ {
		body += fmt.Sprintf("Paragraph %d of the terms: couriers holding a parcel scanned for Elm Court may open the lobby and garage doors.\n\n", i)
	}
	return flow.Terms{Text: consent.Text{Version: "v1", Lang: "en", Body: body,
		SHA256: "5d41402abc4b2a76b9719d911017c592ae2f1c3e5b7a9d0c4e6f8a1b3c5d7e9f",
		Intent: "I, the signer, have read the door access terms v1 with SHA-256 5d41402abc4b2a76b9719d911017c592ae2f1c3e5b7a9d0c4e6f8a1b3c5d7e9f for Elm Court and agree to them."}}
}

func (f *fakeDriver) Terms(_ context.Context, job string, in flow.ConsentInput) (flow.Terms, error) {
	if err := f.call("Terms"); err != nil {
		return flow.Terms{}, err
	}
	if in.Operator == "" {
		return flow.Terms{}, fmt.Errorf("%w: operator is required", consent.ErrInvalid)
	}
	return testTerms(), nil
}

func storedConsent() install.StoredConsent {
	return install.StoredConsent{Job: jobID, Record: "consent.7c1e9a40", Unit: "LK0000004242",
		TermsSHA256: testTerms().Text.SHA256, Lang: "en", NoticeBy: "2026-12-09", SignedAt: at}
}

func (f *fakeDriver) SignConsent(_ context.Context, job string, in flow.ConsentInput, shown flow.Terms, s flow.Signer, typed string) (install.StoredConsent, error) {
	if err := f.call("SignConsent"); err != nil {
		return install.StoredConsent{}, err
	}
	if !flow.SameName(typed, s.Name) {
		return install.StoredConsent{}, flow.ErrNameMismatch
	}
	c := storedConsent()
	f.mu.Lock()
	f.consent = &c
	f.states[install.StepConsent] = install.Done
	f.mu.Unlock()
	return c, nil
}

func (f *fakeDriver) Consent(_ context.Context, job string) (install.StoredConsent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.consent == nil {
		return install.StoredConsent{}, fmt.Errorf("job %s: %w", job, install.ErrNoConsent)
	}
	return *f.consent, nil
}

func (f *fakeDriver) NoticeDefaults() install.NoticeInput {
	return install.NoticeInput{Contact: notice.Contact{Name: "ParcelWay support", Phone: "+1 555 0100", Email: "help@parcelway.example"},
		PolicyURL: "https://parcelway.example/privacy"}
}

func printed() flow.Printed {
	return flow.Printed{Lang: "en", PDF: "/home/sam/.local/share/latchkey/notices/notice-3f2a9c1d-en.pdf",
		TextFile: "/home/sam/.local/share/latchkey/notices/notice-3f2a9c1d-en.txt"}
}

func (f *fakeDriver) PrintNotice(_ context.Context, job string, in install.NoticeInput) (flow.Printed, error) {
	if err := f.call("PrintNotice"); err != nil {
		return flow.Printed{}, err
	}
	return printed(), nil
}

func (f *fakeDriver) RecordNotice(_ context.Context, job string, in install.NoticeInput, g flow.Given) (install.Notice, error) {
	if err := f.call("RecordNotice"); err != nil {
		return install.Notice{}, err
	}
	if g.How == notice.Posted && g.Photo == "" {
		return install.Notice{}, fmt.Errorf("%w: a posted notice needs a photo", notice.ErrRecord)
	}
	f.mu.Lock()
	f.states[install.StepNotice] = install.Done
	f.mu.Unlock()
	return install.Notice{Record: "notice.2b8d", Job: jobID, How: g.How, GivenAt: g.GivenAt, Lang: "en", RecordedAt: at}, nil
}

func gateClosed() install.GateResult {
	return install.GateResult{Job: jobID, Reason: "tenant notice period runs until 2026-12-09",
		GivenAt: at, NoticeBy: time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)}
}

func (f *fakeDriver) Gate(_ context.Context, job string) (install.GateResult, error) {
	if err := f.call("Gate"); err != nil {
		return install.GateResult{}, err
	}
	return gateClosed(), nil
}

func (f *fakeDriver) Finish(_ context.Context, job string) (string, error) {
	if err := f.call("Finish"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range install.Steps()[:7] {
		if f.states[s] != install.Done {
			return "", fmt.Errorf("%w: not finished: %s", install.ErrNotReady, s)
		}
	}
	f.states[install.StepFinish] = install.Done
	f.states[install.StepUpload] = install.Partial
	f.report = "install-report." + jobID
	return f.report, nil
}

func (f *fakeDriver) Upload(_ context.Context, progress func(done, total int)) (flow.Upload, error) {
	if err := f.call("Upload"); err != nil {
		return flow.Upload{}, err
	}
	if f.offline {
		return flow.Upload{Offline: true, Remaining: 7, Err: "dial tcp 127.0.0.1:8470: connect: connection refused"}, nil
	}
	for i := 1; i <= 7; i++ {
		progress(i, 7)
	}
	f.mu.Lock()
	f.states[install.StepUpload] = install.Done
	f.mu.Unlock()
	return flow.Upload{Hub: "http://127.0.0.1:8470", Sent: 7}, nil
}

var errDisconnected = fmt.Errorf("read the unit's identity: %w", device.ErrDisconnected)

var _ Driver = (*fakeDriver)(nil)
