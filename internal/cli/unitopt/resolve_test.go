package unitopt_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// announce makes a virtual unit visible to 'latchkey ports' on machine m:
// a discovery file for a live process (this test) and a link that exists.
func announce(t *testing.T, m *clitest.Machine, pid int, serial string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "tty")
	if err := os.WriteFile(link, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(m.Home, "cache")
	if err := sim.Announce(sim.DiscoveryFile(cache, pid), sim.Running{Link: link, PID: pid, Serial: serial}); err != nil {
		t.Fatal(err)
	}
	return link
}

func TestResolve(t *testing.T) {
	t.Parallel()
	t.Run("named port wins", func(t *testing.T) {
		t.Parallel()
		f, _, _ := clitest.New(t, "u").Factory("")
		got, err := unitopt.Resolve(f, unitopt.Flags{Port: "/dev/ttyACM3"})
		if err != nil || got != "/dev/ttyACM3" {
			t.Fatalf("Resolve = %q, %v", got, err)
		}
	})
	t.Run("no unit", func(t *testing.T) {
		t.Parallel()
		f, _, _ := clitest.New(t, "u").Factory("")
		_, err := unitopt.Resolve(f, unitopt.Flags{})
		if !errors.Is(err, unitopt.ErrNoUnit) {
			t.Fatalf("Resolve with no unit: %v", err)
		}
	})
	t.Run("the only unit, announced", func(t *testing.T) {
		t.Parallel()
		m := clitest.New(t, "u")
		link := announce(t, m, os.Getpid(), "SIM-1")
		f, _, errOut := m.Factory("")
		got, err := unitopt.Resolve(f, unitopt.Flags{})
		if err != nil || got != link {
			t.Fatalf("Resolve = %q, %v; want %q", got, err, link)
		}
		if !strings.Contains(errOut.String(), "using virtual-unit SIM-1 on "+link) {
			t.Fatalf("stderr %q does not say which unit", errOut)
		}
	})
	t.Run("messages elsewhere", func(t *testing.T) {
		t.Parallel()
		m := clitest.New(t, "u")
		link := announce(t, m, os.Getpid(), "SIM-1")
		f, _, errOut := m.Factory("")
		var msgs strings.Builder
		if got, err := unitopt.Resolve(f, unitopt.Flags{Messages: &msgs}); err != nil || got != link {
			t.Fatalf("Resolve = %q, %v; want %q", got, err, link)
		}
		if errOut.Len() != 0 || !strings.Contains(msgs.String(), "using virtual-unit SIM-1") {
			t.Fatalf("stderr %q, messages %q: the note belongs in Messages only", errOut, msgs.String())
		}
	})
	t.Run("two units need --port", func(t *testing.T) {
		t.Parallel()
		m := clitest.New(t, "u")
		announce(t, m, os.Getpid(), "SIM-1")
		announce(t, m, os.Getppid(), "SIM-2")
		f, _, _ := m.Factory("")
		_, err := unitopt.Resolve(f, unitopt.Flags{})
		var usage *cmdutil.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--port") {
			t.Fatalf("two units: %v, want a usage error naming --port", err)
		}
	})
}
