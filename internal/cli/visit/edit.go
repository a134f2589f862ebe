package visit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sales"
	"github.com/latchkey/latchkey/internal/tui/visitform"
)

// EditOptions are what `visit edit` runs with.
type EditOptions struct {
	IO      *cmdutil.IO
	Now     func() time.Time
	JSON    func() bool
	Service serviceFunc
	Form    func(ctx context.Context, v *sales.Visit, title string) error
	Ref     string

	fields  fieldFlags
	flags   *pflag.FlagSet
	changed bool
	cmdPath string
}

// NewCmdEdit is `visit edit`.
func NewCmdEdit(f *cmdutil.Factory, runF func(context.Context, *EditOptions) error) *cobra.Command {
	opts := &EditOptions{IO: f.IO, Now: f.Now, JSON: func() bool { return f.Global.JSON }, Service: salesService(f)}
	cmd := &cobra.Command{
		Use:   "edit ID",
		Short: "Change a visit by writing a new revision",
		Long: `Change a visit. The old revision stays in its history: the change is written
as a new revision with the next number. Give the fields to change as flags
(--objection replaces the whole list; an empty value clears a field), or run
it on a terminal without flags to edit every field in a form.`,
		Example: `  latchkey visit edit 3f9c2a1b --outcome signed --follow-up ''
  latchkey visit edit 3f9c2a1b --objection privacy,cost --notes 'Board meets on the 3rd'
  latchkey visit edit 3f9c2a1b`,
		ValidArgsFunction: completeIDs(f),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("visit edit takes one visit ID; 'latchkey visit list' shows them")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.flags, opts.cmdPath = args[0], cmd.Flags(), cmd.CommandPath()
			opts.changed = false
			cmd.Flags().Visit(func(fl *pflag.Flag) {
				if fl.Name != "json" && fl.Name != "no-color" && fl.Name != "verbose" {
					opts.changed = true
				}
			})
			if opts.IO.CanPrompt() {
				opts.Form = func(ctx context.Context, v *sales.Visit, title string) error {
					return visitform.Run(ctx, v, visitform.Options{Title: title, Now: opts.Now(), NoColor: f.Global.NoColor, In: opts.IO.In, Out: opts.IO.ErrOut})
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return editRun(cmd.Context(), opts)
		},
	}
	opts.fields.register(cmd)
	cmd.Flags().Lookup("when").DefValue = ""
	return cmd
}

func editRun(ctx context.Context, opts *EditOptions) error {
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	v, err := svc.Get(ctx, opts.Ref)
	if err != nil {
		return err
	}
	if v.Deleted {
		return fmt.Errorf("visit %s: %w; 'visit show %s --history' shows what it was", shortID(v.ID), sales.ErrDeleted, shortID(v.ID))
	}
	switch {
	case opts.changed:
		if err := opts.fields.apply(opts.flags, &v, opts.Now(), false); err != nil {
			return err
		}
		if err := complete(ctx, &v, opts.Now(), opts.Form, "Edit visit "+shortID(v.ID), opts.cmdPath); err != nil {
			return err
		}
	case opts.Form != nil:
		if err := opts.Form(ctx, &v, "Edit visit "+shortID(v.ID)); err != nil {
			if errors.Is(err, visitform.ErrAborted) {
				return cmdutil.ErrCancelled
			}
			return err
		}
	default:
		return cmdutil.Usagef("nothing to change: pass the fields to change as flags, e.g. --outcome signed")
	}
	saved, err := svc.Revise(ctx, v)
	if errors.Is(err, sales.ErrNoChange) {
		fmt.Fprintf(opts.IO.ErrOut, "visit %s already says that; no revision written\n", shortID(v.ID))
		return nil
	}
	if err != nil {
		return asUsage(err, opts.cmdPath)
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, saved)
	}
	fmt.Fprintf(opts.IO.ErrOut, "visit %s is now at revision %d\n", shortID(saved.ID), saved.Revision)
	return nil
}
