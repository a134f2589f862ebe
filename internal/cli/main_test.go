package cli_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/cli"
)

// elmCourt is a complete visit given as flags.
var elmCourt = []string{"visit", "log", "--rep", "Dana Reyes", "--building", "Elm Court", "--address", "12 Elm St",
	"--city", "Springfield", "--units", "24", "--contact", "Ana Ruiz", "--role", "manager",
	"--outcome", "interested", "--when", "2026-11-20 10:00"}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		setup      [][]string // command lines run first, each must succeed
		wantCode   int
		wantStdout string   // substring
		wantStderr []string // substrings of stderr
		// onceStderr must appear exactly once on stderr (hints are not repeated).
		onceStderr string
		// bug names a known product bug this case shows; see expectBug.
	}{
		{
			name: "unknown command", args: []string{"vist", "list"}, wantCode: cli.ExitUsage,
			wantStderr: []string{`unknown command "vist"`, "latchkey --help"},
		},
		{
			name: "unknown command by prefix gets a suggestion", args: []string{"visit", "li"}, wantCode: cli.ExitUsage,
			wantStderr: []string{`unknown command "li" for "latchkey visit"`, "did you mean list?", "latchkey visit --help"},
		},
		{
			name: "misspelt command gets a suggestion", args: []string{"vist", "list"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"did you mean visit?"},
		},
		{
			name: "misspelt verb gets a suggestion", args: []string{"visit", "lst"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"did you mean list?"},
		},
		{
			name: "unknown flag", args: []string{"visit", "list", "--colour"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"unknown flag: --colour", "see 'latchkey visit list --help'"},
		},
		{
			name: "flag without its value", args: []string{"visit", "list", "--limit"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"--limit", "latchkey visit list --help"},
		},
		{
			name: "bad int flag", args: []string{"visit", "list", "--limit", "lots"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"--limit", "lots"},
		},
		{
			name: "negative limit", args: []string{"visit", "list", "--limit", "-1"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"--limit"},
		},
		{
			name: "limit 0 lists everything, as its help says", args: []string{"visit", "list", "--limit", "0"}, wantCode: cli.ExitOK,
			wantStderr: []string{"no visits match"},
		},
		{
			name: "visit show without id", args: []string{"visit", "show"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"visit show takes one visit ID", "latchkey visit show --help"},
		},
		{
			name: "visit log with fields missing and no terminal", args: []string{"visit", "log", "--building", "Elm Court"},
			wantCode:   cli.ExitUsage,
			wantStderr: []string{"missing", "--rep", "--address", "--city", "--units", "--outcome", "config set rep"},
		},
		{
			name: "visit log names every missing flag", args: []string{"visit", "log", "--rep", "Dana Reyes"},
			wantCode:   cli.ExitUsage,
			wantStderr: []string{"missing", "--building", "--address", "--city", "--units", "--outcome"},
		},
		{
			name: "visit log with a bad email", args: append(clone(elmCourt), "--email", "bad"), wantCode: cli.ExitUsage,
			wantStderr: []string{"--email", `"bad" is not an email address`},
		},
		{
			name: "visit log with a bad incentive", args: append(clone(elmCourt), "--incentive", "gift-card:lots:USD"),
			wantCode: cli.ExitUsage, wantStderr: []string{"--incentive"},
		},
		{
			name: "visit log in the future", args: append(clone(elmCourt), "--when", "2026-12-25"), wantCode: cli.ExitUsage,
			wantStderr: []string{"--when", "in the future"},
		},
		{
			name: "visit log with a stray argument", args: []string{"visit", "log", "Elm Court"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"takes no arguments", "give the fields as flags", "latchkey visit log --help"},
		},
		{
			name: "visit show of an unknown id", args: []string{"visit", "show", "deadbeef"}, wantCode: cli.ExitFailure,
			wantStderr: []string{"visit not found", "deadbeef", "latchkey visit list"},
		},
		{
			name: "visit delete without --yes and no terminal", args: []string{"visit", "delete", "PLACEHOLDER"},
			setup: [][]string{elmCourt}, wantCode: cli.ExitUsage,
			wantStderr: []string{"--yes"},
		},
		{
			name: "visit edit with nothing to change and no terminal", args: []string{"visit", "edit", "PLACEHOLDER"},
			setup: [][]string{elmCourt}, wantCode: cli.ExitUsage,
			wantStderr: []string{"nothing to change"},
		},
		{
			name: "visit show with too short an id", args: []string{"visit", "show", "ab"}, wantCode: cli.ExitFailure,
			wantStderr: []string{"at least 4 characters"},
		},
		{
			name: "visit list with since after until", args: []string{"visit", "list", "--since", "2026-12-01", "--until", "2026-11-01"},
			wantCode: cli.ExitUsage, wantStderr: []string{"--since is not before --until"},
		},
		{
			name: "visit import of a missing file", args: []string{"visit", "import", "no-such-file.csv"},
			wantCode: cli.ExitFailure, wantStderr: []string{"no-such-file.csv", "check the path"},
		},
		{
			name: "config get of an unknown key", args: []string{"config", "get", "nope"}, wantCode: cli.ExitUsage,
			wantStderr: []string{`unknown config key "nope"`},
		},
		{
			name: "unknown key hint is given once", args: []string{"config", "get", "nope"}, wantCode: cli.ExitUsage,
			onceStderr: "latchkey config list",
		},
		{
			name: "config get of a misspelt key", args: []string{"config", "get", "list.limt"}, wantCode: cli.ExitUsage,
			wantStderr: []string{"did you mean list.limit?"},
		},
		{
			name: "bad environment value", args: []string{"visit", "list"}, env: map[string]string{"LATCHKEY_LIST_LIMIT": "lots"},
			wantCode: cli.ExitFailure, wantStderr: []string{"LATCHKEY_LIST_LIMIT", "lots"},
		},
		{name: "version", args: []string{"version"}, wantCode: cli.ExitOK, wantStdout: "latchkey 1.2.3-test"},
		{name: "--version", args: []string{"--version"}, wantCode: cli.ExitOK, wantStdout: "latchkey 1.2.3-test (commit abc1234"},
		{name: "version --json", args: []string{"version", "--json"}, wantCode: cli.ExitOK, wantStdout: `"version": "1.2.3-test"`},
		{name: "help", args: []string{"--help"}, wantCode: cli.ExitOK, wantStdout: "Exit codes:"},
		{name: "group without a verb prints help", args: []string{"visit"}, wantCode: cli.ExitOK, wantStdout: "Available Commands:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMachine(t)
			for k, v := range tt.env {
				m.Env[k] = v
			}
			args := tt.args
			for _, s := range tt.setup {
				r := m.MustRun(s...)
				// The last setup command's stdout (a new visit's id) fills in PLACEHOLDER.
				args = replace(args, "PLACEHOLDER", strings.TrimSpace(r.Stdout))
			}
			r := m.Run(args...)
			var problems []string
			fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
			if r.Code != tt.wantCode {
				fail("latchkey %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.Code, tt.wantCode, r.Stderr)
			}
			if !strings.Contains(r.Stdout, tt.wantStdout) {
				fail("stdout = %q, want it to contain %q", r.Stdout, tt.wantStdout)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(r.Stderr, want) {
					fail("stderr = %q, want it to contain %q", r.Stderr, want)
				}
			}
			if tt.onceStderr != "" && strings.Count(r.Stderr, tt.onceStderr) != 1 {
				fail("stderr = %q, want %q in it exactly once", r.Stderr, tt.onceStderr)
			}
			switch {
			case tt.wantCode == cli.ExitOK && r.Code == cli.ExitOK:
				if tt.wantStderr == nil && r.Stderr != "" {
					fail("stderr = %q, want nothing", r.Stderr)
				}
			case r.Code != cli.ExitOK:
				// A failure is one line on stderr, prefixed, and nothing on stdout.
				if strings.Count(r.Stderr, "\n") != 1 || !strings.HasSuffix(r.Stderr, "\n") || !strings.HasPrefix(r.Stderr, "latchkey: ") {
					fail("stderr = %q, want exactly one line starting with \"latchkey: \"", r.Stderr)
				}
				if r.Stdout != "" {
					fail("stdout = %q, want nothing on failure", r.Stdout)
				}
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

func clone(xs []string) []string { return append([]string(nil), xs...) }

func replace(xs []string, old, new string) []string {
	out := clone(xs)
	for i := range out {
		if out[i] == old {
			out[i] = new
		}
	}
	return out
}
