package visit

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sales"
)

// ListOptions are what `visit list` runs with.
type ListOptions struct {
	IO      *cmdutil.IO
	Now     func() time.Time
	JSON    func() bool
	Service serviceFunc
	Filter  sales.Filter

	filters  filterFlags
	due      bool
	limit    int
	limitSet bool
}

// NewCmdList is `visit list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Now: f.Now, JSON: func() bool { return f.Global.JSON }, Service: salesService(f)}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List visits, newest first",
		Long: `List the newest revision of each visit that is not deleted, newest visit
first. With --due, list open follow-ups due today or earlier, soonest first
(visits that ended signed or not-interested are not open). On a terminal the
list is a table; piped, it is tab-separated with a header; --json gives every
field.`,
		Example: `  latchkey visit list
  latchkey visit list --outcome interested,follow-up --since 30d
  latchkey visit list --due --rep 'Dana Reyes'
  latchkey visit list --search 'elm' --limit 0 --json`,
		Args: cmdutil.NoArgs("filter with flags such as --search TEXT or --outcome OUTCOME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			flt, err := opts.filters.filter(opts.Now())
			if err != nil {
				return err
			}
			if opts.due {
				flt.DueBy = opts.Now().Format(sales.DateLayout)
			}
			// --limit 0 means all rows, which the config key (1 to 10000)
			// cannot say, so the flag is taken as given when set.
			if cmd.Flags().Changed("limit") {
				if opts.limit < 0 {
					return cmdutil.Usagef("--limit must be 0 (no limit) or more")
				}
				flt.Limit = opts.limit
			} else {
				lim, err := f.Setting("list.limit", "", false)
				if err != nil {
					return err
				}
				flt.Limit = lim.Int()
			}
			opts.Filter = flt
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	opts.filters.register(cmd)
	cmd.Flags().BoolVar(&opts.due, "due", false, "only open follow-ups due today or earlier")
	cmd.Flags().IntVar(&opts.limit, "limit", 0, "show at most this many visits, 0 for all (default: config list.limit, 50 unless set)")
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	visits, more, err := svc.List(ctx, opts.Filter)
	if err != nil {
		return err
	}
	if more {
		defer fmt.Fprintf(opts.IO.ErrOut, "showing the first %d; --limit 0 shows all\n", opts.Filter.Limit)
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, nonNil(visits))
	}
	if len(visits) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "no visits match; 'latchkey visit log' records one")
		return nil
	}
	rows := make([][]string, len(visits))
	for i, v := range visits {
		rows[i] = []string{shortID(v.ID), v.VisitedAt.Local().Format("2006-01-02"), v.Building.Name, v.Building.City,
			contactLine(v.Contact), string(v.Outcome), v.FollowUp, v.Rep}
	}
	header := []string{"ID", "DATE", "BUILDING", "CITY", "CONTACT", "OUTCOME", "FOLLOW-UP", "REP"}
	return cmdutil.Table(opts.IO, header, rows, 2, 3, 4, 7)
}

func contactLine(c sales.Contact) string {
	if c.Name == "" {
		return ""
	}
	if c.Role == "" {
		return c.Name
	}
	return c.Name + " (" + string(c.Role) + ")"
}

func nonNil(vs []sales.Visit) []sales.Visit {
	if vs == nil {
		return []sales.Visit{}
	}
	return vs
}
