package device

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

// TestRetrier drives the wrapper with a fake attempt function: what each
// attempt returns is scripted, and the test checks how many attempts were
// made and what the caller got.
func TestRetrier(t *testing.T) {
	t.Parallel()
	timeout := &smp.TimeoutError{Group: 64, ID: 3, Timeout: 5 * time.Second}
	disc := fmt.Errorf("%w: read: input/output error", smp.ErrDisconnected)
	typed := ErrSlotWritten.SMP()
	tests := []struct {
		name       string
		retries    int
		reconnect  bool
		script     []error // one per attempt; past the end, nil
		wantCalls  int
		wantErr    error  // errors.Is target; nil means success
		wantMsg    string // substring of the error
		reconnects int
	}{
		{"answer at once", 2, false, nil, 1, nil, "", 0},
		{"one timeout then an answer", 2, false, []error{timeout}, 2, nil, "", 0},
		{"two timeouts then an answer", 2, false, []error{timeout, timeout}, 3, nil, "", 0},
		{"timeouts to the end", 2, false, []error{timeout, timeout, timeout}, 3, smp.ErrTimeout,
			"no answer to group 64 command 3 after 3 attempts (250ms each)", 0},
		{"no retries: the client's own message", 0, false, []error{timeout}, 1, smp.ErrTimeout,
			"smp: no answer to group 64 command 3 in 5s", 0},
		{"typed error is final", 2, false, []error{typed}, 1, typed, "", 0},
		{"typed error after a timeout is final", 2, false, []error{timeout, typed}, 2, typed, "", 0},
		{"other error is final", 2, false, []error{errors.New("bad cbor")}, 1, nil, "bad cbor", 0},
		{"dropped link without reconnect", 2, false, []error{disc}, 1, smp.ErrDisconnected, "", 0},
		{"dropped link with reconnect", 2, true, []error{disc}, 2, nil, "", 1},
		{"dropped link resets the count", 1, true, []error{timeout, disc, timeout}, 4, nil, "", 1},
		{"flapping link gives up", 2, true, []error{disc, disc, disc, disc}, 4, smp.ErrDisconnected, "", maxReconnects},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls, reconnects := 0, 0
			r := retrier{retries: tc.retries, backoff: time.Millisecond}
			if tc.reconnect {
				r.reconnect = func(context.Context) error { reconnects++; return nil }
			}
			err := r.do(context.Background(), 250*time.Millisecond, 64, 3, func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("attempt without a deadline")
				}
				calls++
				if calls <= len(tc.script) {
					return tc.script[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls || reconnects != tc.reconnects {
				t.Errorf("%d attempts and %d reconnects, want %d and %d", calls, reconnects, tc.wantCalls, tc.reconnects)
			}
			switch {
			case tc.wantErr == nil && tc.wantMsg == "" && err != nil:
				t.Errorf("err = %v, want success", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err = %v, want one matching %v", err, tc.wantErr)
			case tc.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantMsg)):
				t.Errorf("err = %v, want it to say %q", err, tc.wantMsg)
			}
		})
	}
}

// TestRetrierStopsWithContext checks that a cancelled or expired caller's
// context ends the retries at once, not after the remaining attempts.
func TestRetrierStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls := 0
	start := time.Now()
	err := retrier{retries: 100, backoff: 10 * time.Millisecond}.do(ctx, time.Second, 64, 3, func(ctx context.Context) error {
		calls++
		<-ctx.Done()
		return &smp.TimeoutError{Group: 64, ID: 3, Timeout: time.Second}
	})
	if !errors.Is(err, smp.ErrTimeout) || calls != 1 || time.Since(start) > time.Second {
		t.Errorf("err %v after %d attempts in %s; want the timeout after 1", err, calls, time.Since(start))
	}
}

// TestRepeatPolicyMatchesProtocol reads the "safe to repeat" column of
// docs/protocol.md 4.1 and checks the group-64 policy against it, so the
// two cannot drift apart.
func TestRepeatPolicyMatchesProtocol(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, inTable := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "| id | op | command | safe to repeat") {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		id, err := strconv.Atoi(cells[0])
		if err != nil {
			continue // the separator row
		}
		op := smp.OpRead
		if cells[1] == "write" {
			op = smp.OpWrite
		}
		rows++
		docSafe := strings.HasPrefix(cells[3], "yes")
		got := RepeatOf(GroupLatchkey, uint8(id), op)
		if docSafe != (got != RepeatNever) {
			t.Errorf("command %d %s (%s): docs say safe to repeat %q, policy is %d", id, cells[1], cells[2], cells[3], got)
		}
	}
	if rows < 15 {
		t.Fatalf("read %d rows of the command table; has docs/protocol.md 4.1 moved?", rows)
	}
}

// TestUnitRetriesOverPTY runs the real client and an SMP server on a pty:
// the unit answers the first requests too late (as if noise ate the first
// copy) and the Unit resends status, with a fresh sequence number so the
// late answer is not taken for the new one, but never a self-test run.
func TestUnitRetriesOverPTY(t *testing.T) {
	t.Parallel()
	// The server answers one request at a time, so a late answer delays
	// the next: late is past the timeout by a margin, and a resend is
	// still answered well within its own timeout.
	const timeout = 300 * time.Millisecond
	const late = timeout + 50*time.Millisecond
	tests := []struct {
		name     string
		retries  int
		deaf     int32 // requests the unit does not answer
		call     func(context.Context, *Unit) error
		wantSeen int32
		wantMsg  string // "" means success
	}{
		{"status answered at the third try", 2, 2, statusCall, 3, ""},
		{"status never answered", 2, 5, statusCall, 3, "read unit status: no answer to group 64 command 3 after 3 attempts (300ms each)"},
		{"status with retries off", -1, 1, statusCall, 1, "read unit status: smp: no answer to group 64 command 3 in 300ms"},
		{"self-test run is sent once", 2, 1, func(ctx context.Context, u *Unit) error {
			_, err := u.RunSelfTest(ctx, "supply", false)
			return err
		}, 1, "run self-test \"supply\": smp: no answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var seen atomic.Int32
			var mu sync.Mutex
			srv := &smp.Server{BufSize: 2048, Translate: Translate}
			deaf := func() bool { return seen.Add(1) <= tc.deaf }
			srv.Handle(GroupLatchkey, CmdStatus, smp.OpRead, func(context.Context, smp.Message) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				if deaf() {
					time.Sleep(late)
				}
				return Status{Relay: RelayOff, SupplyMV: 12000, Modem: ModemRegistered, Slots: []string{SlotEmpty}}, nil
			})
			srv.Handle(GroupLatchkey, CmdSelfTests, smp.OpWrite, func(context.Context, smp.Message) (any, error) {
				if deaf() {
					time.Sleep(late)
				}
				return SelfTestResults{Results: []SelfTestResult{{Name: "supply", Result: TestPass}}}, nil
			})
			u := serve(t, srv, Options{Timeout: timeout, SlowTimeout: timeout, Retries: tc.retries, RetryBackoff: time.Millisecond})
			err := tc.call(ctxT(t), u)
			if n := seen.Load(); n != tc.wantSeen {
				t.Errorf("the unit got %d requests, want %d", n, tc.wantSeen)
			}
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if st := u.client().Stats(); st.Late < int(tc.deaf) {
					t.Errorf("client stats %+v: want the %d late answers counted as late", st, tc.deaf)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) || !errors.Is(err, smp.ErrTimeout) {
				t.Fatalf("err = %v, want a timeout saying %q", err, tc.wantMsg)
			}
		})
	}
}
