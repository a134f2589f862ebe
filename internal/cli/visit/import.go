package visit

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sales"
)

// ImportOptions are what `visit import` runs with.
type ImportOptions struct {
	IO      *cmdutil.IO
	JSON    func() bool
	Service serviceFunc
	File    string
	Format  string
	DryRun  bool
}

// maxImport bounds what import reads, so a wrong file (a disk image, a log)
// fails fast instead of filling memory.
const maxImport = 256 << 20

// NewCmdImport is `visit import`.
func NewCmdImport(f *cmdutil.Factory, runF func(context.Context, *ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }, Service: salesService(f)}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import visits from a CSV or JSON export",
		Long: `Import visits from a file in the format 'visit export' writes (CSV with its
header, or JSON). Every row is checked first and each bad row is reported with
its line number and reason; then all rows are imported in one transaction, or
none are. Visits keep their ids, so importing the same file again adds
nothing. Rows with a blank id get one derived from their content, which is
stable too. FILE - reads stdin.`,
		Example: `  latchkey visit import visits.csv
  latchkey visit import --dry-run visits.csv
  latchkey visit export --format json | latchkey visit import --format json -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("visit import takes one FILE (- for stdin)")
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"csv", "json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Format == "" {
				opts.Format = "csv"
				if strings.EqualFold(filepath.Ext(opts.File), ".json") {
					opts.Format = "json"
				}
			}
			if opts.Format != "csv" && opts.Format != "json" {
				return cmdutil.Usagef("--format must be csv or json, not %q", opts.Format)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return importRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "", "csv or json (default: from the file's extension, else csv)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "check every row and report, import nothing")
	_ = cmd.RegisterFlagCompletionFunc("format", fixed([]string{"csv", "json"}))
	return cmd
}

func importRun(ctx context.Context, opts *ImportOptions) error {
	var r io.Reader = opts.IO.In
	name := "stdin"
	if opts.File != "-" {
		file, err := os.Open(opts.File)
		if err != nil {
			return cmdutil.WithHint(err, "check the path")
		}
		defer file.Close()
		r, name = file, opts.File
	}
	r = io.LimitReader(r, maxImport)
	var rows []sales.ImportRow
	var err error
	if opts.Format == "json" {
		rows, err = sales.ReadJSON(r, name)
	} else {
		rows, err = sales.ReadCSV(r, name)
	}
	if err != nil {
		return err
	}
	svc, err := opts.Service(ctx)
	if err != nil {
		return err
	}
	res, err := svc.Import(ctx, name, rows, opts.DryRun)
	if err != nil {
		return err
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, res)
	}
	verb := "imported"
	if opts.DryRun {
		verb = "checked (dry run, nothing imported)"
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s %s: %d new, %d updated, %d already here, %d older revisions kept as history\n",
		verb, name, res.Added, res.Updated, res.Unchanged, res.Older)
	return nil
}
