package visit

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/humantime"
	"github.com/latchkey/latchkey/internal/sales"
)

// filterFlags select visits; list, export and stats share them.
type filterFlags struct {
	outcomes     []string
	rep          string
	since, until string
	search       string
}

func (ff *filterFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringSliceVar(&ff.outcomes, "outcome", nil, "only these outcomes, repeat or comma-separate: "+strings.Join(names(sales.Outcomes()), ", "))
	fs.StringVar(&ff.rep, "rep", "", "only visits by this rep")
	fs.StringVar(&ff.since, "since", "", "only visits on or after: 2026-11-01, '2026-11-01 09:00', or an age like 30d")
	fs.StringVar(&ff.until, "until", "", "only visits before this time, or through this date")
	fs.StringVar(&ff.search, "search", "", "only visits whose building, contact or notes contain this text")
	_ = cmd.RegisterFlagCompletionFunc("outcome", fixed(names(sales.Outcomes())))
}

func (ff *filterFlags) filter(now time.Time) (sales.Filter, error) {
	var f sales.Filter
	for _, o := range ff.outcomes {
		o = strings.ToLower(strings.TrimSpace(o))
		if err := sales.CheckOutcome(o); err != nil {
			return f, cmdutil.Usagef("--outcome: %v", err)
		}
		f.Outcomes = append(f.Outcomes, sales.Outcome(o))
	}
	f.Rep, f.Search = strings.TrimSpace(ff.rep), strings.TrimSpace(ff.search)
	if ff.since != "" {
		t, err := humantime.ParseTime(ff.since, now)
		if err != nil {
			return f, cmdutil.Usagef("--since: %v", err)
		}
		f.Since = t
	}
	if ff.until != "" {
		t, err := humantime.ParseTime(ff.until, now)
		if err != nil {
			return f, cmdutil.Usagef("--until: %v", err)
		}
		f.Until = humantime.EndOfDay(ff.until, t)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, cmdutil.Usagef("--since is not before --until")
	}
	return f, nil
}
