package wizard

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
)

// rejectedCmd lists the records the back office refused.
const rejectedCmd = "latchkey outbox list --state rejected"

// uploadOutcome says where the records are after an upload, in both modes'
// words: "sent to HUB" only when every record went; otherwise how many
// were sent, refused and left waiting, and what to run about them.
func uploadOutcome(r flow.Upload) string {
	if r.Offline {
		if r.Remaining > 0 {
			return fmt.Sprintf("%d waiting in the outbox on this laptop: 'latchkey sync' sends them", r.Remaining)
		}
		return "in the outbox on this laptop: 'latchkey sync' sends them"
	}
	if r.Err != "" {
		// The back office answered, but not with the records' outcomes (a
		// login no longer valid, say): its message says what to do.
		var parts []string
		if r.Sent > 0 {
			parts = append(parts, fmt.Sprintf("sent %d", r.Sent))
		}
		if r.Refused > 0 {
			parts = append(parts, fmt.Sprintf("the back office refused %d: see '%s'", r.Refused, rejectedCmd))
		}
		return strings.Join(append(parts, fmt.Sprintf("%d not sent: %s", r.Remaining, r.Err)), "; ")
	}
	if r.Refused == 0 && r.Remaining == 0 {
		hub := r.Hub
		if hub == "" {
			hub = "the back office"
		}
		return "sent to " + hub
	}
	parts := []string{fmt.Sprintf("sent %d", r.Sent)}
	if r.Refused > 0 {
		parts = append(parts, fmt.Sprintf("the back office refused %d: see '%s'", r.Refused, rejectedCmd))
	}
	if r.Remaining > 0 {
		parts = append(parts, fmt.Sprintf("%d still waiting in the outbox: 'latchkey sync' sends them", r.Remaining))
	}
	return strings.Join(parts, "; ")
}

// storedOutcome says where the records are from the install's status,
// when no upload ran in this visit (the install was finished and sent
// before, or the records were left queued).
func storedOutcome(st install.Status) string {
	up := flow.StepOf(st, install.StepUpload)
	switch {
	case up.State == install.Done:
		return "every record was sent"
	case up.State == install.Blocked && up.Detail != "":
		return up.Detail + ": see '" + rejectedCmd + "'"
	case up.State == install.Blocked:
		return "the back office refused some: see '" + rejectedCmd + "'"
	case up.State == install.Partial && up.Detail != "":
		return up.Detail + " in the outbox on this laptop: 'latchkey sync' sends them"
	}
	return "in the outbox on this laptop: 'latchkey sync' sends them"
}

type uploadPhase int

const (
	uploadFinishing uploadPhase = iota
	uploadReady                 // the report is queued: send now or later
	uploadSending
	uploadDone
)

// uploadState is the last step: the install report, then the outbox sent
// now or left for 'latchkey sync'.
type uploadState struct {
	phase       uploadPhase
	report      string
	done, total int
	res         flow.Upload
	sent        bool // the upload ran (not left queued)
}

type (
	finishMsg struct {
		report string
		err    error
	}
	uploadProgressMsg struct{ done, total int }
	uploadedMsg       struct {
		res flow.Upload
		err error
	}
)

func (m Model) enterUpload() (Model, tea.Cmd) {
	m.up = uploadState{}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("checking every step and writing the install report…", func() tea.Msg {
		id, err := d.Finish(ctx, job)
		return finishMsg{report: id, err: err}
	})
}

func (m Model) startUpload() (Model, tea.Cmd) {
	m.up.phase = uploadSending
	m.up.done, m.up.total = 0, 0
	ctx, d := m.ctx, m.d
	return m.working("sending the records…", stream(ctx, func(emit func(tea.Msg) bool) {
		res, err := d.Upload(ctx, func(done, total int) { emit(uploadProgressMsg{done: done, total: total}) })
		emit(uploadedMsg{res: res, err: err})
	}))
}

func (m Model) uploadMsg(msg tea.Msg) (Model, tea.Cmd, bool) {
	switch msg := msg.(type) {
	case finishMsg:
		m.busy = ""
		if msg.err != nil {
			return m.failed("finish the install", msg.err, func(m Model) (Model, tea.Cmd) { return m.enterUpload() }), nil, true
		}
		m.up.phase, m.up.report = uploadReady, msg.report
		m.result.Finished, m.result.Report = true, msg.report
		return m, m.refreshStatus(false), true
	case uploadProgressMsg:
		m.up.done, m.up.total = msg.done, msg.total
		return m, nil, true
	case uploadedMsg:
		m.busy = ""
		if msg.err != nil {
			m.up.phase = uploadReady
			return m.failed("send the records", msg.err, func(m Model) (Model, tea.Cmd) { return m.startUpload() }), nil, true
		}
		m.up.phase, m.up.res, m.up.sent = uploadDone, msg.res, true
		m.result.Upload, m.result.Uploaded = msg.res, true
		return m, m.refreshStatus(false), true
	}
	return m, nil, false
}

func (m Model) uploadKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch m.up.phase {
	case uploadReady:
		switch msg.String() {
		case "enter":
			return m.startUpload()
		case "l":
			m.screen = scrSummary
		}
	case uploadDone:
		if msg.String() == "enter" {
			m.screen = scrSummary
		}
	}
	return m, nil
}

func (m Model) uploadKeys() []string {
	switch m.up.phase {
	case uploadReady:
		return []string{"enter send now", "l leave it queued"}
	case uploadDone:
		return []string{"enter finish"}
	}
	return nil
}

func (m Model) uploadView() []string {
	u := m.up
	switch u.phase {
	case uploadReady:
		out := []string{m.st.OK.Render("✓ Every step is done"), "",
			row("  Report", 9, u.report),
			"",
			"The install report and every record of this install are in the outbox on",
			"this laptop, safe if it sleeps or loses power.", "",
		}
		if up := flow.StepOf(m.status, install.StepUpload); up.State == install.Blocked {
			out = append(out, indent(wrapText("Sent before, but "+storedOutcome(m.status)+".", m.width-4), "  ")...)
			out = append(out, "")
		}
		return append(out, m.st.Key.Render("enter")+" send now  ·  "+m.st.Key.Render("l")+" leave it queued (sent later by 'latchkey sync')")
	case uploadSending:
		out := []string{m.st.Heading.Render("Sending the records"), ""}
		if u.total > 0 {
			out = append(out, fmt.Sprintf("  %s %d of %d records", bar(u.done, u.total, 30), u.done, u.total))
		}
		return out
	case uploadDone:
		r := u.res
		var out []string
		if r.Offline {
			out = append(out, m.st.Warn.Render("The back office could not be reached: the records will be sent later."), "")
			if r.Err != "" {
				out = append(out, indent(wrapText("("+r.Err+")", m.width-4), "  ")...)
				out = append(out, "")
			}
			out = append(out, m.st.OK.Render(fmt.Sprintf("Nothing was lost: %d records will be sent later with 'latchkey sync'.", r.Remaining)))
			return out
		}
		hub := r.Hub
		if hub == "" {
			hub = "the back office"
		}
		if r.Refused == 0 && r.Remaining == 0 {
			out = append(out, m.st.OK.Render(fmt.Sprintf("✓ Sent %d records to %s.", r.Sent, hub)))
		} else {
			out = append(out, m.st.Warn.Render(fmt.Sprintf("Sent %d records to %s; not every record went through.", r.Sent, hub)))
		}
		if r.Refused > 0 {
			out = append(out, "", m.st.Error.Render(fmt.Sprintf("The back office refused %d: see '%s'.", r.Refused, rejectedCmd)))
		}
		if r.Remaining > 0 {
			out = append(out, "", m.st.Warn.Render(fmt.Sprintf("%d records are still waiting: 'latchkey sync' sends them.", r.Remaining)))
		}
		if r.Err != "" {
			out = append(out, indent(wrapText(r.Err, m.width-4), "  ")...)
		}
		return out
	}
	return nil
}

func (m Model) summaryView() []string {
	u := m.up
	out := []string{m.st.OK.Render("Install of " + m.job.Building + " finished."), ""}
	if r := m.result.Report; r != "" {
		out = append(out, row("  Report", 10, r))
	}
	records := storedOutcome(m.status)
	if u.sent {
		records = uploadOutcome(u.res)
	}
	// A long outcome wraps under its value column.
	lines := wrapText(records, max(m.width-13, 20))
	out = append(out, row("  Records", 10, lines[0]))
	out = append(out, indent(lines[1:], strings.Repeat(" ", 11))...)
	out = append(out, row("  Status", 10, "latchkey install status --job "+shortJob(m.job.ID)), "",
		"Thank you. Press enter to leave.")
	return out
}
