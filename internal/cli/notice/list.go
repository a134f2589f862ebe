package notice

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/install"
)

// ListOptions are `notice list`'s flags.
type ListOptions struct {
	Job string
}

// listed is `notice list --json`: the records and the gate now.
type listed struct {
	Notices []install.Notice   `json:"notices"`
	Gate    install.GateResult `json:"gate"`
}

func newCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{}
	cmd := &cobra.Command{
		Use:   "list --job ID",
		Short: "List the notices recorded for a job, and the courier gate",
		Long: `List the notice records of a job, earliest given first, and say whether
the courier gate holds now: a notice recorded and the consent's notice date
passed.`,
		Example: "  latchkey notice list --job 7Q2M\n  latchkey notice list --job 7Q2M --json",
		Args:    cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Job == "" {
				return cmdutil.Usagef("--job is required (see 'latchkey jobs list')")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	return cmd
}

func listRun(ctx context.Context, f *cmdutil.Factory, opts *ListOptions) error {
	ns, err := notices(ctx, f)
	if err != nil {
		return err
	}
	list, err := ns.List(ctx, opts.Job)
	if err != nil {
		return cmdutil.JobHint(err)
	}
	gate, err := ns.Gate(ctx, opts.Job, f.Now())
	if err != nil {
		return err
	}
	if f.Global.JSON {
		if list == nil {
			list = []install.Notice{}
		}
		return cmdutil.WriteJSON(f.IO.Out, listed{Notices: list, Gate: gate})
	}
	state := "courier access may be turned on"
	if !gate.Allowed {
		state = gate.Reason
	}
	if len(list) == 0 {
		fmt.Fprintf(f.IO.ErrOut, "no notice recorded for job %s; %s\n", gate.Job, state)
		return nil
	}
	rows := make([][]string, 0, len(list))
	for _, n := range list {
		rows = append(rows, []string{n.Record, string(n.How), n.Lang, n.GivenAt.Local().Format("2006-01-02 15:04"),
			n.RecordedAt.Local().Format("2006-01-02 15:04")})
	}
	if err := cmdutil.Table(f.IO, []string{"RECORD", "HOW", "LANG", "GIVEN", "RECORDED"}, rows, 0); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "courier gate: %s\n", state)
	return nil
}
