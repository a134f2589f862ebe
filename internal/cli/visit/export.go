package visit

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/fsutil"
	"github.com/latchkey/latchkey/internal/sales"
)

// ExportOptions are what `visit export` runs with.
type ExportOptions struct {
	IO      *cmdutil.IO
	Now     func() time.Time
	Service serviceFunc
	Filter  sales.Filter
	Format  string
	Output  string

	filters filterFlags
}

// NewCmdExport is `visit export`.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IO, Now: f.Now, Service: salesService(f)}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export visits as CSV or JSON",
		Long: `Export the newest revision of every visit that is not deleted, or of those
the filters select, newest visit first as in 'visit list'. CSV has a header
row and is what 'visit import' reads back; objections are separated by
semicolons inside their cell, and a cell a spreadsheet would run as a formula
(starting with = + - or @) gets a leading apostrophe, which import removes.
The file holds contacts' names, phones and emails: -o writes it with mode
0600, atomically. Deleted visits are not exported.`,
		Example: `  latchkey visit export --format csv -o visits.csv
  latchkey visit export --format json --since 2026-11-01 > november.json
  latchkey visit export --rep 'Dana Reyes' --outcome signed`,
		Args: cmdutil.NoArgs("write to a file with -o FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			flt, err := opts.filters.filter(opts.Now())
			if err != nil {
				return err
			}
			opts.Filter = flt
			if opts.Format != "csv" && opts.Format != "json" {
				return cmdutil.Usagef("--format must be csv or json, not %q", opts.Format)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return exportRun(cmd.Context(), opts)
		},
	}
	opts.filters.register(cmd)
	cmd.Flags().StringVar(&opts.Format, "format", "csv", "file format: csv or json")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file instead of stdout")
	_ = cmd.RegisterFlagCompletionFunc("format", fixed([]string{"csv", "json"}))
	return cmd
}

func exportRun(ctx context.Context, opts *ExportOptions) error {
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	visits, _, err := svc.List(ctx, opts.Filter)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		if opts.Format == "json" {
			return sales.WriteJSON(w, visits)
		}
		return sales.WriteCSV(w, visits)
	}
	if opts.Output == "" || opts.Output == "-" {
		return write(opts.IO.Out)
	}
	if err := fsutil.WriteFile(opts.Output, 0o600, write); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "exported %d visit(s) to %s\n", len(visits), opts.Output)
	return nil
}
