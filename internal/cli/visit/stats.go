package visit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sales"
)

// StatsOptions are what `visit stats` runs with.
type StatsOptions struct {
	IO      *cmdutil.IO
	Now     func() time.Time
	JSON    func() bool
	Service serviceFunc
	Filter  sales.Filter

	filters filterFlags
}

// NewCmdStats is `visit stats`.
func NewCmdStats(f *cmdutil.Factory, runF func(context.Context, *StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{IO: f.IO, Now: f.Now, JSON: func() bool { return f.Global.JSON }, Service: salesService(f)}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Summarise the pipeline: outcomes, objections, incentives, follow-ups",
		Long: `Summarise the newest revision of every visit that is not deleted (or those the
filters select): the funnel by outcome, the objections raised most, incentive
totals by kind and currency, and open follow-ups due today or earlier — for
everyone, then per rep.`,
		Example: "  latchkey visit stats\n  latchkey visit stats --since 2026-11-01 --json\n  latchkey visit stats --rep 'Dana Reyes'",
		Args:    cmdutil.NoArgs("filter with flags such as --rep NAME or --since DATE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			flt, err := opts.filters.filter(opts.Now())
			if err != nil {
				return err
			}
			opts.Filter = flt
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statsRun(cmd.Context(), opts)
		},
	}
	opts.filters.register(cmd)
	return cmd
}

func statsRun(ctx context.Context, opts *StatsOptions) error {
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	st, err := svc.Stats(ctx, opts.Filter, opts.Now())
	if err != nil {
		return err
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, st)
	}
	o := st.Overall
	out := opts.IO.Out
	fmt.Fprintf(out, "%d visit(s) to %d building(s); %d follow-up(s) due by %s\n\n", o.Visits, o.Buildings, o.FollowUpsDue, st.AsOf)
	var rows [][]string
	for _, c := range o.Funnel {
		rows = append(rows, []string{string(c.Outcome), strconv.Itoa(c.Count), fmt.Sprintf("%.1f%%", c.Percent)})
	}
	if err := cmdutil.Table(opts.IO, []string{"OUTCOME", "VISITS", "SHARE"}, rows); err != nil {
		return err
	}
	if len(o.Objections) > 0 {
		fmt.Fprintln(out)
		rows = nil
		for i, c := range o.Objections {
			if i == 10 {
				break
			}
			rows = append(rows, []string{string(c.Objection), strconv.Itoa(c.Count)})
		}
		if err := cmdutil.Table(opts.IO, []string{"OBJECTION", "RAISED"}, rows); err != nil {
			return err
		}
	}
	if len(o.Incentives) > 0 {
		fmt.Fprintln(out)
		rows = nil
		for _, it := range o.Incentives {
			rows = append(rows, []string{it.Kind, it.Currency, strconv.Itoa(it.Offers), it.Total})
		}
		if err := cmdutil.Table(opts.IO, []string{"INCENTIVE", "CURRENCY", "OFFERS", "TOTAL"}, rows); err != nil {
			return err
		}
	}
	if len(st.Reps) > 0 {
		fmt.Fprintln(out)
		rows = nil
		for _, r := range st.Reps {
			signed := 0
			for _, c := range r.Funnel {
				if c.Outcome == sales.Signed {
					signed = c.Count
				}
			}
			top := ""
			if len(r.Objections) > 0 {
				top = string(r.Objections[0].Objection)
			}
			offers := 0
			for _, it := range r.Incentives {
				offers += it.Offers
			}
			rows = append(rows, []string{r.Rep, strconv.Itoa(r.Visits), strconv.Itoa(signed),
				fmt.Sprintf("%.1f%%", pct(signed, r.Visits)), strconv.Itoa(offers), strconv.Itoa(r.FollowUpsDue), top})
		}
		if err := cmdutil.Table(opts.IO, []string{"REP", "VISITS", "SIGNED", "SIGNED %", "INCENTIVES", "DUE", "TOP OBJECTION"}, rows); err != nil {
			return err
		}
	}
	return nil
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(int(1000*float64(n)/float64(of)+0.5)) / 10
}
