package unitopt

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// TestReopenFollowsTheUnit: a unit picked automatically that comes back under
// another port name (a USB unit re-enumerating as ttyACM1) is found again by
// its serial number; without a finder (--port named the port) the old path
// is waited for until --wait-for runs out.
func TestReopenFollowsTheUnit(t *testing.T) {
	t.Parallel()
	s := simtest.Start(t, sim.Options{}, simtest.Config{})
	old := filepath.Join(t.TempDir(), "ttyACM0") // never created: the old name is gone
	var said []string
	link := func(find func() (string, bool)) *Link {
		return &Link{Path: old, fl: Flags{Timeout: time.Second, WaitFor: 500 * time.Millisecond}, find: find,
			errOut: func(format string, args ...any) { said = append(said, format) }}
	}

	l := link(func() (string, bool) { return s.Link, true })
	if err := l.Reopen(context.Background()); err != nil {
		t.Fatalf("Reopen with the unit on a new port: %v", err)
	}
	defer l.Close()
	if l.Path != s.Link || l.Reopened != 1 {
		t.Fatalf("link on %q (reopened %d), want %q", l.Path, l.Reopened, s.Link)
	}
	if got, err := l.Unit.Echo(context.Background(), "hi"); err != nil || got != "hi" {
		t.Fatalf("echo on the new port: %q, %v", got, err)
	}
	if len(said) != 1 || !strings.Contains(said[0], "came back on") {
		t.Fatalf("told the user %q, want where the unit came back", said)
	}

	for name, find := range map[string]func() (string, bool){
		"named port":           nil,
		"unit not back at all": func() (string, bool) { return "", false },
	} {
		l := link(find)
		err := l.Reopen(context.Background())
		if !errors.Is(err, ErrPortGone) || l.Path != old {
			t.Fatalf("%s: Reopen = %v on %q, want ErrPortGone on the old path", name, err, l.Path)
		}
	}
}
