package notice

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/humantime"
	"github.com/latchkey/latchkey/internal/survey"
)

// RecordOptions are `notice record`'s flags.
type RecordOptions struct {
	Job        string
	How        string
	GivenAt    string
	Photo      string
	Where      string
	Recipients int
	Facts      factFlags
}

func newCmdRecord(f *cmdutil.Factory, runF func(context.Context, *RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{}
	cmd := &cobra.Command{
		Use:   "record --job ID --how posted|mailed|emailed --given-at TIME",
		Short: "Record how and when the tenant notice was given",
		Long: `Sign a notice record: how the job's tenant notice was given (posted in
the building, mailed or emailed to each household), when, and which notice
(the SHA-256 of its text, made again from the same facts as 'notice print':
give the same --lang and fact flags). A posted notice needs a photo of it
where it hangs (--photo, copied into latchkey's photos folder under its
SHA-256) and where that is (--where); a mailed or emailed one needs how many
households it went to (--recipients). --given-at may be at most 5 minutes
ahead of this computer's clock: record a notice once it was given.

The record is kept, journalled and queued for the back office in one step.
Couriers get access once a notice is recorded and the consent's notice date
has passed ('latchkey unit courier on').`,
		Example: `  latchkey notice record --job 7Q2M --how posted --given-at '2026-11-25 09:30' \
      --photo board.jpg --where 'lobby notice board'
  latchkey notice record --job 7Q2M --how mailed --given-at 2026-11-24 --recipients 24 --lang es`,
		Args: cmdutil.NoArgs("describe the notice with flags"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Facts.capture(cmd)
			var missing []string
			for _, m := range []struct{ flag, v string }{{"--job", opts.Job}, {"--how", opts.How}, {"--given-at", opts.GivenAt}} {
				if strings.TrimSpace(m.v) == "" {
					missing = append(missing, m.flag)
				}
			}
			if len(missing) > 0 {
				return cmdutil.Usagef("missing %s", strings.Join(missing, ", "))
			}
			if !slices.Contains(notice.Hows(), notice.How(opts.How)) {
				return cmdutil.Usagef("--how %q: want posted, mailed or emailed", opts.How)
			}
			switch notice.How(opts.How) {
			case notice.Posted:
				switch {
				case opts.Photo == "":
					return cmdutil.Usagef("a posted notice needs --photo FILE, a photo of it where it hangs")
				case strings.TrimSpace(opts.Where) == "":
					return cmdutil.Usagef("a posted notice needs --where, e.g. --where 'lobby notice board'")
				case opts.Recipients != 0:
					return cmdutil.Usagef("--recipients counts households of a mailed or emailed notice, not a posted one")
				}
			default:
				if opts.Recipients < 1 {
					return cmdutil.Usagef("a %s notice needs --recipients N, how many households it went to", opts.How)
				}
			}
			if err := opts.Facts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return recordRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	fl.StringVar(&opts.How, "how", "", "how it was given: posted, mailed or emailed")
	fl.StringVar(&opts.GivenAt, "given-at", "", "when it was given: 2026-11-25, '2026-11-25 14:30', RFC 3339, or an age like 2h")
	fl.StringVar(&opts.Photo, "photo", "", "photo of the posted notice where it hangs (JPEG, PNG, HEIC or WebP)")
	fl.StringVar(&opts.Where, "where", "", "where it was posted (or, optionally, to whom it was sent)")
	fl.IntVar(&opts.Recipients, "recipients", 0, "how many households a mailed or emailed notice went to")
	opts.Facts.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("how", cobra.FixedCompletions([]string{"posted", "mailed", "emailed"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func recordRun(ctx context.Context, f *cmdutil.Factory, opts *RecordOptions) error {
	given, err := humantime.ParseTime(opts.GivenAt, f.Now())
	if err != nil {
		return &cmdutil.UsageError{Err: fmt.Errorf("--given-at: %w", err)}
	}
	ns, err := notices(ctx, f)
	if err != nil {
		return err
	}
	facts, err := opts.Facts.facts(ctx, f, ns, opts.Job)
	if err != nil {
		return err
	}
	text, err := notice.Text(facts)
	if err != nil {
		return err
	}
	g := notice.Given{
		How: notice.How(opts.How), GivenAt: given, Where: opts.Where, Recipients: opts.Recipients,
		Lang: facts.Lang, Text: text,
	}
	if opts.Photo != "" {
		d, err := f.Dirs()
		if err != nil {
			return err
		}
		p, err := survey.AddPhoto(filepath.Join(d.Data, "photos"), opts.Photo, "")
		if err != nil {
			return err
		}
		g.PhotoSHA256 = p.SHA256
	}
	n, err := ns.Record(ctx, opts.Job, g)
	if err != nil {
		return cmdutil.JobHint(err)
	}
	if f.Global.JSON {
		return cmdutil.WriteJSON(f.IO.Out, n)
	}
	fmt.Fprintf(f.IO.Out, "recorded the %s notice of job %s: %s, given %s (record %s)\n",
		n.Lang, n.Job, n.How, n.GivenAt.Local().Format("2006-01-02 15:04"), n.Record)
	gate, err := ns.Gate(ctx, n.Job, f.Now())
	if err != nil {
		return err
	}
	if gate.Allowed {
		fmt.Fprintf(f.IO.ErrOut, "queued for the back office (latchkey sync); couriers may now be let in: latchkey unit courier on --job %s\n", shortID(n.Job))
	} else {
		fmt.Fprintf(f.IO.ErrOut, "queued for the back office (latchkey sync); courier access stays off: %s\n", gate.Reason)
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
