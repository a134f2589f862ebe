package config_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// newMachine returns a machine of its own for one test.
func newMachine(t *testing.T) *clitest.Machine {
	t.Helper()
	return clitest.New(t, "cfg")
}

type value struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Source  string `json:"source"`
	Env     string `json:"env"`
	Default string `json:"default"`
	Help    string `json:"help"`
}

// list returns config list --json by key.
func list(t *testing.T, m *clitest.Machine) map[string]value {
	t.Helper()
	var vs []value
	m.JSON(&vs, "config", "list")
	out := map[string]value{}
	for _, v := range vs {
		out[v.Key] = v
	}
	return out
}

func TestSetThenGet(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	if got := m.MustRun("config", "get", "list.limit").Stdout; got != "50\n" {
		t.Errorf("default list.limit = %q, want 50", got)
	}
	r := m.MustRun("config", "set", "list.limit", "7")
	if r.Stdout != "" || !strings.Contains(r.Stderr, "set list.limit = 7 in "+m.ConfigFile()) {
		t.Errorf("config set: stdout %q, stderr %q", r.Stdout, r.Stderr)
	}
	if got := m.MustRun("config", "get", "list.limit").Stdout; got != "7\n" {
		t.Errorf("config get list.limit = %q, want 7", got)
	}
	var v value
	if err := json.Unmarshal([]byte(m.MustRun("config", "get", "list.limit", "--json").Stdout), &v); err != nil {
		t.Fatal(err)
	}
	if v != (value{Key: "list.limit", Value: "7", Source: "file", Env: "LATCHKEY_LIST_LIMIT", Default: "50", Help: v.Help}) || v.Help == "" {
		t.Errorf("config get --json = %+v", v)
	}
	if fi, err := os.Stat(m.ConfigFile()); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode = %v, want 0600", fi.Mode().Perm())
	}

	// The setting reaches the commands that use it.
	var visits []any
	if err := json.Unmarshal([]byte(m.MustRun("visit", "list", "--json").Stdout), &visits); err != nil || len(visits) != 0 {
		t.Errorf("visit list --json on an empty store = %v, %v; want []", visits, err)
	}

	r = m.MustRun("config", "unset", "list.limit")
	if !strings.Contains(r.Stderr, `it is now "50" (default)`) {
		t.Errorf("config unset stderr = %q", r.Stderr)
	}
	if got := m.MustRun("config", "get", "list.limit").Stdout; got != "50\n" {
		t.Errorf("list.limit after unset = %q, want 50", got)
	}
}

func TestEnvironmentWinsOverTheFile(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.MustRun("config", "set", "list.limit", "7")
	m.Env["LATCHKEY_LIST_LIMIT"] = "9"
	if got := m.MustRun("config", "get", "list.limit").Stdout; got != "9\n" {
		t.Errorf("config get list.limit = %q, want 9 from the environment", got)
	}
	got := list(t, m)["list.limit"]
	if got.Value != "9" || got.Source != "env" {
		t.Errorf("config list: list.limit = %q from %q, want 9 from env", got.Value, got.Source)
	}
	r := m.MustRun("config", "set", "list.limit", "11")
	if !strings.Contains(r.Stderr, "LATCHKEY_LIST_LIMIT is set in the environment and wins over the file") {
		t.Errorf("config set under an environment variable: stderr %q, want a note", r.Stderr)
	}
	delete(m.Env, "LATCHKEY_LIST_LIMIT")
	if got := m.MustRun("config", "get", "list.limit").Stdout; got != "11\n" {
		t.Errorf("list.limit without the variable = %q, want 11 from the file", got)
	}
}

func TestListShowsEveryKeyAndItsSource(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.Env["USER"] = "dana"
	m.Env["NO_COLOR"] = "1"
	m.MustRun("config", "set", "verbose", "yes")
	got := list(t, m)
	want := map[string][2]string{
		"list.limit":           {"50", "default"},
		"no-color":             {"true", "env"},
		"notice.contact-email": {"", "default"},
		"notice.contact-name":  {"", "default"},
		"notice.contact-phone": {"", "default"},
		"notice.contact-web":   {"", "default"},
		"notice.operator":      {"", "default"},
		"notice.policy-url":    {"", "default"},
		"rep":                  {"dana", "default"},
		"unit.usb-id":          {"1209:0001", "default"},
		"verbose":              {"true", "file"},
	}
	if len(got) != len(want) {
		t.Errorf("config list has %d keys, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k].Value != w[0] || got[k].Source != w[1] {
			t.Errorf("%s = %q from %q, want %q from %q", k, got[k].Value, got[k].Source, w[0], w[1])
		}
	}
	m.Env["LATCHKEY_VERBOSE"] = "" // an empty variable counts as unset
	r := m.MustRun("config", "list")
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != len(want)+1 || lines[0] != "KEY\tVALUE\tFROM\tENVIRONMENT\tMEANING" || !strings.HasPrefix(lines[len(want)], "verbose\ttrue\tfile\tLATCHKEY_VERBOSE\t") {
		t.Errorf("piped config list =\n%s", r.Stdout)
	}
}

func TestSetRefusesBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{name: "not a number", args: []string{"list.limit", "abc"}, wantStderr: []string{"list.limit", `"abc" is not a whole number`}},
		{name: "out of range", args: []string{"list.limit", "100000"}, wantStderr: []string{"out of range"}},
		{name: "not a bool", args: []string{"verbose", "maybe"}, wantStderr: []string{"verbose", `"maybe" is not true or false`}},
		{name: "unknown key", args: []string{"list.limt", "5"}, wantStderr: []string{"did you mean list.limit?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMachine(t)
			m.MustRun("config", "set", "rep", "Dana Reyes")
			before, err := os.ReadFile(m.ConfigFile())
			if err != nil {
				t.Fatal(err)
			}
			r := m.Run(append([]string{"config", "set"}, tt.args...)...)
			if r.Code == 0 {
				t.Fatalf("config set %s succeeded, want a failure", strings.Join(tt.args, " "))
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", r.Stderr, want)
				}
			}
			if strings.Count(r.Stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line", r.Stderr)
			}
			if after, _ := os.ReadFile(m.ConfigFile()); string(after) != string(before) {
				t.Errorf("a refused set changed the file:\n%s\nto\n%s", before, after)
			}
		})
	}
}

func TestPath(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	var got map[string]string
	if err := json.Unmarshal([]byte(m.MustRun("config", "path", "--json").Stdout), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"config_file": m.ConfigFile(),
		"store":       filepath.Join(m.Home, "data", "latchkey.db"),
		"config":      filepath.Join(m.Home, "config"),
		"data":        filepath.Join(m.Home, "data"),
		"state":       filepath.Join(m.Home, "state"),
		"cache":       filepath.Join(m.Home, "cache"),
	}
	if len(got) != len(want) {
		t.Errorf("config path --json = %v, want keys %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	// Nothing is created just by asking where things are.
	if entries, _ := os.ReadDir(m.Home); len(entries) != 0 {
		t.Errorf("config path created %d entries under LATCHKEY_HOME", len(entries))
	}
	r := m.MustRun("config", "path")
	if !strings.Contains(r.Stdout, "store        "+want["store"]+"\n") {
		t.Errorf("config path =\n%s", r.Stdout)
	}
}

func TestRepFromConfigIsUsedByVisitLog(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.Env["USER"] = "login-name"
	log := []string{"visit", "log", "--building", "Oak House", "--address", "3 Oak Rd", "--city", "Springfield",
		"--units", "8", "--outcome", "no-answer", "--when", "2026-11-21 09:15", "--json"}
	rep := func() string {
		var v struct{ Rep string }
		if err := json.Unmarshal([]byte(m.MustRun(log...).Stdout), &v); err != nil {
			t.Fatal(err)
		}
		return v.Rep
	}
	if got := rep(); got != "login-name" {
		t.Errorf("rep without config = %q, want the login name", got)
	}
	m.MustRun("config", "set", "rep", "Dana Reyes")
	if got := rep(); got != "Dana Reyes" {
		t.Errorf("rep after config set rep = %q, want Dana Reyes", got)
	}
	m.Env["LATCHKEY_REP"] = "Sam Lee"
	if got := rep(); got != "Sam Lee" {
		t.Errorf("rep with LATCHKEY_REP = %q, want Sam Lee", got)
	}
}

// TestBrokenConfigFile: a config file that does not parse is named with its
// line by every command that needs it, is never overwritten, and does not
// stop the commands that do not need it.
func TestBrokenConfigFile(t *testing.T) {
	t.Parallel()
	const broken = "verbose = \n"
	for _, tt := range []struct {
		args     []string
		wantCode int
	}{
		{args: []string{"visit", "list"}, wantCode: cli.ExitFailure},
		{args: []string{"config", "get", "verbose"}, wantCode: cli.ExitFailure},
		{args: []string{"config", "set", "verbose", "true"}, wantCode: cli.ExitFailure},
		{args: []string{"config", "path"}, wantCode: 0},
		{args: []string{"version"}, wantCode: 0},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			m := newMachine(t)
			if err := os.MkdirAll(filepath.Dir(m.ConfigFile()), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(m.ConfigFile(), []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			r := m.Run(tt.args...)
			var problems []string
			if r.Code != tt.wantCode {
				problems = append(problems, "exit "+itoa(r.Code)+", want "+itoa(tt.wantCode)+"; stderr "+r.Stderr)
			}
			if tt.wantCode != 0 {
				if !strings.Contains(r.Stderr, m.ConfigFile()+" line 1") {
					problems = append(problems, "stderr "+strconv.Quote(r.Stderr)+" does not name the file and line")
				}
				if n := strings.Count(r.Stderr, "\n"); n != 1 {
					problems = append(problems, "stderr has "+itoa(n)+" lines, want one: "+strconv.Quote(r.Stderr))
				}
			}
			if body, _ := os.ReadFile(m.ConfigFile()); string(body) != broken {
				problems = append(problems, "the broken file was changed to "+strconv.Quote(string(body)))
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
