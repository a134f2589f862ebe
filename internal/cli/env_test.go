package cli_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

// testNow is the fixed clock of every test: a Wednesday afternoon, local time.
var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.Local)

// testEnv is one user's machine: a LATCHKEY_HOME of its own, a clock that
// stands still and one random stream shared by every command run on it, so
// that ids are deterministic yet never repeat between runs.
type testEnv struct {
	t    *testing.T
	home string
	env  map[string]string
	rand io.Reader
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	home := t.TempDir()
	return &testEnv{
		t:    t,
		home: home,
		env:  map[string]string{"LATCHKEY_HOME": home},
		rand: rand.NewChaCha8([32]byte{'l', 'a', 't', 'c', 'h', 'k', 'e', 'y'}),
	}
}

// factory returns a Factory over fresh test streams, with stdin fed to In.
func (e *testEnv) factory(stdin string) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, in, out, errOut := cmdutil.Test()
	in.WriteString(stdin)
	f := &cmdutil.Factory{
		IO:     ios,
		Build:  cmdutil.BuildInfo{Version: "1.2.3-test", Commit: "abc1234", Date: "2026-11-01", GoVersion: runtime.Version()},
		Now:    func() time.Time { return testNow },
		Rand:   e.rand,
		Getenv: func(k string) string { return e.env[k] },
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}
	return f, out, errOut
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs one command line to completion, as the binary would.
func (e *testEnv) run(args ...string) result {
	e.t.Helper()
	return e.runIn("", args...)
}

func (e *testEnv) runIn(stdin string, args ...string) result {
	e.t.Helper()
	f, out, errOut := e.factory(stdin)
	code := cli.Run(context.Background(), f, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustRun runs args and fails the test unless the command succeeds.
func (e *testEnv) mustRun(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != cli.ExitOK {
		e.t.Fatalf("latchkey %s: exit %d, want 0\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}
