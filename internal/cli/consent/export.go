package consent

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/fsutil"
	"github.com/latchkey/latchkey/internal/install"
)

// ExportOptions are `consent export`'s flags.
type ExportOptions struct {
	Job    string
	Output string
	Format string
}

// NewCmdExport is `latchkey consent export`.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export --job ID [-o FILE]",
		Short: "Export the manager's copy of a consent (PDF) or the signed record (JSON)",
		Long: `Write the copy the signer keeps: a PDF of the terms exactly as signed, the
record's facts and signature block, and a verification summary (record id,
hashes of the payload, the signed bytes and the terms, each signature's key and
value, and how to check it). --format json writes the signed envelope itself,
byte for byte as queued, which 'latchkey consent verify' and the openssl recipe
in docs/consent.md check.

The record is verified with your key and the unit's before anything is
written. Files are written whole or not at all (mode 0644: it is the signer's
copy to keep). Without -o the JSON goes to stdout, and the PDF too unless
stdout is a terminal.`,
		Example: "  latchkey consent export --job 7Q2M -o maple-court-consent.pdf\n  latchkey consent export --job 7Q2M --format json -o consent.json",
		Args:    cmdutil.NoArgs("name the job with --job and the file with -o"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return exportRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "the file to write (default: stdout)")
	cmd.Flags().StringVar(&opts.Format, "format", "pdf", "pdf (the manager's copy) or json (the signed record)")
	return cmd
}

func exportRun(ctx context.Context, f *cmdutil.Factory, o *ExportOptions) error {
	if o.Format != "pdf" && o.Format != "json" {
		return cmdutil.Usagef("--format %q: want pdf or json", o.Format)
	}
	if o.Output == "" && o.Format == "pdf" && f.IO.OutTTY {
		return cmdutil.Usagef("not writing a PDF to the terminal: give -o FILE")
	}
	job, err := f.Job(ctx, o.Job)
	if err != nil {
		return err
	}
	_, s, err := storedConsent(ctx, f, job.ID)
	if err != nil {
		return err
	}
	installer, unit, err := keysFor(ctx, f, job.ID)
	if err != nil {
		return err
	}
	c, err := consent.Verify(s.Envelope, installer, unit)
	if err != nil {
		return fmt.Errorf("the stored consent of job %s: %w", shortID(job.ID), err)
	}
	out := s.Envelope
	if o.Format == "pdf" {
		_, env, err := s.Consent()
		if err != nil {
			return err
		}
		terms, err := install.TermsOf(c)
		if err != nil {
			return err
		}
		if out, err = consent.ManagerCopy(env, c, terms); err != nil {
			return err
		}
	}
	if o.Output == "" || o.Output == "-" {
		_, err := f.IO.Out.Write(out)
		return err
	}
	err = fsutil.WriteFile(o.Output, 0o644, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
	if err != nil {
		return err
	}
	what := "the manager's copy"
	if o.Format == "json" {
		what = "the signed record"
	}
	fmt.Fprintf(f.IO.ErrOut, "wrote %s of consent %s to %s\n", what, c.ID, o.Output)
	return nil
}
