package fw

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
)

// minHashPrefix is the shortest hash prefix `fw test` and `fw confirm`
// accept: 8 hex digits tell two images apart with overwhelming odds.
const minHashPrefix = 8

// StateOptions are what `fw test` and `fw confirm` run with.
type StateOptions struct {
	IO   *cmdutil.IO
	JSON func() bool
	Unit unitopt.Flags
	Open opener

	// Hash is the image's SHA-256 or a prefix of it, in hex; "" with
	// Slot < 0 means the running image (confirm only).
	Hash string
	Slot int
}

// NewCmdTest is `fw test`.
func NewCmdTest(f *cmdutil.Factory, runF func(context.Context, *StateOptions) error) *cobra.Command {
	opts := &StateOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }}
	opts.Open = openWith(f, &opts.Unit)
	cmd := &cobra.Command{
		Use:   "test [HASH]",
		Short: "Test an image: boot it at the next reset, reverting unless confirmed",
		Long: `Mark an image pending: the unit boots it at the next reset ('latchkey fw reset')
and reverts to the current one at the reset after that unless it is confirmed
('latchkey fw confirm'). Name the image by its hash (at least 8 hex digits of
it, as 'latchkey fw list' shows) or by its slot.`,
		Example: "  latchkey fw test --slot 1\n  latchkey fw test 3f9c2a1b7d0e4c55",
		Args:    hashArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := parseTarget(cmd, args, opts, false); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return testRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Slot, "slot", -1, "test the image in this slot instead of naming its hash")
	opts.Unit.Register(cmd)
	return cmd
}

// NewCmdConfirm is `fw confirm`.
func NewCmdConfirm(f *cmdutil.Factory, runF func(context.Context, *StateOptions) error) *cobra.Command {
	opts := &StateOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }}
	opts.Open = openWith(f, &opts.Unit)
	cmd := &cobra.Command{
		Use:   "confirm [HASH]",
		Short: "Set the running image as permanent, so the unit keeps it after a reset",
		Long: `Confirm the image the unit runs, so MCUboot keeps it instead of reverting at
the next reset. Do it once the image on test is seen to work. Naming a hash (or
--slot) confirms that image instead: an image in slot 1 is then swapped in for
good at the next reset, with no test and no way back.`,
		Example: "  latchkey fw confirm\n  latchkey fw confirm --json",
		Args:    hashArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := parseTarget(cmd, args, opts, true); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return confirmRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Slot, "slot", -1, "confirm the image in this slot instead of the running one")
	opts.Unit.Register(cmd)
	return cmd
}

func hashArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return cmdutil.Usagef("%s takes at most one image hash (got %d arguments)", cmd.CommandPath(), len(args))
	}
	return nil
}

// parseTarget checks HASH and --slot: one of them, or (for confirm) neither.
func parseTarget(cmd *cobra.Command, args []string, opts *StateOptions, noneOK bool) error {
	slotSet := cmd.Flags().Changed("slot")
	if len(args) == 1 {
		opts.Hash = strings.ToLower(strings.TrimSpace(args[0]))
	}
	switch {
	case opts.Hash != "" && slotSet:
		return cmdutil.Usagef("name the image by its hash or by --slot, not both")
	case opts.Hash == "" && !slotSet && !noneOK:
		return cmdutil.Usagef("name the image: its hash ('latchkey fw list' shows it) or --slot N")
	case slotSet && opts.Slot < 0:
		return cmdutil.Usagef("--slot must be 0 or more")
	case opts.Hash != "":
		if _, err := hex.DecodeString(opts.Hash); err != nil || len(opts.Hash) < minHashPrefix || len(opts.Hash) > 64 {
			return cmdutil.Usagef("%q is not an image hash: give %d to 64 hex digits of it", args[0], minHashPrefix)
		}
	}
	return nil
}

// resolveTarget finds the full hash of the image opts names, or nil for
// the running image.
func resolveTarget(state []device.ImageSlot, opts *StateOptions) ([]byte, error) {
	if opts.Hash == "" && opts.Slot < 0 {
		return nil, nil
	}
	var found []device.ImageSlot
	for _, s := range state {
		h := hex.EncodeToString(s.Hash)
		if (opts.Hash != "" && strings.HasPrefix(h, opts.Hash)) || (opts.Hash == "" && int(s.Slot) == opts.Slot) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0 && opts.Hash != "":
		return nil, cmdutil.WithHint(fmt.Errorf("the unit holds no image with hash %s", opts.Hash), "'latchkey fw list' shows the images it holds")
	case len(found) == 0:
		return nil, cmdutil.WithHint(fmt.Errorf("slot %d of the unit is empty", opts.Slot), "'latchkey fw list' shows the images it holds")
	case len(found) > 1 && !bytes.Equal(found[0].Hash, found[1].Hash):
		return nil, cmdutil.Usagef("hash prefix %s matches more than one image; give more of it", opts.Hash)
	}
	return found[0].Hash, nil
}

func testRun(ctx context.Context, opts *StateOptions) error {
	return setState(ctx, opts, func(ctx context.Context, u *device.Unit, hash []byte) ([]device.ImageSlot, error) {
		state, err := u.ImageTest(ctx, hash)
		if err == nil {
			fmt.Fprintln(opts.IO.ErrOut, "the unit boots it at the next reset ('latchkey fw reset'); confirm it once it runs, or the reset after reverts it")
		}
		return state, err
	})
}

func confirmRun(ctx context.Context, opts *StateOptions) error {
	return setState(ctx, opts, func(ctx context.Context, u *device.Unit, hash []byte) ([]device.ImageSlot, error) {
		state, err := u.ImageConfirm(ctx, hash)
		if err == nil && hash == nil {
			fmt.Fprintln(opts.IO.ErrOut, "the running image is confirmed: the unit keeps it across resets")
		}
		return state, err
	})
}

func setState(ctx context.Context, opts *StateOptions, set func(context.Context, *device.Unit, []byte) ([]device.ImageSlot, error)) error {
	l, err := opts.Open(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	var hash []byte
	if opts.Hash != "" || opts.Slot >= 0 {
		state, err := l.Unit.ImageState(ctx)
		if err != nil {
			return err
		}
		if hash, err = resolveTarget(state, opts); err != nil {
			return err
		}
	}
	state, err := set(ctx, l.Unit, hash)
	if err != nil {
		return err
	}
	slots := slotsOf(state)
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, slots)
	}
	return writeSlots(opts.IO, slots)
}

// ResetOptions are what `fw reset` runs with.
type ResetOptions struct {
	IO    *cmdutil.IO
	Unit  unitopt.Flags
	Open  opener
	Force bool
}

// NewCmdReset is `fw reset`.
func NewCmdReset(f *cmdutil.Factory, runF func(context.Context, *ResetOptions) error) *cobra.Command {
	opts := &ResetOptions{IO: f.IO}
	opts.Open = openWith(f, &opts.Unit)
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Send the unit a reset, so it restarts and boots a pending image",
		Long: `Restart the unit. MCUboot then swaps in an image marked pending ('latchkey fw
test'), or reverts an image on test that was not confirmed. The port goes away
while the unit restarts.`,
		Example: "  latchkey fw reset\n  latchkey fw reset --force --port /dev/ttyACM0",
		Args:    cmdutil.NoArgs("name the unit with --port"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return resetRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "reset even if the unit says it is busy")
	opts.Unit.Register(cmd)
	return cmd
}

func resetRun(ctx context.Context, opts *ResetOptions) error {
	l, err := opts.Open(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	// The unit answers before it restarts; a link that drops right after
	// the request means the reset happened before the answer got out.
	if err := l.Unit.Reset(ctx, opts.Force); err != nil && !unitopt.Disconnected(err) {
		return cmdutil.WithHint(err, "if the unit says it is busy, --force resets it anyway")
	}
	fmt.Fprintln(opts.IO.ErrOut, "the unit is restarting; its port comes back in a few seconds")
	return nil
}
