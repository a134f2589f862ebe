package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/latchkey/latchkey/internal/tui/tuitest"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
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

var plainNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

const plainJobID = "7Q2M4K9X-elm-court"

// plainFake is an in-memory Driver: the install state of one job, and the
// calls made on it in order.
type plainFake struct {
	mu     sync.Mutex
	calls  []string
	job    install.Job
	other  install.Job // an expired job
	state  map[install.Step]string
	detail map[install.Step]string
	saved  *survey.Survey
	photos []flow.PhotoInput
	serial string
	burned int
	given  flow.Given

	resumeErr error
	label     string
	rssi      int
	failTest  bool
	burnErrs  []error // returned by the first Burn calls, in turn
	upload    flow.Upload
	consent   *install.StoredConsent
	// checkedPhotos counts the photos CheckSurvey was given.
	checkedPhotos int
}

func newPlainFake() *plainFake {
	return &plainFake{
		job: install.Job{Job: packet.Job{ID: plainJobID, Building: "Elm Court", Address: "12 Elm St, Springfield",
			Doors: []string{"lobby", "garage"}, ExpiresAt: plainNow.AddDate(0, 1, 0)}},
		other: install.Job{Job: packet.Job{ID: "9ZZ1OAKHOUSE", Building: "Oak House", Address: "9 Oak Rd",
			Doors: []string{"front"}, ExpiresAt: plainNow.AddDate(0, 0, -1)}},
		state:  map[install.Step]string{},
		detail: map[install.Step]string{},
		label:  "K7P-3QX",
		rssi:   -71,
		upload: flow.Upload{Hub: "https://hub.example", Sent: 7},
	}
}

// done marks steps done, as an earlier run would have left them.
func (f *plainFake) done(steps ...install.Step) *plainFake {
	for _, s := range steps {
		f.set(s, install.Done, "")
		switch s {
		case install.StepPair:
			f.serial = "LK1-000042"
		case install.StepBurn:
			f.burned = len(f.job.Doors)
		case install.StepFinish:
			f.detail[s] = "report-rec-1"
		}
	}
	return f
}

func (f *plainFake) set(s install.Step, state, detail string) {
	f.state[s], f.detail[s] = state, detail
}

func (f *plainFake) call(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

func (f *plainFake) called(name string) bool { return slices.Contains(f.calls, name) }

func (f *plainFake) Jobs(ctx context.Context) ([]flow.JobItem, error) {
	f.call("Jobs")
	st, _ := f.Status(ctx, plainJobID)
	return []flow.JobItem{
		{Job: f.job, Next: flow.Current(st), Started: flow.Started(st)},
		{Job: f.other, Next: install.StepSurvey, Expired: true},
	}, nil
}

func (f *plainFake) Resume(ctx context.Context) (string, error) {
	f.call("Resume")
	if f.resumeErr != nil {
		return "", f.resumeErr
	}
	return plainJobID, nil
}

func (f *plainFake) Status(ctx context.Context, job string) (install.Status, error) {
	if job != plainJobID {
		return install.Status{}, fmt.Errorf("no job %q", job)
	}
	st := install.Status{Job: plainJobID, Serial: f.serial}
	for _, s := range install.Steps() {
		state := f.state[s]
		if s == install.StepJob {
			state = install.Done
		}
		if state == "" {
			state = install.Todo
		}
		st.Steps = append(st.Steps, install.StepStatus{Step: s, State: state, Detail: f.detail[s]})
	}
	st.Finished = f.state[install.StepFinish] == install.Done
	return st, nil
}

func (f *plainFake) Job(ctx context.Context, job string) (install.Job, error) {
	f.call("Job")
	return f.job, nil
}

func (f *plainFake) SurveyDraft(ctx context.Context, job string) (survey.Survey, error) {
	f.call("SurveyDraft")
	if f.saved != nil {
		return f.saved.Clone(), nil
	}
	s := survey.Survey{Version: survey.Version, Job: plainJobID, Building: survey.Building{Address: f.job.Address}}
	for _, d := range f.job.Doors {
		s.Entrances = append(s.Entrances, survey.Entrance{Name: d})
	}
	return s, nil
}

func (f *plainFake) CheckSurvey(ctx context.Context, job string, s survey.Survey) ([]survey.Problem, error) {
	f.checkedPhotos += len(s.Photos)
	s.Job = plainJobID
	return survey.Validate(s, f.job.Doors), nil
}

func (f *plainFake) judge(s survey.Survey) survey.Verdict {
	v := survey.Evaluate(s)
	switch v.Outcome {
	case survey.Go, survey.GoWithConditions:
		f.set(install.StepSurvey, install.Done, string(v.Outcome))
	case survey.PendingSignal:
		f.set(install.StepSurvey, install.Partial, "pending the signal reading (pairing measures it)")
	default:
		f.set(install.StepSurvey, install.Blocked, "no-go")
	}
	return v
}

func (f *plainFake) SaveSurvey(ctx context.Context, job string, s survey.Survey, photos []flow.PhotoInput) (install.Saved, error) {
	f.call("SaveSurvey")
	if probs := survey.Validate(s, f.job.Doors); len(probs) > 0 {
		return install.Saved{}, &install.ValidationError{Problems: probs}
	}
	f.saved, f.photos = &s, append(f.photos, photos...)
	return install.Saved{Job: plainJobID, Survey: s, Verdict: f.judge(s), Record: "survey-rec-1"}, nil
}

func (f *plainFake) OverrideSurvey(ctx context.Context, job, reason string) (install.Saved, error) {
	f.call("OverrideSurvey")
	if len(reason) < 10 {
		return install.Saved{}, fmt.Errorf("%w: write the reason out (at least 10 characters)", install.ErrNoOverride)
	}
	f.set(install.StepSurvey, install.Done, "no-go, overridden: "+reason)
	return install.Saved{Job: plainJobID}, nil
}

func (f *plainFake) Pair(ctx context.Context, job string, confirm func(ctx context.Context, label string) (bool, error)) (flow.PairResult, error) {
	f.call("Pair")
	ok, err := confirm(ctx, f.label)
	if err != nil {
		return flow.PairResult{}, err
	}
	if !ok {
		return flow.PairResult{}, fmt.Errorf("%w (the unit shows %s): the unit may have been swapped; nothing was paired", flow.ErrLabelMismatch, f.label)
	}
	f.serial = "LK1-000042"
	f.set(install.StepPair, install.Done, "unit "+f.serial)
	res := flow.PairResult{Pairing: provision.Pairing{Job: plainJobID, Serial: f.serial, Model: "LK-1", Firmware: "1.4.2",
		Label: f.label, Root: "Latchkey Test Root"}}
	rssi := f.rssi
	res.RSSI = &rssi
	if f.saved != nil {
		s := survey.WithSignal(*f.saved, survey.Signal{RSSIDBm: &rssi, MeasuredAt: plainNow, Unit: f.serial})
		f.saved = &s
		res.Verdict = f.judge(s).Outcome
	}
	return res, nil
}

func (f *plainFake) MeasureSignal(ctx context.Context, job string) (flow.PairResult, error) {
	f.call("MeasureSignal")
	if f.serial == "" {
		return flow.PairResult{}, fmt.Errorf("job %s: %w: pair its unit first", job, install.ErrNotReady)
	}
	res := flow.PairResult{Pairing: provision.Pairing{Job: plainJobID, Serial: f.serial, Model: "LK-1", Firmware: "1.4.2",
		Label: f.label, Root: "Latchkey Test Root"}}
	rssi := f.rssi
	res.RSSI = &rssi
	if f.saved != nil {
		s := survey.WithSignal(*f.saved, survey.Signal{RSSIDBm: &rssi, MeasuredAt: plainNow, Unit: f.serial})
		f.saved = &s
		res.Verdict = f.judge(s).Outcome
	}
	return res, nil
}

func (f *plainFake) SelfTest(ctx context.Context, job string, relay bool) (flow.SelfTest, error) {
	f.call(fmt.Sprintf("SelfTest(relay=%v)", relay))
	res := flow.SelfTest{Serial: f.serial, Passed: !f.failTest, Results: []device.SelfTestResult{
		{Name: "tamper", Result: device.TestPass, MS: 3},
		{Name: "supply", Result: device.TestPass, Detail: "12.1 V", MS: 5},
		{Name: "modem", Result: device.TestPass, Detail: "registered", MS: 840},
	}}
	if f.failTest {
		res.Results[1] = device.SelfTestResult{Name: "supply", Result: device.TestFail, Detail: "9.2 V, below 10.5 V", MS: 5}
	}
	if relay {
		res.Results = append(res.Results, device.SelfTestResult{Name: "relay", Result: device.TestPass, MS: 510})
	} else {
		res.Results = append(res.Results, device.SelfTestResult{Name: "relay", Result: device.TestSkipped, Detail: "not asked for", MS: 0})
	}
	if f.failTest {
		f.set(install.StepSelfTest, install.Blocked, "failed")
	} else {
		f.set(install.StepSelfTest, install.Done, "passed")
	}
	return res, nil
}

func (f *plainFake) doneSlots() []provision.SlotResult {
	var out []provision.SlotResult
	for i := range f.burned {
		out = append(out, provision.SlotResult{Slot: uint8(i), Door: f.job.Doors[i], Outcome: provision.Stored,
			KCV: fmt.Sprintf("1a2b3%d", i), Counter: uint64(4 + i)})
	}
	return out
}

func (f *plainFake) BurnPlan(ctx context.Context, job string) (flow.BurnPlan, error) {
	f.call("BurnPlan")
	return flow.BurnPlan{Serial: f.serial, Doors: f.job.Doors, Done: f.doneSlots()}, nil
}

func (f *plainFake) Burn(ctx context.Context, job string, progress func(provision.SlotResult)) (provision.BurnResult, error) {
	f.call("Burn")
	for f.burned < len(f.job.Doors) {
		if len(f.burnErrs) > 0 {
			err := f.burnErrs[0]
			f.burnErrs = f.burnErrs[1:]
			return provision.BurnResult{}, err
		}
		i := f.burned
		progress(provision.SlotResult{Slot: uint8(i), Door: f.job.Doors[i], Outcome: provision.Burned,
			KCV: fmt.Sprintf("1a2b3%d", i), Counter: uint64(4 + i)})
		f.burned++
		f.set(install.StepBurn, install.Partial, fmt.Sprintf("%d of %d slots", f.burned, len(f.job.Doors)))
	}
	f.set(install.StepBurn, install.Done, "2 of 2 slots")
	return provision.BurnResult{Job: plainJobID, Serial: f.serial, Slots: f.doneSlots()}, nil
}

func (f *plainFake) ConsentDefaults() flow.ConsentInput {
	return flow.ConsentInput{Operator: "Parcelway Inc.", RevokeContact: "call 212-555-0100", NoticeBy: consent.NoticeByManager,
		NoticeHow: []string{consent.NoticePosted}, NoticeDue: "2026-12-09", Lang: "en"}
}

func (f *plainFake) Terms(ctx context.Context, job string, in flow.ConsentInput) (flow.Terms, error) {
	f.call("Terms")
	if _, err := time.Parse(time.DateOnly, in.NoticeDue); err != nil {
		return flow.Terms{}, fmt.Errorf("%w: tenants told by %q", consent.ErrInvalid, in.NoticeDue)
	}
	body := fmt.Sprintf("Consent to courier access at Elm Court.\nOperator: %s. Tenants are told by the %s by %s (%s).\nRevoke: %s.",
		in.Operator, in.NoticeBy, in.NoticeDue, strings.Join(in.NoticeHow, ", "), in.RevokeContact)
	return flow.Terms{Text: consent.Text{Version: "2026-1", Lang: in.Lang, Body: body,
		SHA256: "5f2c" + strings.Repeat("0", 60), Intent: "I agree to these terms for Elm Court and have authority to sign them."}}, nil
}

func (f *plainFake) SignConsent(ctx context.Context, job string, in flow.ConsentInput, shown flow.Terms, s flow.Signer, typed string) (install.StoredConsent, error) {
	f.call("SignConsent")
	if !flow.SameName(typed, s.Name) {
		return install.StoredConsent{}, flow.ErrNameMismatch
	}
	f.set(install.StepConsent, install.Done, "consent-rec-1")
	return install.StoredConsent{Job: plainJobID, Record: "consent-rec-1", Unit: f.serial, NoticeBy: in.NoticeDue}, nil
}

func (f *plainFake) Consent(ctx context.Context, job string) (install.StoredConsent, error) {
	if f.consent != nil {
		return *f.consent, nil
	}
	return install.StoredConsent{}, install.ErrNoConsent
}

func (f *plainFake) NoticeDefaults() install.NoticeInput {
	return install.NoticeInput{Contact: notice.Contact{Name: "Parcelway support", Phone: "212-555-0100"}, PolicyURL: "https://parcelway.example/privacy"}
}

func (f *plainFake) PrintNotice(ctx context.Context, job string, in install.NoticeInput) (flow.Printed, error) {
	f.call("PrintNotice")
	return flow.Printed{Lang: "en", PDF: "notices/notice-7Q2M4K9X-en.pdf", TextFile: "notices/notice-7Q2M4K9X-en.txt"}, nil
}

func (f *plainFake) RecordNotice(ctx context.Context, job string, in install.NoticeInput, g flow.Given) (install.Notice, error) {
	f.call("RecordNotice")
	f.given = g
	f.set(install.StepNotice, install.Done, "1 recorded")
	return install.Notice{Record: "notice-rec-1", Job: plainJobID, How: g.How, GivenAt: g.GivenAt}, nil
}

func (f *plainFake) Gate(ctx context.Context, job string) (install.GateResult, error) {
	f.call("Gate")
	return install.GateResult{Job: plainJobID, Reason: "tenants must be told by 2026-12-09; couriers may enter from then"}, nil
}

func (f *plainFake) Finish(ctx context.Context, job string) (string, error) {
	f.call("Finish")
	f.set(install.StepFinish, install.Done, "report-rec-1")
	f.set(install.StepUpload, install.Partial, "7 records waiting")
	return "report-rec-1", nil
}

func (f *plainFake) Upload(ctx context.Context, progress func(done, total int)) (flow.Upload, error) {
	f.call("Upload")
	for i := range 8 {
		progress(i, 7)
	}
	if !f.upload.Offline {
		f.set(install.StepUpload, install.Done, "every record sent")
	}
	return f.upload, nil
}

// plainScript feeds one answer per Read and echoes it into the transcript,
// as a terminal echoes what is typed.
type plainScript struct {
	lines []string
	echo  io.Writer
}

func (s *plainScript) Read(p []byte) (int, error) {
	if len(s.lines) == 0 {
		return 0, io.EOF
	}
	line := s.lines[0] + "\n"
	s.lines = s.lines[1:]
	io.WriteString(s.echo, line)
	return copy(p, line), nil
}

func plainRunScript(t *testing.T, f *plainFake, o Options, answers ...string) (string, Result, error, *plainScript) {
	t.Helper()
	var out bytes.Buffer
	in := &plainScript{lines: answers, echo: &out}
	res, err := runPlain(context.Background(), f, o, in, &out, func() time.Time { return plainNow })
	if bytes.IndexByte(out.Bytes(), 0x1b) >= 0 {
		t.Errorf("the output holds an ESC byte:\n%q", out.String())
	}
	return out.String(), res, err, in
}

// The survey answers of a building that goes ahead once the signal is read.
var plainSurveyAnswers = []string{
	"",      // street address: the job's
	"six",   // not a number
	"6",     // floors
	"",      // apartments: required
	"24",    // apartments
	"sw",    // lobby: door type, by its first letters
	"y",     // on an exit route
	"mag",   // maglock
	"12vdc", // release voltage, any case
	"2-wire",
	"y", // fail-safe wiring
	"y", // fire-alarm release
	"Comelit",
	"", // model
	"2-wire",
	"y",    // release wired
	"",     // existing access
	"gate", // garage
	"n",
	"strike-fail-secure",
	"24VDC",
	"4-wire",
	"n", // fire alarm
	"",
	"",
	"none", // no intercom: release wiring is not asked
	"fob reader",
	"mains",
	"4,5",
	"lobby ceiling void",
	"y",
	"asbestos survey pending",
	"",
	"", // notes
	"testdata/no-such.jpg",
	"testdata/plain_lobby.jpg",
	"intercom panel",
	"",
}

func TestPlainFullInstall(t *testing.T) {
	t.Parallel()
	f := newPlainFake()
	answers := []string{"2", "1"} // the expired job, then the one to install
	answers = append(answers, plainSurveyAnswers...)
	answers = append(answers,
		"", "y", // pair
		"y", // relay test
		// consent: the defaults, then the manager
		"", "", "", "", "", "",
		"María Ortiz", "Property manager", "managing", "y",
		"maria ortiz", "María Ortiz", "y",
		// notice
		"", "", "", "", "",
		"posted", "", "testdata/plain_lobby.jpg", "lobby notice board",
		"y", // upload
	)
	out, res, err, in := plainRunScript(t, f, Options{}, answers...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(in.lines) > 0 {
		t.Errorf("answers left over: %q", in.lines)
	}
	want := Result{Job: plainJobID, Finished: true, Report: "report-rec-1", Upload: f.upload, Uploaded: true}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if f.saved == nil || f.saved.Building.Floors != 6 || f.saved.Power.DistanceM != 4.5 || f.saved.Entrances[1].Intercom.Wiring != survey.IntercomWiringNone {
		t.Errorf("survey saved: %+v", f.saved)
	}
	if len(f.photos) != 1 || f.photos[0].Caption != "intercom panel" {
		t.Errorf("photos: %+v", f.photos)
	}
	if !f.given.GivenAt.Equal(plainNow) || f.given.How != notice.Posted || f.given.Where != "lobby notice board" {
		t.Errorf("notice given: %+v", f.given)
	}
	if !f.called("SelfTest(relay=true)") {
		t.Errorf("calls %v: no relay self-test", f.calls)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.ContainsAny(line, "┌─│╭") {
			t.Errorf("box drawing in %q", line)
		}
	}
	tuitest.Golden(t, "plain_full.txt", out)
}

func TestPlainResumeAtBurn(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest)
	f.burned = 1
	f.set(install.StepBurn, install.Partial, "1 of 2 slots")
	out, res, err, _ := plainRunScript(t, f, Options{Resume: true}) // the input ends at the consent
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v, want ErrQuit\n%s", err, out)
	}
	if res.Job != plainJobID || res.Finished {
		t.Errorf("result %+v", res)
	}
	for _, want := range []string{
		"Resuming the unfinished install of job 7Q2M4K9X.",
		"done: job, survey, pair, self-test; next: burn (1 of 2 slots)\n",
		"\nStep 5 of 8: burn\n",
		"slot 0 (lobby): burned already\nslot 1 (garage): to burn\n",
		"slot 1 (garage): burned, check value 1a2b31, receipt #5\n",
		"\nStep 6 of 8: consent\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	for _, c := range []string{"Jobs", "SurveyDraft", "Pair", "SelfTest(relay=true)", "SelfTest(relay=false)"} {
		if f.called(c) {
			t.Errorf("%s called when resuming at the burn: %v", c, f.calls)
		}
	}
	if strings.Contains(out, "Step 2 of 8") || strings.Contains(out, "Step 3 of 8") {
		t.Errorf("steps before the burn announced:\n%s", out)
	}
}

func TestPlainNothingToResume(t *testing.T) {
	t.Parallel()
	f := newPlainFake()
	f.resumeErr = flow.ErrNothingToResume
	out, res, err, _ := plainRunScript(t, f, Options{Resume: true}, "q")
	if !errors.Is(err, ErrQuit) || res.Job != "" {
		t.Fatalf("err %v, result %+v", err, res)
	}
	for _, want := range []string{
		"There is no unfinished install to resume: pick a job from the list.\n",
		"1. Elm Court, 12 Elm St, Springfield: 2 doors; not started.\n",
		"2. Oak House, 9 Oak Rd: 1 door; expired, cannot be installed.\n",
		"Job number (q to quit): ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestPlainLabelMismatch(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey)
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "", "n", "q")
	if !errors.Is(err, ErrQuit) || !errors.Is(err, flow.ErrLabelMismatch) {
		t.Fatalf("err %v, want ErrQuit wrapping ErrLabelMismatch\n%s", err, out)
	}
	for _, want := range []string{
		"Connect the unit and press enter: \n",
		"The unit shows the label code K7P-3QX.\nDoes it match the code printed on the unit's box? [y/n] n\n",
		"Error: the label code on the box does not match the unit (the unit shows K7P-3QX)",
		"Next: " + NextStep(flow.ErrLabelMismatch) + "\n",
		"Retry, or quit? [r/q] q\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if last := f.calls[len(f.calls)-1]; last != "Pair" {
		t.Errorf("calls after the mismatch: %v", f.calls)
	}
	if f.state[install.StepPair] == install.Done {
		t.Error("paired after a mismatch")
	}
}

func TestPlainSurveyFieldAskedAgain(t *testing.T) {
	t.Parallel()
	f := newPlainFake()
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID},
		"", "500", "6", "24", "hinged", "swing")
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v\n%s", err, out)
	}
	for _, want := range []string{
		"Number of floors: 500\nProblem: the answer must be a number of floors from 1 to 200.\nNumber of floors [500]: 6\n",
		"Door type (swing, sliding, revolving or gate): hinged\nProblem: \"hinged\" is not one of swing, sliding, revolving, gate.\nDoor type (swing, sliding, revolving or gate) [hinged]: swing\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if f.called("SaveSurvey") {
		t.Error("a survey left half-way was saved")
	}
}

func TestPlainSurveyNoGoOverride(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey)
	f.rssi = -110 // too weak: pairing turns the survey no-go
	s, _ := f.SurveyDraft(context.Background(), plainJobID)
	for i := range s.Entrances {
		s.Entrances[i] = survey.Entrance{Name: s.Entrances[i].Name, DoorType: survey.DoorSwing, Hardware: survey.HardwareStrikeFailSecure,
			ReleaseVoltage: survey.Voltage12VDC, LockWiring: survey.LockWiring2Wire, Intercom: survey.Intercom{Wiring: survey.IntercomWiringNone}}
	}
	s.Building.Floors, s.Building.Units, s.Power, s.Mount = 3, 9, survey.Power{Source: survey.PowerMains, DistanceM: 2}, survey.Mount{Location: "hall", Indoor: true}
	f.saved = &s
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "", "y", "x", "o", "short", "Dana decided: an external antenna is fitted today")
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v\n%s", err, out)
	}
	for _, want := range []string{
		"Survey verdict with this signal: no-go.\n",
		"Reason: signal -110 dBm at the mount point is below -105 dBm: choose another mount point\n",
		"Answer o to override, e to edit or q to quit.\n",
		"Problem: nothing to override: write the reason out (at least 10 characters)\n",
		"Override recorded: the install goes on.\n",
		"\nStep 4 of 8: self-test\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestPlainEOFInConsent(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest, install.StepBurn)
	out, res, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "", "", "", "", "", "", "María Ortiz")
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v, want ErrQuit\n%s", err, out)
	}
	if res.Job != plainJobID {
		t.Errorf("result %+v", res)
	}
	if f.called("SignConsent") {
		t.Error("signed without the signer's answers")
	}
	if !strings.Contains(out, "Hand the screen to the manager.") || !strings.Contains(out, "The input ended: leaving the install. What was done is kept.\n") {
		t.Errorf("transcript:\n%s", out)
	}
}

func TestPlainOfflineUpload(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest, install.StepBurn,
		install.StepConsent, install.StepNotice, install.StepFinish)
	f.set(install.StepUpload, install.Partial, "7 records waiting")
	f.upload = flow.Upload{Offline: true, Remaining: 7, Err: "the back office cannot be reached"}
	out, res, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "y")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !res.Finished || res.Report != "report-rec-1" || !res.Uploaded || !res.Upload.Offline {
		t.Errorf("result %+v", res)
	}
	for _, want := range []string{
		"\nStep 8 of 8: upload\nUpload: 7 records waiting.\nSend the records now? [y/n] y\n",
		"Nothing was lost: 7 records stay queued and will be sent with 'latchkey sync' when online.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestPlainTourHints(t *testing.T) {
	t.Parallel()
	for _, tour := range []bool{false, true} {
		f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest)
		out, _, _, _ := plainRunScript(t, f, Options{Job: plainJobID, Tour: tour, Demo: tour})
		if got := strings.Contains(out, "\nHint: "+plainHints[install.StepBurn]+"\n"); got != tour {
			t.Errorf("tour %v: burn hint shown %v\n%s", tour, got, out)
		}
		if got := strings.Contains(out, "Hint:"); got != tour {
			t.Errorf("tour %v: hints shown %v", tour, got)
		}
		if got := strings.Contains(out, "Demo: the unit and the back office are simulated"); got != tour {
			t.Errorf("demo %v: demo line shown %v", tour, got)
		}
	}
}

func TestPlainRetryAfterPulledCable(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest)
	f.burnErrs = []error{fmt.Errorf("burn slot 1: %w", fmt.Errorf("%w: %w", device.ErrDisconnected, io.EOF))}
	f.burned = 0
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "r")
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v\n%s", err, out)
	}
	for _, want := range []string{
		"Next: reconnect the cable and answer r to retry\nRetry, or quit? [r/q] r\n",
		"slot 1 (garage): burned, check value 1a2b31, receipt #5\n",
		"Every door key is in unit LK1-000042",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestPlainSelfTestFailed(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair)
	f.failTest = true
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "n")
	if !errors.Is(err, install.ErrSelfTestFailed) || errors.Is(err, ErrQuit) {
		t.Fatalf("err %v, want ErrSelfTestFailed\n%s", err, out)
	}
	for _, want := range []string{
		"The relay test opens the door. Is someone at the door? [y/n] n\n",
		"supply: fail, 9.2 V, below 10.5 V (5 ms)\n",
		"Error: a self-test failed: supply; the install cannot go on with this unit\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if f.called("BurnPlan") || f.called("Burn") {
		t.Errorf("went on after a failed self-test: %v", f.calls)
	}
}

func TestPlainAllDone(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.Steps()...)
	out, res, err, _ := plainRunScript(t, f, Options{Job: plainJobID})
	if err != nil || !res.Finished || res.Report != "report-rec-1" {
		t.Fatalf("err %v result %+v\n%s", err, res, out)
	}
	if !strings.Contains(out, "done: every step\nEvery step of this install is done") {
		t.Errorf("transcript:\n%s", out)
	}
}

func TestNextStep(t *testing.T) {
	t.Parallel()
	pulled := fmt.Errorf("burn: %w", fmt.Errorf("%w: %w", device.ErrDisconnected, io.EOF))
	for _, c := range []struct {
		err  error
		want string
	}{
		{pulled, "reconnect the cable and answer r to retry"},
		{errors.Join(errors.New("x"), pulled), "reconnect the cable and answer r to retry"},
		{fmt.Errorf("pair: %w", flow.ErrLabelMismatch), "do not install a unit whose code does not match"},
		{fmt.Errorf("%w: job x", install.ErrConsentNotReady), "before the manager signs"},
		{fmt.Errorf("%w: x", consent.ErrInvalid), "correct the answer"},
		{fmt.Errorf("%w: supply", install.ErrSelfTestFailed), "latchkey install --resume"},
		{errors.New("disk full"), "answer r to try again"},
	} {
		if got := NextStep(c.err); !strings.Contains(got, c.want) {
			t.Errorf("NextStep(%v) = %q, want it to say %q", c.err, got, c.want)
		}
	}
	if NextStep(nil) != "" {
		t.Error("NextStep(nil) is not empty")
	}
}

func TestPlainWriterDropsEscapes(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := &plainWriter{w: &b}
	fmt.Fprintf(w, "Elm \x1b[2JCourt\u009b1m\r\n\tok")
	if got := b.String(); got != "Elm [2JCourt1m\n\tok" {
		t.Errorf("got %q", got)
	}
}

func TestPlainStoppedWhileWaiting(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest, install.StepBurn,
		install.StepConsent, install.StepNotice, install.StepFinish)
	pr, pw := io.Pipe() // nobody types
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := runPlain(ctx, f, Options{Job: plainJobID}, pr, &out, func() time.Time { return plainNow })
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrQuit) || !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want ErrQuit wrapping context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the plain mode still waits for an answer after the context ended")
	}
	if f.called("Upload") {
		t.Error("uploaded without an answer")
	}
}

// plainPending is a saved survey that goes ahead once the signal is read.
func plainPending(f *plainFake) survey.Survey {
	s, _ := f.SurveyDraft(context.Background(), plainJobID)
	for i := range s.Entrances {
		s.Entrances[i] = survey.Entrance{Name: s.Entrances[i].Name, DoorType: survey.DoorSwing, Hardware: survey.HardwareStrikeFailSecure,
			ReleaseVoltage: survey.Voltage12VDC, LockWiring: survey.LockWiring2Wire, Intercom: survey.Intercom{Wiring: survey.IntercomWiringNone}}
	}
	s.Building.Floors, s.Building.Units, s.Power, s.Mount = 3, 9, survey.Power{Source: survey.PowerMains, DistanceM: 2}, survey.Mount{Location: "hall", Indoor: true}
	return s
}

// TestPlainSignalLost: the unit was paired but the signal reading was lost
// (a kill between the two), so the survey still waits for it: the pair
// step reads it again instead of going on to a burn that would refuse.
func TestPlainSignalLost(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepPair)
	s := plainPending(f)
	f.saved = &s
	f.set(install.StepSurvey, install.Partial, "pending the signal reading (pairing measures it)")
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "") // the input ends at the self-test
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v\n%s", err, out)
	}
	for _, want := range []string{
		"\nStep 3 of 8: pair\nThe unit is paired; its signal was not read yet.\nConnect it and press enter to measure: \n",
		"Signal at the mount point: -71 dBm.\nSurvey verdict with this signal: go",
		"\nStep 4 of 8: self-test\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if !f.called("MeasureSignal") || f.called("Pair") {
		t.Errorf("calls %v", f.calls)
	}
	if f.state[install.StepSurvey] != install.Done {
		t.Errorf("survey %s after the measure", f.state[install.StepSurvey])
	}
}

// TestPlainConsentRevoked: a revoked consent stops the install, in the
// full screen's words; nothing is signed again.
func TestPlainConsentRevoked(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest, install.StepBurn)
	f.set(install.StepConsent, install.Blocked, "revoked 2026-11-20T09:15:00Z")
	revoked := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	f.consent = &install.StoredConsent{Job: plainJobID, Record: "consent-rec-1", Unit: "LK1-000042", RevokedAt: &revoked}
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID})
	if !errors.Is(err, install.ErrConsentRevoked) {
		t.Fatalf("err %v, want ErrConsentRevoked\n%s", err, out)
	}
	want := "Error: The building revoked its consent on 2026-11-20. Do not re-sign on the spot: the unit must be decommissioned " +
		"('latchkey unit decommission' with unit LK1-000042 on the cable), and a new consent needs a new job from the office.\n"
	if !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
	if f.called("Terms") || f.called("SignConsent") {
		t.Errorf("calls %v", f.calls)
	}

	// Without the record, the status's date is said.
	f.consent = nil
	out, _, _, _ = plainRunScript(t, f, Options{Job: plainJobID})
	if !strings.Contains(out, "Error: The building revoked its consent on 2026-11-20. Do not re-sign on the spot") {
		t.Errorf("transcript:\n%s", out)
	}
}

// TestPlainUploadRefused: records the back office refused are not said to
// be sent.
func TestPlainUploadRefused(t *testing.T) {
	t.Parallel()
	f := newPlainFake().done(install.StepSurvey, install.StepPair, install.StepSelfTest, install.StepBurn,
		install.StepConsent, install.StepNotice, install.StepFinish)
	f.set(install.StepUpload, install.Partial, "7 records waiting")
	f.upload = flow.Upload{Hub: "https://hub.example", Sent: 5, Refused: 2}
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "y")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "Records: sent 5; the back office refused 2: see 'latchkey outbox list --state rejected'.\n"; !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
	if strings.Contains(out, "Sent 5 records to") {
		t.Errorf("refused records said to be sent:\n%s", out)
	}
}

// TestPlainSurveyChecksWithoutPhotos: each answer is checked without the
// saved photos, which the save checks (hashing them per answer is slow).
func TestPlainSurveyChecksWithoutPhotos(t *testing.T) {
	t.Parallel()
	f := newPlainFake()
	s := plainPending(f)
	s.Photos = []survey.Photo{{File: strings.Repeat("ab", 32) + ".jpg", SHA256: strings.Repeat("ab", 32), Caption: "lobby"}}
	s.Signal = &survey.Signal{RSSIDBm: new(int), MeasuredAt: plainNow}
	*s.Signal.RSSIDBm = -110 // no-go
	f.saved = &s
	f.set(install.StepSurvey, install.Blocked, "no-go")
	out, _, err, _ := plainRunScript(t, f, Options{Job: plainJobID}, "e", "", "", "")
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v\n%s", err, out)
	}
	if !strings.Contains(out, "Number of apartments [9]: ") {
		t.Fatalf("the survey was not asked again:\n%s", out)
	}
	if f.checkedPhotos != 0 {
		t.Errorf("CheckSurvey was given %d photos", f.checkedPhotos)
	}
}
