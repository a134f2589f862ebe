package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/humantime"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/survey"
	"github.com/latchkey/latchkey/internal/tui/forms"
)

// ErrQuit is returned when the installer leaves the install (answers q, or
// the input ends): every step done so far was saved by the Driver, so
// `latchkey install --resume` continues where it stopped. The error wraps
// the one that made the installer leave, if any.
var ErrQuit = errors.New("left the install; what was done is kept")

// NextStep says what to do about err, an error of a Driver call, in words
// for the installer on site: the text after "Next:" in --plain mode and
// under an error on the full screen. Retrying is answering r (plain) or
// pressing r (full screen).
func NextStep(err error) string { return advice(err, true) }

// Errors of the plain mode's own questions.
var (
	errPlainNotAgreed   = errors.New("the manager did not agree to the terms; nothing was signed")
	errPlainNoAuthority = errors.New("the signer has no authority to sign for this building; nothing was signed")
	errPlainNoJobs      = errors.New("there are no jobs on this laptop: pull them with 'latchkey jobs pull' while online")
)

// plainSteps is how many steps the installer is told there are: job,
// survey, pair, self-test, burn, consent, notice, and finish with upload.
const plainSteps = 8

// plainHints are the --tour hints, one or two lines each.
var plainHints = map[install.Step]string{
	install.StepJob:      "A job is a building the office sent you. The list is what was pulled the last time you were online, so it works offline.",
	install.StepSurvey:   "The survey records the building's doors, locks, wiring and power. Each answer is checked as you give it, and latchkey says whether the install can go ahead.",
	install.StepPair:     "Pairing proves the unit is genuine (its manufacturer signed it) and that it is the box in your hand, then measures the mobile signal where it will be mounted.",
	install.StepSelfTest: "The self-test checks the tamper switch, the power supply and the modem. The relay test really opens the door, so run it only with someone there.",
	install.StepBurn:     "Burning writes each door's key into the unit, sealed so only this unit can open it; the unit signs a receipt for each door. After a pulled cable it finishes what is missing.",
	install.StepConsent:  "The building manager reads the terms on this screen and signs by typing their name; the unit countersigns the record.",
	install.StepNotice:   "Tenants must be told before any courier can enter. Print the notice, give it to tenants, then record how you gave it.",
	install.StepFinish:   "Finishing queues a signed install report. Every record waits in an outbox on this laptop until it is sent, so nothing is lost offline.",
	install.StepUpload:   "Sending needs the network; without it the records stay queued for 'latchkey sync'.",
}

// RunPlain walks the install as plain lines on out, reading one answer per
// line from in: no colour, no cursor movement, no box drawing, prompts that
// end in ": " or "? [y/n] ", so a screen reader reads it in order and a
// dumb terminal or a pipe can drive it. It starts where the install
// stands; leaving (q, or the end of in) returns an error wrapping ErrQuit.
func RunPlain(ctx context.Context, d Driver, o Options, in io.Reader, out io.Writer) (Result, error) {
	return runPlain(ctx, d, o, in, out, time.Now)
}

func runPlain(ctx context.Context, d Driver, o Options, in io.Reader, out io.Writer, now func() time.Time) (Result, error) {
	w := &plainWriter{w: out}
	lines := forms.NewLinesContext(ctx, in, w)
	defer lines.Close()
	p := &plainRun{ctx: ctx, d: d, o: o, w: w, lines: lines, now: now}
	err := p.run()
	p.res.Job = p.job
	return p.res, err
}

// plainWriter drops control characters (ESC above all) from what is
// written, so nothing a job packet, a unit or an error message holds can
// move the cursor or colour the screen; line breaks and tabs stay.
type plainWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *plainWriter) Write(b []byte) (int, error) {
	clean := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, string(b))
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := io.WriteString(w.w, clean); err != nil {
		return 0, err
	}
	return len(b), nil
}

// plainRun is one run of the plain mode.
type plainRun struct {
	ctx   context.Context
	d     Driver
	o     Options
	w     io.Writer
	lines *forms.Lines
	now   func() time.Time

	job     string
	doors   []string
	res     Result
	headed8 bool // the header of step 8 (finish and upload) was said
}

func (p *plainRun) say(format string, args ...any) {
	fmt.Fprintf(p.w, format+"\n", args...)
}

// quit is the error of leaving after cause (nil: the installer chose to).
func (p *plainRun) quit(cause error) error {
	switch {
	case cause == nil:
		return ErrQuit
	case errors.Is(cause, ErrQuit):
		return cause
	case errors.Is(cause, io.EOF):
		p.say("")
		p.say("The input ended: leaving the install. What was done is kept.")
		return fmt.Errorf("%w (the input ended)", ErrQuit)
	case p.ctx.Err() != nil && errors.Is(cause, p.ctx.Err()):
		p.say("")
		p.say("Stopped: leaving the install. What was done is kept.")
	}
	return fmt.Errorf("%w: %w", ErrQuit, cause)
}

// answer turns an error reading an answer into leaving.
func (p *plainRun) answer(err error) error {
	if err == nil {
		return nil
	}
	return p.quit(err)
}

// again says what went wrong and what to do, and asks whether to retry:
// nil to retry, else the error to leave with.
func (p *plainRun) again(err error) error {
	if errors.Is(err, ErrQuit) {
		return err
	}
	if p.ctx.Err() != nil {
		return p.quit(err)
	}
	p.say("Error: %s", err)
	p.say("Next: %s", NextStep(err))
	for {
		a, rerr := p.lines.Ask("Retry, or quit? [r/q] ")
		if rerr != nil {
			return p.quit(rerr)
		}
		switch strings.ToLower(a) {
		case "r", "retry":
			return nil
		case "q", "quit":
			return p.quit(err)
		}
		p.say("Answer r to retry or q to quit.")
	}
}

// try runs fn until it succeeds, the installer quits, or it fails with an
// error that wraps ErrQuit. fn asks its questions again on each run, with
// the earlier answers as defaults.
func (p *plainRun) try(fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if err := p.again(err); err != nil {
			return err
		}
	}
}

// plainCall is a Driver call retried as try does.
func plainCall[T any](p *plainRun, fn func() (T, error)) (T, error) {
	var v T
	err := p.try(func() error {
		var err error
		v, err = fn()
		return err
	})
	return v, err
}

// ask asks "label [def]: "; an empty answer takes def, "-" clears it.
func (p *plainRun) ask(label, def string) (string, error) {
	a, err := p.lines.AskDefault(label, def)
	if err != nil {
		return "", p.quit(err)
	}
	if a == "-" {
		return "", nil
	}
	return a, nil
}

// required asks until the answer is not empty.
func (p *plainRun) required(label, def string) (string, error) {
	for {
		a, err := p.ask(label, def)
		if err != nil || a != "" {
			return a, err
		}
		p.say("Problem: an answer is required.")
	}
}

func (p *plainRun) yesNo(question string) (bool, error) {
	yes, err := p.lines.YesNo(question)
	return yes, p.answer(err)
}

func (p *plainRun) header(step install.Step) {
	n := slices.Index(install.Steps(), step) + 1
	name := string(step)
	switch step {
	case install.StepFinish:
		n, name = plainSteps, "finish and upload"
		p.headed8 = true
	case install.StepUpload:
		if p.headed8 {
			return
		}
		n = plainSteps
	}
	p.say("")
	p.say("Step %d of %d: %s", n, plainSteps, name)
	if p.o.Tour {
		p.say("Hint: %s", plainHints[step])
	}
}

func (p *plainRun) run() error {
	p.say("latchkey install, plain mode. Answer each question and press enter; an empty answer takes the value in brackets, and - clears it.")
	if p.o.Demo {
		p.say("Demo: the unit and the back office are simulated on this laptop; no real door is involved.")
	}
	if err := p.pickJob(); err != nil || p.job == "" {
		return err
	}
	st, err := plainCall(p, func() (install.Status, error) { return p.d.Status(p.ctx, p.job) })
	if err != nil {
		return err
	}
	p.job = st.Job
	job, err := plainCall(p, func() (install.Job, error) { return p.d.Job(p.ctx, p.job) })
	if err != nil {
		return err
	}
	p.doors = job.Doors
	p.say("")
	p.say("Job %s: %s, %s; doors: %s.", plainShort(job.ID), job.Building, job.Address, strings.Join(job.Doors, ", "))
	p.say("%s", plainStepList(st))
	p.finished(st)
	if flow.Current(st) == "" {
		p.say("Every step of this install is done and every record was sent; there is nothing left to do.")
		return nil
	}
	started := false
	for _, step := range install.Steps()[1:] {
		if err := p.ctx.Err(); err != nil {
			return p.quit(err)
		}
		ss := flow.StepOf(st, step)
		// A unit paired whose signal reading was lost (a kill between the
		// two) leaves the survey pending its signal: the pair step reads
		// it again, or the burn would refuse.
		remeasure := step == install.StepPair && ss.State == install.Done &&
			flow.StepOf(st, install.StepSurvey).State == install.Partial
		if ss.State == install.Done && !remeasure {
			if started {
				p.say("")
				p.say("Step %d of %d: %s is already done (%s); skipping it.", min(slices.Index(install.Steps(), step)+1, plainSteps), plainSteps, step, ss.Detail)
			}
			continue
		}
		started = true
		p.header(step)
		do := func() error { return p.step(step, ss) }
		if remeasure {
			do = p.measure
		}
		if err := do(); err != nil {
			return err
		}
		if st, err = plainCall(p, func() (install.Status, error) { return p.d.Status(p.ctx, p.job) }); err != nil {
			return err
		}
		p.finished(st)
	}
	return nil
}

// finished notes a finished install in the result.
func (p *plainRun) finished(st install.Status) {
	if st.Finished {
		p.res.Finished = true
		if p.res.Report == "" {
			p.res.Report = flow.StepOf(st, install.StepFinish).Detail
		}
	}
}

func (p *plainRun) step(step install.Step, ss install.StepStatus) error {
	switch step {
	case install.StepSurvey:
		return p.survey(ss)
	case install.StepPair:
		return p.pair()
	case install.StepSelfTest:
		return p.selfTest()
	case install.StepBurn:
		return p.burn()
	case install.StepConsent:
		return p.consent(ss)
	case install.StepNotice:
		return p.notice()
	case install.StepFinish:
		return p.finish()
	case install.StepUpload:
		return p.upload(ss)
	}
	return nil
}

// plainStepList is "done: job, survey; next: pair".
func plainStepList(st install.Status) string {
	var done []string
	for _, s := range st.Steps {
		if s.State == install.Done {
			done = append(done, string(s.Step))
		}
	}
	next := flow.Current(st)
	if next == "" {
		return "done: every step"
	}
	line := "next: " + string(next)
	if ss := flow.StepOf(st, next); ss.State != install.Todo && ss.Detail != "" {
		line += " (" + ss.Detail + ")"
	}
	if len(done) > 0 {
		line = "done: " + strings.Join(done, ", ") + "; " + line
	}
	return line
}

func plainShort(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func plainVerb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func plainCount(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// pickJob sets p.job from the options, the install to resume, or the
// installer's pick from the list; p.job stays "" when they quit there.
func (p *plainRun) pickJob() error {
	if p.o.Job != "" {
		p.job = p.o.Job
		return nil
	}
	if p.o.Resume {
		id, err := plainCall(p, func() (string, error) {
			id, err := p.d.Resume(p.ctx)
			if errors.Is(err, flow.ErrNothingToResume) {
				return "", nil
			}
			return id, err
		})
		if err != nil {
			return err
		}
		if id != "" {
			p.job = id
			p.say("Resuming the unfinished install of job %s.", plainShort(id))
			return nil
		}
		p.say("There is no unfinished install to resume: pick a job from the list.")
	}
	p.header(install.StepJob)
	items, err := plainCall(p, func() ([]flow.JobItem, error) { return p.d.Jobs(p.ctx) })
	if err != nil {
		return err
	}
	if len(items) == 0 {
		p.say("Error: %s", errPlainNoJobs)
		p.say("Next: pull your jobs with 'latchkey jobs pull' while online, then start the install again.")
		return errPlainNoJobs
	}
	p.say("Jobs on this laptop:")
	for i, it := range items {
		p.say("%d. %s, %s: %s; %s.", i+1, it.Job.Building, it.Job.Address, plainCount(len(it.Job.Doors), "door"), plainJobState(it))
	}
	for {
		a, err := p.lines.Ask("Job number (q to quit): ")
		if err != nil {
			return p.quit(err)
		}
		if strings.EqualFold(a, "q") {
			return ErrQuit
		}
		n, err := strconv.Atoi(a)
		switch {
		case err != nil || n < 1 || n > len(items):
			p.say("Type a number from 1 to %d.", len(items))
		case items[n-1].Expired:
			p.say("Job %d has expired and cannot be installed: pull it again with 'latchkey jobs pull', or pick another.", n)
		default:
			p.job = items[n-1].Job.ID
			return nil
		}
	}
}

func plainJobState(it flow.JobItem) string {
	switch {
	case it.Expired:
		return "expired, cannot be installed"
	case it.Finished && it.Next == "":
		return "finished and sent"
	case it.Finished:
		return "finished; next: " + string(it.Next)
	case it.Started:
		return "started; next: " + string(it.Next)
	}
	return "not started"
}

// ---- survey

// survey asks the survey (or, when it says no-go, offers the override),
// saves it and says its verdict.
func (p *plainRun) survey(ss install.StepStatus) error {
	draft, err := plainCall(p, func() (survey.Survey, error) { return p.d.SurveyDraft(p.ctx, p.job) })
	if err != nil {
		return err
	}
	if ss.State == install.Partial {
		p.say("The survey is saved; its verdict waits for the signal reading at the mount point, which the pair step takes.")
		return nil
	}
	edit := ss.State != install.Blocked
	if !edit {
		p.say("The saved survey says no-go.")
		p.verdict(survey.Evaluate(draft))
	}
	for {
		if edit {
			saved, err := p.askSurvey(draft)
			if err != nil {
				return err
			}
			draft = saved.Survey
			p.verdict(saved.Verdict)
			if saved.Verdict.Outcome != survey.NoGo {
				return nil
			}
		}
		if edit, err = p.noGo(); err != nil || !edit {
			return err
		}
	}
}

// verdict says a survey verdict with its reasons.
func (p *plainRun) verdict(v survey.Verdict) {
	switch v.Outcome {
	case survey.Go:
		p.say("Verdict: go. The install can go ahead.")
	case survey.GoWithConditions:
		p.say("Verdict: go with conditions. The install can go ahead once these are met:")
	case survey.PendingSignal:
		p.say("Verdict: pending the signal reading. Pairing measures the signal at the mount point.")
	default:
		p.say("Verdict: %s. The install cannot go ahead as surveyed:", v.Outcome)
	}
	for _, r := range v.Reasons {
		what := "Reason"
		switch r.Severity {
		case survey.SeverityCondition:
			what = "Condition"
		case survey.SeverityPending:
			what = "Waiting for"
		}
		msg := r.Message
		if r.Entrance != "" && !strings.HasPrefix(msg, r.Entrance+": ") {
			msg = r.Entrance + ": " + msg
		}
		p.say("%s: %s", what, msg)
	}
}

// noGo asks what to do about a no-go survey: override it with a reason
// (false), edit it (true) or quit.
func (p *plainRun) noGo() (bool, error) {
	for {
		a, err := p.lines.Ask("Override the no-go with a written reason, edit the survey, or quit? [o/e/q] ")
		if err != nil {
			return false, p.quit(err)
		}
		switch strings.ToLower(a) {
		case "e", "edit":
			return true, nil
		case "q", "quit":
			return false, p.quit(survey.ErrNoGo)
		case "o", "override":
			return false, p.override()
		}
		p.say("Answer o to override, e to edit or q to quit.")
	}
}

func (p *plainRun) override() error {
	for {
		reason, err := p.required("Who decided to go ahead, and why is it safe? Your reason is recorded", "")
		if err != nil {
			return err
		}
		_, err = p.d.OverrideSurvey(p.ctx, p.job, reason)
		switch {
		case err == nil:
			p.say("Override recorded: the install goes on.")
			return nil
		case errors.Is(err, install.ErrNoOverride):
			p.say("Problem: %s", err)
		default:
			if err := p.again(err); err != nil {
				return err
			}
		}
	}
}

// plainKind is how a survey answer is read.
type plainKind int

const (
	plainTextKind plainKind = iota
	plainIntKind
	plainFloatKind
	plainBoolKind
)

// plainField is one survey question: its problem path, its words, its
// allowed values, and where its answer goes in the draft.
type plainField struct {
	path     string
	label    string // a question for plainBoolKind
	kind     plainKind
	values   []string
	optional bool
	get      func() string
	set      func(string)
	// when, if set, says whether to ask; skip sets the answer when not.
	when func() bool
	skip func()
}

func plainText(path, label string, optional bool, v *string) plainField {
	return plainField{path: path, label: label, optional: optional, get: func() string { return *v }, set: func(s string) { *v = s }}
}

func plainChoice[T ~string](path, label string, values []T, v *T) plainField {
	return plainField{path: path, label: label, values: forms.Strings(values),
		get: func() string { return string(*v) }, set: func(s string) { *v = T(s) }}
}

func plainBool(path, question string, v *bool) plainField {
	return plainField{path: path, label: question, kind: plainBoolKind,
		get: func() string { return strconv.FormatBool(*v) }, set: func(s string) { *v = s == "true" }}
}

func plainInt(path, label string, v *int) plainField {
	return plainField{path: path, label: label, kind: plainIntKind,
		get: func() string {
			if *v == 0 {
				return ""
			}
			return strconv.Itoa(*v)
		},
		set: func(s string) { *v, _ = strconv.Atoi(s) }}
}

func plainFloat(path, label string, v *float64) plainField {
	return plainField{path: path, label: label, kind: plainFloatKind,
		get: func() string {
			if *v == 0 {
				return ""
			}
			return strconv.FormatFloat(*v, 'f', -1, 64)
		},
		set: func(s string) { *v, _ = strconv.ParseFloat(s, 64) }}
}

// askSurvey asks every question of the survey over draft, each checked as
// it is answered, then the photos, and saves it.
func (p *plainRun) askSurvey(draft survey.Survey) (install.Saved, error) {
	s := draft.Clone()
	for {
		p.say("Building:")
		if err := p.askFields(&s, []plainField{
			plainText("building.address", "Street address", false, &s.Building.Address),
			plainInt("building.floors", "Number of floors", &s.Building.Floors),
			plainInt("building.units", "Number of apartments", &s.Building.Units),
		}); err != nil {
			return install.Saved{}, err
		}
		for i := range s.Entrances {
			e := &s.Entrances[i]
			at := fmt.Sprintf("entrances[%d].", i)
			p.say("Entrance %d of %d: %s", i+1, len(s.Entrances), e.Name)
			door := "the " + e.Name + " door"
			fs := []plainField{
				plainChoice(at+"door_type", "Door type", survey.DoorTypes(), &e.DoorType),
				plainBool(at+"egress", "Is "+door+" on an exit route people must be able to use at any time", &e.Egress),
				plainChoice(at+"hardware", "Electric lock", survey.Hardwares(), &e.Hardware),
				plainChoice(at+"release_voltage", "Release voltage of the lock", survey.Voltages(), &e.ReleaseVoltage),
				plainChoice(at+"lock_wiring", "Cable run to the lock", survey.LockWirings(), &e.LockWiring),
				plainBool(at+"fail_safe_wiring", "Will the unit's release contact cut the lock's power, so "+door+" opens when the power fails", &e.FailSafeWiring),
				plainBool(at+"fire_alarm_release", "Does the fire alarm panel cut the lock's power on alarm", &e.FireAlarmRelease),
				plainText(at+"intercom.make", "Intercom make", true, &e.Intercom.Make),
				plainText(at+"intercom.model", "Intercom model", true, &e.Intercom.Model),
				plainChoice(at+"intercom.wiring", "Intercom wiring", survey.IntercomWirings(), &e.Intercom.Wiring),
				plainBool(at+"intercom.release_wired", "Is the intercom's door-release output wired to the lock of "+door, &e.Intercom.ReleaseWired),
				plainText(at+"existing_access", "Access system already on "+door+", such as a fob reader", true, &e.ExistingAccess),
			}
			fs[3].when = func() bool { return e.Hardware != survey.HardwareNone }
			fs[3].skip = func() { e.ReleaseVoltage = "" }
			fs[5].when = func() bool {
				return e.Hardware == survey.HardwareMaglock || e.Hardware == survey.HardwareStrikeFailSafe
			}
			fs[5].skip = func() { e.FailSafeWiring = false }
			fs[10].when = func() bool { return e.Intercom.Wiring != survey.IntercomWiringNone }
			fs[10].skip = func() { e.Intercom.ReleaseWired = false }
			if err := p.askFields(&s, fs); err != nil {
				return install.Saved{}, err
			}
		}
		p.say("Power and mounting:")
		if err := p.askFields(&s, []plainField{
			plainChoice("power.source", "Power for the unit", survey.PowerSources(), &s.Power.Source),
			plainFloat("power.distance_m", "Cable run from the power supply to the mount point, in metres", &s.Power.DistanceM),
			plainText("mount.location", "Where the unit will be mounted", false, &s.Mount.Location),
			plainBool("mount.indoor", "Is the mount point indoors", &s.Mount.Indoor),
		}); err != nil {
			return install.Saved{}, err
		}
		if err := p.askHazards(&s); err != nil {
			return install.Saved{}, err
		}
		if err := p.askFields(&s, []plainField{plainText("notes", "Notes", true, &s.Notes)}); err != nil {
			return install.Saved{}, err
		}
		photos, err := p.askPhotos(len(s.Photos))
		if err != nil {
			return install.Saved{}, err
		}
		for {
			saved, err := p.d.SaveSurvey(p.ctx, p.job, s, photos)
			if err == nil {
				p.say("Survey saved.")
				return saved, nil
			}
			var verr *install.ValidationError
			if errors.As(err, &verr) {
				p.say("Error: %s", err)
				p.say("Next: answer the questions again; each keeps your answer as its default.")
				break
			}
			if errors.Is(err, survey.ErrNotImage) || errors.Is(err, survey.ErrPhotoTooLarge) {
				p.say("Error: %s", err)
				p.say("Next: give the photos again: JPEG, PNG, HEIC or WebP files of at most %d MB.", survey.MaxPhoto>>20)
				if photos, err = p.askPhotos(len(s.Photos)); err != nil {
					return install.Saved{}, err
				}
				continue
			}
			if err := p.again(err); err != nil {
				return install.Saved{}, err
			}
		}
	}
}

// askFields asks each field until the survey check finds no problem with
// it.
func (p *plainRun) askFields(s *survey.Survey, fields []plainField) error {
	for _, f := range fields {
		if f.when != nil && !f.when() {
			f.skip()
			continue
		}
		if err := p.askField(s, f); err != nil {
			return err
		}
	}
	return nil
}

func (p *plainRun) askField(s *survey.Survey, f plainField) error {
	for {
		if f.kind == plainBoolKind {
			yes, err := p.yesNo(f.label)
			if err != nil {
				return err
			}
			f.set(strconv.FormatBool(yes))
		} else {
			label := f.label
			switch {
			case f.values != nil:
				label += " (" + forms.List(f.values, "or") + ")"
			case f.optional && f.get() == "":
				label += " (optional)"
			}
			a, err := p.ask(label, f.get())
			if err != nil {
				return err
			}
			if v, ok := forms.Match(f.values, a); ok {
				a = v
			}
			switch f.kind {
			case plainIntKind:
				if a == "" {
					a = "0"
				} else if _, err := forms.ParseInt(a, ""); err != nil {
					p.say("Problem: type a whole number.")
					continue
				}
				a = strings.TrimSpace(a)
			case plainFloatKind:
				if a == "" {
					a = "0"
				}
				x, err := forms.ParseFloat(a, "")
				if err != nil {
					p.say("Problem: type a number, such as 4 or 2.5.")
					continue
				}
				a = strconv.FormatFloat(x, 'f', -1, 64)
			}
			f.set(a)
		}
		probs, err := plainCall(p, func() ([]survey.Problem, error) { return p.d.CheckSurvey(p.ctx, p.job, asTyped(*s)) })
		if err != nil {
			return err
		}
		bad := false
		for _, pr := range probs {
			if pr.Path == f.path {
				p.say("Problem: %s.", plainProblem(pr.Message))
				bad = true
			}
		}
		if !bad {
			return nil
		}
	}
}

// plainProblem makes a survey problem ("is required") a sentence.
func plainProblem(msg string) string {
	msg = strings.TrimSuffix(msg, ".")
	for _, verb := range []string{"is ", "must ", "has ", "contains ", "repeats "} {
		if strings.HasPrefix(msg, verb) {
			return "the answer " + msg
		}
	}
	return msg
}

func (p *plainRun) askHazards(s *survey.Survey) error {
	if len(s.Hazards) > 0 {
		p.say("Hazards noted before: %s.", strings.Join(s.Hazards, "; "))
		keep, err := p.yesNo("Keep them")
		if err != nil {
			return err
		}
		if !keep {
			s.Hazards = nil
		}
	}
	for len(s.Hazards) < survey.MaxHazards {
		a, err := p.ask("Hazard on site, one per line (empty line when done)", "")
		if err != nil || a == "" {
			return err
		}
		s.Hazards = append(s.Hazards, a)
		i := len(s.Hazards) - 1
		probs, err := plainCall(p, func() ([]survey.Problem, error) { return p.d.CheckSurvey(p.ctx, p.job, asTyped(*s)) })
		if err != nil {
			return err
		}
		for _, pr := range probs {
			if pr.Path == fmt.Sprintf("hazards[%d]", i) {
				p.say("Problem: %s.", plainProblem(pr.Message))
				s.Hazards = s.Hazards[:i]
				break
			}
		}
	}
	return nil
}

// askPhotos asks for photo files until an empty line.
func (p *plainRun) askPhotos(have int) ([]flow.PhotoInput, error) {
	var photos []flow.PhotoInput
	for have+len(photos) < survey.MaxPhotos {
		path, err := p.ask("Photo of the site, path to the file (empty line when done)", "")
		if err != nil || path == "" {
			return photos, err
		}
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			p.say("Problem: there is no file at %s.", path)
			continue
		}
		caption, err := p.ask("Caption for the photo (optional)", "")
		if err != nil {
			return nil, err
		}
		photos = append(photos, flow.PhotoInput{Path: path, Caption: caption})
	}
	return photos, nil
}

// ---- pair, self-test, burn

func (p *plainRun) pair() error {
	if _, err := p.lines.Ask("Connect the unit and press enter: "); err != nil {
		return p.quit(err)
	}
	res, err := plainCall(p, func() (flow.PairResult, error) {
		return p.d.Pair(p.ctx, p.job, func(ctx context.Context, label string) (bool, error) {
			p.say("The unit shows the label code %s.", label)
			if p.o.BoxLabel != "" {
				p.say("Demo: the virtual unit's box reads %s.", p.o.BoxLabel)
			}
			return p.yesNo("Does it match the code printed on the unit's box")
		})
	})
	if err != nil {
		return err
	}
	pr := res.Pairing
	p.say("Unit %s (%s, firmware %s) is genuine: its certificates chain to the manufacturer root %s and it signed a fresh challenge.", pr.Serial, pr.Model, pr.Firmware, pr.Root)
	p.say("Paired with job %s.", plainShort(p.job))
	return p.signal(res)
}

// measure reads the signal again with the job's paired unit, for a pairing
// whose signal reading was lost, and goes on as after a pairing.
func (p *plainRun) measure() error {
	p.say("The unit is paired; its signal was not read yet.")
	if _, err := p.lines.Ask("Connect it and press enter to measure: "); err != nil {
		return p.quit(err)
	}
	res, err := plainCall(p, func() (flow.PairResult, error) { return p.d.MeasureSignal(p.ctx, p.job) })
	if err != nil {
		return err
	}
	return p.signal(res)
}

// signal says the signal a pairing measured and the survey's verdict with
// it; a no-go verdict goes back to the survey.
func (p *plainRun) signal(res flow.PairResult) error {
	if res.RSSI != nil {
		p.say("Signal at the mount point: %d dBm.", *res.RSSI)
	} else {
		p.say("Signal at the mount point: the modem found no network.")
	}
	if res.Verdict == "" {
		return nil
	}
	p.say("Survey verdict with this signal: %s.", res.Verdict)
	if res.Verdict != survey.NoGo {
		return nil
	}
	return p.survey(install.StepStatus{Step: install.StepSurvey, State: install.Blocked})
}

func (p *plainRun) selfTest() error {
	relay, err := p.yesNo("The relay test opens the door. Is someone at the door")
	if err != nil {
		return err
	}
	if !relay {
		p.say("The relay test is skipped.")
	}
	res, err := plainCall(p, func() (flow.SelfTest, error) { return p.d.SelfTest(p.ctx, p.job, relay) })
	if err != nil {
		return err
	}
	p.say("Self-test of unit %s:", res.Serial)
	var failed []string
	for _, r := range res.Results {
		line := r.Name + ": " + r.Result
		if r.Detail != "" {
			line += ", " + r.Detail
		}
		p.say("%s (%d ms)", line, r.MS)
		if r.Result == device.TestFail {
			failed = append(failed, r.Name)
		}
	}
	if res.Passed {
		p.say("Every self-test passed.")
		return nil
	}
	err = fmt.Errorf("%w: %s; the install cannot go on with this unit", install.ErrSelfTestFailed, strings.Join(failed, ", "))
	if len(failed) == 0 {
		err = fmt.Errorf("%w; the install cannot go on with this unit", install.ErrSelfTestFailed)
	}
	p.say("Error: %s", err)
	p.say("Next: %s", NextStep(err))
	return err
}

func (p *plainRun) burn() error {
	plan, err := plainCall(p, func() (flow.BurnPlan, error) { return p.d.BurnPlan(p.ctx, p.job) })
	if err != nil {
		return err
	}
	p.say("Burn plan for unit %s: %s.", plan.Serial, plainCount(len(plan.Doors), "door key"))
	for i, door := range plan.Doors {
		state := "to burn"
		if slices.ContainsFunc(plan.Done, func(r provision.SlotResult) bool { return r.Door == door }) {
			state = "burned already"
		}
		p.say("slot %d (%s): %s", i, door, state)
	}
	res, err := plainCall(p, func() (provision.BurnResult, error) {
		return p.d.Burn(p.ctx, p.job, func(r provision.SlotResult) {
			p.say("slot %d (%s): %s, check value %s, receipt #%d", r.Slot, r.Door, r.Outcome, r.KCV, r.Counter)
		})
	})
	if err != nil {
		return err
	}
	p.say("Every door key is in unit %s and each receipt checks out (%s).", res.Serial, plainCount(len(res.Slots), "slot"))
	return nil
}

// ---- consent

func (p *plainRun) consent(ss install.StepStatus) error {
	if ss.State == install.Blocked {
		// The building revoked its consent: no new signature here, as on
		// the full screen.
		c, err := p.d.Consent(p.ctx, p.job)
		if err != nil || !c.Revoked() {
			c = install.StoredConsent{}
			if at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(ss.Detail, "revoked ")); err == nil {
				c.RevokedAt = &at
			}
		}
		p.say("Error: %s", revokedText(c))
		return fmt.Errorf("job %s: %w; the install cannot go on", plainShort(p.job), install.ErrConsentRevoked)
	}
	in := p.d.ConsentDefaults()
	var signer flow.Signer
	return p.try(func() error {
		if err := p.askConsentInput(&in); err != nil {
			return err
		}
		terms, err := p.d.Terms(p.ctx, p.job, in)
		if err != nil {
			return err
		}
		p.say("")
		p.say("Hand the screen to the manager. Read these terms; the questions follow them.")
		p.say("")
		p.say("%s", strings.TrimRight(terms.Text.Body, "\n"))
		p.say("")
		p.say("Terms %s (%s), SHA-256 %s", terms.Text.Version, terms.Text.Lang, terms.Text.SHA256)
		if signer.Name, err = p.required("Your full name", signer.Name); err != nil {
			return err
		}
		if signer.Title, err = p.required("Your title, such as property manager", signer.Title); err != nil {
			return err
		}
		auth, err := forms.Choose(p.lines, "Your authority", consent.Authorities(), consent.Authority(signer.Authority))
		if err != nil {
			return p.quit(err)
		}
		signer.Authority = string(auth)
		ok, err := p.yesNo("Do you have authority to sign for this building")
		if err != nil {
			return err
		}
		if !ok {
			return errPlainNoAuthority
		}
		p.say("By typing your name you confirm this statement:")
		p.say("%s", terms.Text.Intent)
		var typed string
		for tries := 0; ; tries++ {
			if typed, err = p.lines.Ask("Type your full name to sign: "); err != nil {
				return p.quit(err)
			}
			if flow.SameName(typed, signer.Name) {
				break
			}
			if tries == 2 {
				return fmt.Errorf("%w: %q is not %q; nothing was signed", flow.ErrNameMismatch, typed, signer.Name)
			}
			p.say("That is not %s: type the name as given above.", signer.Name)
		}
		agree, err := p.yesNo("Do you agree to these terms and sign")
		if err != nil {
			return err
		}
		if !agree {
			return errPlainNotAgreed
		}
		p.say("The unit countersigns the consent.")
		for {
			stored, err := p.d.SignConsent(p.ctx, p.job, in, terms, signer, typed)
			if err == nil {
				p.say("Signed: consent %s, countersigned by unit %s. Tenants must be told by %s.", stored.Record, stored.Unit, stored.NoticeBy)
				p.say("Give the screen back to the installer.")
				return nil
			}
			// Answers or terms that need asking again go round once more.
			if errors.Is(err, flow.ErrTermsChanged) || errors.Is(err, flow.ErrNameMismatch) ||
				errors.Is(err, consent.ErrInvalid) || errors.Is(err, install.ErrConsentNotReady) {
				return err
			}
			if err := p.again(err); err != nil {
				return err
			}
		}
	})
}

func (p *plainRun) askConsentInput(in *flow.ConsentInput) error {
	var err error
	if in.Operator, err = p.required("Delivery operator, as the terms name it", in.Operator); err != nil {
		return err
	}
	if in.RevokeContact, err = p.required("How the building revokes its consent (phone, address or email)", in.RevokeContact); err != nil {
		return err
	}
	for {
		a, err := p.required("Tenants told by (YYYY-MM-DD)", in.NoticeDue)
		if err != nil {
			return err
		}
		due, err := humantime.ParseDate(a, p.now())
		if err == nil {
			in.NoticeDue = due
			break
		}
		p.say("Problem: %s.", err)
	}
	by, err := forms.Choose(p.lines, "Who tells tenants", []string{consent.NoticeByManager, consent.NoticeByOperator}, in.NoticeBy)
	if err != nil {
		return p.quit(err)
	}
	in.NoticeBy = by
	methods := consent.NoticeMethods()
	for {
		a, err := p.required("How tenants are told ("+forms.List(methods, "or")+"; several with commas)", strings.Join(in.NoticeHow, ", "))
		if err != nil {
			return err
		}
		var how []string
		bad := ""
		for _, part := range strings.Split(a, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			m, ok := forms.Match(methods, part)
			if !ok {
				bad = strings.TrimSpace(part)
				break
			}
			if !slices.Contains(how, m) {
				how = append(how, m)
			}
		}
		if bad == "" && len(how) > 0 {
			in.NoticeHow = how
			break
		}
		p.say("Problem: %q is not one of %s.", bad, forms.List(methods, "or"))
	}
	lang, err := forms.Choose(p.lines, "Language of the terms", consent.Langs(), in.Lang)
	if err != nil {
		return p.quit(err)
	}
	in.Lang = lang
	return nil
}

// ---- notice, finish, upload

func (p *plainRun) notice() error {
	in := p.d.NoticeDefaults()
	printed, err := plainCall(p, func() (flow.Printed, error) {
		var err error
		c := &in.Contact
		if c.Name, err = p.required("Contact for tenants' questions, name", c.Name); err != nil {
			return flow.Printed{}, err
		}
		for _, q := range []struct {
			label string
			v     *string
		}{{"Contact phone", &c.Phone}, {"Contact email", &c.Email}, {"Contact web page", &c.Web}} {
			label := q.label
			if *q.v == "" {
				label += " (optional)"
			}
			if *q.v, err = p.ask(label, *q.v); err != nil {
				return flow.Printed{}, err
			}
		}
		if in.PolicyURL, err = p.required("Web address of the privacy policy", in.PolicyURL); err != nil {
			return flow.Printed{}, err
		}
		return p.d.PrintNotice(p.ctx, p.job, in)
	})
	if err != nil {
		return err
	}
	p.say("Tenant notice written (%s):", printed.Lang)
	p.say("PDF: %s", printed.PDF)
	p.say("Text: %s", printed.TextFile)
	p.say("Print it or send it, give it to every household, then say how it was given.")

	var g flow.Given
	when := "now"
	recipients := ""
	rec, err := plainCall(p, func() (install.Notice, error) {
		how, err := forms.Choose(p.lines, "How was the notice given", notice.Hows(), g.How)
		if err != nil {
			return install.Notice{}, p.quit(err)
		}
		g.How = how
		for {
			if when, err = p.required("When was it given (now, YYYY-MM-DD or YYYY-MM-DD HH:MM)", when); err != nil {
				return install.Notice{}, err
			}
			at, err := humantime.ParseTime(when, p.now())
			if err == nil {
				g.GivenAt = at
				break
			}
			p.say("Problem: %s.", err)
		}
		if how == notice.Posted {
			g.Recipients = 0
			for {
				if g.Photo, err = p.required("Photo of the posted notice, path to the file", g.Photo); err != nil {
					return install.Notice{}, err
				}
				if fi, err := os.Stat(g.Photo); err == nil && fi.Mode().IsRegular() {
					break
				}
				p.say("Problem: there is no file at %s.", g.Photo)
			}
			if g.Where, err = p.required("Where is it posted, such as the lobby notice board", g.Where); err != nil {
				return install.Notice{}, err
			}
		} else {
			g.Photo = ""
			for {
				if recipients, err = p.required("How many households received it", recipients); err != nil {
					return install.Notice{}, err
				}
				if n, err := forms.ParseInt(recipients, ""); err == nil && n > 0 {
					g.Recipients = n
					break
				}
				p.say("Problem: type a whole number of households, 1 or more.")
			}
			label := "To whom, such as every flat's mailbox"
			if g.Where == "" {
				label += " (optional)"
			}
			if g.Where, err = p.ask(label, g.Where); err != nil {
				return install.Notice{}, err
			}
		}
		return p.d.RecordNotice(p.ctx, p.job, in, g)
	})
	if err != nil {
		return err
	}
	p.say("Notice recorded: %s on %s (record %s).", rec.How, rec.GivenAt.Format("2006-01-02 15:04"), rec.Record)
	gate, err := plainCall(p, func() (install.GateResult, error) { return p.d.Gate(p.ctx, p.job) })
	if err != nil {
		return err
	}
	if gate.Allowed {
		p.say("Couriers may enter: %s.", strings.TrimSuffix(gate.Reason, "."))
	} else {
		p.say("Couriers may not enter yet: %s.", strings.TrimSuffix(gate.Reason, "."))
	}
	return nil
}

func (p *plainRun) finish() error {
	report, err := plainCall(p, func() (string, error) { return p.d.Finish(p.ctx, p.job) })
	if err != nil {
		return err
	}
	p.res.Finished, p.res.Report = true, report
	p.say("Install finished: report %s is signed and queued.", report)
	return nil
}

func (p *plainRun) upload(ss install.StepStatus) error {
	switch {
	case ss.State == install.Blocked:
		p.say("Upload: sent before, but %s.", storedOutcome(install.Status{Steps: []install.StepStatus{ss}}))
	case ss.Detail != "":
		p.say("Upload: %s.", ss.Detail)
	}
	send, err := p.yesNo("Send the records now")
	if err != nil {
		return err
	}
	if !send {
		p.say("The records stay queued on this laptop: send them with 'latchkey sync' when online.")
		return nil
	}
	announced := false
	up, err := plainCall(p, func() (flow.Upload, error) {
		return p.d.Upload(p.ctx, func(done, total int) {
			if !announced && total > 0 {
				announced = true
				p.say("Sending %s to the back office.", plainCount(total, "record"))
			}
		})
	})
	if err != nil {
		return err
	}
	p.res.Upload, p.res.Uploaded = up, true
	if up.Offline {
		if up.Err != "" {
			p.say("The back office cannot be reached: %s.", strings.TrimSuffix(up.Err, "."))
		} else {
			p.say("The back office cannot be reached.")
		}
		p.say("Nothing was lost: %s %s queued and will be sent with 'latchkey sync' when online.", plainCount(up.Remaining, "record"), plainVerb(up.Remaining, "stays", "stay"))
		return nil
	}
	if up.Refused > 0 || up.Remaining > 0 {
		// Not "sent": say what went, what was refused and what waits, as
		// the full screen's summary does.
		p.say("Records: %s.", uploadOutcome(up))
		return nil
	}
	to := ""
	if up.Hub != "" {
		to = " to " + up.Hub
	}
	p.say("Sent %s%s.", plainCount(up.Sent, "record"), to)
	return nil
}
