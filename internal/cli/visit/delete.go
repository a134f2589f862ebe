package visit

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

// DeleteOptions are what `visit delete` runs with.
type DeleteOptions struct {
	IO      *cmdutil.IO
	JSON    func() bool
	Service serviceFunc
	Ref     string
	Yes     bool
}

// NewCmdDelete is `visit delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }, Service: salesService(f)}
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a visit by writing a tombstone",
		Long: `Delete a visit. Nothing is erased: a tombstone revision is written, lists stop
showing the visit, and 'visit show ID --history' still shows every revision.
It asks first on a terminal; elsewhere pass --yes.`,
		Example:           "  latchkey visit delete 3f9c2a1b\n  latchkey visit delete 3f9c2a1b --yes",
		ValidArgsFunction: completeIDs(f),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("visit delete takes one visit ID; 'latchkey visit list' shows them")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return deleteRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "delete without asking")
	return cmd
}

func deleteRun(ctx context.Context, opts *DeleteOptions) error {
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	v, err := svc.Get(ctx, opts.Ref)
	if err != nil {
		return err
	}
	if !opts.Yes {
		if !opts.IO.CanPrompt() {
			return cmdutil.Usagef("not deleting visit %s without --yes (no terminal to ask on)", shortID(v.ID))
		}
		ok, err := cmdutil.Confirm(opts.IO, fmt.Sprintf("Delete visit %s (%s, %s)?", shortID(v.ID), v.Building.Name, v.VisitedAt.Local().Format("2006-01-02")))
		if err != nil {
			return err
		}
		if !ok {
			return cmdutil.ErrCancelled
		}
	}
	t, err := svc.Delete(ctx, v.ID)
	if err != nil {
		return err
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, t)
	}
	fmt.Fprintf(opts.IO.ErrOut, "deleted visit %s (tombstone at revision %d)\n", shortID(t.ID), t.Revision)
	return nil
}
