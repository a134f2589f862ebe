package fw

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/sim"
)

// TestUploadOnFaultyLine uploads an image through line noise and console
// chatter (seeded, so each run meets the same faults). A chunk the noise
// breaks is answered with the unit's offset or not at all, and sent again
// from there; the image must end up in the unit intact and verified.
//
// A rate r loses a packet of n bytes with probability 1-(1-r)^n, and an
// upload chunk is the largest request there is: at buf_size 2048 (2.8 KB
// of base64 on the line) a rate of 0.002, which the diag tests use, would
// lose all but 0.4% of them, as a real line that bad would, and even at
// buf_size 384 two in three. Every lost chunk costs a --timeout before it is
// sent again (its answer is awaited first), so the rates here are a tenth
// of that, with a 512-byte buffer: about one chunk in seven is lost.
func TestUploadOnFaultyLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		faults  sim.Faults
		bufSize int
		seed    uint64
	}{
		{"noise and chatter", sim.Faults{Noise: 0.0002, Chatter: 0.3}, 512, 53},
		{"dropped bytes and chatter", sim.Faults{Drop: 0.0002, Chatter: 0.3}, 512, 52},
		{"chatter at full buffer size", sim.Faults{Chatter: 0.3, ChatterEvery: 20 * time.Millisecond}, 0, 53},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t, sim.Options{Faults: tc.faults, Seed: tc.seed, Params: sim.Params{BufSize: tc.bufSize}})
			file, img := writeImage(t, sim.Version{Major: 4, Minor: 2}, 16_000)
			ios, out, errOut := testIO()
			o := uploadOpts(ios, s, file, false)
			o.Unit = unitopt.Flags{Port: s.Link, Timeout: 200 * time.Millisecond, Retries: 4}
			o.Open = openFor(ios, &o.Unit)
			start := time.Now()
			if err := uploadRun(context.Background(), o); err != nil {
				t.Fatalf("fw upload: %v\n%s", err, errOut)
			}
			res := decodeJSON[UploadResult](t, out.Bytes())
			t.Logf("%d bytes in %s", len(img), time.Since(start).Round(time.Millisecond))
			if !res.Verified || res.Size != len(img) {
				t.Fatalf("result %+v, want the image verified", res)
			}
			checkSlot1(t, s, img)
		})
	}
}

// TestListStallNamesAttempts stalls the unit at its first image state read
// for longer than --timeout × (--retries+1) allow: fw list (a read, sent
// again on a timeout) fails naming its attempts, each of --timeout.
func TestListStallNamesAttempts(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{Faults: sim.Faults{Stall: sim.Trigger{Op: "image-state", Nth: 1}, StallFor: 3 * time.Second}, Seed: 61})
	ios, _, _ := testIO()
	o := &ListOptions{IO: ios, JSON: func() bool { return true }, Unit: unitopt.Flags{Port: s.Link, Timeout: 200 * time.Millisecond, Retries: 1}}
	o.Open = openFor(ios, &o.Unit)
	start := time.Now()
	err := listRun(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "no answer to group 1 command 0 after 2 attempts (200ms each)") {
		t.Fatalf("fw list during a stall: %v, want the two attempts named", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s to give up", took)
	}
}

// TestRetriesFlag checks how --retries reaches the unit flags: unset is the
// default (0 in device.Options' convention), 0 is none (-1 there), and a
// count that is not one is refused. fw reset takes it too, though a reset
// is never sent twice.
func TestRetriesFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    string
		want    int
		wantErr string
	}{
		{"", 0, ""},
		{"--retries 5", 5, ""},
		{"--retries 0", -1, ""},
		{"--retries -1", 0, "not a count"},
		{"--retries many", 0, "not a count"},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			t.Parallel()
			var lo *ListOptions
			err := execute(NewCmdList(parseFactory(), func(_ context.Context, o *ListOptions) error { lo = o; return nil }), "--port /tmp/u "+tc.args)
			if errWanted(t, err, tc.wantErr) {
				return
			}
			if lo.Unit.Retries != tc.want {
				t.Errorf("Retries = %d, want %d", lo.Unit.Retries, tc.want)
			}
		})
	}
	var ro *ResetOptions
	if err := execute(NewCmdReset(parseFactory(), func(_ context.Context, o *ResetOptions) error { ro = o; return nil }), "--retries 3 --wait"); err != nil {
		t.Fatal(err)
	}
	if ro.Unit.Retries != 3 || !ro.Unit.Wait {
		t.Errorf("reset options %+v", ro.Unit)
	}
}
