package wizard

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/latchkey/latchkey/internal/install/flow"
)

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
		return []string{m.st.OK.Render("✓ Every step is done"), "",
			row("  Report", 9, u.report),
			"",
			"The install report and every record of this install are in the outbox on",
			"this laptop, safe if it sleeps or loses power.", "",
			m.st.Key.Render("enter") + " send now  ·  " + m.st.Key.Render("l") + " leave it queued (sent later by 'latchkey sync')",
		}
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
		out = append(out, m.st.OK.Render(fmt.Sprintf("✓ Sent %d records to %s.", r.Sent, hub)))
		if r.Refused > 0 {
			out = append(out, "", m.st.Error.Render(fmt.Sprintf("%d records were refused by the back office: see 'latchkey outbox list --state rejected'.", r.Refused)))
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
	switch {
	case u.sent && !u.res.Offline && u.res.Remaining == 0:
		hub := u.res.Hub
		if hub == "" {
			hub = "the back office"
		}
		out = append(out, row("  Records", 10, "sent to "+hub))
	case u.sent && u.res.Remaining > 0:
		out = append(out, row("  Records", 10, fmt.Sprintf("%d waiting in the outbox on this laptop: 'latchkey sync' sends them", u.res.Remaining)))
	default:
		out = append(out, row("  Records", 10, "in the outbox on this laptop: 'latchkey sync' sends them"))
	}
	out = append(out, row("  Status", 10, "latchkey install status --job "+shortJob(m.job.ID)), "",
		"Thank you. Press enter to leave.")
	return out
}
