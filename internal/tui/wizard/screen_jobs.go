package wizard

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
)

// jobsState is the job list: the jobs pulled earlier, read from this
// laptop (it works offline).
type jobsState struct {
	items  []flow.JobItem
	cursor int // -1 when no job can be picked
	note   string
}

func newJobsState(items []flow.JobItem, note string) jobsState {
	s := jobsState{items: items, note: note, cursor: -1}
	for i, it := range items {
		if !it.Expired {
			s.cursor = i
			break
		}
	}
	return s
}

// move puts the cursor on the next job that can be picked in direction dir.
func (s jobsState) move(dir int) jobsState {
	for i := s.cursor + dir; i >= 0 && i < len(s.items); i += dir {
		if !s.items[i].Expired {
			s.cursor = i
			return s
		}
	}
	return s
}

func (m Model) jobsKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch msg.String() {
	case "up", "k", "shift+tab":
		m.jobs = m.jobs.move(-1)
	case "down", "j", "tab":
		m.jobs = m.jobs.move(1)
	case "enter":
		if c := m.jobs.cursor; c >= 0 && c < len(m.jobs.items) && !m.jobs.items[c].Expired {
			return m.working("opening the job…", m.chooseJob(m.jobs.items[c].Job.ID))
		}
	}
	return m, nil
}

func (m Model) jobsKeys() []string {
	if m.jobs.cursor < 0 || m.jobs.cursor >= len(m.jobs.items) {
		return nil
	}
	return []string{"↑/↓ choose", "enter open the job"}
}

// nextLabel says where a job's install stands.
func nextLabel(it flow.JobItem) string {
	switch {
	case it.Expired:
		return "expired"
	case it.Next == "":
		return "finished"
	case it.Next == install.StepFinish:
		return "upload"
	case it.Started:
		return string(it.Next) + " (resume)"
	}
	return string(it.Next)
}

func (m Model) jobsView(h int) []string {
	s := m.jobs
	var out []string
	if s.note != "" {
		out = append(out, m.st.Warn.Render(s.note), "")
	}
	if len(s.items) == 0 {
		if m.busy != "" {
			return out
		}
		return append(out,
			m.st.Heading.Render("No jobs on this laptop."),
			"",
			"Run 'latchkey jobs pull' when online: it fetches the jobs the back office",
			"gave you, and they stay on this laptop for installs without a network.")
	}
	out = append(out, m.st.Heading.Render("Pick the job to install")+m.st.Muted.Render("  (pulled jobs, stored on this laptop)"), "")
	out = append(out, m.st.Muted.Render(fmt.Sprintf("  %-20s %-30s %5s  %s", "BUILDING", "ADDRESS", "DOORS", "NEXT STEP")))
	expired := false
	for i, it := range s.items {
		line := fmt.Sprintf("%-20s %-30s %5d  %s", ansi.Truncate(it.Job.Building, 20, "…"), ansi.Truncate(it.Job.Address, 30, "…"),
			len(it.Job.Doors), nextLabel(it))
		switch {
		case i == s.cursor:
			line = m.st.Focus.Render("▸ " + line)
		case it.Expired:
			expired = true
			line = m.st.Muted.Render("  " + line)
		default:
			line = "  " + line
		}
		out = append(out, line)
	}
	if expired {
		out = append(out, "", m.st.Muted.Render("An expired job cannot be installed: pull it again with 'latchkey jobs pull'."))
	}
	if s.cursor < 0 {
		out = append(out, "", m.st.Warn.Render("No job can be installed now. Run 'latchkey jobs pull' when online."))
	}
	if len(out) > h {
		// Keep the cursor in view on a short screen.
		head := 3
		if s.note != "" {
			head = 5
		}
		if head < h && s.cursor >= 0 {
			first := head + s.cursor - (h - head) + 1
			if first > head {
				out = append(out[:head:head], out[first:]...)
			}
		}
	}
	return out
}
