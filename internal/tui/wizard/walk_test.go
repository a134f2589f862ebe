package wizard

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/install"
)

// harness runs the wizard's commands as the program would, each in its own
// goroutine, and sends keys only once no Driver call runs: a stand-in for
// tmux driving the real binary, against the fake Driver.
type harness struct {
	t    *testing.T
	m    Model
	msgs chan tea.Msg
	quit bool
}

func newHarness(t *testing.T, m Model) *harness {
	h := &harness{t: t, m: m, msgs: make(chan tea.Msg, 64)}
	h.handle(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.exec(m.Init())
	h.idle()
	return h
}

func (h *harness) exec(cmd tea.Cmd) {
	if cmd != nil {
		go func() { h.msgs <- cmd() }()
	}
}

func (h *harness) handle(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil, spinner.TickMsg:
	case tea.BatchMsg:
		for _, c := range msg {
			h.exec(c)
		}
	case tea.QuitMsg:
		h.quit = true
	default:
		next, cmd := h.m.Update(msg)
		h.m = next.(Model)
		h.exec(cmd)
	}
}

// idle handles messages until none came for a moment and no call runs.
func (h *harness) idle() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case msg := <-h.msgs:
			h.handle(msg)
			continue
		case <-time.After(10 * time.Millisecond):
		}
		if h.m.busy == "" || h.quit {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("still busy: %s\n%s", h.m.busy, ansi.Strip(h.m.View()))
		}
	}
}

func (h *harness) keys(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.handle(keyMsg(k))
		h.idle()
	}
}

func (h *harness) text(s string) {
	h.t.Helper()
	for _, r := range s {
		h.handle(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	h.idle()
}

// expect fails unless the screen shows want.
func (h *harness) expect(want string) {
	h.t.Helper()
	if v := ansi.Strip(h.m.View()); !strings.Contains(v, want) {
		h.t.Fatalf("the screen does not show %q:\n%s", want, v)
	}
}

// TestWalkthrough completes an install with the keys docs/wizard.md gives,
// so the document and the screens agree: from the job list (`latchkey
// install` without --job), and as `latchkey demo` starts, with its job
// opened directly at the survey (the doc's script without its first
// enter).
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	t.Run("install from the job list", func(t *testing.T) {
		t.Parallel()
		f := newFake()
		h := newHarness(t, newTest(f, Options{}))
		h.expect("Pick the job to install")
		h.keys("enter") // Elm Court
		walk(t, h, f)
	})
	t.Run("demo: the job opened directly", func(t *testing.T) {
		t.Parallel()
		f := newFake()
		h := newHarness(t, newTest(f, Options{Job: jobID, Demo: true, BoxLabel: "QRXS-FKZ1"}))
		h.expect("DEMO")
		walk(t, h, f)
	})
}

// walk presses the doc's keys from the survey to the end.
func walk(t *testing.T, h *harness, f *fakeDriver) {
	t.Helper()
	// Survey: floors, apartments, then each door, then power and mounting.
	h.expect("Survey of Elm Court")
	h.keys("tab")
	h.text("6")
	h.keys("tab")
	h.text("24")
	h.keys("tab")
	for range 2 {
		h.keys("right", "tab", "tab", "right", "tab", "right", "tab", "right", "tab", "tab", "tab", "tab", "tab", "right", "tab", "y", "tab", "tab")
	}
	h.keys("right", "tab")
	h.text("5")
	h.keys("tab")
	h.text("intercom panel")
	h.keys("tab", "y")
	h.expect("no problems")
	h.keys("enter")
	h.expect("PENDING SIGNAL")
	h.keys("enter")

	// Pair: enter, then y once the label matches.
	h.expect("Connect the unit with the USB cable")
	h.keys("enter")
	h.expect("Q R X S - F K Z 1")
	h.keys("y")
	h.expect("Unit paired")
	h.keys("enter")

	// Self-test with the relay, burn.
	h.expect("Is someone at the door")
	h.keys("y")
	h.expect("Self-test passed")
	h.keys("enter")
	h.keys("enter")
	h.expect("All 2 slots burned")
	h.keys("enter")

	// Consent: the facts, the terms read to the end, the signer, the name.
	h.expect("The manager's consent")
	h.keys("enter")
	h.expect("scroll to the end to continue")
	for range 20 {
		h.keys("pgdown")
	}
	h.expect("read to the end")
	h.keys("enter")
	h.text("Ana Ruiz")
	h.keys("tab")
	h.text("Property manager")
	h.keys("tab", "right", "tab", "y", "enter")
	h.text("Ana Ruiz")
	h.keys("enter")
	h.expect("Do you agree to these terms and sign?")
	h.keys("y")
	h.expect("Consent signed")
	h.keys("enter")

	// Notice: print, then record it as mailed to 24 households.
	h.expect("Tenant notice")
	h.keys("enter")
	h.expect("Notice written")
	h.keys("enter", "right", "tab", "tab")
	h.text("24")
	h.keys("enter")
	h.expect("Notice recorded")
	h.keys("enter")

	// Upload and leave.
	h.expect("Every step is done")
	h.keys("enter")
	h.expect("Sent 7 records")
	h.keys("enter")
	h.expect("Install of Elm Court finished.")
	h.keys("enter")
	if !h.quit {
		t.Fatal("enter on the summary did not leave")
	}
	r := h.m.Result()
	if r.Job != jobID || !r.Finished || !r.Uploaded || r.Upload.Sent != 7 {
		t.Errorf("result %+v", r)
	}
	if err := h.m.Err(); err != nil {
		t.Errorf("leaving the summary: %v", err)
	}
	if f.relay == nil || !*f.relay || f.labelOK == nil || !*f.labelOK {
		t.Errorf("relay %v label %v", f.relay, f.labelOK)
	}
	for _, s := range install.Steps() {
		if f.states[s] != install.Done {
			t.Errorf("step %s is %s", s, f.states[s])
		}
	}
}

// TestWalkthroughResume leaves mid-install and starts again: the wizard
// opens where it stopped.
func TestWalkthroughResume(t *testing.T) {
	t.Parallel()
	f := newFake().upTo(install.StepBurn)
	h := newHarness(t, newTest(f, Options{Resume: true}))
	h.expect("Burn the building's keys")
	h.keys("q")
	if !h.quit {
		t.Fatal("q did not leave")
	}
	if !errors.Is(h.m.Err(), ErrQuit) {
		t.Errorf("leaving mid-install: %v, want ErrQuit", h.m.Err())
	}
	h = newHarness(t, newTest(f, Options{Job: "3f2a9c1d"}))
	h.expect("Burn the building's keys")
}

// TestRun runs the program on plain input and output: q leaves it.
func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Run(ctx, newFake(), Options{NoColor: true}, strings.NewReader("q"), &out)
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("err %v, want ErrQuit: the caller says how to resume", err)
	}
	if r.Job != "" || r.Finished {
		t.Errorf("result %+v", r)
	}
}
