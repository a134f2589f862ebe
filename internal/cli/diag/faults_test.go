package diag_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	diagcmd "github.com/latchkey/latchkey/internal/cli/diag"
	"github.com/latchkey/latchkey/internal/diag"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// The tests below run the real commands (cli.Run, through clitest) against
// the virtual unit with its own group 64 (sim.NewLatchkey) on a real pty,
// with the sim's line and unit faults. Every fault draws from the seed, so
// a case fails or passes the same way each run.
//
// Rates: a noise or drop rate r loses a frame of n bytes with probability
// 1-(1-r)^n. At 0.002 that is ~45% for a 300-byte answer (base64 adds a
// third to the CBOR), so the event log is kept short and the commands run
// with short timeouts and a few more retries than the default, to finish
// fast; the retry count follows --retries, which the stall cases check.

// faultySim is a virtual unit with group 64 on a pty behind a link.
type faultySim struct {
	link string
	unit *sim.Unit
	info sim.UnitInfo
}

// startFaulty serves a new unit with faults f, seeded with seed, and a few
// events in its log besides the boot.
func startFaulty(t *testing.T, f sim.Faults, seed uint64) *faultySim {
	t.Helper()
	u := simtest.NewUnit(t)
	lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: 7})
	info, err := lk.Init(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"courier 1", "courier 2", "courier 3"} {
		if err := u.LogEvent("door.open", msg); err != nil {
			t.Fatal(err)
		}
	}
	s := simtest.Start(t, sim.Options{Unit: u, Faults: f, Seed: seed, ResetDelay: 50 * time.Millisecond,
		Extensions: []sim.Extension{lk.Extension()}}, simtest.Config{})
	return &faultySim{link: s.Link, unit: u, info: info}
}

// checkStatus checks a `diag status --json` report against the unit.
func (s *faultySim) checkStatus(t *testing.T, stdout string) {
	t.Helper()
	var got diagcmd.StatusResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, stdout)
	}
	switch {
	case !got.Latchkey || got.Identity == nil || got.Identity.Serial != s.info.Serial || got.Identity.Label != s.info.Label:
		t.Errorf("identity %+v, want serial %s label %s", got.Identity, s.info.Serial, s.info.Label)
	case got.Status == nil || got.Status.SupplyMV != 12040 || len(got.Status.Slots) == 0:
		t.Errorf("status %+v", got.Status)
	case got.Firmware.BufSize != sim.DefaultBufSize || len(got.Firmware.Images) == 0 || len(got.Counters) == 0:
		t.Errorf("firmware %+v, counters %d", got.Firmware, len(got.Counters))
	case len(got.Problems) > 0:
		t.Errorf("problems: %v", got.Problems)
	}
}

// checkEvents checks a `diag events --json` page against the unit's log.
func (s *faultySim) checkEvents(t *testing.T, stdout string) {
	t.Helper()
	var got diag.EventPage
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("events are not JSON: %v\n%s", err, stdout)
	}
	want := s.unit.Events(0)
	if len(got.Events) != len(want) || len(want) < 4 {
		t.Fatalf("%d events, the unit has %d", len(got.Events), len(want))
	}
	for i, e := range got.Events {
		if e.Seq != want[i].Seq || e.Kind != want[i].Kind || e.Msg != want[i].Detail {
			t.Errorf("event %d: %+v, want %+v", i, e, want[i])
		}
	}
	if got.Next != want[len(want)-1].Seq+1 {
		t.Errorf("next %d, want %d", got.Next, want[len(want)-1].Seq+1)
	}
}

// TestDiagOnFaultyLine reads status and events through line noise, dropped
// bytes and console chatter: each command must succeed with the unit's
// true data. -v shows the resends, so the noisy cases prove they happened.
func TestDiagOnFaultyLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		faults  sim.Faults
		seed    uint64
		resends bool // the line must have cost at least one resend
	}{
		{"noise", sim.Faults{Noise: 0.002}, 11, true},
		{"dropped bytes", sim.Faults{Drop: 0.002}, 12, true},
		{"console chatter", sim.Faults{Chatter: 0.3, ChatterEvery: 20 * time.Millisecond}, 13, false},
		{"all at once", sim.Faults{Noise: 0.001, Drop: 0.001, Chatter: 0.3}, 14, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startFaulty(t, tc.faults, tc.seed)
			m := clitest.New(t, "diag")
			flags := []string{"--port", s.link, "--timeout", "200ms", "--retries", "6", "--json", "-v"}
			st := m.Run(append([]string{"diag", "status"}, flags...)...)
			if st.Code != 0 {
				t.Fatalf("diag status: exit %d\n%s", st.Code, st.Stderr)
			}
			s.checkStatus(t, st.Stdout)
			ev := m.Run(append([]string{"diag", "events"}, flags...)...)
			if ev.Code != 0 {
				t.Fatalf("diag events: exit %d\n%s", ev.Code, ev.Stderr)
			}
			s.checkEvents(t, ev.Stdout)
			resends := strings.Count(st.Stderr+ev.Stderr, "no answer, sending again")
			t.Logf("%s: %d resends", tc.name, resends)
			if tc.resends && resends == 0 {
				t.Errorf("no request was sent again; the fault did not reach the client:\n%s%s", st.Stderr, ev.Stderr)
			}
		})
	}
}

// TestDiagStatusTextWithChatter checks the table a person reads, on a line
// where the unit logs to its console between every few frames.
func TestDiagStatusTextWithChatter(t *testing.T) {
	t.Parallel()
	s := startFaulty(t, sim.Faults{Chatter: 0.5, ChatterEvery: 10 * time.Millisecond}, 21)
	r := clitest.New(t, "diag").Run("diag", "status", "--port", s.link)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	for _, want := range []string{s.info.Serial + " (", s.info.Label, "12.04 V", "Images", "Counters"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.Stdout)
		}
	}
}

// TestDiagStatusCablePull pulls the cable as the unit answers a request:
// without --wait the command fails with one clear line; with --wait it
// waits for the port, sends the request again and finishes the report.
func TestDiagStatusCablePull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		at   string // the operation whose answer is lost
		wait bool
	}{
		{"identity without wait", "64:0", false},
		{"identity with wait", "64:0", true},
		{"status with wait", "64:3", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			trig, err := sim.ParseTrigger(tc.at)
			if err != nil {
				t.Fatal(err)
			}
			s := startFaulty(t, sim.Faults{Pull: trig, PullFor: 300 * time.Millisecond}, 31)
			args := []string{"diag", "status", "--port", s.link, "--timeout", "1s", "--json"}
			if tc.wait {
				args = append(args, "--wait", "--wait-for", "10s")
			}
			r := clitest.New(t, "diag").Run(args...)
			if !tc.wait {
				lines := strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n")
				if r.Code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "latchkey: read unit on "+s.link) ||
					!strings.Contains(lines[0], "port disconnected") || r.Stdout != "" {
					t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and one line saying the port went away", r.Code, r.Stdout, r.Stderr)
				}
				return
			}
			if r.Code != 0 {
				t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
			}
			if !strings.Contains(r.Stderr, "the link to the unit dropped; waiting up to 10s") || !strings.Contains(r.Stderr, "reconnected to "+s.link) {
				t.Errorf("stderr does not tell of the wait:\n%s", r.Stderr)
			}
			s.checkStatus(t, r.Stdout)
		})
	}
}

// TestDiagStatusStall makes the unit deaf at its identity request. A stall
// shorter than --timeout × (--retries+1) is ridden out; a longer one fails
// naming the attempts, each as long as --timeout.
func TestDiagStatusStall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stall   time.Duration
		retries string
		wantErr string // "" means success
	}{
		{"shorter than the retries", 400 * time.Millisecond, "2", ""},
		{"longer than the retries", 3 * time.Second, "2", "read unit identity: no answer to group 64 command 0 after 3 attempts (250ms each)"},
		{"retries off", 400 * time.Millisecond, "0", "read unit identity: smp: no answer to group 64 command 0 in 250ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startFaulty(t, sim.Faults{Stall: sim.Trigger{Op: "64:0", Nth: 1}, StallFor: tc.stall}, 41)
			start := time.Now()
			r := clitest.New(t, "diag").Run("diag", "status", "--port", s.link, "--timeout", "250ms", "--retries", tc.retries, "--json")
			took := time.Since(start)
			if tc.wantErr == "" {
				if r.Code != 0 {
					t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
				}
				s.checkStatus(t, r.Stdout)
				return
			}
			if r.Code != 1 || !strings.Contains(r.Stderr, tc.wantErr) || strings.Count(r.Stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want exit 1 and one line saying %q", r.Code, r.Stderr, tc.wantErr)
			}
			if took > 2*time.Second {
				t.Errorf("took %s to give up; --timeout and --retries allow under a second", took)
			}
		})
	}
}
