package wizard

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/survey"
)

type pairPhase int

const (
	pairIntro  pairPhase = iota
	pairAsking           // the label question is on screen; Pair waits for the answer
	pairDone
)

// pairState is the pairing: connect, compare the label code, see the
// attestation and the signal. With measure, the unit is paired already and
// only its signal reading was lost (a kill between the pairing and the
// reading): the step reads the signal again (Driver.MeasureSignal).
type pairState struct {
	phase   pairPhase
	measure bool
	label   string
	reply   chan<- bool
	res     flow.PairResult
}

type (
	// askLabelMsg is Pair asking, from its goroutine, whether the label
	// code matches the box; it waits on reply.
	askLabelMsg struct {
		label string
		reply chan<- bool
	}
	pairedMsg struct {
		res flow.PairResult
		err error
	}
)

// startPair runs Pair in its own goroutine: its label question comes to the
// model as an askLabelMsg and the answer goes back on the message's channel.
func (m Model) startPair() (Model, tea.Cmd) {
	m.pair = pairState{}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("finding the unit and checking it is genuine…", stream(ctx, func(emit func(tea.Msg) bool) {
		res, err := d.Pair(ctx, job, func(ctx context.Context, label string) (bool, error) {
			reply := make(chan bool, 1)
			if !emit(askLabelMsg{label: label, reply: reply}) {
				return false, ctx.Err()
			}
			select {
			case ok := <-reply:
				return ok, nil
			case <-ctx.Done():
				return false, ctx.Err()
			}
		})
		emit(pairedMsg{res: res, err: err})
	}))
}

// startMeasure reads the signal again with the job's paired unit, which
// re-judges the survey; its result is shown as a pairing's.
func (m Model) startMeasure() (Model, tea.Cmd) {
	m.pair = pairState{measure: true}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("measuring the signal at the mount point…", func() tea.Msg {
		res, err := d.MeasureSignal(ctx, job)
		return pairedMsg{res: res, err: err}
	})
}

// answer sends the installer's answer to the waiting Pair.
func answer(reply chan<- bool, ok bool) tea.Cmd {
	return func() tea.Msg {
		reply <- ok // buffered: Pair may have gone already
		return nil
	}
}

func (m Model) pairMsg(msg tea.Msg) (Model, tea.Cmd, bool) {
	switch msg := msg.(type) {
	case askLabelMsg:
		m.busy = ""
		m.pair.phase, m.pair.label, m.pair.reply = pairAsking, msg.label, msg.reply
		return m, nil, true
	case pairedMsg:
		m.busy = ""
		m.pair.reply = nil
		if msg.err != nil {
			m.pair.phase = pairIntro
			if m.pair.measure {
				return m.failed("measure the signal", msg.err, func(m Model) (Model, tea.Cmd) { return m.startMeasure() }), nil, true
			}
			return m.failed("pair the unit", msg.err, func(m Model) (Model, tea.Cmd) { return m.startPair() }), nil, true
		}
		m.pair.phase, m.pair.res = pairDone, msg.res
		return m, m.refreshStatus(false), true
	}
	return m, nil, false
}

func (m Model) pairKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch m.pair.phase {
	case pairIntro:
		if msg.String() == "enter" {
			if m.pair.measure {
				return m.startMeasure()
			}
			return m.startPair()
		}
	case pairAsking:
		switch msg.String() {
		case "y":
			reply := m.pair.reply
			m.pair.phase = pairIntro
			m.busy = "pairing the unit and measuring the signal…"
			return m, tea.Batch(answer(reply, true), m.spin.Tick)
		case "n":
			reply := m.pair.reply
			m.pair.phase = pairIntro
			m.busy = "stopping: nothing is paired…"
			return m, tea.Batch(answer(reply, false), m.spin.Tick)
		}
	case pairDone:
		if msg.String() == "enter" {
			return m.advance()
		}
	}
	return m, nil
}

func (m Model) pairKeys() []string {
	switch m.pair.phase {
	case pairIntro:
		if m.pair.measure {
			return []string{"enter measure the signal"}
		}
		return []string{"enter find the unit"}
	case pairAsking:
		return []string{"y it matches", "n it does not match"}
	}
	next := m.afterPair()
	if next == install.StepSurvey && m.pair.res.Verdict == survey.NoGo {
		return []string{"enter back to the survey (no-go)"}
	}
	return []string{"enter continue to " + stepPhrase(next)}
}

// afterPair is the step enter goes to from the pairing's result: the first
// not done once the pairing and the survey's verdict with the signal are
// saved (the status read after the pairing may not be back yet).
func (m Model) afterPair() install.Step {
	st := m.status
	st.Steps = slices.Clone(st.Steps)
	for i, s := range st.Steps {
		switch s.Step {
		case install.StepPair:
			st.Steps[i].State = install.Done
		case install.StepSurvey:
			switch m.pair.res.Verdict {
			case survey.Go, survey.GoWithConditions:
				st.Steps[i].State = install.Done
			case survey.NoGo:
				// A survey done before the signal was read was overridden
				// with a written reason: it stays done.
				if s.State != install.Done {
					st.Steps[i].State = install.Blocked
				}
			}
		}
	}
	return resumeStep(st)
}

// stepPhrase names a step's screen in a help line.
func stepPhrase(step install.Step) string {
	switch step {
	case install.StepJob:
		return "the job list"
	case install.StepSurvey:
		return "the survey"
	case install.StepPair:
		return "the pairing"
	case install.StepSelfTest:
		return "the self-test"
	case install.StepBurn:
		return "the burn"
	case install.StepConsent:
		return "the consent"
	case install.StepNotice:
		return "the tenant notice"
	case install.StepFinish, install.StepUpload:
		return "the upload"
	}
	return "the summary"
}

func (m Model) pairView() []string {
	p := m.pair
	switch p.phase {
	case pairIntro:
		if p.measure {
			out := []string{m.st.Heading.Render("Measure the signal"), ""}
			out = append(out, wrapText("The unit is paired; its signal was not read yet. Connect it and press enter to measure.", m.width-2)...)
			out = append(out, "")
			for _, l := range wrapText("The survey's verdict waits for the signal at the mount point: latchkey checks that the unit on the cable is the job's, reads its signal and judges the survey again.", m.width-2) {
				out = append(out, m.st.Muted.Render(l))
			}
			return out
		}
		return []string{
			m.st.Heading.Render("Pair the unit"), "",
			"Connect the unit with the USB cable, then press enter.", "",
			m.st.Muted.Render("latchkey finds the unit, checks it is genuine (its certificate chain to the"),
			m.st.Muted.Render("manufacturer's root, over a fresh challenge) and shows its label code."),
		}
	case pairAsking:
		// The question first: on a short terminal it is what must stay.
		code := m.st.Big.Render(spaced(p.label))
		out := []string{m.st.Heading.Render("Does this code match the code printed on the unit's box? ") + m.st.Key.Render("y/n"), ""}
		out = append(out, indent(strings.Split(code, "\n"), "    ")...)
		out = append(out, "", m.st.Muted.Render("The unit on the cable reports this label code."))
		if m.o.BoxLabel != "" {
			out = append(out, m.st.Muted.Render("Demo: the virtual unit's box reads "+m.o.BoxLabel+"."))
		}
		return out
	}
	r := p.res
	pr := r.Pairing
	w := 13
	done := "✓ Unit paired"
	if p.measure {
		done = "✓ Unit paired earlier; signal measured now"
	}
	out := []string{m.st.OK.Render(done), "",
		row("  Serial", w, pr.Serial),
		row("  Model", w, fmt.Sprintf("%s, firmware %s", pr.Model, pr.Firmware)),
		row("  Label", w, pr.Label),
	}
	att := "passed: certificate chain to the manufacturer root " + shortJob(pr.Root) + "…"
	out = append(out, row("  Attestation", w, m.st.OK.Render(att)))
	if !pr.CertExpiry.IsZero() {
		out = append(out, row("", w, "unit certificate valid until "+pr.CertExpiry.UTC().Format("2006-01-02")))
	}
	signal := m.st.Warn.Render("no network found at the mount point")
	if r.RSSI != nil {
		signal = fmt.Sprintf("%d dBm at the mount point (%s)", *r.RSSI, signalWord(*r.RSSI))
	}
	out = append(out, row("  Signal", w, signal))
	switch r.Verdict {
	case "":
		out = append(out, row("  Survey", w, "no survey yet: the signal is kept for it"))
	default:
		v := string(r.Verdict)
		if r.Verdict == survey.NoGo {
			v = m.st.Error.Render(v + ": the survey needs attention before the install goes on")
		}
		out = append(out, row("  Survey", w, "verdict with the signal: "+v))
	}
	return out
}

// signalWord names a signal strength with the survey rules' thresholds.
func signalWord(rssi int) string {
	switch {
	case rssi < survey.MinRSSIDBm:
		return "too weak"
	case rssi < survey.MarginalRSSIDBm:
		return "weak: needs an external antenna"
	}
	return "usable"
}

// spaced puts a space between the characters of a code so each is easy to
// compare by eye.
func spaced(code string) string {
	rs := []rune(code)
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, " ")
}
