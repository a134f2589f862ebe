// Package tmuxtest drives programs in a tmux session, as a person at a
// terminal would: type a line, wait for the screen to show something, read
// the screen. It is used only by end-to-end tests.
//
// tmux must be installed; scripts/test installs it. A test calls New, which
// skips the test when tmux is missing unless LATCHKEY_E2E=required (set by
// scripts/test), in which case it fails.
package tmuxtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Session is one tmux server and session of its own, removed when the test
// ends.
type Session struct {
	t      testing.TB
	socket string
	name   string
}

// New starts a detached session of the given size running a plain shell,
// with env added to its environment.
func New(t testing.TB, width, height int, env ...string) *Session {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("LATCHKEY_E2E") == "required" {
			t.Fatalf("tmux is not installed: %v (scripts/test installs it)", err)
		}
		t.Skip("tmux is not installed; scripts/test installs it")
	}
	s := &Session{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "e2e"}
	args := []string{"new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)}
	// The shell gets env through env(1): tmux's own -e is missing from
	// older releases, and a running tmux server's environment would win.
	args = append(args, "env")
	args = append(args, env...)
	// No history file: bash writes one when tmux hangs it up, which would
	// race the removal of a test's HOME.
	args = append(args, "PS1=$ ", "HISTFILE=/dev/null", "bash", "--norc", "--noprofile")
	s.tmux(args...)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	s.WaitFor(regexp.MustCompile(`(?m)^\$ *$`), 10*time.Second)
	return s
}

func (s *Session) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Type types line and presses Enter.
func (s *Session) Type(line string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", s.name, "-l", line)
	s.tmux("send-keys", "-t", s.name, "Enter")
}

// Keys sends tmux key names (C-c, Up, Enter, …).
func (s *Session) Keys(keys ...string) {
	s.t.Helper()
	s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// Text types text without pressing Enter.
func (s *Session) Text(text string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", s.name, "-l", text)
}

// PanePID is the pid of the session's shell.
func (s *Session) PanePID() int {
	s.t.Helper()
	var pid int
	fmt.Sscan(strings.TrimSpace(s.tmux("display-message", "-p", "-t", s.name, "#{pane_pid}")), &pid)
	return pid
}

// Screen returns what the terminal shows now, including the scrollback.
func (s *Session) Screen() string {
	s.t.Helper()
	return s.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", s.name)
}

// WaitFor waits until the screen matches re and returns the screen; it
// fails the test with the screen when within passes first.
func (s *Session) WaitFor(re *regexp.Regexp, within time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		screen := s.Screen()
		if re.MatchString(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen did not show %q within %v; it shows:\n%s", re, within, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Run types a command line followed by a marker echo, waits for the marker
// with the command's exit status and returns the status and the screen.
func (s *Session) Run(line string, within time.Duration) (int, string) {
	s.t.Helper()
	marker := fmt.Sprintf("__done_%d__", time.Now().UnixNano())
	s.Type(line + "; echo " + marker + "=$?")
	re := regexp.MustCompile(regexp.QuoteMeta(marker) + `=(\d+)`)
	screen := s.WaitFor(re, within)
	m := re.FindAllStringSubmatch(screen, -1)
	var code int
	fmt.Sscan(m[len(m)-1][1], &code)
	return code, screen
}
