package visit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sales"
	"github.com/latchkey/latchkey/internal/tui/visitform"
)

// LogOptions are what `visit log` runs with.
type LogOptions struct {
	IO         *cmdutil.IO
	Now        func() time.Time
	JSON       func() bool
	Service    serviceFunc
	DefaultRep func() (string, error)
	// Form asks for the missing fields on a terminal; nil when none is there.
	Form func(ctx context.Context, v *sales.Visit, title string) error

	fields  fieldFlags
	cmdPath string
	visit   sales.Visit
}

// NewCmdLog is `visit log`. runF replaces logRun in tests of flag parsing.
func NewCmdLog(f *cmdutil.Factory, runF func(context.Context, *LogOptions) error) *cobra.Command {
	opts := &LogOptions{IO: f.IO, Now: f.Now, JSON: func() bool { return f.Global.JSON }, Service: salesService(f),
		DefaultRep: func() (string, error) {
			v, err := f.Setting("rep", "", false)
			return v.Value, err
		},
	}
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Log a visit to a building",
		Long: `Log a visit to a building. Give the fields as flags (for scripts), or run it
on a terminal with some left out and a form asks for the rest, checking each
field as you type. Without a terminal, missing fields are an error naming the
flags to pass. The new visit's id is printed on stdout.

A contact (--contact, --role) is needed unless the outcome is no-answer, and a
--follow-up date when the outcome is follow-up.`,
		Example: `  latchkey visit log
  latchkey visit log --building 'Elm Court' --address '12 Elm St' --city Springfield --units 24 \
    --contact 'Ana Ruiz' --role manager --email ana@elmcourt.example --outcome follow-up \
    --objection privacy,tenant-notice --follow-up +1w --incentive gift-card:100:USD
  id=$(latchkey visit log --building 'Oak House' --address '3 Oak Rd' --city Springfield --units 8 --outcome no-answer)`,
		Args: cmdutil.NoArgs("give the fields as flags, e.g. --building 'Elm Court'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.cmdPath = cmd.CommandPath()
			opts.visit = sales.Visit{}
			if err := opts.fields.apply(cmd.Flags(), &opts.visit, opts.Now(), true); err != nil {
				return err
			}
			if opts.IO.CanPrompt() {
				opts.Form = func(ctx context.Context, v *sales.Visit, title string) error {
					return visitform.Run(ctx, v, visitform.Options{Title: title, Now: opts.Now(), NoColor: f.Global.NoColor, In: opts.IO.In, Out: opts.IO.ErrOut})
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logRun(cmd.Context(), opts)
		},
	}
	opts.fields.register(cmd)
	return cmd
}

func logRun(ctx context.Context, opts *LogOptions) error {
	v := opts.visit
	if v.Rep == "" {
		rep, err := opts.DefaultRep()
		if err != nil {
			return err
		}
		v.Rep = rep
	}
	if err := complete(ctx, &v, opts.Now(), opts.Form, "Log a visit", opts.cmdPath); err != nil {
		return err
	}
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	saved, err := svc.Log(ctx, v)
	if err != nil {
		return asUsage(err, opts.cmdPath)
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, saved)
	}
	fmt.Fprintf(opts.IO.ErrOut, "logged visit %s: %s, %s\n", shortID(saved.ID), saved.Building.Name, saved.Outcome)
	_, err = fmt.Fprintln(opts.IO.Out, saved.ID)
	return err
}

// complete checks v and, when fields are missing and a form is available,
// asks for them. Wrong values given as flags are reported rather than
// silently replaced by the form.
func complete(ctx context.Context, v *sales.Visit, now time.Time, form func(context.Context, *sales.Visit, string) error, title, cmdPath string) error {
	check := *v
	check.Normalize()
	err := check.Validate(now)
	if err == nil {
		return nil
	}
	missing, wrong, ok := splitProblems(err)
	if !ok || len(wrong) > 0 || form == nil {
		if ok && len(wrong) == 0 && len(missing) > 0 {
			hint := "pass them, or run on a terminal to fill in a form"
			if slices.Contains(missing, "--rep") {
				hint += "; 'latchkey config set rep NAME' saves your name for --rep"
			}
			return cmdutil.WithHint(cmdutil.Usagef("missing %s", strings.Join(dedupe(missing), ", ")), hint)
		}
		return asUsage(err, cmdPath)
	}
	if err := form(ctx, v, title); err != nil {
		if errors.Is(err, visitform.ErrAborted) {
			return cmdutil.ErrCancelled
		}
		return err
	}
	return nil
}
