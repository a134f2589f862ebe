// Package diagwatch is the full-screen `latchkey diag watch`: a unit's live
// state, counters and latest events, refreshed every second. The model holds
// no rules and never touches a port: it asks its Fetch (given by the
// command, over internal/diag) for a snapshot in a tea.Cmd and draws what
// comes back.
package diagwatch

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/diag"
	"github.com/latchkey/latchkey/internal/tui/styles"
)

// Fetch reads one snapshot; it runs in a tea.Cmd, off the screen's loop.
type Fetch func() (diag.Snapshot, error)

// SnapshotMsg carries a finished fetch.
type SnapshotMsg struct {
	Snapshot diag.Snapshot
	Err      error
}

// TickMsg asks for the next refresh.
type TickMsg time.Time

// Options set up the screen.
type Options struct {
	// Title names what is watched, e.g. the port.
	Title    string
	Fetch    Fetch
	Interval time.Duration // default 1 s
	NoColor  bool
	// Location shows times in this zone; default time.Local.
	Location *time.Location
}

// Model is the screen's state.
type Model struct {
	opts     Options
	st       styles.Styles
	width    int
	height   int
	snap     *diag.Snapshot
	err      error
	fetching bool
	quitting bool
}

// New returns the screen, 80x24 until the terminal says otherwise.
func New(opts Options) Model {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	return Model{opts: opts, st: styles.DefaultStyles(opts.NoColor), width: 80, height: 24, fetching: true}
}

// Init starts the first fetch.
func (m Model) Init() tea.Cmd { return m.fetch() }

func (m Model) fetch() tea.Cmd {
	f := m.opts.Fetch
	return func() tea.Msg {
		s, err := f()
		return SnapshotMsg{Snapshot: s, Err: err}
	}
}

func (m Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Interval, func(t time.Time) tea.Msg { return TickMsg(t) })
}

// Update handles keys, the terminal size, ticks and snapshots. A fetch is
// never started while one runs, so a slow unit does not pile up requests;
// the next tick is scheduled when a fetch ends, failed or not.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		// A terminal that reports no size (a pty nobody sized, a dumb
		// serial console) keeps the 80x24 default rather than a 0x0 screen.
		if msg.Width > 0 && msg.Height > 0 {
			m.width, m.height = max(msg.Width, minWidth), max(msg.Height, minHeight)
		}
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "esc", "ctrl+c":
			m.quitting = true
			return m, tea.Quit
		case "r":
			if !m.fetching {
				m.fetching = true
				return m, m.fetch()
			}
		}
	case TickMsg:
		if !m.fetching {
			m.fetching = true
			return m, m.fetch()
		}
	case SnapshotMsg:
		m.fetching = false
		if msg.Err != nil {
			m.err = msg.Err
		} else {
			s := msg.Snapshot
			m.snap, m.err = &s, nil
		}
		return m, m.tick()
	}
	return m, nil
}

// Quitting reports whether the person asked to leave.
func (m Model) Quitting() bool { return m.quitting }

// The smallest screen View draws: the title, one line of body and the help.
const (
	minWidth  = 20
	minHeight = 3
)

// View draws the screen: exactly height lines, none wider than width.
func (m Model) View() string {
	if m.quitting {
		return ""
	}
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	right := "connecting…"
	if m.snap != nil {
		right = "updated " + m.snap.At.In(m.opts.Location).Format("15:04:05")
	}
	add(m.spread(m.st.Title.Render("latchkey diag watch")+"  "+m.opts.Title, m.st.Muted.Render(right)))
	add(m.st.Muted.Render(strings.Repeat("─", m.width)))
	if m.err != nil {
		add(m.st.Error.Render("unit not answering: " + oneLine(m.err.Error())))
	}
	if m.snap != nil {
		add(m.report(m.snap.Report)...)
		add(m.events(m.snap.Recent)...)
	}
	body := m.height - 1
	if len(lines) > body {
		lines = lines[:body]
	}
	for len(lines) < body {
		lines = append(lines, "")
	}
	lines = append(lines, m.st.Muted.Render("q quit · r refresh now · refreshes every "+m.opts.Interval.String()))
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "…")
	}
	return strings.Join(lines, "\n")
}

func (m Model) spread(left, right string) string {
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return left
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m Model) field(name, value string) string {
	return m.st.Heading.Render(fmt.Sprintf("%-9s", name)) + " " + value
}

// pair puts two fields on one line, the second at column 40.
func (m Model) pair(a, b string) string {
	if w := lipgloss.Width(a); w < 40 {
		a += strings.Repeat(" ", 40-w)
	}
	return a + b
}

func (m Model) report(r diag.Report) []string {
	var out []string
	if id := r.Identity; id != nil {
		out = append(out, m.field("Unit", fmt.Sprintf("%s  %s rev %s  firmware %s  label %s  %s", id.Serial, id.Model, id.Hardware, id.Firmware, id.Label, id.State)))
	} else {
		out = append(out, m.field("Device", m.st.Warn.Render(diag.NotLatchkeyNote)))
	}
	if r.Note != "" && r.Identity != nil {
		out = append(out, m.st.Warn.Render(r.Note))
	}
	if r.Firmware.OSInfo != "" {
		out = append(out, m.field("OS", r.Firmware.OSInfo))
	}
	if s := r.Status; s != nil {
		relay := s.Relay
		if relay == "on" {
			relay = m.st.Warn.Render("ON (door release driven)")
		}
		tamper := m.st.OK.Render("closed")
		if s.Tamper {
			tamper = m.st.Error.Render("OPEN")
		}
		supply := m.st.OK.Render(diag.Supply(s.SupplyMV))
		if !diag.SupplyOK(s.SupplyMV) {
			supply = m.st.Error.Render(diag.Supply(s.SupplyMV) + " out of range")
		}
		modem := s.Modem
		if s.RSSI != nil {
			modem += fmt.Sprintf("  RSSI %d dBm", *s.RSSI)
		}
		if s.RSRP != nil {
			modem += fmt.Sprintf("  RSRP %d dBm", *s.RSRP)
		}
		if q := diag.Signal(*s); q != "" {
			modem += "  (" + q + ")"
		}
		clock := s.Clock
		if clock == "" {
			clock = m.st.Warn.Render("not set")
		}
		out = append(out,
			m.pair(m.field("Relay", relay), m.field("Tamper", tamper)),
			m.pair(m.field("Supply", supply), m.field("Uptime", diag.Uptime(s.UptimeS))),
			m.field("Modem", modem),
			m.field("Clock", clock),
			m.field("Slots", slotLine(s.Slots)),
		)
	}
	if len(r.Counters) > 0 {
		out = append(out, "", m.st.Heading.Render("Counters"))
		for _, c := range r.Counters {
			out = append(out, fmt.Sprintf("  %-8s %s", c.Group, counterLine(c.Fields)))
		}
	}
	for _, p := range r.Problems {
		out = append(out, m.st.Warn.Render("could not read "+oneLine(p)))
	}
	return out
}

func (m Model) events(evs []diag.Event) []string {
	if len(evs) == 0 {
		return nil
	}
	out := []string{"", m.st.Heading.Render("Latest events")}
	for i := len(evs) - 1; i >= 0; i-- { // newest first: the top stays in view
		e := evs[i]
		when := "clock not set"
		if t, err := time.Parse(time.RFC3339, e.Time); err == nil {
			when = t.In(m.opts.Location).Format("01-02 15:04:05")
		}
		out = append(out, fmt.Sprintf("  %6d  %-14s  %-13s %s", e.Seq, when, e.Kind, e.Msg))
	}
	return out
}

func slotLine(states []string) string {
	if len(states) == 0 {
		return "none"
	}
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = fmt.Sprintf("%d:%s", i, s)
	}
	return strings.Join(parts, "  ")
}

func counterLine(f map[string]uint64) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, f[k])
	}
	return strings.Join(parts, "  ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
