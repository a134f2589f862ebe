package wizard

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
)

type consentPhase int

const (
	consentLoading consentPhase = iota
	consentInput                // the installer fills in the consent's facts
	consentTerms                // the manager reads the terms to the end
	consentSigner               // the manager says who they are and confirms their authority
	consentIntent               // the manager types their name under the statement of intent
	consentAgree                // the last question before signing
	consentDone
	consentRevoked // the building revoked its consent: the install stops here
)

// consentState is the manager's consent, in the order it is taken.
type consentState struct {
	phase     consentPhase
	in        flow.ConsentInput
	input     form
	terms     flow.Terms
	vp        viewport.Model
	readToEnd bool
	signer    form
	typed     form
	stored    install.StoredConsent
	earlier   bool // the consent was signed before this visit to the screen
	note      string
}

type (
	consentLoadedMsg struct {
		stored   install.StoredConsent
		defaults flow.ConsentInput
		err      error
	}
	termsMsg struct {
		terms flow.Terms
		err   error
	}
	signedMsg struct {
		stored install.StoredConsent
		err    error
	}
)

func (s consentState) typing() bool {
	return s.phase == consentInput || s.phase == consentSigner || s.phase == consentIntent
}

func (m Model) enterConsent() (Model, tea.Cmd) {
	m.cons = consentState{}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("reading the job's consent…", func() tea.Msg {
		c, err := d.Consent(ctx, job)
		return consentLoadedMsg{stored: c, defaults: d.ConsentDefaults(), err: err}
	})
}

// revokedText is what both modes say of a job whose consent the building
// revoked. The wizard does not take a new signature then: the unit holds
// the building's keys under the revoked consent, so it is wiped first, and
// a new consent is a new job the office issues.
func revokedText(c install.StoredConsent) string {
	on := ""
	if c.RevokedAt != nil {
		on = " on " + c.RevokedAt.UTC().Format(time.DateOnly)
	}
	unit := "the job's unit"
	if c.Unit != "" {
		unit = "unit " + c.Unit
	}
	return "The building revoked its consent" + on + ". Do not re-sign on the spot: the unit must be decommissioned " +
		"('latchkey unit decommission' with " + unit + " on the cable), and a new consent needs a new job from the office."
}

func consentInputForm(width int, in flow.ConsentInput) form {
	how := ""
	if len(in.NoticeHow) > 0 {
		how = in.NoticeHow[0]
	}
	return newForm(width,
		newText("operator", "Operator", in.Operator).withHint("the delivery operator that runs the unit"),
		newText("revoke_contact", "Revoke contact", in.RevokeContact).withHint("where the manager writes or calls to revoke the consent"),
		newText("notice_due", "Tenants told by", in.NoticeDue).withHint("a date YYYY-MM-DD, at most 30 days from today"),
		newChoice("notice_by", "Notice given by", []string{consent.NoticeByManager, consent.NoticeByOperator}, in.NoticeBy),
		newChoice("notice_how", "Notice given how", consent.NoticeMethods(), how),
		newChoice("lang", "Language", consent.Langs(), in.Lang),
	)
}

func (s consentState) inputValue() flow.ConsentInput {
	f := s.input
	in := flow.ConsentInput{Operator: strings.TrimSpace(f.value("operator")), RevokeContact: strings.TrimSpace(f.value("revoke_contact")),
		NoticeBy: f.value("notice_by"), NoticeDue: strings.TrimSpace(f.value("notice_due")), Lang: f.value("lang")}
	if how := f.value("notice_how"); how != "" {
		in.NoticeHow = []string{how}
	}
	return in
}

func signerForm(width int) form {
	return newForm(width,
		newText("name", "Your full name", ""),
		newText("title", "Your title", "").withHint("e.g. property manager, owner, board president"),
		newChoice("authority", "You sign as", strs(consent.Authorities()), ""),
		newBool("confirm", "I confirm I have authority to sign for this building", false).
			withHint("y when you may give this consent for the building"),
	)
}

func typedForm(width int) form {
	return newForm(width, newText("typed", "Type your full name", "").withHint("as you entered it on the signer screen"))
}

// termsHeight is how many lines of the terms the viewport shows.
func (m Model) termsHeight() int { return max(m.bodyHeight()-4, 3) }

// fitTerms sizes the terms' viewport and wraps the terms to its width.
func (s *consentState) fitTerms(width, height int) {
	if s.terms.Text.Body == "" {
		return
	}
	if s.vp.Width == 0 {
		s.vp = viewport.New(width, height)
	}
	s.vp.Width, s.vp.Height = width, height
	s.vp.SetContent(strings.Join(wrapText(s.terms.Text.Body, max(width-1, 10)), "\n"))
	if s.vp.AtBottom() {
		s.readToEnd = true
	}
}

func (m Model) requestTerms() (Model, tea.Cmd) {
	in := m.cons.inputValue()
	m.cons.in = in
	m.cons.note = ""
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("making the terms…", func() tea.Msg {
		t, err := d.Terms(ctx, job, in)
		return termsMsg{terms: t, err: err}
	})
}

func (m Model) sign() (Model, tea.Cmd) {
	s := m.cons
	signer := flow.Signer{Name: strings.TrimSpace(s.signer.value("name")), Title: strings.TrimSpace(s.signer.value("title")),
		Authority: s.signer.value("authority")}
	typed := s.typed.value("typed")
	in, terms := s.in, s.terms
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("signing: the unit countersigns…", func() tea.Msg {
		c, err := d.SignConsent(ctx, job, in, terms, signer, typed)
		return signedMsg{stored: c, err: err}
	})
}

func (m Model) consentMsg(msg tea.Msg) (Model, tea.Cmd, bool) {
	switch msg := msg.(type) {
	case consentLoadedMsg:
		m.busy = ""
		switch {
		case msg.err == nil && msg.stored.Revoked():
			// A revoked consent blocks the install: no new signature here.
			m.cons.phase, m.cons.stored = consentRevoked, msg.stored
			return m, nil, true
		case msg.err == nil:
			m.cons.phase, m.cons.stored, m.cons.earlier = consentDone, msg.stored, true
			return m, nil, true
		case !errors.Is(msg.err, install.ErrNoConsent):
			return m.failed("read the job's consent", msg.err, func(m Model) (Model, tea.Cmd) { return m.enterConsent() }), nil, true
		}
		m.cons.phase = consentInput
		m.cons.input = consentInputForm(m.width, msg.defaults)
		m.cons.signer = signerForm(m.width)
		m.cons.typed = typedForm(m.width)
		return m, nil, true
	case termsMsg:
		m.busy = ""
		switch {
		case errors.Is(msg.err, consent.ErrInvalid):
			m.cons.phase = consentInput
			m.cons.note = "Not accepted: " + oneLine(msg.err.Error())
			return m, nil, true
		case msg.err != nil:
			m.cons.phase = consentInput
			return m.failed("make the consent terms", msg.err, func(m Model) (Model, tea.Cmd) { return m.requestTerms() }), nil, true
		}
		m.cons.terms, m.cons.readToEnd, m.cons.vp = msg.terms, false, viewport.Model{}
		m.cons.phase = consentTerms
		m.cons.fitTerms(m.width, m.termsHeight())
		return m, nil, true
	case signedMsg:
		m.busy = ""
		if msg.err != nil {
			retry := func(m Model) (Model, tea.Cmd) { return m.sign() }
			switch {
			case errors.Is(msg.err, flow.ErrTermsChanged):
				// The manager reads the new terms before signing.
				m.cons.phase = consentInput
				retry = func(m Model) (Model, tea.Cmd) { return m.requestTerms() }
			case errors.Is(msg.err, flow.ErrNameMismatch):
				m.cons.phase = consentIntent
				retry = nil
			case errors.Is(msg.err, consent.ErrInvalid):
				m.cons.phase = consentSigner
				retry = nil
			}
			return m.failed("sign the consent", msg.err, retry), nil, true
		}
		m.cons.phase, m.cons.stored, m.cons.earlier = consentDone, msg.stored, false
		return m, m.refreshStatus(false), true
	}
	return m, nil, false
}

func (m Model) consentKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	s := &m.cons
	var act formAction
	switch s.phase {
	case consentInput:
		s.input, act = s.input.update(msg)
		if act == formSubmit {
			return m.requestTerms()
		}
		if act == formEdited {
			s.note = ""
		}
	case consentTerms:
		switch msg.String() {
		case "enter":
			if s.readToEnd {
				s.phase = consentSigner
			}
			return m, nil
		case "esc":
			s.phase = consentInput
			return m, nil
		}
		s.vp, _ = s.vp.Update(msg)
		if s.vp.AtBottom() {
			s.readToEnd = true
		}
	case consentSigner:
		s.signer, act = s.signer.update(msg)
		switch act {
		case formSubmit:
			var paths, msgs []string
			for _, k := range []string{"name", "title"} {
				if strings.TrimSpace(s.signer.value(k)) == "" {
					paths, msgs = append(paths, k), append(msgs, "is required")
				}
			}
			if !slices.Contains(strs(consent.Authorities()), s.signer.value("authority")) {
				paths, msgs = append(paths, "authority"), append(msgs, "choose owner, managing-agent or board")
			}
			if !s.signer.on("confirm") {
				paths, msgs = append(paths, "confirm"), append(msgs, "only someone with authority for the building may sign: answer y, or stop here")
			}
			s.signer.setProblems(paths, msgs)
			if len(paths) > 0 {
				s.signer.focusKey(paths[0])
				return m, nil
			}
			s.phase = consentIntent
		case formBack:
			s.phase = consentTerms
		case formEdited:
			s.signer.setProblems(nil, nil)
		}
	case consentIntent:
		s.typed, act = s.typed.update(msg)
		switch act {
		case formSubmit:
			name := strings.TrimSpace(s.signer.value("name"))
			if !flow.SameName(s.typed.value("typed"), name) {
				s.typed.setProblems([]string{"typed"}, []string{"does not match the name on the signer screen (" + name + ")"})
				return m, nil
			}
			s.typed.setProblems(nil, nil)
			s.phase = consentAgree
		case formBack:
			s.phase = consentSigner
		case formEdited:
			s.typed.setProblems(nil, nil)
		}
	case consentAgree:
		switch msg.String() {
		case "y":
			return m.sign()
		case "n":
			s.phase = consentInput
			s.note = "Nothing was signed."
		case "esc":
			s.phase = consentIntent
		}
	case consentDone:
		if msg.String() == "enter" {
			return m.advance()
		}
	}
	return m, nil
}

func (m Model) consentKeys() []string {
	s := m.cons
	switch s.phase {
	case consentInput:
		return formKeys("show the terms")
	case consentTerms:
		if s.readToEnd {
			return []string{"enter continue", "pgup/pgdn/↑/↓ scroll", "esc back"}
		}
		return []string{"pgdn/↓ scroll to the end", "pgup/↑ back up", "esc back"}
	case consentSigner:
		return append(formKeys("continue"), "esc back")
	case consentIntent:
		return []string{"enter confirm", "esc back"}
	case consentAgree:
		return []string{"y agree and sign", "n do not sign", "esc back"}
	case consentDone:
		return []string{"enter continue to the tenant notice"}
	}
	// consentRevoked: nothing to do here but leave.
	return nil
}

func (m Model) consentView(h int) []string {
	s := m.cons
	w := m.width - 2
	switch s.phase {
	case consentInput:
		out := []string{m.st.Heading.Render("The manager's consent") + m.st.Muted.Render(": the facts the terms state"), ""}
		if s.note != "" {
			out[1] = m.st.Warn.Render(s.note)
		}
		return append(out, s.input.view(m.st, h-len(out))...)
	case consentTerms:
		t := s.terms.Text
		out := []string{
			m.st.Heading.Render("Terms for the manager to read") + m.st.Muted.Render(" ("+t.Version+", "+t.Lang+")"),
			m.st.Muted.Render("SHA-256 " + t.SHA256),
		}
		out = append(out, strings.Split(s.vp.View(), "\n")...)
		out = append(out, m.st.Muted.Render(strings.Repeat("─", max(m.width, 1))))
		if s.readToEnd {
			out = append(out, m.st.OK.Render("✓ read to the end: enter continues"))
		} else {
			out = append(out, m.st.Warn.Render("scroll to the end to continue")+m.st.Muted.Render(" (pgdn or ↓)"))
		}
		return out
	case consentSigner:
		out := []string{m.st.Heading.Render("Hand the screen to the manager"),
			m.st.Muted.Render("Who signs: your name, your title, and your authority for the building."), ""}
		return append(out, s.signer.view(m.st, h-len(out))...)
	case consentIntent, consentAgree:
		out := []string{m.st.Heading.Render("Statement of intent"), ""}
		out = append(out, indent(wrapText(s.terms.Text.Intent, w-2), "  ")...)
		out = append(out, "")
		if s.phase == consentIntent {
			out = append(out, "Type your full name to confirm this statement:", "")
			return append(out, s.typed.view(m.st, max(h-len(out), 3))...)
		}
		out = append(out, "Signed as "+strings.TrimSpace(s.signer.value("name"))+", "+strings.TrimSpace(s.signer.value("title"))+
			" ("+s.signer.value("authority")+").", "",
			m.st.Heading.Render("Do you agree to these terms and sign? ")+m.st.Key.Render("y/n"))
		return out
	case consentDone:
		c := s.stored
		out := []string{m.st.OK.Render("✓ Consent signed"), ""}
		if s.earlier {
			out = []string{m.st.OK.Render("✓ Consent signed earlier"), ""}
		}
		out = append(out,
			row("  Record", 12, c.Record),
			row("  Unit", 12, c.Unit+" (countersigned)"),
			row("  Signed", 12, c.SignedAt.UTC().Format("2006-01-02 15:04 UTC")),
			row("  Terms", 12, c.Lang+", SHA-256 "+shortJob(c.TermsSHA256)+"…"),
			"",
			m.st.Warn.Render("Tenants must be told by "+c.NoticeBy+"."))
		return append(out, wrapText("Couriers get no access until the notice is recorded as given and that date has passed.", w)...)
	case consentRevoked:
		out := []string{m.st.Error.Render("✗ The building's consent was revoked: the install stops here"), ""}
		out = append(out, wrapText(revokedText(s.stored), w)...)
		return append(out, "", m.st.Muted.Render("What was done is kept. q leaves the wizard."))
	}
	return nil
}
