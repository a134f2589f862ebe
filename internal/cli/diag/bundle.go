package diag

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/diag"
	"github.com/latchkey/latchkey/internal/fsutil"
)

// BundleOptions are what `diag bundle` runs with.
type BundleOptions struct {
	IO       *cmdutil.IO
	JSON     func() bool
	Link     linkFunc
	Flags    unitopt.Flags
	Now      func() time.Time
	Version  string
	LogDir   func() (string, error)
	Output   string
	Settings []string
}

// BundleResult is the JSON form of `diag bundle`.
type BundleResult struct {
	Path     string        `json:"path"`
	ID       string        `json:"id"`
	SHA256   string        `json:"sha256"`
	Bytes    int           `json:"bytes"`
	Manifest diag.Manifest `json:"manifest"`
}

// NewCmdBundle is `diag bundle`.
func NewCmdBundle(f *cmdutil.Factory, runF func(context.Context, *BundleOptions) error) *cobra.Command {
	opts := &BundleOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }, Now: f.Now, Version: f.Build.Version,
		LogDir: func() (string, error) {
			d, err := f.Dirs()
			if err != nil {
				return "", err
			}
			return d.LogDir(), nil
		}}
	opts.Link = openLink(f, &opts.Flags)
	cmd := &cobra.Command{
		Use:   "bundle -o FILE",
		Short: "Write a support bundle of a unit for engineering, secrets redacted",
		Long: `Write a support bundle: a tar.gz (readable only by you, mode 0600) with the
unit's status report, event log, counters, settings, image state and door
configuration, and latchkey's local logs from the last 7 days. Secrets are
redacted before anything is written: settings whose names look like keys,
tokens, passwords or PINs, values that look like key material, and such
values in log lines and event messages (README.md, "diag", lists the rules).
manifest.json in the bundle lists every file and what was redacted.

The bundle's short id (the first 8 hex digits of its SHA-256) is printed at
the end: quote it when you send the file, so engineering knows they have the
one you mean.`,
		Example: "  latchkey diag bundle -o unit.tar.gz\n  latchkey diag bundle -o unit.tar.gz --port /dev/ttyACM0 --setting lk/modem/band",
		Args:    cmdutil.NoArgs("name the file with -o FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output == "" {
				return cmdutil.Usagef("name the bundle file with -o FILE, e.g. -o unit.tar.gz")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return bundleRun(cmd.Context(), opts)
		},
	}
	register(cmd, &opts.Flags)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "file to write the bundle to (a .tar.gz)")
	cmd.Flags().StringArrayVar(&opts.Settings, "setting", nil, "also read this unit setting into the bundle (repeatable; redaction rules still apply)")
	_ = cmd.MarkFlagFilename("output", "tar.gz", "tgz")
	return cmd
}

func bundleRun(ctx context.Context, opts *BundleOptions) error {
	logDir, err := opts.LogDir()
	if err != nil {
		return err
	}
	return withUnit(ctx, opts.Link, func(u diag.Unit, port string) error {
		fmt.Fprintf(opts.IO.ErrOut, "reading the unit on %s\n", port)
		b, err := diag.MakeBundle(ctx, u, diag.BundleOptions{Now: opts.Now(), Version: opts.Version, Port: port, LogDir: logDir, Settings: opts.Settings})
		if err != nil {
			return fmt.Errorf("make bundle: %w", err)
		}
		if err := fsutil.WriteFile(opts.Output, 0o600, func(w io.Writer) error { _, err := w.Write(b.Data); return err }); err != nil {
			return cmdutil.WithHint(fmt.Errorf("write bundle: %w", err), "pick a file in a directory you can write to with -o")
		}
		for _, p := range b.Manifest.Problems {
			fmt.Fprintln(opts.IO.ErrOut, "could not read "+p)
		}
		if opts.JSON() {
			return cmdutil.WriteJSON(opts.IO.Out, BundleResult{Path: opts.Output, ID: b.ID, SHA256: b.SHA256, Bytes: len(b.Data), Manifest: b.Manifest})
		}
		rows := [][]string{{"manifest.json", "", ""}}
		redacted := map[string]int{}
		for _, r := range b.Manifest.Redactions {
			redacted[r.File] += r.Count
		}
		for _, f := range b.Manifest.Files {
			note := ""
			if n := redacted[f.Name]; n > 0 {
				note = fmt.Sprintf("%d value(s) redacted", n)
			}
			rows = append(rows, []string{f.Name, fmt.Sprint(f.Bytes), note})
		}
		if err := cmdutil.Table(opts.IO, []string{"FILE", "BYTES", "REDACTED"}, rows); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "wrote %s (%d bytes), id %s\n", opts.Output, len(b.Data), b.ID)
		fmt.Fprintf(opts.IO.ErrOut, "send %s to engineering and quote id %s\n", opts.Output, b.ID)
		return nil
	})
}
