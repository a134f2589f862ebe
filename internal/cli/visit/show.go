package visit

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sales"
)

// ShowOptions are what `visit show` runs with.
type ShowOptions struct {
	IO      *cmdutil.IO
	JSON    func() bool
	Service serviceFunc
	Ref     string
	History bool
}

// NewCmdShow is `visit show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }, Service: salesService(f)}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one visit, or every revision of it",
		Long: `Show the newest revision of a visit. ID may be the full id or its first few
characters (at least 4), as 'visit list' prints them. --history shows every
revision, oldest first, including a deletion.`,
		Example:           "  latchkey visit show 3f9c2a1b\n  latchkey visit show 3f9c2a1b --history\n  latchkey visit show 3f9c2a1b --json",
		ValidArgsFunction: completeIDs(f),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("visit show takes one visit ID; 'latchkey visit list' shows them")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.History, "history", false, "show every revision, oldest first")
	return cmd
}

func showRun(ctx context.Context, opts *ShowOptions) error {
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	if opts.History {
		revs, err := svc.History(ctx, opts.Ref)
		if err != nil {
			return err
		}
		if opts.JSON() {
			return cmdutil.WriteJSON(opts.IO.Out, revs)
		}
		for i, v := range revs {
			if i > 0 {
				fmt.Fprintln(opts.IO.Out)
			}
			writeVisit(opts.IO.Out, v)
		}
		return nil
	}
	v, err := svc.Get(ctx, opts.Ref)
	if err != nil {
		return err
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, v)
	}
	writeVisit(opts.IO.Out, v)
	return nil
}

// writeVisit prints one revision as aligned label: value lines.
func writeVisit(w io.Writer, v sales.Visit) {
	state := fmt.Sprintf("revision %d, recorded %s", v.Revision, v.RecordedAt.Local().Format("2006-01-02 15:04"))
	if v.Deleted {
		state += ", DELETED"
	}
	objections := strings.Join(names(v.Objections), ", ")
	lines := [][2]string{
		{"visit", v.ID},
		{"", state},
		{"when", v.VisitedAt.Local().Format("2006-01-02 15:04 MST")},
		{"rep", v.Rep},
		{"building", v.Building.Name},
		{"address", v.Building.Address + ", " + v.Building.City},
		{"apartments", fmt.Sprint(v.Building.Units)},
		{"contact", contactLine(v.Contact)},
		{"phone", v.Contact.Phone},
		{"email", v.Contact.Email},
		{"outcome", string(v.Outcome)},
		{"objections", objections},
		{"concerns", v.ObjectionNotes},
		{"incentive", v.Incentive.String()},
		{"follow-up", v.FollowUp},
		{"notes", v.Notes},
	}
	for _, l := range lines {
		if l[1] == "" && l[0] != "" {
			continue
		}
		value := strings.ReplaceAll(l[1], "\n", "\n            ")
		fmt.Fprintf(w, "%-11s %s\n", l[0], value)
	}
}
