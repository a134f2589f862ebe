// Package proc builds the latchkey binary and times it as a process, for the
// benchmarks whose targets are about whole commands (start-up included). It
// is used only by tests and benchmarks.
package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Build compiles ./cmd/latchkey into a temporary directory, as a release
// would (trimmed paths, no debug symbols), and returns the binary's path.
func Build(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "latchkey")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/latchkey/latchkey/cmd/latchkey")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("build latchkey: %v", err)
	}
	return bin
}

// Median runs the command runs times (after one warm-up run that fills the
// page cache) and returns the median wall time of the runs. env is added to
// the process's environment.
func Median(tb testing.TB, runs int, env []string, name string, args ...string) time.Duration {
	tb.Helper()
	times := make([]time.Duration, 0, runs)
	for i := range runs + 1 {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		if i > 0 {
			times = append(times, d)
		}
	}
	slices.Sort(times)
	return times[len(times)/2]
}
