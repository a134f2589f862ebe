package config_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

type machine struct {
	t    *testing.T
	home string
	env  map[string]string
	rand *rand.ChaCha8
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	home := t.TempDir()
	return &machine{t: t, home: home, env: map[string]string{"LATCHKEY_HOME": home}, rand: rand.NewChaCha8([32]byte{'c', 'f', 'g'})}
}

type result struct {
	code           int
	stdout, stderr string
}

func (m *machine) run(args ...string) result {
	m.t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := &cmdutil.Factory{
		IO:     ios,
		Build:  cmdutil.BuildInfo{Version: "test"},
		Now:    func() time.Time { return time.Date(2026, 11, 25, 15, 0, 0, 0, time.Local) },
		Rand:   m.rand,
		Getenv: func(k string) string { return m.env[k] },
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}
	code := cli.Run(context.Background(), f, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (m *machine) mustRun(args ...string) result {
	m.t.Helper()
	r := m.run(args...)
	if r.code != 0 {
		m.t.Fatalf("latchkey %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func (m *machine) configFile() string { return filepath.Join(m.home, "config", "config.toml") }

type value struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Source  string `json:"source"`
	Env     string `json:"env"`
	Default string `json:"default"`
	Help    string `json:"help"`
}

func (m *machine) list() map[string]value {
	m.t.Helper()
	var vs []value
	r := m.mustRun("config", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil {
		m.t.Fatalf("config list --json: %v\n%s", err, r.stdout)
	}
	out := map[string]value{}
	for _, v := range vs {
		out[v.Key] = v
	}
	return out
}

func TestSetThenGet(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	if got := m.mustRun("config", "get", "list.limit").stdout; got != "50\n" {
		t.Errorf("default list.limit = %q, want 50", got)
	}
	r := m.mustRun("config", "set", "list.limit", "7")
	if r.stdout != "" || !strings.Contains(r.stderr, "set list.limit = 7 in "+m.configFile()) {
		t.Errorf("config set: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if got := m.mustRun("config", "get", "list.limit").stdout; got != "7\n" {
		t.Errorf("config get list.limit = %q, want 7", got)
	}
	var v value
	if err := json.Unmarshal([]byte(m.mustRun("config", "get", "list.limit", "--json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	if v != (value{Key: "list.limit", Value: "7", Source: "file", Env: "LATCHKEY_LIST_LIMIT", Default: "50", Help: v.Help}) || v.Help == "" {
		t.Errorf("config get --json = %+v", v)
	}
	if fi, err := os.Stat(m.configFile()); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode = %v, want 0600", fi.Mode().Perm())
	}

	// The setting reaches the commands that use it.
	var visits []any
	if err := json.Unmarshal([]byte(m.mustRun("visit", "list", "--json").stdout), &visits); err != nil || len(visits) != 0 {
		t.Errorf("visit list --json on an empty store = %v, %v; want []", visits, err)
	}

	r = m.mustRun("config", "unset", "list.limit")
	if !strings.Contains(r.stderr, `it is now "50" (default)`) {
		t.Errorf("config unset stderr = %q", r.stderr)
	}
	if got := m.mustRun("config", "get", "list.limit").stdout; got != "50\n" {
		t.Errorf("list.limit after unset = %q, want 50", got)
	}
}

func TestEnvironmentWinsOverTheFile(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.mustRun("config", "set", "list.limit", "7")
	m.env["LATCHKEY_LIST_LIMIT"] = "9"
	if got := m.mustRun("config", "get", "list.limit").stdout; got != "9\n" {
		t.Errorf("config get list.limit = %q, want 9 from the environment", got)
	}
	got := m.list()["list.limit"]
	if got.Value != "9" || got.Source != "env" {
		t.Errorf("config list: list.limit = %q from %q, want 9 from env", got.Value, got.Source)
	}
	r := m.mustRun("config", "set", "list.limit", "11")
	if !strings.Contains(r.stderr, "LATCHKEY_LIST_LIMIT is set in the environment and wins over the file") {
		t.Errorf("config set under an environment variable: stderr %q, want a note", r.stderr)
	}
	delete(m.env, "LATCHKEY_LIST_LIMIT")
	if got := m.mustRun("config", "get", "list.limit").stdout; got != "11\n" {
		t.Errorf("list.limit without the variable = %q, want 11 from the file", got)
	}
}

func TestListShowsEveryKeyAndItsSource(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.env["USER"] = "dana"
	m.env["NO_COLOR"] = "1"
	m.mustRun("config", "set", "verbose", "yes")
	got := m.list()
	want := map[string][2]string{
		"list.limit": {"50", "default"},
		"no-color":   {"true", "env"},
		"rep":        {"dana", "default"},
		"verbose":    {"true", "file"},
	}
	if len(got) != len(want) {
		t.Errorf("config list has %d keys, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k].Value != w[0] || got[k].Source != w[1] {
			t.Errorf("%s = %q from %q, want %q from %q", k, got[k].Value, got[k].Source, w[0], w[1])
		}
	}
	m.env["LATCHKEY_VERBOSE"] = "" // an empty variable counts as unset
	r := m.mustRun("config", "list")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 5 || lines[0] != "KEY\tVALUE\tFROM\tENVIRONMENT\tMEANING" || !strings.HasPrefix(lines[4], "verbose\ttrue\tfile\tLATCHKEY_VERBOSE\t") {
		t.Errorf("piped config list =\n%s", r.stdout)
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
			m.mustRun("config", "set", "rep", "Dana Reyes")
			before, err := os.ReadFile(m.configFile())
			if err != nil {
				t.Fatal(err)
			}
			r := m.run(append([]string{"config", "set"}, tt.args...)...)
			if r.code == 0 {
				t.Fatalf("config set %s succeeded, want a failure", strings.Join(tt.args, " "))
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
				}
			}
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line", r.stderr)
			}
			if after, _ := os.ReadFile(m.configFile()); string(after) != string(before) {
				t.Errorf("a refused set changed the file:\n%s\nto\n%s", before, after)
			}
		})
	}
}

func TestPath(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	var got map[string]string
	if err := json.Unmarshal([]byte(m.mustRun("config", "path", "--json").stdout), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"config_file": m.configFile(),
		"store":       filepath.Join(m.home, "data", "latchkey.db"),
		"config":      filepath.Join(m.home, "config"),
		"data":        filepath.Join(m.home, "data"),
		"state":       filepath.Join(m.home, "state"),
		"cache":       filepath.Join(m.home, "cache"),
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
	if entries, _ := os.ReadDir(m.home); len(entries) != 0 {
		t.Errorf("config path created %d entries under LATCHKEY_HOME", len(entries))
	}
	r := m.mustRun("config", "path")
	if !strings.Contains(r.stdout, "store        "+want["store"]+"\n") {
		t.Errorf("config path =\n%s", r.stdout)
	}
}

func TestRepFromConfigIsUsedByVisitLog(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.env["USER"] = "login-name"
	log := []string{"visit", "log", "--building", "Oak House", "--address", "3 Oak Rd", "--city", "Springfield",
		"--units", "8", "--outcome", "no-answer", "--when", "2026-11-21 09:15", "--json"}
	rep := func() string {
		var v struct{ Rep string }
		if err := json.Unmarshal([]byte(m.mustRun(log...).stdout), &v); err != nil {
			t.Fatal(err)
		}
		return v.Rep
	}
	if got := rep(); got != "login-name" {
		t.Errorf("rep without config = %q, want the login name", got)
	}
	m.mustRun("config", "set", "rep", "Dana Reyes")
	if got := rep(); got != "Dana Reyes" {
		t.Errorf("rep after config set rep = %q, want Dana Reyes", got)
	}
	m.env["LATCHKEY_REP"] = "Sam Lee"
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
			if err := os.MkdirAll(filepath.Dir(m.configFile()), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(m.configFile(), []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			r := m.run(tt.args...)
			var problems []string
			if r.code != tt.wantCode {
				problems = append(problems, "exit "+itoa(r.code)+", want "+itoa(tt.wantCode)+"; stderr "+r.stderr)
			}
			if tt.wantCode != 0 {
				if !strings.Contains(r.stderr, m.configFile()+" line 1") {
					problems = append(problems, "stderr "+strconv.Quote(r.stderr)+" does not name the file and line")
				}
				if n := strings.Count(r.stderr, "\n"); n != 1 {
					problems = append(problems, "stderr has "+itoa(n)+" lines, want one: "+strconv.Quote(r.stderr))
				}
			}
			if body, _ := os.ReadFile(m.configFile()); string(body) != broken {
				problems = append(problems, "the broken file was changed to "+strconv.Quote(string(body)))
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
