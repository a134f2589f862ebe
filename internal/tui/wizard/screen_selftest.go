package wizard

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/install/flow"
)

type testPhase int

const (
	testAsk    testPhase = iota // the relay question
	testPassed                  // results, every test passed or skipped
	testFailed                  // results (or the stored detail), the install is blocked
)

// testState is the self-test: asked before the relay pulse, which opens
// the door.
type testState struct {
	phase  testPhase
	relay  bool
	res    *flow.SelfTest
	detail string // the stored outcome when the wizard starts at a failed test
}

type selfTestMsg struct {
	res   flow.SelfTest
	relay bool
	err   error
}

func (m Model) startSelfTest(relay bool) (Model, tea.Cmd) {
	m.test.relay = relay
	ctx, d, job := m.ctx, m.d, m.job.ID
	what := "running the self-tests (without the relay)…"
	if relay {
		what = "running the self-tests: the door will open briefly…"
	}
	return m.working(what, func() tea.Msg {
		res, err := d.SelfTest(ctx, job, relay)
		return selfTestMsg{res: res, relay: relay, err: err}
	})
}

func (m Model) testMsg(msg tea.Msg) (Model, tea.Cmd, bool) {
	r, ok := msg.(selfTestMsg)
	if !ok {
		return m, nil, false
	}
	m.busy = ""
	if r.err != nil {
		m.test.phase = testAsk
		return m.failed("run the self-test", r.err, func(m Model) (Model, tea.Cmd) { return m.startSelfTest(r.relay) }), nil, true
	}
	m.test.res = &r.res
	m.test.phase = testFailed
	if r.res.Passed {
		m.test.phase = testPassed
	}
	return m, m.refreshStatus(false), true
}

func (m Model) testKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch m.test.phase {
	case testAsk:
		switch msg.String() {
		case "y":
			return m.startSelfTest(true)
		case "n":
			return m.startSelfTest(false)
		}
	case testPassed:
		if msg.String() == "enter" {
			return m.advance()
		}
	case testFailed:
		if msg.String() == "r" {
			m.test = testState{phase: testAsk}
		}
	}
	return m, nil
}

func (m Model) testKeys() []string {
	switch m.test.phase {
	case testAsk:
		return []string{"y run with the relay", "n run without the relay"}
	case testPassed:
		return []string{"enter continue to the burn"}
	}
	return []string{"r run the self-test again"}
}

func (m Model) testView() []string {
	t := m.test
	if t.phase == testAsk {
		return []string{
			m.st.Heading.Render("Self-test"), "",
			"The unit tests its tamper switch, supply and modem.", "",
			m.st.Warn.Render("The relay test opens the door."),
			"Is someone at the door to check it? " + m.st.Key.Render("y/n"), "",
			"  " + m.st.Key.Render("y") + " = run with the relay (the door opens for a moment)",
			"  " + m.st.Key.Render("n") + " = run without the relay",
		}
	}
	var out []string
	if t.phase == testPassed {
		out = append(out, m.st.OK.Render("✓ Self-test passed"), "")
	} else {
		out = append(out, m.st.Error.Render("✗ Self-test failed"), "")
	}
	if t.res != nil {
		out = append(out, m.st.Muted.Render(fmt.Sprintf("  %-16s %-8s %s", "TEST", "RESULT", "DETAIL")))
		for _, r := range t.res.Results {
			res := r.Result
			switch r.Result {
			case device.TestPass:
				res = m.st.OK.Render(fmt.Sprintf("%-8s", res))
			case device.TestFail:
				res = m.st.Error.Render(fmt.Sprintf("%-8s", res))
			default:
				res = m.st.Muted.Render(fmt.Sprintf("%-8s", res))
			}
			out = append(out, fmt.Sprintf("  %-16s %s %s", ansi.Truncate(r.Name, 16, "…"), res, r.Detail))
		}
		if !t.relay {
			out = append(out, "", m.st.Muted.Render("The relay was not tested: run again with someone at the door to check it."))
		}
	} else if t.detail != "" {
		out = append(out, "  The last self-test of this unit "+t.detail)
	}
	if t.phase == testFailed {
		out = append(out, "",
			m.st.Error.Render("The install cannot go on until the self-test passes."),
			"Fix what failed (the detail says what), then press r to run it again.")
	}
	return out
}
