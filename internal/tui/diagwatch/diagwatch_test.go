package diagwatch

import (
	"errors"
	"github.com/latchkey/latchkey/internal/tui/tuitest"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/diag"
)

var at = time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)

func snapshot() diag.Snapshot {
	rssi, rsrp := -71, -98
	return diag.Snapshot{
		At: at,
		Report: diag.Report{
			Latchkey: true,
			Identity: &diag.Identity{Serial: "LK0000004242", Model: "LK1", Hardware: "B", Firmware: "1.4.2", Label: "QRXS-FKZ1", State: "provisioned", Slots: 4, Proto: 1},
			Firmware: diag.Firmware{OSInfo: "Zephyr lk0000004242 3.7.0 latchkey-1.4.2 arm cortex-m33", BufSize: 2048, BufCount: 4},
			Status: &diag.Status{Relay: "off", Tamper: true, SupplyMV: 12040, Modem: "registered", RSSI: &rssi, RSRP: &rsrp,
				UptimeS: 3725, Clock: "2026-11-25T15:04:00Z", Slots: []string{"written", "empty", "empty", "empty"}},
			Counters: []diag.Counters{
				{Group: "door", Fields: map[string]uint64{"opens": 12, "denied": 1, "pulses": 14}},
				{Group: "modem", Fields: map[string]uint64{"attach": 3, "detach": 2, "sms": 0}},
				{Group: "power", Fields: map[string]uint64{"brownouts": 0, "resets": 5}},
			},
		},
		Recent: []diag.Event{
			{Seq: 101, Time: "2026-11-25T14:58:00Z", UptimeS: 3300, Kind: "door.open", Msg: "courier opened the door with a parcel scan"},
			{Seq: 102, Time: "2026-11-25T15:01:10Z", UptimeS: 3490, Kind: "tamper.open", Msg: "enclosure opened"},
			{Seq: 103, UptimeS: 3700, Kind: "supply.low", Msg: "supply 9.8 V for 2 s"},
		},
	}
}

func newModel() Model {
	return New(Options{Title: "/dev/ttyACM0", NoColor: true, Location: time.UTC,
		Fetch: func() (diag.Snapshot, error) { return snapshot(), nil }})
}

// step runs msg through Update and returns the model.
func step(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	nm, ok := next.(Model)
	if !ok {
		t.Fatalf("Update returned %T", next)
	}
	return nm, cmd
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		start   func(Model) Model
		msg     tea.Msg
		check   func(t *testing.T, m Model)
		wantCmd bool
		quit    bool
	}{
		{name: "snapshot stored, next tick scheduled", msg: SnapshotMsg{Snapshot: snapshot()}, wantCmd: true,
			check: func(t *testing.T, m Model) {
				if m.snap == nil || m.fetching || m.err != nil {
					t.Errorf("model %+v", m)
				}
			}},
		{name: "failed fetch keeps the last snapshot", start: func(m Model) Model { s := snapshot(); m.snap = &s; return m },
			msg: SnapshotMsg{Err: errors.New("smp: no answer in 5s")}, wantCmd: true,
			check: func(t *testing.T, m Model) {
				if m.snap == nil || m.err == nil {
					t.Errorf("model %+v", m)
				}
			}},
		{name: "tick while fetching does nothing", msg: TickMsg(at), wantCmd: false},
		{name: "tick when idle fetches", start: func(m Model) Model { m.fetching = false; return m }, msg: TickMsg(at), wantCmd: true,
			check: func(t *testing.T, m Model) {
				if !m.fetching {
					t.Error("not fetching after a tick")
				}
			}},
		{name: "r refreshes when idle", start: func(m Model) Model { m.fetching = false; return m },
			msg: tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")}, wantCmd: true},
		{name: "q quits", msg: tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}, wantCmd: true, quit: true},
		{name: "ctrl+c quits", msg: tea.KeyMsg{Type: tea.KeyCtrlC}, wantCmd: true, quit: true},
		{name: "resize", msg: tea.WindowSizeMsg{Width: 120, Height: 40},
			check: func(t *testing.T, m Model) {
				if m.width != 120 || m.height != 40 {
					t.Errorf("size %dx%d", m.width, m.height)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newModel()
			if tt.start != nil {
				m = tt.start(m)
			}
			m, cmd := step(t, m, tt.msg)
			if (cmd != nil) != tt.wantCmd {
				t.Fatalf("cmd %v, want one: %v", cmd != nil, tt.wantCmd)
			}
			if tt.quit {
				if _, ok := cmd().(tea.QuitMsg); !ok || !m.Quitting() {
					t.Error("did not quit")
				}
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

// TestInitFetches checks that the first command is a fetch whose message
// carries the snapshot.
func TestInitFetches(t *testing.T) {
	t.Parallel()
	msg := newModel().Init()()
	s, ok := msg.(SnapshotMsg)
	if !ok || s.Snapshot.Report.Identity == nil {
		t.Fatalf("Init's command returned %#v", msg)
	}
}

// TestView drives the screen with messages (size, a snapshot, a failed
// refresh) and compares the last frame at 80x24 with colour stripped.
func TestView(t *testing.T) {
	t.Parallel()
	m := newModel()
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m, _ = step(t, m, SnapshotMsg{Snapshot: snapshot()})
	view := ansi.Strip(m.View())
	tuitest.CheckSize(t, view, 80, 24)
	tuitest.Golden(t, "watch_80x24.golden", view)

	m, _ = step(t, m, TickMsg(at))
	m, _ = step(t, m, SnapshotMsg{Err: errors.New("read unit status: smp: no answer in 5s")})
	view = ansi.Strip(m.View())
	tuitest.CheckSize(t, view, 80, 24)
	tuitest.Golden(t, "watch_80x24_error.golden", view)

	// Colour on: same text once stripped, so --no-color only drops colour.
	c := New(Options{Title: "/dev/ttyACM0", Location: time.UTC, Fetch: m.opts.Fetch})
	c, _ = step(t, c, tea.WindowSizeMsg{Width: 80, Height: 24})
	c, _ = step(t, c, SnapshotMsg{Snapshot: snapshot()})
	c, _ = step(t, c, TickMsg(at))
	c, _ = step(t, c, SnapshotMsg{Err: errors.New("read unit status: smp: no answer in 5s")})
	if got := ansi.Strip(c.View()); got != view {
		t.Errorf("colour view differs from --no-color once stripped:\n%s", got)
	}
}

// TestViewOddSizes: a terminal that reports 0x0 (a pty nobody sized) once
// made View slice out of range and crash; tiny ones must not either.
func TestViewOddSizes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ w, h, wantW, wantH int }{
		{0, 0, 80, 24},
		{-1, 5, 80, 24},
		{1, 1, minWidth, minHeight},
		{30, 2, 30, minHeight},
	} {
		m := newModel()
		m, _ = step(t, m, tea.WindowSizeMsg{Width: tt.w, Height: tt.h})
		m, _ = step(t, m, SnapshotMsg{Snapshot: snapshot()})
		tuitest.CheckSize(t, ansi.Strip(m.View()), tt.wantW, tt.wantH)
	}
}

func TestViewNotLatchkey(t *testing.T) {
	t.Parallel()
	m := newModel()
	s := diag.Snapshot{At: at, Report: diag.Report{Note: diag.NotLatchkeyNote + ": it is an SMP device", Firmware: diag.Firmware{OSInfo: "Zephyr 3.7.0"},
		Counters: []diag.Counters{{Group: "smp", Fields: map[string]uint64{"rx": 4}}}}}
	m, _ = step(t, m, SnapshotMsg{Snapshot: s})
	view := ansi.Strip(m.View())
	tuitest.CheckSize(t, view, 80, 24)
	if !strings.Contains(view, diag.NotLatchkeyNote) || !strings.Contains(view, "rx 4") {
		t.Errorf("view:\n%s", view)
	}
}
