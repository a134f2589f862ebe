package wizard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
)

type noticePhase int

const (
	noticeLoading noticePhase = iota
	noticeFacts               // what the notice says; enter prints it
	noticePrinted             // where the PDF and text went
	noticeRecord              // how the notice was given
	noticeDone                // recorded, and what the courier gate says
)

// noticeState is the tenant notice: print it, give it, record how.
type noticeState struct {
	phase    noticePhase
	defaults install.NoticeInput
	facts    form
	given    form
	in       install.NoticeInput
	printed  flow.Printed
	rec      install.Notice
	gate     install.GateResult
	gateErr  error
	note     string
}

type (
	noticeLoadedMsg struct {
		defaults install.NoticeInput
		lang     string
	}
	printedMsg struct {
		printed flow.Printed
		err     error
	}
	recordedMsg struct {
		rec     install.Notice
		gate    install.GateResult
		gateErr error
		err     error
	}
)

func (s noticeState) typing() bool {
	return s.phase == noticeFacts || s.phase == noticeRecord
}

func (m Model) enterNotice() (Model, tea.Cmd) {
	m.notice = noticeState{}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("reading the notice's facts…", func() tea.Msg {
		lang := notice.English
		if c, err := d.Consent(ctx, job); err == nil && c.Lang != "" {
			lang = c.Lang
		}
		return noticeLoadedMsg{defaults: d.NoticeDefaults(), lang: lang}
	})
}

func noticeFactsForm(width int, in install.NoticeInput, lang string) form {
	return newForm(width,
		newText("contact.name", "Contact name", in.Contact.Name).withHeading("Whom tenants reach with questions and objections"),
		newText("contact.phone", "Phone", in.Contact.Phone).withHint("a phone or an email is required"),
		newText("contact.email", "Email", in.Contact.Email),
		newText("contact.web", "Web", in.Contact.Web),
		newText("policy_url", "Policy URL", in.PolicyURL).withHint("where the full privacy policy is"),
		newChoice("lang", "Language", notice.Languages(), lang),
	)
}

func noticeGivenForm(width int) form {
	f := newForm(width,
		newChoice("how", "How it was given", strs(notice.Hows()), string(notice.Posted)),
		newText("given_at", "Given at", "now").withHint("now, or a date and time like 2026-11-25 14:30"),
		newText("photo", "Photo of the notice", "").withHint("the path of a photo of the notice where it is posted"),
		newText("where", "Where it is posted", "").withHint("e.g. lobby notice board, next to the mailboxes"),
		newText("recipients", "Households", "").withHint("how many households it was sent to"),
	)
	return showHowFields(f)
}

// showHowFields shows the fields of the way the notice was given.
func showHowFields(f form) form {
	posted := f.value("how") == string(notice.Posted)
	f.setHidden("photo", !posted)
	f.setHidden("where", !posted)
	f.setHidden("recipients", posted)
	return f
}

func (s noticeState) input() install.NoticeInput {
	in := s.defaults
	f := s.facts
	in.Contact = notice.Contact{Name: strings.TrimSpace(f.value("contact.name")), Phone: strings.TrimSpace(f.value("contact.phone")),
		Email: strings.TrimSpace(f.value("contact.email")), Web: strings.TrimSpace(f.value("contact.web"))}
	in.PolicyURL = strings.TrimSpace(f.value("policy_url"))
	in.Lang = f.value("lang")
	return in
}

// givenAt reads "now" or a local date and time.
func givenAt(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "now") {
		return now, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: write now, or a date and time like 2026-11-25 14:30", s)
}

func (m Model) printNotice() (Model, tea.Cmd) {
	in := m.notice.input()
	m.notice.in, m.notice.note = in, ""
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("writing the notice (PDF and text)…", func() tea.Msg {
		p, err := d.PrintNotice(ctx, job, in)
		return printedMsg{printed: p, err: err}
	})
}

func (m Model) recordNotice() (Model, tea.Cmd) {
	f := m.notice.given
	var paths, msgs []string
	at, err := givenAt(f.value("given_at"), m.now(), m.location())
	if err != nil {
		paths, msgs = append(paths, "given_at"), append(msgs, err.Error())
	}
	g := flow.Given{How: notice.How(f.value("how")), GivenAt: at}
	if g.How == notice.Posted {
		g.Photo, g.Where = strings.TrimSpace(f.value("photo")), strings.TrimSpace(f.value("where"))
	} else if v := strings.TrimSpace(f.value("recipients")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			paths, msgs = append(paths, "recipients"), append(msgs, fmt.Sprintf("%q: write how many households, e.g. 24", v))
		}
		g.Recipients = n
	}
	m.notice.given.setProblems(paths, msgs)
	if len(paths) > 0 {
		m.notice.given.focusKey(paths[0])
		return m, nil
	}
	in := m.notice.in
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("signing and keeping the notice record…", func() tea.Msg {
		rec, err := d.RecordNotice(ctx, job, in, g)
		if err != nil {
			return recordedMsg{err: err}
		}
		gate, gerr := d.Gate(ctx, job)
		return recordedMsg{rec: rec, gate: gate, gateErr: gerr}
	})
}

func (m Model) noticeMsg(msg tea.Msg) (Model, tea.Cmd, bool) {
	switch msg := msg.(type) {
	case noticeLoadedMsg:
		m.busy = ""
		m.notice.defaults = msg.defaults
		m.notice.facts = noticeFactsForm(m.width, msg.defaults, msg.lang)
		m.notice.given = noticeGivenForm(m.width)
		m.notice.phase = noticeFacts
		return m, nil, true
	case printedMsg:
		m.busy = ""
		switch {
		case errors.Is(msg.err, notice.ErrFacts), errors.Is(msg.err, notice.ErrLang):
			m.notice.phase = noticeFacts
			m.notice.note = "Not printed: " + oneLine(msg.err.Error())
			return m, nil, true
		case msg.err != nil:
			return m.failed("print the notice", msg.err, func(m Model) (Model, tea.Cmd) { return m.printNotice() }), nil, true
		}
		m.notice.printed = msg.printed
		m.notice.phase = noticePrinted
		return m, nil, true
	case recordedMsg:
		m.busy = ""
		switch {
		case errors.Is(msg.err, notice.ErrRecord), errors.Is(msg.err, notice.ErrFacts):
			m.notice.note = "Not recorded: " + oneLine(msg.err.Error())
			return m, nil, true
		case msg.err != nil:
			return m.failed("record the notice", msg.err, func(m Model) (Model, tea.Cmd) { return m.recordNotice() }), nil, true
		}
		m.notice.rec, m.notice.gate, m.notice.gateErr = msg.rec, msg.gate, msg.gateErr
		m.notice.phase = noticeDone
		return m, m.refreshStatus(false), true
	}
	return m, nil, false
}

func (m Model) noticeKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	s := &m.notice
	var act formAction
	switch s.phase {
	case noticeFacts:
		s.facts, act = s.facts.update(msg)
		switch act {
		case formSubmit:
			return m.printNotice()
		case formEdited:
			s.note = ""
		}
	case noticePrinted:
		switch msg.String() {
		case "p":
			return m.printNotice()
		case "enter":
			s.phase = noticeRecord
		case "esc":
			s.phase = noticeFacts
		}
	case noticeRecord:
		s.given, act = s.given.update(msg)
		switch act {
		case formSubmit:
			return m.recordNotice()
		case formBack:
			s.phase = noticePrinted
		case formEdited:
			s.note = ""
			s.given = showHowFields(s.given)
		}
	case noticeDone:
		if msg.String() == "enter" {
			return m.advance()
		}
	}
	return m, nil
}

func (m Model) noticeKeys() []string {
	switch m.notice.phase {
	case noticeFacts:
		return formKeys("print")
	case noticePrinted:
		return []string{"enter record how it was given", "p print again", "esc back"}
	case noticeRecord:
		return append(formKeys("record"), "esc back")
	case noticeDone:
		return []string{"enter continue to the upload"}
	}
	return nil
}

func (m Model) noticeView(h int) []string {
	s := m.notice
	var out []string
	note := func() {
		if s.note != "" {
			out = append(out, m.st.Warn.Render(s.note))
		} else {
			out = append(out, "")
		}
	}
	switch s.phase {
	case noticeFacts:
		out = append(out, m.st.Heading.Render("Tenant notice")+m.st.Muted.Render(": what it tells tenants; enter prints it"))
		note()
		return append(out, s.facts.view(m.st, h-len(out))...)
	case noticePrinted:
		p := s.printed
		return []string{m.st.OK.Render("✓ Notice written (" + p.Lang + ")"), "",
			row("  PDF", 6, p.PDF),
			row("  Text", 6, p.TextFile),
			"",
			"Print the PDF and give it to the tenants: post it in the building,",
			"mail it, or email it to every household. Then press enter to record",
			"how it was given.",
		}
	case noticeRecord:
		out = append(out, m.st.Heading.Render("How the notice was given"))
		note()
		return append(out, s.given.view(m.st, h-len(out))...)
	case noticeDone:
		r := s.rec
		out = append(out, m.st.OK.Render("✓ Notice recorded"), "",
			row("  Record", 9, r.Record),
			row("  Given", 9, string(r.How)+", "+r.GivenAt.In(m.location()).Format("2006-01-02 15:04")),
			"")
		switch {
		case s.gateErr != nil:
			out = append(out, m.st.Warn.Render("Could not read the courier gate: "+oneLine(s.gateErr.Error())))
		case s.gate.Allowed:
			out = append(out, m.st.OK.Render("Couriers may use the doors now."))
		default:
			out = append(out, m.st.Warn.Render("Couriers stay out for now: "+s.gate.Reason+"."))
			if !s.gate.NoticeBy.IsZero() {
				out = append(out, wrapText("After "+s.gate.NoticeBy.Format("2006-01-02")+", courier access is switched on at the unit ('latchkey unit courier on --job "+shortJob(m.job.ID)+"') or by the back office.", m.width)...)
			}
		}
		return out
	}
	return nil
}

// location is where times are read and shown.
func (m Model) location() *time.Location {
	if m.loc != nil {
		return m.loc
	}
	return time.Local
}
