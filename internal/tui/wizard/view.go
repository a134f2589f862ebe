package wizard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/install"
)

// The smallest screen View draws; a smaller terminal gets lines cut.
const (
	minWidth  = 20
	minHeight = 8
)

// frameLines are the lines around the body: the header, the step list, a
// rule and the help line.
const frameLines = 4

// View draws the wizard: exactly height lines, none wider than width.
func (m Model) View() string {
	if m.quitting {
		return ""
	}
	lines := []string{m.header(), m.stepRow(), m.st.Muted.Render(strings.Repeat("─", m.width))}
	tour := m.tourLines()
	bodyH := m.height - frameLines - len(tour)
	body := m.body(bodyH)
	if len(body) > bodyH {
		body = body[:bodyH]
	}
	for len(body) < bodyH {
		body = append(body, "")
	}
	lines = append(lines, body...)
	lines = append(lines, tour...)
	lines = append(lines, m.helpLine())
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "…")
	}
	return strings.Join(lines, "\n")
}

// bodyHeight is how many lines the current screen has.
func (m Model) bodyHeight() int {
	h := m.height - frameLines - len(m.tourLines())
	if m.busy != "" {
		h -= 2
	}
	return max(h, 1)
}

func (m Model) header() string {
	left := m.st.Title.Render("latchkey install")
	if m.chosen {
		left += "  " + m.job.Building + " · " + shortJob(m.job.ID)
	}
	right := ""
	if m.o.Demo {
		right = m.st.Demo.Render("DEMO") + m.st.Muted.Render(" simulated unit")
	}
	return spread(left, right, m.width)
}

// wizardSteps are the steps the step list shows; finishing is part of the
// upload screen.
var wizardSteps = []struct {
	step  install.Step
	label string
	scr   screen
}{
	{install.StepJob, "job", scrJobs},
	{install.StepSurvey, "survey", scrSurvey},
	{install.StepPair, "pair", scrPair},
	{install.StepSelfTest, "self-test", scrSelfTest},
	{install.StepBurn, "burn", scrBurn},
	{install.StepConsent, "consent", scrConsent},
	{install.StepNotice, "notice", scrNotice},
	{install.StepUpload, "upload", scrUpload},
}

// stepMark is one step's mark: ▸ the screen shown, ✓ done, ✗ blocked, ·
// to do.
func (m Model) stepMark(i int) (string, func(...string) string) {
	s := wizardSteps[i]
	if m.screen == s.scr || (s.scr == scrJobs && m.screen == scrStart) {
		return "▸", m.st.StepCurrent.Render
	}
	state := install.Todo
	if s.step == install.StepJob {
		if m.chosen {
			state = install.Done
		}
	} else if m.chosen {
		for _, x := range m.status.Steps {
			if x.Step == s.step {
				state = x.State
			}
		}
	}
	switch state {
	case install.Done:
		return "✓", m.st.StepDone.Render
	case install.Blocked:
		return "✗", m.st.StepBlocked.Render
	}
	return "·", m.st.StepTodo.Render
}

func (m Model) stepRow() string {
	var parts []string
	marks := ""
	current := ""
	at := 0
	for i, s := range wizardSteps {
		mark, style := m.stepMark(i)
		parts = append(parts, style(mark+" "+s.label))
		marks += style(mark)
		if mark == "▸" {
			current, at = s.label, i+1
		}
	}
	full := strings.Join(parts, "  ")
	if lipgloss.Width(full) <= m.width {
		return full
	}
	if current == "" {
		return marks
	}
	return marks + " " + m.st.StepCurrent.Render(fmt.Sprintf("%s (%d of %d)", current, at, len(wizardSteps)))
}

func (m Model) helpLine() string {
	keys := m.keys()
	return m.st.Help.Render(strings.Join(keys, " · "))
}

// keys lists the keys of what is on screen, for the help line.
func (m Model) keys() []string {
	switch {
	case m.fail != nil:
		var k []string
		if m.fail.retry != nil {
			k = append(k, "r retry")
		}
		return append(k, "esc back", "q quit (progress is kept)")
	case m.busy != "":
		return []string{"q stop and quit (finished steps are kept)"}
	}
	var k []string
	switch m.screen {
	case scrStart:
		k = nil
	case scrJobs:
		k = m.jobsKeys()
	case scrSurvey:
		k = m.surveyKeys()
	case scrPair:
		k = m.pairKeys()
	case scrSelfTest:
		k = m.testKeys()
	case scrBurn:
		k = m.burnKeys()
	case scrConsent:
		k = m.consentKeys()
	case scrNotice:
		k = m.noticeKeys()
	case scrUpload:
		k = m.uploadKeys()
	case scrSummary:
		return []string{"enter or q leave"}
	}
	if m.typing() {
		return append(k, "ctrl+c quit")
	}
	return append(k, "q quit")
}

// formKeys are the keys of a screen that is a form.
func formKeys(submit string) []string {
	return []string{"enter " + submit, "tab/↑/↓ move", "←/→ change"}
}

// body is the screen of the current step, or the error screen.
func (m Model) body(h int) []string {
	if m.fail != nil {
		return m.failView()
	}
	var lines []string
	bh := m.bodyHeight()
	switch m.screen {
	case scrStart:
	case scrJobs:
		lines = m.jobsView(bh)
	case scrSurvey:
		lines = m.surveyView(bh)
	case scrPair:
		lines = m.pairView()
	case scrSelfTest:
		lines = m.testView()
	case scrBurn:
		lines = m.burnView(bh)
	case scrConsent:
		lines = m.consentView(bh)
	case scrNotice:
		lines = m.noticeView(bh)
	case scrUpload:
		lines = m.uploadView()
	case scrSummary:
		lines = m.summaryView()
	}
	if m.busy != "" {
		if len(lines) > h-2 {
			lines = lines[:max(h-2, 0)]
		}
		lines = append(lines, "", m.busyLine())
	}
	return lines
}

func (m Model) busyLine() string {
	return m.spin.View() + " " + m.busy
}

// failView is the error screen: what happened and what to do next.
func (m Model) failView() []string {
	f := m.fail
	w := m.width - 2
	out := []string{m.st.Error.Render("✗ Could not " + f.doing), "", m.st.Heading.Render("What happened")}
	out = append(out, indent(wrapText(oneLine(f.err.Error()), w), "  ")...)
	out = append(out, "", m.st.Heading.Render("What to do next"))
	out = append(out, indent(wrapText(errorAdvice(f.err), w), "  ")...)
	return out
}

// tourLines is the hint box of --tour for the screen shown, or nothing.
func (m Model) tourLines() []string {
	if !m.o.Tour {
		return nil
	}
	hint := m.tourHint()
	if hint == "" {
		return nil
	}
	box := m.st.Hint.Width(max(m.width-2, 10)).Render("Tip: " + hint)
	lines := strings.Split(box, "\n")
	// The screen keeps at least a few lines: the hint is extra.
	if m.height-frameLines-len(lines) < 6 {
		return nil
	}
	return lines
}

// spread puts left and right on one line of width w, right-aligned.
func spread(left, right string, w int) string {
	if right == "" {
		return left
	}
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return left
	}
	return left + strings.Repeat(" ", gap) + right
}

// wrapText wraps s at w columns, at spaces only: a command such as
// 'latchkey outbox list --state rejected' is not broken at its hyphens.
// A word wider than w is broken where it must be.
func wrapText(s string, w int) []string {
	w = max(w, 1)
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= w:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
			for ansi.StringWidth(line) > w {
				out = append(out, ansi.Truncate(line, w, ""))
				line = ansi.TruncateLeft(line, w, "")
			}
		}
		out = append(out, line)
	}
	return out
}

func indent(lines []string, by string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = by + l
	}
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// shortJob is a job id as the commands print it: its first 8 characters.
func shortJob(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// row pads name to a column and adds value.
func row(name string, width int, value string) string {
	if w := lipgloss.Width(name); w < width {
		name += strings.Repeat(" ", width-w)
	}
	return name + " " + value
}

// bar is a progress bar of done out of total, width columns wide.
func bar(done, total, width int) string {
	if total <= 0 {
		total = 1
	}
	width = max(width, 4)
	full := min(done*width/total, width)
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}
