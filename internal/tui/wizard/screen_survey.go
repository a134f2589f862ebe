package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/survey"
)

type surveyPhase int

const (
	surveyLoading surveyPhase = iota
	surveyForm
	surveyVerdict
	surveyOverride
)

// surveyState is the survey form, checked with the domain's rules as it is
// typed, and the verdict once saved.
type surveyState struct {
	phase surveyPhase
	draft survey.Survey
	form  form
	gen   int // of the latest check asked for; older answers are dropped
	// checked are the problems the Driver found in the latest draft, and
	// photoProblems those of the new photo paths.
	checked       []survey.Problem
	photoProblems []survey.Problem
	// stopCheck cancels the check running, when a newer one starts.
	stopCheck  context.CancelFunc
	note       string
	verdict    survey.Verdict
	overridden *survey.Override
	override   form
}

type (
	draftMsg struct {
		s   survey.Survey
		err error
	}
	checkMsg struct {
		gen   int
		probs []survey.Problem
		// photos are the new photo paths' problems when photosChecked:
		// only a check after a photo path changed looks at the files.
		photos        []survey.Problem
		photosChecked bool
		err           error
	}
	savedMsg struct {
		saved install.Saved
		err   error
	}
)

// typing reports whether a form is on screen: q is a letter there, so
// half-typed answers are not lost to a stray key.
func (s surveyState) typing() bool {
	return s.phase == surveyForm || s.phase == surveyOverride
}

func (m Model) enterSurvey() (Model, tea.Cmd) {
	m.survey = surveyState{}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("reading the survey…", func() tea.Msg {
		s, err := d.SurveyDraft(ctx, job)
		return draftMsg{s: s, err: err}
	})
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func intText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

const newPhotoKey = "new_photos"

func newPhotoFields(k int) []field {
	p := fmt.Sprintf("%s[%d]", newPhotoKey, k)
	return []field{
		newText(p+".path", "Photo file", "").withHint("the path of a photo on this laptop (JPEG, PNG, HEIC, WebP); empty for none"),
		newText(p+".caption", "Caption", "").withHint("what the photo shows, e.g. intercom panel in the lobby"),
	}
}

// surveyFields is the form for s: the building, each of the job's doors,
// power and mounting, photos, hazards and notes.
func surveyFields(s survey.Survey) []field {
	fs := []field{
		newText("building.address", "Address", s.Building.Address).withHeading("Building"),
		newText("building.floors", "Floors", intText(s.Building.Floors)).withHint("a whole number, e.g. 6"),
		newText("building.units", "Apartments", intText(s.Building.Units)).withHint("how many apartments, e.g. 24"),
	}
	for i, e := range s.Entrances {
		p := fmt.Sprintf("entrances[%d]", i)
		fs = append(fs,
			newChoice(p+".door_type", "Door type", strs(survey.DoorTypes()), string(e.DoorType)).withHeading("Entrance: "+e.Name),
			newBool(p+".egress", "On an exit route", e.Egress).withHint("yes when people must be able to leave through this door at any time"),
			newChoice(p+".hardware", "Lock hardware", strs(survey.Hardwares()), string(e.Hardware)),
			newChoice(p+".release_voltage", "Release voltage", strs(survey.Voltages()), string(e.ReleaseVoltage)).withOptional(),
			newChoice(p+".lock_wiring", "Lock wiring", strs(survey.LockWirings()), string(e.LockWiring)),
			newBool(p+".fail_safe_wiring", "Fail-safe wiring", e.FailSafeWiring).withHint("yes when the release contact cuts the lock's power, so the door is free without power"),
			newBool(p+".fire_alarm_release", "Fire alarm release", e.FireAlarmRelease).withHint("yes when the fire alarm panel cuts the lock's power on alarm"),
			newText(p+".intercom.make", "Intercom make", e.Intercom.Make),
			newText(p+".intercom.model", "Intercom model", e.Intercom.Model),
			newChoice(p+".intercom.wiring", "Intercom wiring", strs(survey.IntercomWirings()), string(e.Intercom.Wiring)),
			newBool(p+".intercom.release_wired", "Intercom release wired", e.Intercom.ReleaseWired).withHint("yes when the intercom's door-release output is wired to this door's lock"),
			newText(p+".existing_access", "Existing access system", e.ExistingAccess).withHint("a fob reader or keypad already on the door; empty for none"),
		)
	}
	dist := ""
	if s.Power.DistanceM != 0 {
		dist = strconv.FormatFloat(s.Power.DistanceM, 'f', -1, 64)
	}
	fs = append(fs,
		newChoice("power.source", "Power source", strs(survey.PowerSources()), string(s.Power.Source)).withHeading("Power and mounting"),
		newText("power.distance_m", "Cable run to mount (m)", dist).withHint("metres of cable from the supply to the mount point, e.g. 7.5"),
		newText("mount.location", "Mount location", s.Mount.Location).withHint("where the unit goes, e.g. inside the intercom panel, lobby"),
		newBool("mount.indoor", "Mounted indoors", s.Mount.Indoor),
	)
	for i, ph := range s.Photos {
		f := newStatic(fmt.Sprintf("photos[%d]", i), fmt.Sprintf("Photo %d (saved)", i+1), strings.TrimSpace(ph.Caption+" "+shortJob(ph.File)))
		if i == 0 {
			f = f.withHeading("Photos")
		}
		fs = append(fs, f)
	}
	np := newPhotoFields(0)
	if len(s.Photos) == 0 {
		np[0] = np[0].withHeading("Photos")
	}
	fs = append(fs, np...)
	fs = append(fs,
		newText("hazards", "Hazards", strings.Join(s.Hazards, ", ")).withHeading("Notes").withHint("comma-separated, e.g. wet floor, asbestos label in riser"),
		newText("notes", "Notes", s.Notes),
	)
	return fs
}

// newPhotoCount is how many photo path rows the form has.
func (s surveyState) newPhotoCount() int {
	n := 0
	for _, f := range s.form.fields {
		if strings.HasPrefix(f.key, newPhotoKey+"[") && strings.HasSuffix(f.key, ".path") {
			n++
		}
	}
	return n
}

// growPhotos keeps one empty photo row at the end: typing a path adds the
// next.
func (s surveyState) growPhotos() surveyState {
	n := s.newPhotoCount()
	last := fmt.Sprintf("%s[%d].path", newPhotoKey, n-1)
	if n == 0 || strings.TrimSpace(s.form.value(last)) == "" || n >= survey.MaxPhotos {
		return s
	}
	at := s.form.index(fmt.Sprintf("%s[%d].caption", newPhotoKey, n-1)) + 1
	s.form.fields = slices.Insert(slices.Clone(s.form.fields), at, newPhotoFields(n)...)
	s.form.resize(s.form.width)
	return s
}

// build reads the form into a survey (the draft with the form's values),
// the photos to add, and what could not be read (a floor count that is
// not a number): the form's own plumbing; the rules are survey.Validate's.
func (s surveyState) build() (survey.Survey, []flow.PhotoInput, []survey.Problem) {
	f := s.form
	out := s.draft.Clone()
	var local []survey.Problem
	num := func(key string) int {
		v := strings.TrimSpace(f.value(key))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			local = append(local, survey.Problem{Path: key, Message: fmt.Sprintf("%q is not a whole number", v)})
		}
		return n
	}
	out.Building.Address = f.value("building.address")
	out.Building.Floors = num("building.floors")
	out.Building.Units = num("building.units")
	for i := range out.Entrances {
		p := fmt.Sprintf("entrances[%d]", i)
		e := &out.Entrances[i]
		e.DoorType = survey.DoorType(f.value(p + ".door_type"))
		e.Egress = f.on(p + ".egress")
		e.Hardware = survey.Hardware(f.value(p + ".hardware"))
		e.ReleaseVoltage = survey.Voltage(f.value(p + ".release_voltage"))
		e.LockWiring = survey.LockWiring(f.value(p + ".lock_wiring"))
		e.FailSafeWiring = f.on(p + ".fail_safe_wiring")
		e.FireAlarmRelease = f.on(p + ".fire_alarm_release")
		e.Intercom.Make = f.value(p + ".intercom.make")
		e.Intercom.Model = f.value(p + ".intercom.model")
		e.Intercom.Wiring = survey.IntercomWiring(f.value(p + ".intercom.wiring"))
		e.Intercom.ReleaseWired = f.on(p + ".intercom.release_wired")
		e.ExistingAccess = f.value(p + ".existing_access")
	}
	out.Power.Source = survey.PowerSource(f.value("power.source"))
	if v := strings.TrimSpace(f.value("power.distance_m")); v != "" {
		d, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil {
			local = append(local, survey.Problem{Path: "power.distance_m", Message: fmt.Sprintf("%q is not a number of metres", v)})
		}
		out.Power.DistanceM = d
	} else {
		out.Power.DistanceM = 0
	}
	out.Mount.Location = f.value("mount.location")
	out.Mount.Indoor = f.on("mount.indoor")
	out.Hazards = nil
	for _, h := range strings.Split(f.value("hazards"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			out.Hazards = append(out.Hazards, h)
		}
	}
	out.Notes = f.value("notes")
	var photos []flow.PhotoInput
	for k := range s.newPhotoCount() {
		p := fmt.Sprintf("%s[%d]", newPhotoKey, k)
		if path := strings.TrimSpace(f.value(p + ".path")); path != "" {
			photos = append(photos, flow.PhotoInput{Path: path, Caption: strings.TrimSpace(f.value(p + ".caption"))})
		}
	}
	return out, photos, local
}

// asTyped is s as the survey is checked while it is typed: without its
// saved photos. The Driver's check hashes every saved photo (up to 50 files
// of 20 MB), which was done when they were saved and is done again by the
// save; a keystroke must not pay for it.
func asTyped(s survey.Survey) survey.Survey {
	s.Photos = nil
	return s
}

// checkSurvey asks the Driver what is wrong with the form's survey as typed
// (its saved photos left out: see asTyped) and, with photos, looks whether
// each new photo path names a file. The check before it is cancelled: its
// answer would be dropped anyway.
func (m Model) checkSurvey(photos bool) (Model, tea.Cmd) {
	m.survey.gen++
	gen := m.survey.gen
	if m.survey.stopCheck != nil {
		m.survey.stopCheck()
	}
	ctx, stop := context.WithCancel(m.ctx)
	m.survey.stopCheck = stop
	s, add, _ := m.survey.build()
	s = asTyped(s)
	d, job := m.d, m.job.ID
	return m, func() tea.Msg {
		probs, err := d.CheckSurvey(ctx, job, s)
		if ctx.Err() != nil {
			// A newer check runs, or the wizard is leaving.
			return nil
		}
		msg := checkMsg{gen: gen, probs: probs, err: err, photosChecked: photos}
		if photos {
			msg.photos = statPhotos(add)
		}
		return msg
	}
}

// statPhotos marks new photo paths that name no file: the form's own
// plumbing; the save reads and checks the files.
func statPhotos(photos []flow.PhotoInput) []survey.Problem {
	var pp []survey.Problem
	for i, p := range photos {
		path := fmt.Sprintf("%s[%d].path", newPhotoKey, i)
		switch fi, err := os.Stat(p.Path); {
		case err != nil:
			pp = append(pp, survey.Problem{Path: path, Message: "no file at this path"})
		case fi.IsDir():
			pp = append(pp, survey.Problem{Path: path, Message: "is a folder, not a photo"})
		}
	}
	return pp
}

// isPhotoPath reports whether key is a new photo's path field.
func isPhotoPath(key string) bool {
	return strings.HasPrefix(key, newPhotoKey+"[") && strings.HasSuffix(key, ".path")
}

// showProblems puts every problem against its field: the form's own
// first, then the Driver's for fields whose text could be read.
func (s surveyState) showProblems() surveyState {
	_, _, local := s.build()
	var paths, msgs []string
	bad := map[string]bool{}
	for _, p := range local {
		bad[p.Path] = true
		paths, msgs = append(paths, p.Path), append(msgs, p.Message)
	}
	for _, p := range append(slices.Clone(s.photoProblems), s.checked...) {
		if bad[p.Path] {
			continue
		}
		paths, msgs = append(paths, p.Path), append(msgs, p.Message)
	}
	s.form.setProblems(paths, msgs)
	return s
}

func (m Model) surveyMsg(msg tea.Msg) (Model, tea.Cmd, bool) {
	switch msg := msg.(type) {
	case draftMsg:
		m.busy = ""
		if msg.err != nil {
			return m.failed("read the survey", msg.err, func(m Model) (Model, tea.Cmd) { return m.enterSurvey() }), nil, true
		}
		m.survey.draft = msg.s
		m.survey.form = newForm(m.width, surveyFields(msg.s)...)
		m.survey.override = newForm(m.width, newText("reason", "Reason to go ahead", "").
			withHint("at least 10 characters: who decided, and why it is safe"))
		if flow.StepOf(m.status, install.StepSurvey).State == install.Blocked {
			m.survey.phase = surveyVerdict
			m.survey.verdict = survey.Evaluate(msg.s)
		} else {
			m.survey.phase = surveyForm
		}
		m, cmd := m.checkSurvey(true)
		return m, cmd, true
	case checkMsg:
		if msg.gen != m.survey.gen {
			return m, nil, true
		}
		if msg.err != nil {
			m.survey.note = "Could not check the survey: " + oneLine(msg.err.Error())
		}
		if m.survey.stopCheck != nil {
			// It answered: release its context.
			m.survey.stopCheck()
			m.survey.stopCheck = nil
		}
		m.survey.checked = msg.probs
		if msg.photosChecked {
			m.survey.photoProblems = msg.photos
		}
		m.survey = m.survey.showProblems()
		return m, nil, true
	case savedMsg:
		m.busy = ""
		var verr *install.ValidationError
		switch {
		case errors.As(msg.err, &verr):
			m.survey.phase = surveyForm
			m.survey.checked = verr.Problems
			m.survey = m.survey.showProblems()
			m.survey.note = fmt.Sprintf("Not saved: %d problem(s) to fix, marked !", len(verr.Problems))
			if len(verr.Problems) > 0 {
				m.survey.form.focusKey(m.survey.form.fieldFor(verr.Problems[0].Path))
			}
			return m, nil, true
		case msg.err != nil:
			back := m.survey.phase
			if back == surveyOverride {
				return m.failed("record the override", msg.err, func(m Model) (Model, tea.Cmd) { return m.submitOverride() }), nil, true
			}
			return m.failed("save the survey", msg.err, func(m Model) (Model, tea.Cmd) { return m.saveSurvey() }), nil, true
		}
		m.survey.phase = surveyVerdict
		m.survey.note = ""
		m.survey.verdict = msg.saved.Verdict
		m.survey.overridden = msg.saved.Override
		m.survey.draft = msg.saved.Survey
		return m, m.refreshStatus(false), true
	}
	return m, nil, false
}

func (m Model) saveSurvey() (Model, tea.Cmd) {
	s, photos, local := m.survey.build()
	if len(local) > 0 {
		m.survey = m.survey.showProblems()
		m.survey.note = "Not saved: fix the fields marked !"
		m.survey.form.focusKey(local[0].Path)
		return m, nil
	}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("saving the survey…", func() tea.Msg {
		saved, err := d.SaveSurvey(ctx, job, s, photos)
		return savedMsg{saved: saved, err: err}
	})
}

func (m Model) submitOverride() (Model, tea.Cmd) {
	reason := strings.TrimSpace(m.survey.override.value("reason"))
	if n := len([]rune(reason)); n < 10 {
		m.survey.override.setProblems([]string{"reason"}, []string{fmt.Sprintf("%d characters: write at least 10 (who decided, and why it is safe)", n)})
		return m, nil
	}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("recording the override…", func() tea.Msg {
		saved, err := d.OverrideSurvey(ctx, job, reason)
		return savedMsg{saved: saved, err: err}
	})
}

func (m Model) surveyKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	s := &m.survey
	switch s.phase {
	case surveyForm:
		var act formAction
		s.form, act = s.form.update(msg)
		switch act {
		case formSubmit:
			return m.saveSurvey()
		case formEdited:
			s.note = ""
			photo := isPhotoPath(s.form.focused().key)
			*s = s.growPhotos()
			*s = s.showProblems()
			return m.checkSurvey(photo)
		}
	case surveyVerdict:
		switch msg.String() {
		case "e":
			s.phase = surveyForm
			return m.checkSurvey(true)
		case "o":
			if s.verdict.Outcome == survey.NoGo && s.overridden == nil {
				s.phase = surveyOverride
			}
		case "enter":
			if s.verdict.Outcome != survey.NoGo || s.overridden != nil {
				return m.advance()
			}
		}
	case surveyOverride:
		var act formAction
		s.override, act = s.override.update(msg)
		switch act {
		case formSubmit:
			return m.submitOverride()
		case formBack:
			s.phase = surveyVerdict
		case formEdited:
			s.override.setProblems(nil, nil)
		}
	}
	return m, nil
}

func (m Model) surveyKeys() []string {
	s := m.survey
	switch s.phase {
	case surveyForm:
		return formKeys("save")
	case surveyVerdict:
		if s.verdict.Outcome == survey.NoGo && s.overridden == nil {
			return []string{"e edit the survey", "o go ahead with a written reason"}
		}
		return []string{"enter continue", "e edit the survey"}
	case surveyOverride:
		return []string{"enter record the reason", "esc back"}
	}
	return nil
}

func (m Model) surveyView(h int) []string {
	s := m.survey
	switch s.phase {
	case surveyForm:
		out := []string{m.st.Heading.Render("Survey of "+m.job.Building) + m.st.Muted.Render(": fill in what you see on site")}
		if s.note != "" {
			out = append(out, m.st.Warn.Render(s.note))
		} else {
			out = append(out, "")
		}
		return append(out, s.form.view(m.st, h-len(out))...)
	case surveyVerdict:
		return m.verdictView()
	case surveyOverride:
		out := m.verdictView()
		out = append(out, "", m.st.Heading.Render("Go ahead despite the no-go verdict"),
			m.st.Muted.Render("The reason is signed and sent with the survey: say who decided, and why it is safe."))
		return append(out, s.override.view(m.st, max(h-len(out), 3))...)
	}
	return nil
}

func (m Model) verdictView() []string {
	s := m.survey
	v := s.verdict
	w := m.width - 4
	var out []string
	head := "Survey saved. Verdict: "
	switch v.Outcome {
	case survey.Go:
		out = append(out, m.st.OK.Render(head+"GO"), "", "The site can take the unit as surveyed.")
	case survey.GoWithConditions:
		out = append(out, m.st.OK.Render(head+"GO WITH CONDITIONS"), "", "The site can take the unit once these are met:")
	case survey.PendingSignal:
		out = append(out, m.st.Warn.Render(head+"PENDING SIGNAL"), "",
			"This is normal before pairing: the signal is measured when the unit is paired,",
			"and the verdict is made again with it.", "")
	case survey.NoGo:
		if s.overridden != nil {
			out = append(out, m.st.Warn.Render(head+"NO-GO, overridden"), "")
			out = append(out, indent(wrapText("Reason to go ahead: "+s.overridden.Reason, w), "  ")...)
		} else {
			out = append(out, m.st.Error.Render(head+"NO-GO"), "", "The install cannot go on as surveyed:")
		}
	}
	for _, r := range v.Reasons {
		mark := "!"
		switch r.Severity {
		case survey.SeverityNoGo:
			mark = m.st.Error.Render("✗")
		case survey.SeverityPending:
			mark = "…"
		}
		lines := wrapText(r.Message, w)
		out = append(out, "  "+mark+" "+lines[0])
		out = append(out, indent(lines[1:], "    ")...)
	}
	if v.Outcome == survey.NoGo && s.overridden == nil {
		out = append(out, "")
		out = append(out, wrapText("Fix the site and edit the survey (e), or, if someone with authority decided to go ahead, write down who and why (o).", m.width-2)...)
	}
	return out
}
