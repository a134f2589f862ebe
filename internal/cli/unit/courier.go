package unit

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/install"
)

// CourierOptions are `unit courier`'s flags and argument.
type CourierOptions struct {
	On   bool
	Job  string
	Unit unitopt.Flags
}

// newCmdCourier is `latchkey unit courier on|off`.
func newCmdCourier(f *cmdutil.Factory, runF func(context.Context, *CourierOptions) error) *cobra.Command {
	opts := &CourierOptions{}
	cmd := &cobra.Command{
		Use:   "courier on|off --job ID",
		Short: "Set courier access on a job's unit on or off",
		Long: `Turn courier access to the doors of a job's unit on or off, keeping the
rest of its door configuration (hours, pulse, mode, time zone).

'on' is refused (exit 1, with the reason) until the courier gate holds:
a notice record exists for the job ('latchkey notice record'), the notice was
given, and the consent's tenant notice date has passed. It is also refused
when the unit on the cable is not the job's unit. 'off' is always allowed.
Both are journalled.`,
		Example: "  latchkey unit courier on --job 7Q2M\n  latchkey unit courier off --job 7Q2M --port /dev/ttyACM0",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
				return cmdutil.Usagef("say on or off: latchkey unit courier on --job ID")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.On = args[0] == "on"
			if opts.Job == "" {
				return cmdutil.Usagef("--job is required (see 'latchkey jobs list')")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return courierRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	opts.Unit.Register(cmd)
	return cmd
}

func courierRun(ctx context.Context, f *cmdutil.Factory, opts *CourierOptions) error {
	st, err := f.Store(ctx)
	if err != nil {
		return err
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	ns := install.NewNotices(st, install.NewJobs(st, f.Now), nil, j, f.Now, f.Rand)
	if opts.On {
		// Ask the gate before opening the port, so a refusal needs no
		// unit; SetCourier asks again and journals the refusal.
		gate, err := ns.Gate(ctx, opts.Job, f.Now())
		if err != nil {
			return cmdutil.JobHint(err)
		}
		if !gate.Allowed {
			_, err := ns.SetCourier(ctx, opts.Job, nil, true)
			return cmdutil.WithHint(err, "record the notice with 'latchkey notice record', and wait for the notice date; 'latchkey notice list --job "+opts.Job+"' shows the gate")
		}
	}
	l, err := unitopt.Open(ctx, f, opts.Unit)
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := ns.SetCourier(ctx, opts.Job, l.Unit, opts.On)
	switch {
	case errors.Is(err, install.ErrCourierGate):
		return cmdutil.WithHint(err, "record the notice with 'latchkey notice record', and wait for the notice date")
	case errors.Is(err, install.ErrWrongUnit):
		return cmdutil.WithHint(err, "connect the job's unit, or name its port with --port")
	case err != nil:
		return cmdutil.JobHint(err)
	}
	if f.Global.JSON {
		return cmdutil.WriteJSON(f.IO.Out, res)
	}
	state := "off"
	if res.Courier {
		state = "on"
	}
	fmt.Fprintf(f.IO.Out, "courier access %s on unit %s (job %s)\n", state, res.Serial, res.Job)
	if res.Courier {
		fmt.Fprintf(f.IO.ErrOut, "%s\n", res.Gate.Reason)
	}
	return nil
}
