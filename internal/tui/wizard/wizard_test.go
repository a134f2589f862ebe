package wizard

import (
	"context"
	"errors"
	"fmt"
	"github.com/latchkey/latchkey/internal/tui/tuitest"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/survey"
)

func newTest(d Driver, o Options) Model {
	o.NoColor = true
	m := New(context.Background(), d, o)
	m.now = func() time.Time { return at }
	m.loc = time.UTC
	return m
}

// step runs msg through Update and returns the model.
func step(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	nm, ok := next.(Model)
	if !ok {
		t.Fatalf("Update returned %T", next)
	}
	return nm, cmd
}

func keyMsg(k string) tea.KeyMsg {
	types := map[string]tea.KeyType{"enter": tea.KeyEnter, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "esc": tea.KeyEsc,
		"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight, "pgdown": tea.KeyPgDown,
		"pgup": tea.KeyPgUp, "ctrl+c": tea.KeyCtrlC, "space": tea.KeySpace, "backspace": tea.KeyBackspace}
	if kt, ok := types[k]; ok {
		return tea.KeyMsg{Type: kt}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// press sends keys and returns the last key's command.
func press(t *testing.T, m Model, keys ...string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		m, cmd = step(t, m, keyMsg(k))
	}
	return m, cmd
}

// typeText types s one key at a time.
func typeText(t *testing.T, m Model, s string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, r := range s {
		m, cmd = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m, cmd
}

// run runs cmd as the program would, without its timing: a batch's
// commands one by one; spinner frames and nothing are dropped.
func run(t *testing.T, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a command did not return")
	}
	switch msg := msg.(type) {
	case nil, spinner.TickMsg:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(t, c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// only runs cmd and returns its one message of type T.
func only[T tea.Msg](t *testing.T, cmd tea.Cmd) T {
	t.Helper()
	for _, msg := range run(t, cmd) {
		if x, ok := msg.(T); ok {
			return x
		}
	}
	var zero T
	t.Fatalf("no %T from the command", zero)
	return zero
}

// checked runs the survey's live check on the form as it is.
func checked(t *testing.T, m Model) Model {
	t.Helper()
	m, cmd := m.checkSurvey(true)
	m, _ = step(t, m, only[checkMsg](t, cmd))
	return m
}

// opened is the wizard right after the job was opened, with the fake's
// steps done up to step.
func opened(t *testing.T, f *fakeDriver, o Options) Model {
	t.Helper()
	m := newTest(f, o)
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	st, err := f.Status(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	m, _ = step(t, m, jobChosenMsg{job: testJob(), st: st})
	return m
}

func noGoSurvey() survey.Survey {
	s := survey.Survey{Version: survey.Version, Job: jobID, Building: survey.Building{Address: "12 Elm St, Springfield", Floors: 6, Units: 24},
		Power: survey.Power{Source: survey.PowerMains, DistanceM: 25}, Mount: survey.Mount{Location: "lobby intercom panel", Indoor: true}}
	for _, d := range []string{"lobby", "garage"} {
		s.Entrances = append(s.Entrances, survey.Entrance{Name: d, DoorType: survey.DoorSwing, Egress: true, Hardware: survey.HardwareMaglock,
			ReleaseVoltage: survey.Voltage12VDC, LockWiring: survey.LockWiring2Wire,
			Intercom: survey.Intercom{Make: "Comelit", Wiring: survey.IntercomWiring2Wire, ReleaseWired: true}})
	}
	return s
}

// pendingSurvey is a survey that goes ahead once the signal is read.
func pendingSurvey() survey.Survey {
	s := noGoSurvey()
	s.Power.DistanceM = 5
	for i := range s.Entrances {
		s.Entrances[i].Hardware = survey.HardwareStrikeFailSecure
	}
	return s
}

// signalLost is an install whose unit was paired but whose signal reading
// was lost (a kill between the two): the survey still waits for it.
func signalLost() *fakeDriver {
	f := newFake().upTo(install.StepSelfTest)
	s := pendingSurvey()
	f.survey = &s
	f.states[install.StepSurvey] = install.Partial
	return f
}

// burnEight is the burn of a job with eight doors, three burned, with the
// tour's hints on.
func burnEight(t *testing.T) Model {
	f := newFake().upTo(install.StepBurn)
	j := testJob()
	j.Doors = []string{"lobby", "garage", "side gate", "rear door", "bike store", "bin store", "roof access", "plant room"}
	f.jobs = []install.Job{j}
	m := newTest(f, Options{Tour: true})
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	st, _ := f.Status(context.Background(), jobID)
	m, _ = step(t, m, jobChosenMsg{job: j, st: st})
	m, _ = step(t, m, planMsg{plan: flow.BurnPlan{Serial: "LK0000004242", Doors: j.Doors}})
	m, _ = press(t, m, "enter")
	for i := range 3 {
		m, _ = step(t, m, slotMsg{slot: slotResult(i, j.Doors[i])})
	}
	return m
}

// scenario builds the wizard at one screen by feeding it the messages its
// commands would produce.
type scenario struct {
	name  string
	build func(t *testing.T) Model
}

func scenarios() []scenario {
	jobItems := func() []flow.JobItem {
		old := testJob()
		old.ID, old.Building, old.Address = "9c4b2e71-0000-4000-8000-000000000001", "Birch Flats", "7 Birch Way, Springfield"
		old.ExpiresAt = at.AddDate(0, 0, -1)
		started := testJob()
		started.ID, started.Building, started.Address, started.Doors = "a17d33e0-0000-4000-8000-000000000002", "Oak House", "4 Oak Rd, Shelbyville", []string{"front"}
		return []flow.JobItem{
			{Job: testJob(), Next: install.StepSurvey},
			{Job: started, Next: install.StepBurn, Started: true},
			{Job: old, Next: install.StepSurvey, Expired: true},
		}
	}
	atSurvey := func(t *testing.T) Model {
		m := opened(t, newFake(), Options{})
		f := newFake()
		d, _ := f.SurveyDraft(context.Background(), jobID)
		m, cmd := step(t, m, draftMsg{s: d})
		m, _ = step(t, m, only[checkMsg](t, cmd))
		return m
	}
	atPair := func(t *testing.T, o Options) Model {
		f := newFake().upTo(install.StepPair)
		f.states[install.StepSurvey] = install.Partial
		return opened(t, f, o)
	}
	atBurn := func(t *testing.T) Model {
		m := opened(t, newFake().upTo(install.StepBurn), Options{})
		m, _ = step(t, m, planMsg{plan: flow.BurnPlan{Serial: "LK0000004242", Doors: []string{"lobby", "garage"}}})
		return m
	}
	atTerms := func(t *testing.T) Model {
		f := newFake().upTo(install.StepConsent)
		m := opened(t, f, Options{})
		m, _ = step(t, m, consentLoadedMsg{defaults: f.ConsentDefaults(), err: install.ErrNoConsent})
		m, _ = press(t, m, "enter")
		m, _ = step(t, m, termsMsg{terms: testTerms()})
		return m
	}
	atSigner := func(t *testing.T) Model {
		m := atTerms(t)
		for range 30 {
			m, _ = press(t, m, "pgdown")
		}
		m, _ = press(t, m, "enter")
		m, _ = typeText(t, m, "Ana Ruiz")
		m, _ = press(t, m, "tab")
		m, _ = typeText(t, m, "Property manager")
		m, _ = press(t, m, "tab", "right", "right", "tab")
		return m
	}
	atIntent := func(t *testing.T) Model {
		m := atSigner(t)
		m, _ = press(t, m, "y", "enter")
		m, _ = typeText(t, m, "ana ruiz")
		return m
	}
	atNotice := func(t *testing.T) Model {
		f := newFake().upTo(install.StepNotice)
		m := opened(t, f, Options{})
		m, _ = step(t, m, noticeLoadedMsg{defaults: f.NoticeDefaults(), lang: "en"})
		return m
	}
	atUpload := func(t *testing.T) Model {
		m := opened(t, newFake().upTo(install.StepFinish), Options{})
		m, _ = step(t, m, finishMsg{report: "install-report." + jobID})
		return m
	}
	return []scenario{
		{"jobs", func(t *testing.T) Model {
			m := newTest(newFake(), Options{})
			m, _ = step(t, m, jobsMsg{items: jobItems()})
			return m
		}},
		{"jobs_empty", func(t *testing.T) Model {
			m := newTest(newFake(), Options{})
			m, _ = step(t, m, jobsMsg{})
			return m
		}},
		{"jobs_nothing_to_resume", func(t *testing.T) Model {
			m := newTest(newFake(), Options{Resume: true})
			m, _ = step(t, m, resumeMsg{err: flow.ErrNothingToResume})
			m, _ = step(t, m, jobsMsg{items: jobItems()[:1], note: "There is no unfinished install to resume. Pick a job to start one."})
			return m
		}},
		{"survey_form", func(t *testing.T) Model {
			m := atSurvey(t)
			m, _ = press(t, m, "tab")
			m, _ = typeText(t, m, "6")
			m, _ = press(t, m, "tab")
			m, _ = typeText(t, m, "2x")
			m, _ = press(t, m, "tab")
			return checked(t, m)
		}},
		{"survey_nogo", func(t *testing.T) Model {
			m := atSurvey(t)
			s := noGoSurvey()
			m, _ = step(t, m, savedMsg{saved: install.Saved{Job: jobID, Survey: s, Verdict: survey.Evaluate(s)}})
			return m
		}},
		{"survey_pending", func(t *testing.T) Model {
			m := atSurvey(t)
			s := noGoSurvey()
			s.Power.DistanceM = 5
			for i := range s.Entrances {
				s.Entrances[i].Hardware = survey.HardwareStrikeFailSecure
			}
			m, _ = step(t, m, savedMsg{saved: install.Saved{Job: jobID, Survey: s, Verdict: survey.Evaluate(s)}})
			return m
		}},
		{"pair_intro", func(t *testing.T) Model { return atPair(t, Options{}) }},
		{"pair_label", func(t *testing.T) Model {
			m := atPair(t, Options{})
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, askLabelMsg{label: "QRXS-FKZ1", reply: make(chan bool, 1)})
			return m
		}},
		{"pair_measure", func(t *testing.T) Model { return opened(t, signalLost(), Options{}) }},
		{"pair_done", func(t *testing.T) Model {
			m := atPair(t, Options{})
			rssi := -71
			m, _ = step(t, m, pairedMsg{res: pairResult(survey.Go, &rssi)})
			return m
		}},
		{"selftest_ask", func(t *testing.T) Model { return opened(t, newFake().upTo(install.StepSelfTest), Options{}) }},
		{"selftest_failed", func(t *testing.T) Model {
			m := opened(t, newFake().upTo(install.StepSelfTest), Options{})
			m, _ = press(t, m, "n")
			m, _ = step(t, m, selfTestMsg{res: selfTestResults(false)})
			return m
		}},
		{"burn_progress", func(t *testing.T) Model {
			m := atBurn(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, slotMsg{slot: slotResult(0, "lobby")})
			return m
		}},
		{"burn_done", func(t *testing.T) Model {
			m := atBurn(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, slotMsg{slot: slotResult(0, "lobby")})
			m, _ = step(t, m, slotMsg{slot: slotResult(1, "garage")})
			m, _ = step(t, m, burnedMsg{res: provision.BurnResult{Job: jobID, Serial: "LK0000004242",
				Slots: []provision.SlotResult{slotResult(0, "lobby"), slotResult(1, "garage")}}})
			return m
		}},
		{"consent_revoked", func(t *testing.T) Model {
			f := newFake().upTo(install.StepConsent)
			f.states[install.StepConsent] = install.Blocked
			c := storedConsent()
			revoked := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
			c.RevokedAt = &revoked
			m := opened(t, f, Options{})
			m, _ = step(t, m, consentLoadedMsg{stored: c, defaults: f.ConsentDefaults()})
			return m
		}},
		{"consent_input", func(t *testing.T) Model {
			f := newFake().upTo(install.StepConsent)
			m := opened(t, f, Options{})
			m, _ = step(t, m, consentLoadedMsg{defaults: f.ConsentDefaults(), err: install.ErrNoConsent})
			return m
		}},
		{"consent_terms", func(t *testing.T) Model {
			m := atTerms(t)
			m, _ = press(t, m, "pgdown")
			return m
		}},
		{"consent_signer", atSigner},
		{"consent_intent", atIntent},
		{"consent_agree", func(t *testing.T) Model {
			m := atIntent(t)
			m, _ = press(t, m, "enter")
			return m
		}},
		{"consent_signed", func(t *testing.T) Model {
			m := atIntent(t)
			m, _ = press(t, m, "enter", "y")
			m, _ = step(t, m, signedMsg{stored: storedConsent()})
			return m
		}},
		{"notice_facts", atNotice},
		{"notice_print", func(t *testing.T) Model {
			m := atNotice(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, printedMsg{printed: printed()})
			return m
		}},
		{"notice_record", func(t *testing.T) Model {
			m := atNotice(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, printedMsg{printed: printed()})
			m, _ = press(t, m, "enter", "tab", "tab")
			m, _ = typeText(t, m, "/home/sam/photos/notice.jpg")
			m, _ = press(t, m, "tab")
			m, _ = typeText(t, m, "lobby notice board")
			return m
		}},
		{"notice_done", func(t *testing.T) Model {
			m := atNotice(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, printedMsg{printed: printed()})
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, recordedMsg{rec: install.Notice{Record: "notice.2b8d", Job: jobID, How: "posted", GivenAt: at}, gate: gateClosed()})
			return m
		}},
		{"upload_ready", atUpload},
		{"upload_progress", func(t *testing.T) Model {
			m := atUpload(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, uploadProgressMsg{done: 3, total: 7})
			return m
		}},
		{"upload_offline", func(t *testing.T) Model {
			m := atUpload(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, uploadedMsg{res: flow.Upload{Offline: true, Remaining: 7, Err: "dial tcp 127.0.0.1:8470: connect: connection refused"}})
			return m
		}},
		{"upload_sent", func(t *testing.T) Model {
			m := atUpload(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, uploadedMsg{res: flow.Upload{Hub: "http://127.0.0.1:8470", Sent: 7}})
			return m
		}},
		{"summary_refused", func(t *testing.T) Model {
			m := atUpload(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, uploadedMsg{res: flow.Upload{Hub: "http://127.0.0.1:8470", Sent: 5, Refused: 2}})
			m, _ = press(t, m, "enter")
			return m
		}},
		{"burn_8doors_tour", burnEight},
		{"summary", func(t *testing.T) Model {
			m := atUpload(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, uploadedMsg{res: flow.Upload{Hub: "http://127.0.0.1:8470", Sent: 7}})
			m, _ = press(t, m, "enter")
			return m
		}},
		{"error_disconnected", func(t *testing.T) Model {
			m := atBurn(t)
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, slotMsg{slot: slotResult(0, "lobby")})
			m, _ = step(t, m, burnedMsg{err: fmt.Errorf("burn slot 1: %w", errDisconnected)})
			return m
		}},
		{"error_label_mismatch", func(t *testing.T) Model {
			m := atPair(t, Options{})
			m, _ = step(t, m, pairedMsg{err: fmt.Errorf("%w (the unit shows QRXS-FKZ1): the unit may have been swapped; nothing was paired", flow.ErrLabelMismatch)})
			return m
		}},
		{"tour_pair_label", func(t *testing.T) Model {
			m := atPair(t, Options{Tour: true, Demo: true})
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, askLabelMsg{label: "QRXS-FKZ1", reply: make(chan bool, 1)})
			return m
		}},
		{"tour_survey_form", func(t *testing.T) Model {
			f := newFake()
			m := opened(t, f, Options{Tour: true})
			d, _ := f.SurveyDraft(context.Background(), jobID)
			m, _ = step(t, m, draftMsg{s: d})
			return checked(t, m)
		}},
	}
}

// TestView compares each screen's last frame at 80x24, colour stripped,
// with its golden file, and draws it again at odd sizes.
func TestView(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			m := sc.build(t)
			m, _ = step(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
			view := ansi.Strip(m.View())
			tuitest.CheckSize(t, view, 80, 24)
			tuitest.Golden(t, sc.name+".golden", view)

			// Nothing panics or overflows on a small or unsized terminal.
			for _, sz := range []struct{ w, h, wantW, wantH int }{{40, 12, 40, 12}, {0, 0, 80, 24}, {1, 1, minWidth, minHeight}, {200, 60, 200, 60}} {
				s, _ := step(t, sc.build(t), tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
				tuitest.CheckSize(t, ansi.Strip(s.View()), sz.wantW, sz.wantH)
				s, _ = step(t, m, tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
				tuitest.CheckSize(t, ansi.Strip(s.View()), sz.wantW, sz.wantH)
			}
		})
	}
}

// TestViewColour: with colour on, the text is the same once stripped, so
// --no-color only drops the colour.
func TestViewColour(t *testing.T) {
	t.Parallel()
	f := newFake().upTo(install.StepSelfTest)
	plain := opened(t, f, Options{})
	m := New(context.Background(), f, Options{})
	m.now, m.loc = plain.now, plain.loc
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	st, _ := f.Status(context.Background(), jobID)
	m, _ = step(t, m, jobChosenMsg{job: testJob(), st: st})
	if got, want := ansi.Strip(m.View()), ansi.Strip(plain.View()); got != want {
		t.Errorf("colour view differs once stripped:\n%s\nwant:\n%s", got, want)
	}
}

func TestResumeStep(t *testing.T) {
	t.Parallel()
	status := func(states map[install.Step]string) install.Status {
		var st install.Status
		for _, s := range install.Steps() {
			state := states[s]
			if state == "" {
				state = install.Done
			}
			st.Steps = append(st.Steps, install.StepStatus{Step: s, State: state})
		}
		return st
	}
	tests := []struct {
		name   string
		states map[install.Step]string
		want   install.Step
	}{
		{"new job", map[install.Step]string{install.StepSurvey: install.Todo, install.StepPair: install.Todo}, install.StepSurvey},
		{"survey waits for the signal: pair first", map[install.Step]string{install.StepSurvey: install.Partial, install.StepPair: install.Todo}, install.StepPair},
		{"paired, the signal reading lost: the pair step measures it", map[install.Step]string{install.StepSurvey: install.Partial, install.StepSelfTest: install.Todo,
			install.StepBurn: install.Todo}, install.StepPair},
		{"paired and self-tested, the signal reading lost", map[install.Step]string{install.StepSurvey: install.Partial, install.StepBurn: install.Todo}, install.StepPair},
		{"no-go survey shows the survey", map[install.Step]string{install.StepSurvey: install.Blocked, install.StepPair: install.Todo}, install.StepSurvey},
		{"failed self-test", map[install.Step]string{install.StepSelfTest: install.Blocked}, install.StepSelfTest},
		{"half burned", map[install.Step]string{install.StepBurn: install.Partial}, install.StepBurn},
		{"finish is the upload screen", map[install.Step]string{install.StepFinish: install.Todo, install.StepUpload: install.Todo}, install.StepUpload},
		{"records waiting", map[install.Step]string{install.StepUpload: install.Partial}, install.StepUpload},
		{"all done", nil, ""},
	}
	for _, tt := range tests {
		if got := resumeStep(status(tt.states)); got != tt.want {
			t.Errorf("%s: resumeStep = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestUpdate feeds keys and results to Update and checks the state and the
// commands it returns.
func TestUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"a unit paired whose signal was lost is measured on the pair screen", func(t *testing.T) {
			f := signalLost()
			m := opened(t, f, Options{})
			if m.screen != scrPair || !m.pair.measure {
				t.Fatalf("screen %v measure %v", m.screen, m.pair.measure)
			}
			if v := oneLine(ansi.Strip(m.View())); !strings.Contains(v, "The unit is paired; its signal was not read yet. Connect it and press enter to measure.") {
				t.Errorf("view:\n%s", v)
			}
			m, cmd := press(t, m, "enter")
			m, _ = step(t, m, only[pairedMsg](t, cmd))
			if !f.called("MeasureSignal") || f.called("Pair") {
				t.Fatalf("calls %v", f.calls)
			}
			if v := m.pair.res.Verdict; m.fail != nil || m.pair.phase != pairDone || (v != survey.Go && v != survey.GoWithConditions) {
				t.Fatalf("fail %v phase %v verdict %q", m.fail, m.pair.phase, m.pair.res.Verdict)
			}
			if k := m.keys(); k[0] != "enter continue to the self-test" {
				t.Errorf("keys %q", k)
			}
			m, cmd = press(t, m, "enter")
			m, _ = step(t, m, only[statusMsg](t, cmd))
			if m.screen != scrSelfTest {
				t.Errorf("enter went to screen %v, want the self-test", m.screen)
			}
		}},
		{"a measure that fails retries the measure, not the pairing", func(t *testing.T) {
			f := signalLost()
			f.errs["MeasureSignal"] = fmt.Errorf("%w: unit LK9 is on the cable, the job's unit is LK0000004242: connect it", flow.ErrWrongUnit)
			m := opened(t, f, Options{})
			m, cmd := press(t, m, "enter")
			m, _ = step(t, m, only[pairedMsg](t, cmd))
			if m.fail == nil || m.fail.doing != "measure the signal" {
				t.Fatalf("fail %+v", m.fail)
			}
			m, cmd = press(t, m, "r")
			m, _ = step(t, m, only[pairedMsg](t, cmd))
			if m.fail != nil || m.pair.phase != pairDone || f.called("Pair") {
				t.Errorf("fail %v phase %v calls %v", m.fail, m.pair.phase, f.calls)
			}
		}},
		{"after a no-go verdict the help line and enter both go back to the survey", func(t *testing.T) {
			f := newFake().upTo(install.StepPair)
			s := pendingSurvey()
			f.survey = &s
			f.states[install.StepSurvey] = install.Partial
			f.rssi = -110
			m := opened(t, f, Options{})
			res, err := f.Pair(context.Background(), jobID, func(context.Context, string) (bool, error) { return true, nil })
			if err != nil || res.Verdict != survey.NoGo {
				t.Fatalf("pair %v verdict %q", err, res.Verdict)
			}
			m, _ = step(t, m, pairedMsg{res: res})
			if k := m.keys(); k[0] != "enter back to the survey (no-go)" {
				t.Errorf("keys %q", k)
			}
			m, cmd := press(t, m, "enter")
			m, _ = step(t, m, only[statusMsg](t, cmd))
			if m.screen != scrSurvey {
				t.Errorf("enter went to screen %v, want the survey", m.screen)
			}
		}},
		{"a revoked consent blocks the install: no new signature", func(t *testing.T) {
			f := newFake().upTo(install.StepConsent)
			f.states[install.StepConsent] = install.Blocked
			c := storedConsent()
			revoked := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
			c.RevokedAt = &revoked
			f.consent = &c
			m := opened(t, f, Options{})
			_, load := m.enterConsent()
			m, _ = step(t, m, only[consentLoadedMsg](t, load))
			if m.cons.phase != consentRevoked || m.typing() {
				t.Fatalf("phase %v typing %v", m.cons.phase, m.typing())
			}
			want := "The building revoked its consent on 2026-11-20. Do not re-sign on the spot: the unit must be decommissioned " +
				"('latchkey unit decommission' with unit LK0000004242 on the cable), and a new consent needs a new job from the office."
			if v := oneLine(ansi.Strip(m.View())); !strings.Contains(v, want) {
				t.Errorf("view does not say %q:\n%s", want, v)
			}
			for _, k := range []string{"enter", "tab", "y", "esc"} {
				if next, cmd := press(t, m, k); cmd != nil || next.cons.phase != consentRevoked {
					t.Errorf("%s: phase %v", k, next.cons.phase)
				}
			}
			if f.called("Terms") || f.called("SignConsent") {
				t.Errorf("calls %v", f.calls)
			}
		}},
		{"leaving before the end is ErrQuit; leaving the summary is not", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepSelfTest), Options{})
			if q, _ := press(t, m, "q"); !errors.Is(q.Err(), ErrQuit) {
				t.Errorf("q at the self-test: %v", q.Err())
			}
			if q, _ := press(t, m, "ctrl+c"); !errors.Is(q.Err(), ErrQuit) {
				t.Errorf("ctrl+c at the self-test: %v", q.Err())
			}
			e, _ := step(t, m, selfTestMsg{err: errDisconnected})
			if q, _ := press(t, e, "q"); !errors.Is(q.Err(), ErrQuit) || !errors.Is(q.Err(), device.ErrDisconnected) {
				t.Errorf("q on an error: %v", q.Err())
			}
			if m.Err() != nil {
				t.Errorf("an error before leaving: %v", m.Err())
			}
			for _, k := range []string{"enter", "q", "ctrl+c"} {
				s := opened(t, newFake().upTo(""), Options{})
				s, _ = press(t, s, k)
				if !s.Quitting() || s.Err() != nil {
					t.Errorf("%s on the summary: quitting %v err %v", k, s.Quitting(), s.Err())
				}
			}
		}},
		{"typing in a text field checks the survey without its photos", func(t *testing.T) {
			f := newFake()
			s := pendingSurvey()
			s.Photos = []survey.Photo{{File: strings.Repeat("ab", 32) + ".jpg", SHA256: strings.Repeat("ab", 32), Caption: "lobby"}}
			f.survey = &s
			m := opened(t, f, Options{})
			d, _ := f.SurveyDraft(context.Background(), jobID)
			m, cmd := step(t, m, draftMsg{s: d})
			m, _ = step(t, m, only[checkMsg](t, cmd))
			m.survey.form.focusKey("notes")
			m, cmd = typeText(t, m, "wet floor")
			msg := only[checkMsg](t, cmd)
			if msg.photosChecked {
				t.Error("a key in the notes checked the photo files")
			}
			if got, ok := f.lastCheck(); !ok || len(got.Photos) != 0 || got.Notes != "wet floor" {
				t.Errorf("CheckSurvey was given %d photos, notes %q", len(got.Photos), got.Notes)
			}
			m, _ = step(t, m, msg)

			// A photo path is looked at when it is typed, and its problem
			// stays while other fields are typed.
			m.survey.form.focusKey(newPhotoKey + "[0].path")
			m, cmd = typeText(t, m, "/no/such/photo.jpg")
			msg = only[checkMsg](t, cmd)
			if !msg.photosChecked || len(msg.photos) != 1 {
				t.Fatalf("photo check %+v", msg)
			}
			m, _ = step(t, m, msg)
			m.survey.form.focusKey("notes")
			m, cmd = typeText(t, m, "!")
			m, _ = step(t, m, only[checkMsg](t, cmd))
			if ps := m.survey.form.problems[newPhotoKey+"[0].path"]; len(ps) != 1 {
				t.Errorf("the photo path's problem went: %v", m.survey.form.problems)
			}
		}},
		{"typing into a copy leaves the original as it was", func(t *testing.T) {
			m := opened(t, newFake(), Options{})
			d, _ := newFake().SurveyDraft(context.Background(), jobID)
			m, _ = step(t, m, draftMsg{s: d})
			before := m.View()
			c, _ := typeText(t, m, " (rear)")
			c, _ = press(t, c, "tab", "right")
			c, _ = step(t, c, tea.WindowSizeMsg{Width: 100, Height: 30})
			c, _ = step(t, c, tea.WindowSizeMsg{Width: 80, Height: 24})
			if m.View() != before {
				t.Errorf("the original changed:\n%s", ansi.Strip(m.View()))
			}
			if c.survey.form.value("building.address") != "12 Elm St, Springfield (rear)" {
				t.Errorf("the copy has %q", c.survey.form.value("building.address"))
			}
			b := burnEight(t)
			before = b.View()
			b2, _ := step(t, b, slotMsg{slot: slotResult(3, "rear door")})
			if b.View() != before || b2.burn.done() != 4 {
				t.Error("a slot burned in the copy shows in the original")
			}
		}},
		{"eight doors and the tour keep the bar and the help line at 80x24", func(t *testing.T) {
			m := burnEight(t)
			v := ansi.Strip(m.View())
			lines := strings.Split(v, "\n")
			if !strings.Contains(lines[len(lines)-1], "q stop and quit") {
				t.Errorf("help line %q", lines[len(lines)-1])
			}
			for _, want := range []string{"3 of 8 slots", "burning…", "Tip: "} {
				if !strings.Contains(v, want) {
					t.Errorf("no %q in\n%s", want, v)
				}
			}
			m, _ = step(t, m, burnedMsg{res: provision.BurnResult{Job: jobID}})
			for i := 3; i < 8; i++ {
				m, _ = step(t, m, slotMsg{slot: slotResult(i, "door")})
			}
			if v := ansi.Strip(m.View()); !strings.Contains(v, "8 of 8 slots") || !strings.Contains(v, "enter continue to the consent") {
				t.Errorf("done:\n%s", v)
			}
		}},
		{"a reopened install that was sent says every record was sent", func(t *testing.T) {
			m := opened(t, newFake().upTo(""), Options{})
			v := oneLine(ansi.Strip(m.View()))
			if !strings.Contains(v, "Records every record was sent") || strings.Contains(v, "'latchkey sync' sends them") {
				t.Errorf("summary:\n%s", ansi.Strip(m.View()))
			}
		}},
		{"refused records are not said to be sent", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepFinish), Options{})
			m, _ = step(t, m, finishMsg{report: "install-report.x"})
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, uploadedMsg{res: flow.Upload{Hub: "http://127.0.0.1:8470", Sent: 5, Refused: 2, Remaining: 1}})
			if v := ansi.Strip(m.View()); strings.Contains(v, "✓ Sent") {
				t.Errorf("upload result:\n%s", v)
			}
			m, _ = press(t, m, "enter")
			v := oneLine(ansi.Strip(m.View()))
			want := "sent 5; the back office refused 2: see 'latchkey outbox list --state rejected'; 1 still waiting in the outbox: 'latchkey sync' sends them"
			if !strings.Contains(v, want) || strings.Contains(v, "sent to http") {
				t.Errorf("summary does not say %q:\n%s", want, ansi.Strip(m.View()))
			}
		}},
		{"n on the label question answers no", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepPair), Options{})
			m, _ = press(t, m, "enter")
			if m.busy == "" {
				t.Fatal("enter did not start the pairing")
			}
			reply := make(chan bool, 1)
			m, _ = step(t, m, askLabelMsg{label: "QRXS-FKZ1", reply: reply})
			if m.pair.phase != pairAsking || m.busy != "" {
				t.Fatalf("phase %v busy %q", m.pair.phase, m.busy)
			}
			m, cmd := press(t, m, "n")
			run(t, cmd)
			if got := <-reply; got {
				t.Error("n answered yes")
			}
			if m.busy == "" {
				t.Error("no progress shown while Pair stops")
			}
		}},
		{"y on the label question answers yes", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepPair), Options{})
			reply := make(chan bool, 1)
			m, _ = step(t, m, askLabelMsg{label: "QRXS-FKZ1", reply: reply})
			_, cmd := press(t, m, "y")
			run(t, cmd)
			if !<-reply {
				t.Error("y answered no")
			}
		}},
		{"other keys leave the label question open", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepPair), Options{})
			reply := make(chan bool, 1)
			m, _ = step(t, m, askLabelMsg{label: "QRXS-FKZ1", reply: reply})
			m, cmd := press(t, m, "enter")
			if cmd != nil || m.pair.phase != pairAsking || len(reply) != 0 {
				t.Error("enter answered the label question")
			}
		}},
		{"Pair's label question comes through its channel", func(t *testing.T) {
			f := newFake().upTo(install.StepPair)
			m := opened(t, f, Options{})
			m, cmd := press(t, m, "enter")
			var ask streamMsg
			for _, msg := range run(t, cmd) {
				if s, ok := msg.(streamMsg); ok {
					ask = s
				}
			}
			a, ok := ask.msg.(askLabelMsg)
			if !ok || a.label != "QRXS-FKZ1" {
				t.Fatalf("first message %#v", ask.msg)
			}
			m, next := step(t, m, ask)
			m, cmd = press(t, m, "y")
			run(t, cmd)
			var done pairedMsg
			for _, msg := range run(t, next) {
				if s, ok := msg.(streamMsg); ok {
					done, _ = s.msg.(pairedMsg)
				}
			}
			if done.err != nil || done.res.Pairing.Serial != "LK0000004242" {
				t.Fatalf("pair result %+v", done)
			}
			m, _ = step(t, m, done)
			if m.pair.phase != pairDone {
				t.Errorf("phase %v", m.pair.phase)
			}
		}},
		{"y on the relay question runs the self-test with the relay", func(t *testing.T) {
			f := newFake().upTo(install.StepSelfTest)
			m := opened(t, f, Options{})
			m, cmd := press(t, m, "y")
			r := only[selfTestMsg](t, cmd)
			if f.relay == nil || !*f.relay || !r.relay {
				t.Fatalf("relay %v", f.relay)
			}
			m, _ = step(t, m, r)
			if m.test.phase != testPassed {
				t.Errorf("phase %v", m.test.phase)
			}
		}},
		{"n on the relay question runs it without", func(t *testing.T) {
			f := newFake().upTo(install.StepSelfTest)
			m := opened(t, f, Options{})
			_, cmd := press(t, m, "n")
			only[selfTestMsg](t, cmd)
			if f.relay == nil || *f.relay {
				t.Fatalf("relay %v", f.relay)
			}
		}},
		{"a failed self-test blocks until r", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepSelfTest), Options{})
			m, _ = press(t, m, "n")
			m, _ = step(t, m, selfTestMsg{res: selfTestResults(false)})
			if m, cmd := press(t, m, "enter"); cmd != nil || m.test.phase != testFailed {
				t.Error("enter went on past a failed self-test")
			}
			m, _ = press(t, m, "r")
			if m.test.phase != testAsk {
				t.Errorf("r: phase %v", m.test.phase)
			}
		}},
		{"a blocked self-test on resume shows the failure", func(t *testing.T) {
			f := newFake().upTo(install.StepSelfTest)
			f.states[install.StepSelfTest] = install.Blocked
			m := opened(t, f, Options{})
			if m.screen != scrSelfTest || m.test.phase != testFailed {
				t.Errorf("screen %v phase %v", m.screen, m.test.phase)
			}
		}},
		{"enter on the terms before the end does nothing", func(t *testing.T) {
			f := newFake().upTo(install.StepConsent)
			m := opened(t, f, Options{})
			m, _ = step(t, m, consentLoadedMsg{defaults: f.ConsentDefaults(), err: install.ErrNoConsent})
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, termsMsg{terms: testTerms()})
			m, _ = press(t, m, "pgdown", "enter")
			if m.cons.phase != consentTerms || m.cons.readToEnd {
				t.Fatalf("phase %v read %v", m.cons.phase, m.cons.readToEnd)
			}
			for range 40 {
				m, _ = press(t, m, "pgdown")
			}
			m, _ = press(t, m, "pgup", "pgup")
			if !m.cons.readToEnd {
				t.Fatal("scrolled to the end but not marked read")
			}
			m, _ = press(t, m, "enter")
			if m.cons.phase != consentSigner {
				t.Errorf("phase %v after reading to the end", m.cons.phase)
			}
		}},
		{"a bad consent input stays on the form", func(t *testing.T) {
			f := newFake().upTo(install.StepConsent)
			m := opened(t, f, Options{})
			m, _ = step(t, m, consentLoadedMsg{defaults: flow.ConsentInput{Lang: "en"}, err: install.ErrNoConsent})
			m, cmd := press(t, m, "enter")
			m, _ = step(t, m, only[termsMsg](t, cmd))
			if m.fail != nil || m.cons.phase != consentInput || !strings.Contains(m.cons.note, "operator") {
				t.Errorf("fail %v phase %v note %q", m.fail, m.cons.phase, m.cons.note)
			}
		}},
		{"the signer must confirm authority", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepConsent), Options{})
			m.cons = consentState{phase: consentSigner, signer: signerForm(80), typed: typedForm(80), terms: testTerms()}
			m.busy = ""
			m, _ = typeText(t, m, "Ana Ruiz")
			m, _ = press(t, m, "tab")
			m, _ = typeText(t, m, "Owner")
			m, _ = press(t, m, "tab", "right", "enter")
			if m.cons.phase != consentSigner || len(m.cons.signer.problems["confirm"]) == 0 {
				t.Fatalf("phase %v problems %v", m.cons.phase, m.cons.signer.problems)
			}
			m, _ = press(t, m, "y", "enter")
			if m.cons.phase != consentIntent {
				t.Errorf("phase %v", m.cons.phase)
			}
		}},
		{"a typed name that differs is refused on screen", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepConsent), Options{})
			m.cons = consentState{phase: consentIntent, signer: signerForm(80), typed: typedForm(80), terms: testTerms()}
			m.busy = ""
			m.cons.signer.setValue("name", "Ana Ruiz")
			m, _ = typeText(t, m, "Ann Ruiz")
			m, cmd := press(t, m, "enter")
			if cmd != nil || m.cons.phase != consentIntent || len(m.cons.typed.problems["typed"]) == 0 {
				t.Fatalf("phase %v problems %v", m.cons.phase, m.cons.typed.problems)
			}
			m, _ = press(t, m, "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace")
			m, _ = typeText(t, m, "ana  RUIZ")
			m, _ = press(t, m, "enter")
			if m.cons.phase != consentAgree {
				t.Errorf("phase %v", m.cons.phase)
			}
			m, _ = press(t, m, "n")
			if m.cons.phase != consentInput || m.cons.note != "Nothing was signed." {
				t.Errorf("n: phase %v note %q", m.cons.phase, m.cons.note)
			}
		}},
		{"q in a text field types q", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepConsent), Options{})
			m.cons = consentState{phase: consentIntent, signer: signerForm(80), typed: typedForm(80), terms: testTerms()}
			m.busy = ""
			m, cmd := press(t, m, "q")
			if m.quitting || cmd != nil || m.cons.typed.value("typed") != "q" {
				t.Errorf("quitting %v value %q", m.quitting, m.cons.typed.value("typed"))
			}
		}},
		{"q on the job list quits and cancels running calls", func(t *testing.T) {
			m := newTest(newFake(), Options{})
			m, _ = step(t, m, jobsMsg{items: nil})
			m, cmd := press(t, m, "q")
			if _, ok := cmd().(tea.QuitMsg); !ok || !m.Quitting() {
				t.Fatal("q did not quit")
			}
			if m.ctx.Err() == nil {
				t.Error("context not cancelled")
			}
			if m.View() != "" {
				t.Error("a view after quitting")
			}
		}},
		{"ctrl+c quits from a form", func(t *testing.T) {
			m := opened(t, newFake(), Options{})
			m, cmd := press(t, m, "ctrl+c")
			if _, ok := cmd().(tea.QuitMsg); !ok || !m.Quitting() {
				t.Fatal("ctrl+c did not quit")
			}
			if r := m.Result(); r.Job != jobID || r.Finished {
				t.Errorf("result %+v", r)
			}
			if !errors.Is(m.Err(), ErrQuit) {
				t.Errorf("err %v, want ErrQuit", m.Err())
			}
		}},
		{"expired jobs cannot be picked", func(t *testing.T) {
			old := testJob()
			old.ID = "00000000-0000-4000-8000-00000000000e"
			m := newTest(newFake(), Options{})
			m, _ = step(t, m, jobsMsg{items: []flow.JobItem{{Job: old, Expired: true}, {Job: testJob(), Next: install.StepSurvey}}})
			if m.jobs.cursor != 1 {
				t.Fatalf("cursor %d", m.jobs.cursor)
			}
			m, _ = press(t, m, "up")
			if m.jobs.cursor != 1 {
				t.Fatalf("cursor moved onto an expired job")
			}
			m, cmd := press(t, m, "enter")
			msg := only[jobChosenMsg](t, cmd)
			if msg.job.ID != jobID {
				t.Fatalf("opened %q", msg.job.ID)
			}
			m, _ = step(t, m, msg)
			if m.screen != scrSurvey {
				t.Errorf("screen %v", m.screen)
			}
		}},
		{"--job opens the job at its first step not done", func(t *testing.T) {
			f := newFake().upTo(install.StepBurn)
			m := newTest(f, Options{Job: "3f2a9c1d"})
			m, _ = step(t, m, only[jobChosenMsg](t, m.Init()))
			if m.screen != scrBurn || m.Result().Job != jobID {
				t.Errorf("screen %v result %+v", m.screen, m.Result())
			}
		}},
		{"--resume with nothing to resume lists the jobs", func(t *testing.T) {
			m := newTest(newFake(), Options{Resume: true})
			m, cmd := step(t, m, only[resumeMsg](t, m.Init()))
			m, _ = step(t, m, only[jobsMsg](t, cmd))
			if m.screen != scrJobs || !strings.Contains(m.jobs.note, "no unfinished install") {
				t.Errorf("screen %v note %q", m.screen, m.jobs.note)
			}
		}},
		{"--resume continues the started install", func(t *testing.T) {
			f := newFake().upTo(install.StepConsent)
			m := newTest(f, Options{Resume: true})
			m, cmd := step(t, m, only[resumeMsg](t, m.Init()))
			m, _ = step(t, m, only[jobChosenMsg](t, cmd))
			if m.screen != scrConsent {
				t.Errorf("screen %v", m.screen)
			}
		}},
		{"a survey the save refuses shows its problems on the form", func(t *testing.T) {
			m := opened(t, newFake(), Options{})
			d, _ := newFake().SurveyDraft(context.Background(), jobID)
			m, _ = step(t, m, draftMsg{s: d})
			m, cmd := press(t, m, "enter")
			m, _ = step(t, m, only[savedMsg](t, cmd))
			if m.fail != nil || m.survey.phase != surveyForm || m.survey.form.problemCount() == 0 || !strings.HasPrefix(m.survey.note, "Not saved") {
				t.Errorf("fail %v phase %v note %q", m.fail, m.survey.phase, m.survey.note)
			}
		}},
		{"a number that is not one is the form's own problem", func(t *testing.T) {
			m := opened(t, newFake(), Options{})
			d, _ := newFake().SurveyDraft(context.Background(), jobID)
			m, _ = step(t, m, draftMsg{s: d})
			m, _ = press(t, m, "tab")
			m, _ = typeText(t, m, "six")
			m = checked(t, m)
			ps := m.survey.form.problems["building.floors"]
			if len(ps) != 1 || !strings.Contains(ps[0], "not a whole number") {
				t.Errorf("problems %v", ps)
			}
			if _, cmd := press(t, m, "enter"); cmd != nil {
				t.Error("saved a survey with an unreadable number")
			}
		}},
		{"an old check answer is dropped", func(t *testing.T) {
			m := opened(t, newFake(), Options{})
			d, _ := newFake().SurveyDraft(context.Background(), jobID)
			m, _ = step(t, m, draftMsg{s: d})
			m.survey.gen = 5
			m, _ = step(t, m, checkMsg{gen: 4, probs: []survey.Problem{{Path: "notes", Message: "stale"}}})
			if len(m.survey.form.problems["notes"]) != 0 {
				t.Error("a stale check was shown")
			}
		}},
		{"a no-go verdict takes an override of 10 characters or more", func(t *testing.T) {
			f := newFake()
			s := noGoSurvey()
			f.survey = &s
			f.states[install.StepSurvey] = install.Blocked
			m := opened(t, f, Options{})
			d, _ := f.SurveyDraft(context.Background(), jobID)
			m, _ = step(t, m, draftMsg{s: d})
			if m.survey.phase != surveyVerdict || m.survey.verdict.Outcome != survey.NoGo {
				t.Fatalf("phase %v verdict %v", m.survey.phase, m.survey.verdict.Outcome)
			}
			if _, cmd := press(t, m, "enter"); cmd != nil {
				t.Fatal("enter went on past a no-go")
			}
			m, _ = press(t, m, "o")
			m, _ = typeText(t, m, "too short")
			m, cmd := press(t, m, "enter")
			if cmd != nil || len(m.survey.override.problems["reason"]) == 0 {
				t.Fatal("a short reason was sent")
			}
			m, _ = typeText(t, m, " - the owner chose a new door")
			m, cmd = press(t, m, "enter")
			m, _ = step(t, m, only[savedMsg](t, cmd))
			if m.survey.overridden == nil || f.override == "" {
				t.Fatalf("override not recorded")
			}
			if _, cmd := press(t, m, "enter"); cmd == nil {
				t.Error("enter does not go on after the override")
			}
		}},
		{"burn progress marks each slot", func(t *testing.T) {
			f := newFake().upTo(install.StepBurn)
			m := opened(t, f, Options{})
			_, load := m.enterBurn()
			m, _ = step(t, m, only[planMsg](t, load))
			m, cmd := press(t, m, "enter")
			if m.burn.phase != burnRunning {
				t.Fatalf("phase %v", m.burn.phase)
			}
			// Burn reports each slot on the stream, then its result.
			next := cmd
			for i := 0; i < 10 && next != nil; i++ {
				var s streamMsg
				for _, msg := range run(t, next) {
					if x, ok := msg.(streamMsg); ok {
						s = x
					}
				}
				if s.ch == nil {
					break
				}
				m, next = step(t, m, s)
			}
			if m.burn.phase != burnDone || m.burn.done() != 2 {
				t.Errorf("phase %v done %d", m.burn.phase, m.burn.done())
			}
		}},
		{"a burn plan with every slot done is done", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepBurn), Options{})
			m, _ = step(t, m, planMsg{plan: flow.BurnPlan{Doors: []string{"lobby"}, Done: []provision.SlotResult{slotResult(0, "lobby")}}})
			if m.burn.phase != burnDone {
				t.Errorf("phase %v", m.burn.phase)
			}
		}},
		{"an error screen retries with r and goes back with esc", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepBurn), Options{})
			m, _ = step(t, m, planMsg{plan: flow.BurnPlan{Doors: []string{"lobby", "garage"}}})
			m, _ = press(t, m, "enter")
			m, _ = step(t, m, burnedMsg{err: errDisconnected})
			if m.fail == nil || !strings.Contains(errorAdvice(m.fail.err), "Reconnect the cable") {
				t.Fatalf("fail %+v", m.fail)
			}
			if _, cmd := press(t, m, "enter"); cmd != nil {
				t.Error("enter acted on the error screen")
			}
			r, cmd := press(t, m, "r")
			if r.fail != nil || cmd == nil || r.burn.phase != burnRunning {
				t.Error("r did not burn again")
			}
			e, _ := press(t, m, "esc")
			if e.fail != nil || e.burn.phase != burnPlan {
				t.Errorf("esc: fail %v phase %v", e.fail, e.burn.phase)
			}
		}},
		{"the upload offline keeps the records and fills the result", func(t *testing.T) {
			f := newFake().upTo(install.StepFinish)
			f.offline = true
			m := opened(t, f, Options{})
			_, load := m.enterUpload()
			m, _ = step(t, m, only[finishMsg](t, load))
			m, cmd := press(t, m, "enter")
			var up uploadedMsg
			for next := cmd; next != nil; {
				var s streamMsg
				for _, msg := range run(t, next) {
					if x, ok := msg.(streamMsg); ok {
						s = x
					}
				}
				if s.ch == nil {
					break
				}
				if u, ok := s.msg.(uploadedMsg); ok {
					up = u
				}
				m, next = step(t, m, s)
			}
			if !up.res.Offline {
				t.Fatalf("upload %+v", up)
			}
			m, _ = press(t, m, "enter")
			m, cmd = press(t, m, "enter")
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Fatal("enter on the summary did not leave")
			}
			r := m.Result()
			if !r.Finished || !r.Uploaded || !r.Upload.Offline || r.Report == "" || r.Job != jobID {
				t.Errorf("result %+v", r)
			}
		}},
		{"l leaves the records queued", func(t *testing.T) {
			m := opened(t, newFake().upTo(install.StepFinish), Options{})
			m, _ = step(t, m, finishMsg{report: "install-report.x"})
			m, cmd := press(t, m, "l")
			if cmd != nil || m.screen != scrSummary || m.Result().Uploaded {
				t.Errorf("screen %v result %+v", m.screen, m.Result())
			}
		}},
		{"a finished job opens at the summary", func(t *testing.T) {
			f := newFake().upTo("")
			m := opened(t, f, Options{})
			if m.screen != scrSummary {
				t.Errorf("screen %v", m.screen)
			}
		}},
		{"a notice posted without a photo stays on the form", func(t *testing.T) {
			f := newFake().upTo(install.StepNotice)
			m := opened(t, f, Options{})
			m, _ = step(t, m, noticeLoadedMsg{defaults: f.NoticeDefaults(), lang: "en"})
			m, _ = step(t, m, printedMsg{printed: printed()})
			m, _ = press(t, m, "enter")
			m, cmd := press(t, m, "enter")
			m, _ = step(t, m, only[recordedMsg](t, cmd))
			if m.fail != nil || m.notice.phase != noticeRecord || !strings.Contains(m.notice.note, "photo") {
				t.Errorf("fail %v phase %v note %q", m.fail, m.notice.phase, m.notice.note)
			}
		}},
		{"a mailed notice asks for households, and a bad date stays on the form", func(t *testing.T) {
			f := newFake().upTo(install.StepNotice)
			m := opened(t, f, Options{})
			m, _ = step(t, m, noticeLoadedMsg{defaults: f.NoticeDefaults(), lang: "en"})
			m, _ = step(t, m, printedMsg{printed: printed()})
			m, _ = press(t, m, "enter", "right")
			if m.notice.given.value("how") != "mailed" || !m.notice.given.fields[m.notice.given.index("photo")].hidden {
				t.Fatalf("how %q", m.notice.given.value("how"))
			}
			m, _ = press(t, m, "tab")
			m, _ = typeText(t, m, "x")
			m, cmd := press(t, m, "enter")
			if cmd != nil || len(m.notice.given.problems["given_at"]) == 0 {
				t.Fatalf("problems %v", m.notice.given.problems)
			}
			m, _ = press(t, m, "backspace", "tab")
			m, _ = typeText(t, m, "24")
			m, cmd = press(t, m, "enter")
			m, _ = step(t, m, only[recordedMsg](t, cmd))
			if m.notice.phase != noticeDone || m.notice.rec.How != "mailed" || !m.notice.rec.GivenAt.Equal(at) {
				t.Errorf("phase %v rec %+v", m.notice.phase, m.notice.rec)
			}
		}},
		{"a Driver error is a screen with advice", func(t *testing.T) {
			f := newFake().upTo(install.StepConsent)
			m := opened(t, f, Options{})
			m, _ = step(t, m, signedMsg{err: fmt.Errorf("%w: show the terms again", flow.ErrTermsChanged)})
			if m.fail == nil || m.fail.retry == nil || !strings.Contains(errorAdvice(m.fail.err), "terms changed") {
				t.Fatalf("fail %+v", m.fail)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t)
		})
	}
}

func TestErrorAdvice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{flow.ErrLabelMismatch, "Do not install this unit"},
		{flow.ErrWrongUnit, "Connect the unit that was paired"},
		{fmt.Errorf("x: %w", install.ErrNotReady), "not done"},
		{install.ErrConsentNotReady, "before the consent"},
		{install.ErrSelfTestFailed, "self-test"},
		{flow.ErrNameMismatch, "type their own name"},
		{errDisconnected, "Reconnect the cable"},
		{fmt.Errorf("read status: %w", device.ErrTimeout), "Reconnect the cable"},
		{context.Canceled, "stopped"},
		{errors.New("disk full"), "Press r to try again"},
	} {
		if got := errorAdvice(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("errorAdvice(%v) = %q, want it to say %q", tt.err, got, tt.want)
		}
	}
}
