package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/tui/styles"
)

// Run runs the full-screen wizard (alt screen) on in/out until the
// installer leaves. Leaving before the install is finished and its upload
// step has ended (q / ctrl+c; progress is kept) returns an error wrapping
// ErrQuit, as RunPlain does, so the caller can say how to resume; leaving
// from the final summary returns nil.
func Run(ctx context.Context, d Driver, o Options, in io.Reader, out io.Writer) (Result, error) {
	m := New(ctx, d, o)
	defer m.cancel()
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen())
	final, err := p.Run()
	fm, ok := final.(Model)
	if !ok {
		fm = m
	}
	if err == nil {
		err = fm.Err()
	}
	return fm.Result(), err
}

// New returns the root model (for tests and Run), sized 80x24 until a
// WindowSizeMsg arrives.
func New(ctx context.Context, d Driver, o Options) Model {
	ctx, cancel := context.WithCancel(ctx)
	sp := spinner.New(spinner.WithSpinner(spinner.Line))
	st := styles.DefaultStyles(o.NoColor)
	sp.Style = st.Title
	m := Model{ctx: ctx, cancel: cancel, d: d, o: o, st: st, now: time.Now, width: 80, height: 24, spin: sp, screen: scrStart}
	// What Init starts, shown until it answers.
	switch {
	case o.Job != "":
		m.busy = "opening the job…"
	case o.Resume:
		m.busy = "finding the install to resume…"
	default:
		m.busy = "reading the jobs on this laptop…"
	}
	return m
}

// screen is the step the wizard shows.
type screen int

const (
	scrStart screen = iota // opening the job given or the install to resume
	scrJobs
	scrSurvey
	scrPair
	scrSelfTest
	scrBurn
	scrConsent
	scrNotice
	scrUpload
	scrSummary
)

// Model is the wizard: the job, where its install stands, the screen of
// the current step and its state. Every step's work is a Driver call run in
// a tea.Cmd; Update only records what came back.
type Model struct {
	ctx    context.Context
	cancel context.CancelFunc
	d      Driver
	o      Options
	st     styles.Styles
	now    func() time.Time
	loc    *time.Location // where times are read and shown; nil is time.Local
	width  int
	height int

	screen   screen
	job      install.Job
	chosen   bool
	status   install.Status
	busy     string // what a running Driver call does, "" when none runs
	spin     spinner.Model
	fail     *failure
	quitting bool
	quitErr  error // why the wizard left early: wraps ErrQuit; nil once done
	result   Result

	jobs   jobsState
	survey surveyState
	pair   pairState
	test   testState
	burn   burnState
	cons   consentState
	notice noticeState
	up     uploadState
}

// failure is a Driver error shown as a screen: what was being done, the
// error, and how to try again.
type failure struct {
	doing string
	err   error
	retry func(Model) (Model, tea.Cmd) // nil: r does nothing
	back  func(Model) (Model, tea.Cmd) // nil: esc returns to the screen as it was
}

// Result is where the wizard left the install.
func (m Model) Result() Result {
	r := m.result
	if m.chosen {
		r.Job = m.job.ID
	}
	return r
}

// Quitting reports whether the installer asked to leave.
func (m Model) Quitting() bool { return m.quitting }

// Err is how the wizard was left: an error wrapping ErrQuit (and the error
// on screen, if one was) when the installer left before the end, nil when
// they left from the final summary or have not left.
func (m Model) Err() error { return m.quitErr }

// ended reports whether the install is as far as the wizard takes it: the
// final summary, or the upload's result, is on screen.
func (m Model) ended() bool {
	return m.fail == nil && (m.screen == scrSummary || (m.screen == scrUpload && m.up.phase == uploadDone))
}

// Messages the Driver calls come back with.
type (
	jobsMsg struct {
		items []flow.JobItem
		note  string
		err   error
	}
	resumeMsg struct {
		id  string
		err error
	}
	jobChosenMsg struct {
		job install.Job
		st  install.Status
		err error
	}
	statusMsg struct {
		st      install.Status
		advance bool // go to the first step not done
		err     error
	}
	// streamMsg is one message of a Driver call that reports as it goes
	// (the label question, burn and upload progress), with the channel the
	// next comes on.
	streamMsg struct {
		ch  <-chan tea.Msg
		msg tea.Msg
	}
)

// listen waits for the next message of a streaming call; a closed channel
// ends the stream.
func listen(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return streamMsg{ch: ch, msg: msg}
	}
}

// send delivers msg unless the wizard is leaving.
func send(ctx context.Context, ch chan<- tea.Msg, msg tea.Msg) bool {
	select {
	case ch <- msg:
		return true
	case <-ctx.Done():
		return false
	}
}

// stream runs work in its own goroutine, its messages going to the model
// one at a time through a channel.
func stream(ctx context.Context, work func(emit func(tea.Msg) bool)) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan tea.Msg, 1)
		go func() {
			defer close(ch)
			work(func(msg tea.Msg) bool { return send(ctx, ch, msg) })
		}()
		return listen(ch)()
	}
}

// Init opens the job given, the install to resume, or the job list.
func (m Model) Init() tea.Cmd {
	switch {
	case m.o.Job != "":
		return tea.Batch(m.chooseJob(m.o.Job), m.spin.Tick)
	case m.o.Resume:
		ctx, d := m.ctx, m.d
		return tea.Batch(func() tea.Msg {
			id, err := d.Resume(ctx)
			return resumeMsg{id: id, err: err}
		}, m.spin.Tick)
	}
	return tea.Batch(m.loadJobs(""), m.spin.Tick)
}

func (m Model) loadJobs(note string) tea.Cmd {
	ctx, d := m.ctx, m.d
	return func() tea.Msg {
		items, err := d.Jobs(ctx)
		return jobsMsg{items: items, note: note, err: err}
	}
}

func (m Model) chooseJob(ref string) tea.Cmd {
	ctx, d := m.ctx, m.d
	return func() tea.Msg {
		job, err := d.Job(ctx, ref)
		if err != nil {
			return jobChosenMsg{err: err}
		}
		st, err := d.Status(ctx, job.ID)
		return jobChosenMsg{job: job, st: st, err: err}
	}
}

func (m Model) refreshStatus(advance bool) tea.Cmd {
	ctx, d, job := m.ctx, m.d, m.job.ID
	return func() tea.Msg {
		st, err := d.Status(ctx, job)
		return statusMsg{st: st, advance: advance, err: err}
	}
}

// working marks a Driver call as running and starts the spinner.
func (m Model) working(what string, cmd tea.Cmd) (Model, tea.Cmd) {
	m.busy = what
	return m, tea.Batch(cmd, m.spin.Tick)
}

// advance asks where the install stands and goes to the first step not
// done.
func (m Model) advance() (Model, tea.Cmd) {
	return m.working("checking where the install stands…", m.refreshStatus(true))
}

// failed shows err as a screen.
func (m Model) failed(doing string, err error, retry func(Model) (Model, tea.Cmd)) Model {
	m.busy = ""
	m.fail = &failure{doing: doing, err: err, retry: retry}
	return m
}

// resumeStep is the step to show for st: the first not done, where a survey
// waiting for its signal reading goes to the pair step, which measures it:
// by pairing the unit, or, when the unit is paired already and only the
// reading was lost (a kill between the two), by reading the signal again;
// and finishing is part of the upload screen.
func resumeStep(st install.Status) install.Step {
	cur := flow.Current(st)
	switch cur {
	case install.StepSurvey:
		if flow.StepOf(st, install.StepSurvey).State == install.Partial {
			return install.StepPair
		}
	case install.StepFinish:
		return install.StepUpload
	}
	return cur
}

// enter shows step's screen and starts what it needs.
func (m Model) enter(step install.Step) (Model, tea.Cmd) {
	m.busy, m.fail = "", nil
	switch step {
	case install.StepJob:
		m.screen = scrJobs
		return m.working("reading the jobs on this laptop…", m.loadJobs(""))
	case install.StepSurvey:
		m.screen = scrSurvey
		return m.enterSurvey()
	case install.StepPair:
		m.screen = scrPair
		m.pair = pairState{measure: flow.StepOf(m.status, install.StepPair).State == install.Done}
		return m, nil
	case install.StepSelfTest:
		m.screen = scrSelfTest
		m.test = testState{}
		if s := flow.StepOf(m.status, install.StepSelfTest); s.State == install.Blocked {
			m.test.phase = testFailed
			m.test.detail = s.Detail
		}
		return m, nil
	case install.StepBurn:
		m.screen = scrBurn
		return m.enterBurn()
	case install.StepConsent:
		m.screen = scrConsent
		return m.enterConsent()
	case install.StepNotice:
		m.screen = scrNotice
		return m.enterNotice()
	case install.StepUpload, install.StepFinish:
		m.screen = scrUpload
		return m.enterUpload()
	}
	m.screen = scrSummary
	if m.status.Finished {
		m.result.Finished, m.result.Report = true, flow.StepOf(m.status, install.StepFinish).Detail
	}
	return m, nil
}

// Update handles the terminal size, keys and what Driver calls return.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		// A terminal that reports no size keeps the 80x24 default.
		if msg.Width > 0 && msg.Height > 0 {
			m.width, m.height = max(msg.Width, minWidth), max(msg.Height, minHeight)
		}
		return m.resized(), nil
	case spinner.TickMsg:
		if m.busy == "" {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case streamMsg:
		next, cmd := m.Update(msg.msg)
		return next, tea.Batch(cmd, listen(msg.ch))
	case tea.KeyMsg:
		return m.key(msg)
	case jobsMsg:
		m.busy = ""
		if msg.err != nil {
			return m.failed("read the jobs on this laptop", msg.err, func(m Model) (Model, tea.Cmd) {
				return m.working("reading the jobs on this laptop…", m.loadJobs(msg.note))
			}), nil
		}
		m.screen = scrJobs
		m.jobs = newJobsState(msg.items, msg.note)
		return m, nil
	case resumeMsg:
		if errors.Is(msg.err, flow.ErrNothingToResume) {
			m.screen = scrJobs
			return m.working("reading the jobs on this laptop…", m.loadJobs("There is no unfinished install to resume. Pick a job to start one."))
		}
		if msg.err != nil {
			return m.failed("find the install to resume", msg.err, func(m Model) (Model, tea.Cmd) {
				return m.working("finding the install to resume…", m.Init())
			}), nil
		}
		return m.working("opening the job…", m.chooseJob(msg.id))
	case jobChosenMsg:
		m.busy = ""
		if msg.err != nil {
			m = m.failed("open the job", msg.err, nil)
			m.fail.back = func(m Model) (Model, tea.Cmd) {
				return m.enter(install.StepJob)
			}
			return m, nil
		}
		m.job, m.status, m.chosen = msg.job, msg.st, true
		return m.enter(resumeStep(msg.st))
	case statusMsg:
		if !msg.advance {
			// A refresh of the step list after a step: the next advance
			// reads the status again and shows any error.
			if msg.err == nil {
				m.status = msg.st
			}
			return m, nil
		}
		m.busy = ""
		if msg.err != nil {
			return m.failed("read where the install stands", msg.err, func(m Model) (Model, tea.Cmd) {
				return m.advance()
			}), nil
		}
		m.status = msg.st
		return m.enter(resumeStep(msg.st))
	}
	return m.stepMsg(msg)
}

// stepMsg passes a step's own messages to its screen.
func (m Model) stepMsg(msg tea.Msg) (Model, tea.Cmd) {
	for _, screen := range []func(tea.Msg) (Model, tea.Cmd, bool){
		m.surveyMsg, m.pairMsg, m.testMsg, m.burnMsg, m.consentMsg, m.noticeMsg, m.uploadMsg,
	} {
		if next, cmd, ok := screen(msg); ok {
			return next, cmd
		}
	}
	return m, nil
}

// quit leaves the wizard: running Driver calls are cancelled; every step
// finished is saved already.
func (m Model) quit() (Model, tea.Cmd) {
	m.quitting = true
	switch {
	case m.ended():
	case m.fail != nil:
		m.quitErr = fmt.Errorf("%w: %w", ErrQuit, m.fail.err)
	default:
		m.quitErr = ErrQuit
	}
	m.cancel()
	return m, tea.Quit
}

// key handles a key: ctrl+c always leaves; an error screen takes r, esc and
// q; otherwise the screen's own keys, with q leaving where no text is typed.
func (m Model) key(msg tea.KeyMsg) (Model, tea.Cmd) {
	k := msg.String()
	if k == "ctrl+c" {
		return m.quit()
	}
	if m.fail != nil {
		switch k {
		case "q":
			return m.quit()
		case "r":
			if f := m.fail; f.retry != nil {
				m.fail = nil
				return f.retry(m)
			}
		case "esc":
			f := m.fail
			m.fail = nil
			if f.back != nil {
				return f.back(m)
			}
		}
		return m, nil
	}
	if m.busy != "" {
		// A Driver call runs: only leaving is possible (it is cancelled).
		if k == "q" {
			return m.quit()
		}
		return m, nil
	}
	if k == "q" && !m.typing() {
		return m.quit()
	}
	switch m.screen {
	case scrJobs:
		return m.jobsKey(msg)
	case scrSurvey:
		return m.surveyKey(msg)
	case scrPair:
		return m.pairKey(msg)
	case scrSelfTest:
		return m.testKey(msg)
	case scrBurn:
		return m.burnKey(msg)
	case scrConsent:
		return m.consentKey(msg)
	case scrNotice:
		return m.noticeKey(msg)
	case scrUpload:
		return m.uploadKey(msg)
	case scrSummary:
		if k == "enter" {
			return m.quit()
		}
	}
	return m, nil
}

// typing reports whether a form is on screen: there q is typed, and only
// ctrl+c leaves.
func (m Model) typing() bool {
	switch m.screen {
	case scrSurvey:
		return m.survey.typing()
	case scrConsent:
		return m.cons.typing()
	case scrNotice:
		return m.notice.typing()
	}
	return false
}

// resized fits the screens' widgets into the new size.
func (m Model) resized() Model {
	w := m.width
	m.survey.form.resize(w)
	m.survey.override.resize(w)
	m.cons.input.resize(w)
	m.cons.signer.resize(w)
	m.cons.typed.resize(w)
	m.notice.facts.resize(w)
	m.notice.given.resize(w)
	m.cons.fitTerms(w, m.termsHeight())
	return m
}
