package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// TestMain lets the test binary stand in for latchkey: with
// LATCHKEY_TEST_MAIN=1 it runs main instead of the tests, so process tests
// need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("LATCHKEY_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func latchkey(t *testing.T, home string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LATCHKEY_TEST_MAIN=1", "LATCHKEY_HOME="+home)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// TestTwoProcessesLogVisits runs two latchkey processes that each log visits
// one after another while the other does the same, on one fresh store: none
// may fail (no "database is locked"), and every visit must be there.
func TestTwoProcessesLogVisits(t *testing.T) {
	home := t.TempDir()
	const perProcess = 15
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One shell per writer keeps its visits back to back.
			script := ""
			for i := range perProcess {
				script += fmt.Sprintf("%q visit log --rep rep%d --building 'B %d-%d' --address '%d Main St' --city Springfield --units 10 --outcome no-answer || exit 1\n", os.Args[0], p, p, i, i)
			}
			cmd := exec.Command("sh", "-c", script)
			cmd.Env = append(os.Environ(), "LATCHKEY_TEST_MAIN=1", "LATCHKEY_HOME="+home)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("writer %d: %v\n%s", p, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	out, stderr, err := latchkey(t, home, "visit", "list", "--limit", "0", "--json")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, stderr)
	}
	var visits []struct{ Rep string }
	if err := json.Unmarshal([]byte(out), &visits); err != nil {
		t.Fatal(err)
	}
	if len(visits) != 2*perProcess {
		t.Fatalf("%d visits stored, want %d", len(visits), 2*perProcess)
	}
}

// TestExitCodesAsProcess checks the codes a script sees from the real binary.
func TestExitCodesAsProcess(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"--version"}, 0},
		{[]string{"visit", "list"}, 0},
		{[]string{"visit", "nope"}, 2},
		{[]string{"visit", "list", "--outcome", "maybe"}, 2},
		{[]string{"visit", "show", "abcdef"}, 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, err := latchkey(t, home, tt.args...)
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, stderr)
			}
			if code != 0 && (strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "goroutine")) {
				t.Fatalf("stderr is not one line: %q", stderr)
			}
		})
	}
}
