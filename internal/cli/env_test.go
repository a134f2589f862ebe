package cli_test

import (
	"runtime"
	"testing"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// newMachine returns a machine of its own for one test, whose build says
// what the version tests expect.
func newMachine(t *testing.T) *clitest.Machine {
	t.Helper()
	m := clitest.New(t, "latchkey")
	m.Build = cmdutil.BuildInfo{Version: "1.2.3-test", Commit: "abc1234", Date: "2026-11-01", GoVersion: runtime.Version()}
	return m
}
