package fw

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
)

// ListOptions are what `fw list` runs with.
type ListOptions struct {
	IO   *cmdutil.IO
	JSON func() bool
	Unit unitopt.Flags
	Open opener
}

// NewCmdList is `fw list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }}
	opts.Open = openWith(f, &opts.Unit)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the firmware images in the unit's slots",
		Long: `List the images in the unit's MCUboot slots with their version, SHA-256 hash
and state: active (running now), confirmed (kept across resets), pending (swapped
in at the next reset) and permanent (that swap will not be reverted).`,
		Example: "  latchkey fw list\n  latchkey fw list --port /dev/ttyACM0 --json",
		Args:    cmdutil.NoArgs("name the unit with --port"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	opts.Unit.Register(cmd)
	opts.Unit.RegisterWait(cmd)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	l, err := opts.Open(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	var state []device.ImageSlot
	if err := l.Do(ctx, func(ctx context.Context, u *device.Unit) (err error) {
		state, err = u.ImageState(ctx)
		return err
	}); err != nil {
		return err
	}
	slots := slotsOf(state)
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, slots)
	}
	return writeSlots(opts.IO, slots)
}
