package fw

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/smp"
)

// maxImageFile bounds what is read from disk: far above any MCU's image
// slot, far below what would hurt the laptop.
const maxImageFile = 64 << 20

// UploadOptions are what `fw upload` runs with.
type UploadOptions struct {
	IO       *cmdutil.IO
	JSON     func() bool
	Now      func() time.Time
	Unit     unitopt.Flags
	Open     opener
	ReadFile func(name string) ([]byte, error)

	File    string
	Test    bool
	Confirm bool
	Resume  bool
}

// UploadResult is what `fw upload --json` prints; its form is stable for
// scripts.
type UploadResult struct {
	File    string `json:"file"`
	Port    string `json:"port"`
	Version string `json:"version"`
	Hash    string `json:"hash"`
	Size    int    `json:"size"`
	// ResumedAt lists the offsets at which the upload went on from what
	// the unit already held (after --resume, or after the link came back
	// with --wait) instead of sending those bytes again.
	ResumedAt  []int `json:"resumed_at"`
	Reconnects int   `json:"reconnects"`
	// Seconds and BytesPerSecond measure the transfer (verification
	// included), not opening the port or the test and confirm steps.
	Seconds        float64 `json:"seconds"`
	BytesPerSecond float64 `json:"bytes_per_second"`
	Verified       bool    `json:"verified"`
	// Action is what was done after the upload: "none", "test" (pending,
	// reset, running on test) or "confirm" (also confirmed once running).
	Action string `json:"action"`
	Slots  []Slot `json:"slots"`
}

// NewCmdUpload is `fw upload`.
func NewCmdUpload(f *cmdutil.Factory, runF func(context.Context, *UploadOptions) error) *cobra.Command {
	opts := &UploadOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }, Now: f.Now, ReadFile: readImageFile}
	opts.Open = openWith(f, &opts.Unit)
	cmd := &cobra.Command{
		Use:   "upload FILE",
		Short: "Upload a firmware image to the unit, verify it, then test or confirm it",
		Long: `Upload a signed MCUboot image to the unit's secondary slot (slot 1).

The file is checked before anything is sent: MCUboot header magic, sizes, and
the SHA-256 in its TLV area against its contents. Chunks are sized from the
buffer the unit advertises. After the upload the unit must list an image with
the file's hash, or the command fails.

  --test     marks the image pending and resets the unit, which boots it on
             test: it reverts at the next reset unless confirmed
  --confirm  does the same, waits for the unit to come back running the new
             image, and confirms it; if the unit does not boot it, MCUboot
             keeps the old one and nothing is confirmed

An upload that stops (cable pulled, unit reset) leaves what the unit received
in its slot: --resume goes on from the offset the unit reports, and --wait
waits for the port to come back and goes on by itself. Without --resume a new
upload starts from the first byte.

Progress goes to stderr: a bar with rate and time left on a terminal, a line
every 10% otherwise.`,
		Example: `  latchkey fw upload build/zephyr/zephyr.signed.bin
  latchkey fw upload latchkey-1.4.0.signed.bin --confirm --wait
  latchkey fw upload latchkey-1.4.0.signed.bin --resume --port /dev/ttyACM0 --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("%s takes one image file (got %d arguments)", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Test && opts.Confirm {
				return cmdutil.Usagef("--test and --confirm cannot be used together: --confirm already tests the image before confirming it")
			}
			if opts.Unit.WaitFor <= 0 {
				return cmdutil.Usagef("--wait-for must be more than 0")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return uploadRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Test, "test", false, "after the upload, mark the image pending and reset the unit to boot it on test")
	cmd.Flags().BoolVar(&opts.Confirm, "confirm", false, "after the upload, boot the image on test and confirm it once it runs")
	cmd.Flags().BoolVar(&opts.Resume, "resume", false, "go on from what the unit holds of an earlier, interrupted upload of this file")
	opts.Unit.Register(cmd)
	opts.Unit.RegisterWait(cmd)
	return cmd
}

// readImageFile reads an image, refusing a file too large to be one before
// reading it.
func readImageFile(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if fi.Size() > maxImageFile {
		return nil, fmt.Errorf("%s: %d bytes is larger than any unit's image slot", name, fi.Size())
	}
	return os.ReadFile(name)
}

func uploadRun(ctx context.Context, opts *UploadOptions) error {
	img, err := opts.ReadFile(opts.File)
	if err != nil {
		return cmdutil.WithHint(fmt.Errorf("read image: %w", err), "name the signed image file the firmware build produced")
	}
	info, err := device.ParseImage(img)
	if err != nil {
		return cmdutil.WithHint(fmt.Errorf("%s: %w", opts.File, err),
			"nothing was sent to the unit; use the signed image the build produced (e.g. build/zephyr/zephyr.signed.bin), copied whole")
	}
	res := UploadResult{File: opts.File, Version: info.Version, Hash: hex.EncodeToString(info.Hash), Size: len(img), Action: "none", ResumedAt: []int{}}
	switch {
	case opts.Test:
		res.Action = "test"
	case opts.Confirm:
		res.Action = "confirm"
	}

	l, err := opts.Open(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	res.Port = l.Path
	errOut := opts.IO.ErrOut
	fmt.Fprintf(errOut, "uploading %s: version %s, %d bytes, sha256 %s\n", opts.File, info.Version, len(img), shortHash(res.Hash))

	if !opts.Resume {
		// A partial upload of this very file would otherwise be resumed:
		// without --resume the user asked for a clean start.
		err := l.Do(ctx, func(ctx context.Context, u *device.Unit) error { return u.ImageErase(ctx, 1) })
		if err != nil && !errors.Is(err, smp.MgmtNotSup) {
			return fmt.Errorf("start a new upload: %w", err)
		}
	}

	prog := newProgress(errOut, opts.IO.ErrTTY, opts.Now)
	var acked, attempts, startOff int
	var began time.Time
	err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		attempts++
		p, err := u.Params(ctx)
		if err != nil {
			return err
		}
		prog.restart()
		first := true
		if attempts == 1 {
			began = opts.Now()
		}
		return u.ImageUpload(ctx, img, func(sent, total int) {
			// The first answer of an attempt is the unit's offset; past
			// one buffer's worth it can only be data kept from before.
			if first && sent > int(p.BufSize) && (attempts > 1 || opts.Resume) {
				res.ResumedAt = append(res.ResumedAt, sent)
				if attempts == 1 {
					startOff = sent
				}
				prog.done()
				fmt.Fprintf(errOut, "the unit holds %d of %d bytes of this upload; going on from there\n", sent, total)
			}
			first = false
			acked = sent
			prog.update(sent, total)
		})
	})
	prog.done()
	res.Reconnects = l.Reopened
	if err != nil {
		if unitopt.Disconnected(err) {
			return cmdutil.WithHint(fmt.Errorf("upload stopped at byte %d of %d: %w", acked, len(img), err),
				fmt.Sprintf("the unit keeps what it received: reconnect and run 'latchkey fw upload %s --resume' to go on from there, or add --wait to wait for the port and go on by itself", opts.File))
		}
		return err
	}
	if d := opts.Now().Sub(began); d > 0 {
		res.Seconds = d.Seconds()
		res.BytesPerSecond = float64(len(img)-startOff) / d.Seconds()
	}
	res.Verified = true // ImageUpload checks that the unit lists the hash
	fmt.Fprintf(errOut, "uploaded and verified: the unit lists version %s with sha256 %s\n", info.Version, shortHash(res.Hash))

	state, err := readState(ctx, l)
	if err != nil {
		return err
	}
	if opts.Test || opts.Confirm {
		if state, err = bootOnTest(ctx, l, info, opts); err != nil {
			return err
		}
	}
	res.Slots = slotsOf(state)
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, res)
	}
	return writeSlots(opts.IO, res.Slots)
}

func readState(ctx context.Context, l *unitopt.Link) ([]device.ImageSlot, error) {
	var state []device.ImageSlot
	err := l.Do(ctx, func(ctx context.Context, u *device.Unit) (err error) {
		state, err = u.ImageState(ctx)
		return err
	})
	return state, err
}

// bootOnTest marks the uploaded image pending, resets the unit, waits for it
// to come back and checks that it runs the new image; with --confirm it
// then confirms it. Confirming only once the image answers over SMP is what
// makes the update rollback-safe: an image that does not boot, or boots but
// cannot talk, is reverted by MCUboot at the next reset.
func bootOnTest(ctx context.Context, l *unitopt.Link, info device.ImageInfo, opts *UploadOptions) ([]device.ImageSlot, error) {
	errOut := opts.IO.ErrOut
	if err := l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		_, err := u.ImageTest(ctx, info.Hash)
		return err
	}); err != nil {
		return nil, err
	}
	fmt.Fprintf(errOut, "marked version %s pending; resetting the unit to boot it on test\n", info.Version)
	if err := l.Unit.Reset(ctx, false); err != nil && !unitopt.Disconnected(err) {
		return nil, err
	}
	if err := l.ReopenAfterReset(ctx); err != nil {
		return nil, fmt.Errorf("after the reset: %w", err)
	}
	state, err := readState(ctx, l)
	if err != nil {
		return nil, err
	}
	running, ok := findSlot(state, info.Hash)
	if !ok || !running.Active {
		return nil, cmdutil.WithHint(fmt.Errorf("the unit came back running another image than version %s: MCUboot did not boot it", info.Version),
			"check that the image is signed with the key the unit's bootloader trusts; 'latchkey fw list' shows what runs")
	}
	if !opts.Confirm {
		fmt.Fprintf(errOut, "the unit runs version %s on test: check it, then 'latchkey fw confirm' keeps it; the next reset without that reverts it\n", info.Version)
		return state, nil
	}
	if err := l.Do(ctx, func(ctx context.Context, u *device.Unit) (err error) {
		state, err = u.ImageConfirm(ctx, nil)
		return err
	}); err != nil {
		return nil, err
	}
	if s, ok := findSlot(state, info.Hash); !ok || !s.Confirmed {
		return nil, fmt.Errorf("confirm image: the unit does not list version %s as confirmed", info.Version)
	}
	fmt.Fprintf(errOut, "version %s runs and is confirmed\n", info.Version)
	return state, nil
}
