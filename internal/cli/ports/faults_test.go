package ports_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/cli/diag"
	"github.com/latchkey/latchkey/internal/cli/ports"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// TestPortsListsFaultySim runs `latchkey sim` with line noise, dropped bytes
// and console chatter, as a trainer would, and checks that `latchkey ports`
// lists it and that a command without --port finds it and reads it through
// the faults.
func TestPortsListsFaultySim(t *testing.T) {
	t.Parallel()
	m := clitest.New(t, "ports")
	// The sim runs on a machine of its own sharing the home, since runs on
	// one Machine share its random stream and must not overlap.
	simM := clitest.New(t, "ports-sim")
	simM.Home, simM.Env["LATCHKEY_HOME"] = m.Home, m.Home
	link := filepath.Join(t.TempDir(), "unit")
	f, _, _ := simM.Factory("")
	simOut, simErr := &simtest.Buffer{}, &simtest.Buffer{}
	f.IO.Out, f.IO.ErrOut = simOut, simErr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, f, []string{"sim", "--link", link, "--seed", "5", "--noise", "0.002", "--drop", "0.001", "--chatter", "0.3"})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("latchkey sim: exit %d\n%s", code, simErr.String())
			}
		case <-time.After(5 * time.Second):
			t.Error("latchkey sim did not stop")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(simOut.String(), link) {
		if time.Now().After(deadline) {
			t.Fatalf("the sim did not come up:\n%s", simErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	var list []ports.Port
	m.JSON(&list, "ports")
	var found *ports.Port
	for i := range list {
		if list[i].Path == link {
			found = &list[i]
		}
	}
	if found == nil || found.Kind != ports.KindVirtual || found.Serial == "" || found.PID != os.Getpid() {
		t.Fatalf("ports %+v: want the sim on %s as a virtual unit of this process", list, link)
	}

	r := m.Run("diag", "status", "--timeout", "200ms", "--retries", "6", "--json")
	if r.Code != 0 {
		t.Fatalf("diag status without --port: exit %d\n%s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "using virtual-unit "+found.Serial+" on "+link) {
		t.Errorf("stderr does not say which unit was picked:\n%s", r.Stderr)
	}
	var st diag.StatusResult
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, r.Stdout)
	}
	if !st.Latchkey || st.Identity == nil || st.Identity.Serial != found.Serial || st.Status == nil || len(st.Problems) > 0 {
		t.Errorf("status through the faults: %+v", st)
	}
}
