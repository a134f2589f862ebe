// Package ptytest opens pseudo-terminals for tests that run a unit's side of
// the serial link on the master and the real client on the slave. It is used
// only by tests.
package ptytest

import (
	"os"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Open returns the master of a new pty, made pollable so read deadlines work
// on it, and the path of its slave. creack/pty leaves the master in blocking
// mode by its own (*os.File).Fd call, on which deadlines are silently
// ignored, so the descriptor is duplicated and set non-blocking. The slave
// stays open until the test ends, so the master never sees the hang-up of a
// slave with no opener.
func Open(t testing.TB) (master *os.File, path string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd, err := unix.Dup(int(m.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { _ = s.Close() })
	t.Cleanup(func() { _ = master.Close() })
	return master, s.Name()
}
