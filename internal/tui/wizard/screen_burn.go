package wizard

import (
	"fmt"
	"maps"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/provision"
)

type burnPhase int

const (
	burnLoading burnPhase = iota
	burnPlan              // the doors and what is burned already; enter burns the rest
	burnRunning
	burnDone
)

// burnState is the key burn: one slot per door, each with its verified
// receipt.
type burnState struct {
	phase  burnPhase
	serial string
	doors  []string
	slots  map[int]provision.SlotResult // by slot: burned and verified
}

type (
	planMsg struct {
		plan flow.BurnPlan
		err  error
	}
	slotMsg   struct{ slot provision.SlotResult }
	burnedMsg struct {
		res provision.BurnResult
		err error
	}
)

func (s burnState) done() int { return len(s.slots) }

func (m Model) enterBurn() (Model, tea.Cmd) {
	m.burn = burnState{}
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("reading which slots are burned…", func() tea.Msg {
		p, err := d.BurnPlan(ctx, job)
		return planMsg{plan: p, err: err}
	})
}

// startBurn runs Burn in its own goroutine; each slot it finishes comes to
// the model as a slotMsg.
func (m Model) startBurn() (Model, tea.Cmd) {
	m.burn.phase = burnRunning
	ctx, d, job := m.ctx, m.d, m.job.ID
	return m.working("burning the keys: keep the cable in…", stream(ctx, func(emit func(tea.Msg) bool) {
		res, err := d.Burn(ctx, job, func(s provision.SlotResult) { emit(slotMsg{slot: s}) })
		emit(burnedMsg{res: res, err: err})
	}))
}

func (m Model) burnMsg(msg tea.Msg) (Model, tea.Cmd, bool) {
	switch msg := msg.(type) {
	case planMsg:
		m.busy = ""
		if msg.err != nil {
			return m.failed("read the burn plan", msg.err, func(m Model) (Model, tea.Cmd) { return m.enterBurn() }), nil, true
		}
		m.burn.serial, m.burn.doors = msg.plan.Serial, msg.plan.Doors
		m.burn.slots = map[int]provision.SlotResult{}
		for _, s := range msg.plan.Done {
			m.burn.slots[int(s.Slot)] = s
		}
		m.burn.phase = burnPlan
		if len(m.burn.doors) > 0 && m.burn.done() >= len(m.burn.doors) {
			m.burn.phase = burnDone
		}
		return m, nil, true
	case slotMsg:
		// A new map: the model before this message keeps its own.
		m.burn.slots = maps.Clone(m.burn.slots)
		if m.burn.slots == nil {
			m.burn.slots = map[int]provision.SlotResult{}
		}
		m.burn.slots[int(msg.slot.Slot)] = msg.slot
		return m, nil, true
	case burnedMsg:
		m.busy = ""
		if msg.err != nil {
			m.burn.phase = burnPlan
			return m.failed("burn the keys", msg.err, func(m Model) (Model, tea.Cmd) { return m.startBurn() }), nil, true
		}
		m.burn.slots = maps.Clone(m.burn.slots)
		if m.burn.slots == nil {
			m.burn.slots = map[int]provision.SlotResult{}
		}
		for _, s := range msg.res.Slots {
			m.burn.slots[int(s.Slot)] = s
		}
		m.burn.phase = burnDone
		return m, m.refreshStatus(false), true
	}
	return m, nil, false
}

func (m Model) burnKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	if msg.String() != "enter" {
		return m, nil
	}
	switch m.burn.phase {
	case burnPlan:
		return m.startBurn()
	case burnDone:
		return m.advance()
	}
	return m, nil
}

func (m Model) burnKeys() []string {
	switch m.burn.phase {
	case burnPlan:
		if m.burn.done() > 0 {
			return []string{"enter burn the rest"}
		}
		return []string{"enter burn the keys"}
	case burnDone:
		return []string{"enter continue to the consent"}
	}
	return nil
}

// burnView draws the burn in h lines: the slots scroll, around the one
// being burned, so the bar of slots done always shows (eight doors and a
// --tour hint do not fit 80x24 otherwise).
func (m Model) burnView(h int) []string {
	b := m.burn
	if b.phase == burnLoading {
		return nil
	}
	total := len(b.doors)
	title := m.st.Heading.Render("Burn the building's keys") + m.st.Muted.Render(" into unit "+b.serial)
	var intro []string
	switch b.phase {
	case burnPlan:
		if b.done() > 0 {
			intro = append(intro, fmt.Sprintf("%d of %d slots were burned before; enter burns the rest.", b.done(), total))
		} else {
			intro = append(intro, wrapText("Each door's key is sealed to this unit and written once; the unit signs a receipt.", m.width)...)
		}
	case burnDone:
		intro = append(intro, m.st.OK.Render(fmt.Sprintf("✓ All %d slots burned; every receipt verified.", total)))
	default:
		intro = append(intro, "Burning: keep the cable in. If it drops, finished slots are kept.")
	}
	var rows []string
	next := true
	focus := total - 1 // the slot to keep in view: the one burning, or the first to burn
	for i, door := range b.doors {
		state := m.st.Muted.Render("to burn")
		if s, ok := b.slots[i]; ok {
			state = m.st.OK.Render("✓ burned") + fmt.Sprintf(", check value %s, receipt #%d", s.KCV, s.Counter)
		} else {
			if next {
				focus = i
			}
			if b.phase == burnRunning && next {
				state = m.st.Warn.Render("burning…")
			}
			next = false
		}
		rows = append(rows, fmt.Sprintf("  %-5d %-16s %s", i, ansi.Truncate(door, 16, "…"), state))
	}
	progress := fmt.Sprintf("  %s %d of %d slots", bar(b.done(), total, 30), b.done(), total)

	// The full layout, then without its blank lines, then without the
	// intro: the first in which three slots (or every slot) fit.
	want := min(len(rows), 3)
	layout := func(gaps, withIntro bool) (head, tail []string) {
		head = []string{title}
		if gaps {
			head = append(head, "")
		}
		if withIntro {
			head = append(head, intro...)
			if gaps {
				head = append(head, "")
			}
		}
		if gaps {
			tail = []string{""}
		}
		return head, append(tail, progress)
	}
	head, tail := layout(true, true)
	if h-len(head)-len(tail)-1 < want {
		head, tail = layout(false, true)
	}
	if h-len(head)-len(tail)-1 < want {
		head, tail = layout(false, false)
	}
	n := max(h-len(head)-len(tail)-1, 1) // slot rows that fit under the column heads
	heads := fmt.Sprintf("  %-5s %-16s %s", "SLOT", "DOOR", "STATE")
	if n < len(rows) {
		start := min(max(focus-n/2, 0), len(rows)-n)
		rows = rows[start : start+n]
		heads += fmt.Sprintf("   (slots %d–%d of %d)", start, start+n-1, total)
	}
	out := append(head, m.st.Muted.Render(heads))
	out = append(out, rows...)
	return append(out, tail...)
}
