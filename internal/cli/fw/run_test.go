package fw

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/sim"
)

func listSlots(t *testing.T, s *simUnit) []Slot {
	t.Helper()
	ios, out, errOut := testIO()
	o := &ListOptions{IO: ios, JSON: func() bool { return true }, Unit: s.flags(false)}
	o.Open = openFor(ios, &o.Unit)
	if err := listRun(context.Background(), o); err != nil {
		t.Fatalf("fw list: %v\n%s", err, errOut)
	}
	return decodeJSON[[]Slot](t, out.Bytes())
}

func slotWith(slots []Slot, hash string) (Slot, bool) {
	for _, s := range slots {
		if s.Hash == hash {
			return s, true
		}
	}
	return Slot{}, false
}

// imgStats reads the sim's image counters over the link: chunks and bytes
// the unit wrote since it last booted.
func imgStats(t *testing.T, s *simUnit) map[string]uint64 {
	t.Helper()
	ios, _, _ := testIO()
	l, err := unitopt.Open(context.Background(), &cmdutil.Factory{IO: ios}, s.flags(false))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	g, err := l.Unit.StatsRead(context.Background(), "img")
	if err != nil {
		t.Fatal(err)
	}
	return g.Fields
}

// TestUploadTestThenConfirm uploads an image, boots it on test (pending,
// reset, back), checks that fw list shows it running unconfirmed, and
// confirms it.
func TestUploadTestThenConfirm(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{})
	file, img := writeImage(t, sim.Version{Major: 1, Minor: 2, Revision: 3}, 40_000)
	info, err := device.ParseImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hash := hex.EncodeToString(info.Hash)

	ios, out, errOut := testIO()
	o := uploadOpts(ios, s, file, false)
	o.Test = true
	if err := uploadRun(context.Background(), o); err != nil {
		t.Fatalf("fw upload --test: %v\n%s", err, errOut)
	}
	res := decodeJSON[UploadResult](t, out.Bytes())
	if !res.Verified || res.Action != "test" || res.Hash != hash || res.Size != len(img) || res.Version != "1.2.3+0" {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(errOut.String(), "runs version 1.2.3+0 on test") {
		t.Errorf("stderr does not say the image runs on test:\n%s", errOut)
	}
	s.WaitUp(t, 2) // the reset brought the port back once

	slot, ok := slotWith(listSlots(t, s), hash)
	if !ok || slot.Slot != 0 || !slot.Active || slot.Confirmed || slot.Version != "1.2.3" {
		t.Fatalf("after test and reset: %+v (found %v), want slot 0 active and not confirmed", slot, ok)
	}

	ios, out, errOut = testIO()
	co := &StateOptions{IO: ios, JSON: func() bool { return true }, Unit: s.flags(false), Slot: -1}
	co.Open = openFor(ios, &co.Unit)
	if err := confirmRun(context.Background(), co); err != nil {
		t.Fatalf("fw confirm: %v\n%s", err, errOut)
	}
	if slot, _ := slotWith(decodeJSON[[]Slot](t, out.Bytes()), hash); !slot.Active || !slot.Confirmed {
		t.Fatalf("after confirm: %+v", slot)
	}
}

// TestUploadResumesAfterCablePull pulls the cable (or reboots the unit) at
// the 60th upload request. With --wait the command waits for the port, reopens it and
// goes on from the offset the unit kept: the unit writes each byte once.
// Without --wait it fails saying how to go on, and --resume does.
func TestUploadResumesAfterCablePull(t *testing.T) {
	t.Parallel()
	const size = 200_000 // about 100 chunks at buf_size 2048
	pull := sim.Faults{Pull: sim.Trigger{Op: "upload", Nth: 60}, PullFor: 300 * time.Millisecond}

	t.Run("wait", func(t *testing.T) {
		t.Parallel()
		s := startSim(t, sim.Options{Faults: pull})
		file, img := writeImage(t, sim.Version{Major: 3}, size)
		at := uploadWaitResumed(t, s, file, size, "fw upload --wait")
		// Every byte the unit wrote, counted by the unit itself: a restart
		// would write the first `at` bytes twice.
		written := int(imgStats(t, s)["bytes"])
		afterPull := written - at
		if written != size || afterPull > size/2 {
			t.Fatalf("unit wrote %d bytes, %d after the pull; want %d in all and far fewer than %d after it", written, afterPull, size, size)
		}
		checkStored(t, s, img)
	})

	// A unit that reboots mid-upload keeps the partial image in flash, as
	// MCUboot's secondary slot does: the upload resumes after the reboot.
	t.Run("reboot", func(t *testing.T) {
		t.Parallel()
		s := startSim(t, sim.Options{Faults: sim.Faults{Reboot: sim.Trigger{Op: "upload", Nth: 60}}})
		file, img := writeImage(t, sim.Version{Major: 3}, size)
		at := uploadWaitResumed(t, s, file, size, "fw upload --wait across a reboot")
		// The unit's counters restart at boot: after the reboot it wrote
		// only the rest of the image, not all of it again.
		if written := int(imgStats(t, s)["bytes"]); written != size-at {
			t.Fatalf("unit wrote %d bytes after the reboot, want the %d left after %d", written, size-at, at)
		}
		checkStored(t, s, img)
	})

	t.Run("resume", func(t *testing.T) {
		t.Parallel()
		s := startSim(t, sim.Options{Faults: pull})
		file, img := writeImage(t, sim.Version{Major: 3}, size)
		ios, _, errOut := testIO()
		err := uploadRun(context.Background(), uploadOpts(ios, s, file, false))
		var hint *cmdutil.HintError
		if !unitopt.Disconnected(err) || !errors.As(err, &hint) || !strings.Contains(hint.Hint, "--resume") || !strings.Contains(hint.Hint, "--wait") {
			t.Fatalf("upload cut off without --wait: %v (hint %+v), want a disconnect whose hint names --resume and --wait", err, hint)
		}
		if !strings.Contains(err.Error(), "upload stopped at byte") {
			t.Errorf("error %q does not say where the upload stopped", err)
		}
		s.WaitUp(t, 2)

		ios, out, errOut := testIO()
		o := uploadOpts(ios, s, file, false)
		o.Resume = true
		if err := uploadRun(context.Background(), o); err != nil {
			t.Fatalf("fw upload --resume: %v\n%s", err, errOut)
		}
		res := decodeJSON[UploadResult](t, out.Bytes())
		if len(res.ResumedAt) != 1 || res.ResumedAt[0] < 50*2000 {
			t.Fatalf("result %+v, want a resume about 60 chunks in", res)
		}
		if written := int(imgStats(t, s)["bytes"]); written != size {
			t.Fatalf("unit wrote %d bytes for a %d-byte image", written, size)
		}
		checkStored(t, s, img)
	})
}

// uploadWaitResumed uploads file, of size bytes, with --wait to a unit
// that goes away at the 60th upload request, checks that the upload went on
// after one reconnect and was verified, and returns the offset it resumed
// at. what names the command in a failure.
func uploadWaitResumed(t *testing.T, s *simUnit, file string, size int, what string) int {
	t.Helper()
	ios, out, errOut := testIO()
	if err := uploadRun(context.Background(), uploadOpts(ios, s, file, true)); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, errOut)
	}
	res := decodeJSON[UploadResult](t, out.Bytes())
	if res.Reconnects != 1 || len(res.ResumedAt) != 1 || !res.Verified {
		t.Fatalf("result %+v, want one reconnect and one resume\n%s", res, errOut)
	}
	at := res.ResumedAt[0]
	if at < 50*2000 || at >= size {
		t.Fatalf("resumed at %d, want about 60 chunks into %d bytes", at, size)
	}
	return at
}

// checkStored checks that the unit's secondary slot holds img, verified,
// and that fw list shows it.
func checkStored(t *testing.T, s *simUnit, img []byte) {
	t.Helper()
	info := checkSlot1(t, s, img)
	if _, ok := slotWith(listSlots(t, s), hex.EncodeToString(info.Hash)); !ok {
		t.Fatal("fw list does not show the uploaded image")
	}
}

// checkSlot1 checks, in the unit's own memory, that its secondary slot
// holds img, verified, and returns the image's information.
func checkSlot1(t *testing.T, s *simUnit, img []byte) sim.ImageInfo {
	t.Helper()
	info, err := sim.VerifyImage(img)
	if err != nil {
		t.Fatal(err)
	}
	var got sim.Slot
	s.Unit.View(func(st sim.State) { got = st.Slots[1] })
	if !bytes.Equal(got.Hash, info.Hash) || got.Size != len(img) {
		t.Fatalf("slot 1 holds %x (%d bytes), want %x (%d bytes)", got.Hash, got.Size, info.Hash, len(img))
	}
	return info
}

// TestUploadRefusesBadImage checks that a damaged or foreign file is
// refused, naming what is wrong, before the port is even opened.
func TestUploadRefusesBadImage(t *testing.T) {
	t.Parallel()
	file, img := writeImage(t, sim.Version{Major: 1}, 10_000)
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"flipped bit", func(b []byte) []byte { b[5000] ^= 0x10; return b }, "do not match the SHA-256 TLV"},
		{"not mcuboot", func(b []byte) []byte { copy(b, "\x7fELF"); return b }, "header magic"},
		{"truncated", func(b []byte) []byte { return b[:6000] }, "the file has 6000"},
		{"empty", func([]byte) []byte { return nil }, "shorter than the header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bad := file + "." + strings.ReplaceAll(tc.name, " ", "-")
			if err := os.WriteFile(bad, tc.damage(bytes.Clone(img)), 0o600); err != nil {
				t.Fatal(err)
			}
			ios, out, _ := testIO()
			o := &UploadOptions{IO: ios, JSON: func() bool { return true }, Now: time.Now, ReadFile: readImageFile, File: bad,
				Open: func(context.Context) (*unitopt.Link, error) {
					t.Error("the port was opened for a bad image")
					return nil, errors.New("no port")
				}}
			err := uploadRun(context.Background(), o)
			var hint *cmdutil.HintError
			if !errors.Is(err, device.ErrImage) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), bad) {
				t.Fatalf("err = %v, want ErrImage naming the file and %q", err, tc.want)
			}
			if !errors.As(err, &hint) || !strings.Contains(hint.Hint, "nothing was sent") {
				t.Errorf("hint %+v does not say nothing was sent", hint)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// TestUploadConfirm runs the whole update: upload, boot on test, confirm
// once the unit answers running the new image.
func TestUploadConfirm(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{})
	file, img := writeImage(t, sim.Version{Major: 4, Minor: 1}, 30_000)
	ios, out, errOut := testIO()
	o := uploadOpts(ios, s, file, false)
	o.Confirm = true
	if err := uploadRun(context.Background(), o); err != nil {
		t.Fatalf("fw upload --confirm: %v\n%s", err, errOut)
	}
	res := decodeJSON[UploadResult](t, out.Bytes())
	info, _ := device.ParseImage(img)
	slot, ok := slotWith(res.Slots, hex.EncodeToString(info.Hash))
	if res.Action != "confirm" || !ok || slot.Slot != 0 || !slot.Active || !slot.Confirmed {
		t.Fatalf("result %+v, want the image running and confirmed in slot 0", res)
	}
}
