package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/proc"
	"github.com/latchkey/latchkey/internal/testutil/tmuxtest"
)

// wizard drives the install wizard in a tmux session at 80x24 as a person
// would: press keys, then wait for the screen the keys lead to.
type wizard struct {
	t *testing.T
	s *tmuxtest.Session
}

// step presses keys (tmux key names; text in quotes is typed as is) and
// waits for the screen to show want.
func (w wizard) step(want string, keys ...string) string {
	w.t.Helper()
	for _, k := range keys {
		if strings.HasPrefix(k, "'") {
			w.s.Text(strings.Trim(k, "'"))
		} else {
			w.s.Keys(k)
		}
		// A person does not type faster than a terminal redraws.
		time.Sleep(40 * time.Millisecond)
	}
	return w.s.WaitFor(regexp.MustCompile(regexp.QuoteMeta(want)), 30*time.Second)
}

// survey fills in the demo job's survey (two doors) and saves it.
func (w wizard) survey() {
	w.t.Helper()
	w.step("Survey of Elm Court")
	w.step("Apartments", "Tab", "'6", "Tab", "'24", "Tab")
	for range 2 {
		w.step("Survey", "Right", "Tab", "Tab", "Right", "Tab", "Right", "Tab", "Right", "Tab", "Tab", "Tab", "Tab", "Tab", "Right", "Tab", "y", "Tab", "Tab")
	}
	w.step("no problems", "Right", "Tab", "'5", "Tab", "'intercom panel", "Tab", "y")
	w.step("Verdict: PENDING SIGNAL", "Enter")
}

// pairAndTest pairs the unit, comparing the label code the unit shows with
// the one on its box, and runs the self-test with the relay.
func (w wizard) pairAndTest() {
	w.t.Helper()
	w.step("Connect the unit with the USB cable", "Enter")
	screen := w.step("Does this code match", "Enter")
	// The code in big letters, and the box's, as the installer compares them.
	big := regexp.MustCompile(`║\s+([0-9A-Z -]+?)\s+║`).FindStringSubmatch(screen)
	box := regexp.MustCompile(`box reads ([0-9A-Z-]+)\.`).FindStringSubmatch(screen)
	if big == nil || box == nil || strings.ReplaceAll(big[1], " ", "") != box[1] {
		w.t.Fatalf("the label code on screen and the box's do not compare:\n%s", screen)
	}
	w.step("Attestation passed", "y")
	w.step("Is someone at the door", "Enter")
	w.step("Self-test passed", "y")
	w.step("enter burn the keys", "Enter")
}

// consentToEnd, from the consent's facts screen, signs the consent as the
// manager, records the notice as mailed to 24 households, and sends
// everything.
func (w wizard) consentToEnd() {
	w.t.Helper()
	w.step("Terms for the manager to read", "Enter")
	// Enter does nothing until the terms were scrolled to their end.
	screen := w.step("scroll to the end to continue", "Enter")
	if !strings.Contains(screen, "Terms for the manager to read") {
		w.t.Fatalf("the terms can be passed before they are read:\n%s", screen)
	}
	// The incentive is disclosed in the terms the manager scrolls through.
	seen := ""
	for i := 0; i < 40 && !strings.Contains(seen, "read to the end"); i++ {
		w.s.Keys("NPage")
		time.Sleep(40 * time.Millisecond)
		seen = w.s.Screen()
		if strings.Contains(seen, "gift card worth 100 USD") {
			w.t.Log("the incentive is disclosed")
		}
	}
	w.step("read to the end")
	w.step("Hand the screen to the manager", "Enter")
	w.step("Statement of intent", "'Ana Ruiz", "Tab", "'Property manager", "Tab", "Right", "Tab", "y", "Enter")
	w.step("Do you agree to these terms and sign", "'Ana Ruiz", "Enter")
	w.step("Consent signed", "y")
	w.step("what it tells tenants", "Enter")
	w.step("Notice written", "Enter")
	w.step("How the notice was given", "Enter")
	w.step("Notice recorded", "Right", "Tab", "Tab", "'24", "Enter")
	w.step("Every step is done", "Enter")
	w.step("Sent 8 records", "Enter")
	w.step("Install of Elm Court finished", "Enter")
	w.step("back office records: 8", "Enter")
}

func demoSession(t *testing.T) (*tmuxtest.Session, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs it in tmux")
	}
	bin := proc.Build(t)
	dir := t.TempDir()
	s := tmuxtest.New(t, 80, 24,
		"PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"),
		"LATCHKEY_HOME="+filepath.Join(dir, "own"),
		"HOME="+dir, "TERM=xterm-256color")
	return s, dir
}

// TestE2EDemoInstall runs `latchkey demo --tour` as a new installer would,
// from the README's first command to the upload, at 80x24.
func TestE2EDemoInstall(t *testing.T) {
	s, dir := demoSession(t)
	w := wizard{t: t, s: s}
	keep := filepath.Join(dir, "demo")
	s.Type("latchkey demo --tour --keep " + keep)
	if screen := w.step("Survey of Elm Court"); !strings.Contains(screen, "Tip:") || !strings.Contains(screen, "DEMO") {
		t.Fatalf("no tour hint or demo marker:\n%s", screen)
	}
	w.survey()
	w.pairAndTest()
	w.step("All 2 slots burned; every receipt verified", "Enter")
	w.step("the facts the terms state", "Enter")
	w.consentToEnd()
	screen := s.Screen()
	for _, want := range []string{"install report install-report.", "printed notice:", ".pdf"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the demo's goodbye lacks %q:\n%s", want, screen)
		}
	}
	// The user's own latchkey data was not touched.
	if _, err := os.Stat(filepath.Join(dir, "own")); !os.IsNotExist(err) {
		t.Errorf("the demo wrote to the user's own LATCHKEY_HOME: %v", err)
	}
}

// TestE2EDemoKillMidBurn kills the demo while the unit is between its two
// key writes, then finishes the install with --resume: the burned slot is
// kept, the other is burned once, and the unit holds exactly the job's keys.
func TestE2EDemoKillMidBurn(t *testing.T) {
	s, dir := demoSession(t)
	w := wizard{t: t, s: s}
	keep := filepath.Join(dir, "demo")
	// --stall-burn makes the unit go deaf at its second key write, so the
	// kill lands between the two writes every time.
	s.Type("latchkey demo --keep " + keep + " --stall-burn 2m")
	w.survey()
	w.pairAndTest()
	w.step("1 of 2 slots", "Enter")
	time.Sleep(300 * time.Millisecond)
	demo := childOf(t, s.PanePID())
	if err := syscall.Kill(demo, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The terminal as a killed full-screen program leaves it.
	s.Type(`stty sane; printf '\033[?1049l'; clear`)
	s.WaitFor(regexp.MustCompile(`(?m)^\$ *$`), 10*time.Second)

	s.Type("latchkey demo --keep " + keep + " --resume")
	screen := w.step("1 of 2 slots were burned before")
	if !strings.Contains(screen, "✓ burned") {
		t.Fatalf("the slot burned before the kill is not shown as burned:\n%s", screen)
	}
	w.step("All 2 slots burned; every receipt verified", "Enter")
	w.step("the facts the terms state", "Enter")
	w.consentToEnd()

	in, err := sim.Inspect(filepath.Join(keep, "unit"), sim.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	for _, sl := range in.Slots {
		if sl.State == "written" {
			written++
		}
	}
	if written != 2 || in.Counter != 2 {
		t.Errorf("the unit holds %d keys after %d writes, want 2 and 2: %+v", written, in.Counter, in.Slots)
	}
}

// childOf finds the process the shell runs now.
func childOf(t *testing.T, ppid int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
			f := strings.Fields(rest)
			if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
				return pid
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no process under the shell %d", ppid)
	return 0
}
