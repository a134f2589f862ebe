// Package clitest runs latchkey's command line in-process against a throwaway
// LATCHKEY_HOME, for tests.
package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

// DefaultNow is the clock a new Machine starts with: a Wednesday afternoon,
// local time.
var DefaultNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.Local)

// Machine is one user's computer: a LATCHKEY_HOME of its own, a clock that
// stands still and one random stream shared by every command run on it, so
// that ids are deterministic yet never repeat between runs.
//
// Env, Now and Build may be changed between runs; each run reads them anew.
// A Machine is not safe for concurrent runs: they share the random stream.
type Machine struct {
	// Home is the LATCHKEY_HOME directory, removed when the test ends.
	Home string
	// Env is the whole environment the commands see; it starts with
	// LATCHKEY_HOME set to Home.
	Env map[string]string
	// Now is the time the commands' clock always says.
	Now time.Time
	// Build is what the version commands report.
	Build cmdutil.BuildInfo

	t    testing.TB
	rand *rand.ChaCha8
}

// New returns a Machine with a new temporary home. seed (at most 32 bytes are
// used) seeds its random stream, so that each test package can draw ids of
// its own.
func New(t testing.TB, seed string) *Machine {
	t.Helper()
	var key [32]byte
	copy(key[:], seed)
	home := t.TempDir()
	return &Machine{
		Home:  home,
		Env:   map[string]string{"LATCHKEY_HOME": home},
		Now:   DefaultNow,
		Build: cmdutil.BuildInfo{Version: "test"},
		t:     t,
		rand:  rand.NewChaCha8(key),
	}
}

// Result is how one command line ended.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Factory returns a Factory for the machine over fresh test streams, with
// stdin fed to In, and the buffers that collect stdout and stderr.
func (m *Machine) Factory(stdin string) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, in, out, errOut := cmdutil.Test()
	in.WriteString(stdin)
	f := &cmdutil.Factory{
		IO:     ios,
		Build:  m.Build,
		Now:    func() time.Time { return m.Now },
		Rand:   m.rand,
		Getenv: func(k string) string { return m.Env[k] },
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}
	return f, out, errOut
}

// Run runs one command line to completion, as the binary would, with
// nothing on stdin and no terminal.
func (m *Machine) Run(args ...string) Result {
	m.t.Helper()
	return m.run("", nil, args)
}

// RunIn is Run with stdin fed to the command.
func (m *Machine) RunIn(stdin string, args ...string) Result {
	m.t.Helper()
	return m.run(stdin, nil, args)
}

// RunTTY runs args as if at a terminal 100 columns wide, answering with stdin.
func (m *Machine) RunTTY(stdin string, args ...string) Result {
	m.t.Helper()
	return m.run(stdin, func(ios *cmdutil.IO) {
		ios.InTTY, ios.OutTTY, ios.ErrTTY, ios.Width = true, true, true, 100
	}, args)
}

// RunOn is Run with setup given the streams first, to change them.
func (m *Machine) RunOn(setup func(*cmdutil.IO), args ...string) Result {
	m.t.Helper()
	return m.run("", setup, args)
}

func (m *Machine) run(stdin string, setup func(*cmdutil.IO), args []string) Result {
	m.t.Helper()
	f, out, errOut := m.Factory(stdin)
	if setup != nil {
		setup(f.IO)
	}
	code := cli.Run(context.Background(), f, args)
	return Result{Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

// MustRun runs args and fails the test at once unless the command succeeds.
func (m *Machine) MustRun(args ...string) Result {
	m.t.Helper()
	r := m.Run(args...)
	if r.Code != cli.ExitOK {
		m.t.Fatalf("latchkey %s: exit %d, want 0\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// JSON runs args with --json, which must succeed, and decodes stdout into v.
func (m *Machine) JSON(v any, args ...string) {
	m.t.Helper()
	r := m.MustRun(append(args[:len(args):len(args)], "--json")...)
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		m.t.Fatalf("latchkey %s --json: %v\n%s", strings.Join(args, " "), err, r.Stdout)
	}
}

// ConfigFile is where the machine's config file is.
func (m *Machine) ConfigFile() string { return filepath.Join(m.Home, "config", "config.toml") }
