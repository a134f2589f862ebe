package demo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// answers to `demo --plain` for the whole install: the survey of the demo's
// two doors, pairing, a self-test without the relay, the consent, the notice
// (emailed to 24 households) and the upload.
var answers = []string{
	"", "6", "24", // address, floors, apartments
	"swing", "y", "maglock", "12VDC", "2-wire", "y", "y", "Comelit", "", "2-wire", "y", "", // lobby
	"gate", "n", "strike-fail-secure", "24VDC", "4-wire", "n", "", "", "none", "", // garage
	"mains", "5", "lobby ceiling void", "y", // power and mount
	"", "", "", // hazards, notes, photos: none
	"", "y", // pair: connected, label matches
	"n",                    // self-test without the relay
	"", "", "", "", "", "", // consent facts: the demo's settings
	"Ana Ruiz", "Property manager", "managing-agent", "y", "Ana Ruiz", "y",
	"", "", "", "", "", // notice facts: the demo's settings
	"emailed", "", "24", "",
	"y", // send now
}

// TestDemoPlain runs the demo line by line, keeps its data, and runs it
// again: the second run finds the install done and sends nothing twice.
func TestDemoPlain(t *testing.T) {
	m := clitest.New(t, "demo")
	// The virtual unit's certificates are issued now.
	m.Now = time.Now()
	keep := filepath.Join(t.TempDir(), "demo")
	r := m.RunIn(strings.Join(answers, "\n")+"\n", "demo", "--plain", "--keep", keep)
	if r.Code != 0 {
		t.Fatalf("demo --plain: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"Survey verdict with this signal: go", "gift card worth 100 USD", "Sent 8 records"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, r.Stdout)
		}
	}
	for _, want := range []string{"back office records: 8", "printed notice:", "latchkey install status --job"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the goodbye lacks %q:\n%s", want, r.Stderr)
		}
	}
	// The demo kept its own laptop; the machine's own data is untouched.
	if _, err := os.Stat(filepath.Join(keep, "laptop", "data", "latchkey.db")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(m.Home, "data", "latchkey.db")); !os.IsNotExist(err) {
		t.Errorf("the demo touched the machine's own store: %v", err)
	}

	again := m.RunIn("y\n", "demo", "--plain", "--keep", keep)
	if again.Code != 0 || !strings.Contains(again.Stderr, "continuing the demo") || !strings.Contains(again.Stderr, "back office records: 8") {
		t.Fatalf("second run: exit %d\n%s\n%s", again.Code, again.Stdout, again.Stderr)
	}
}

// TestDemoRefusals: the demo says what to do instead.
func TestDemoRefusals(t *testing.T) {
	m := clitest.New(t, "demo")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"demo"}, "needs a terminal"},
		{[]string{"demo", "--plain", "--resume"}, "--resume continues a demo kept with --keep"},
		{[]string{"demo", "--plain", "--resume", "--keep", t.TempDir()}, "no demo in"},
	}
	for _, tc := range tests {
		r := m.RunIn("", tc.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	notDemo := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDemo, "thesis.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := m.RunIn("", "demo", "--plain", "--keep", notDemo); r.Code != 1 || !strings.Contains(r.Stderr, "holds no demo") {
		t.Errorf("--keep on a directory with other files: exit %d %q", r.Code, r.Stderr)
	}
}
