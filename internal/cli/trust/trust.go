// Package trust is `latchkey trust`: the manufacturer roots a unit's
// certificate must chain to before it is paired or given keys.
package trust

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/provision"
)

// NewCmdTrust groups the trust verbs.
func NewCmdTrust(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Manage the manufacturer roots units must prove they come from",
		Long: `A unit proves it is genuine by answering a fresh challenge with the key in
its certificate, and that certificate must chain (unit → batch → root) to a
manufacturer root you trust. latchkey trusts no root until you add one: your
company distributes the production root file; the virtual unit's test factory
root ('latchkey sim --factory DIR' writes DIR/root.pem) is for training and
tests only.

Roots are kept as PEM files in the trust/ folder of the config directory.`,
		Example: "  latchkey trust add manufacturer-root.pem\n  latchkey trust list\n  latchkey trust remove 3f2a9c01",
	}
	cmd.AddCommand(newCmdAdd(f), newCmdList(f), newCmdRemove(f))
	return cmd
}

func newCmdAdd(f *cmdutil.Factory) *cobra.Command {
	var allowTest bool
	cmd := &cobra.Command{
		Use:   "add FILE",
		Short: "Trust a manufacturer root certificate (PEM)",
		Long: `Trust a manufacturer root: a self-signed CA certificate with an Ed25519 key,
in PEM. Compare its fingerprint with the one your company published before
you rely on it. Adding the same root again changes nothing.`,
		Example: "  latchkey trust add manufacturer-root.pem\n  latchkey trust add /tmp/factory/root.pem --allow-test-root",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return cmdutil.WithHint(err, "give the path of the root certificate's PEM file")
			}
			ts, err := f.TrustStore()
			if err != nil {
				return err
			}
			ts.AllowTest = allowTest
			r, err := ts.Add(b, f.Now())
			if errors.Is(err, provision.ErrTestRoot) {
				return &cmdutil.UsageError{Err: err}
			}
			if err != nil {
				return err
			}
			detail := "fingerprint " + r.Fingerprint
			if allowTest {
				detail += " (test root allowed)"
			}
			if err := journalTrust(cmd.Context(), f, "trust.added", r.Subject, detail); err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, r)
			}
			fmt.Fprintf(f.IO.Out, "trusted %s\nfingerprint %s\nvalid until %s\n", r.Subject, r.Fingerprint, r.NotAfter.Local().Format("2006-01-02"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&allowTest, "allow-test-root", false, "trust a test factory's root (training and test laptops only)")
	return cmd
}

// journalTrust records a change of who counts as genuine.
func journalTrust(ctx context.Context, f *cmdutil.Factory, action, subject, detail string) error {
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	_, err = j.Record(ctx, journal.Entry{Action: action, Outcome: journal.OK, Detail: subject + ", " + detail})
	return err
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List trusted manufacturer roots",
		Example: "  latchkey trust list\n  latchkey trust list --json",
		Args:    cmdutil.NoArgs("it lists every trusted root"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := f.TrustStore()
			if err != nil {
				return err
			}
			roots, err := ts.List()
			if err != nil {
				return err
			}
			if f.Global.JSON {
				if roots == nil {
					roots = []provision.Root{}
				}
				return cmdutil.WriteJSON(f.IO.Out, roots)
			}
			if len(roots) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "no trusted roots: no unit can be paired until you 'latchkey trust add FILE'")
				return nil
			}
			rows := make([][]string, len(roots))
			for i, r := range roots {
				rows[i] = []string{r.Fingerprint[:16], r.Subject, r.NotAfter.Local().Format("2006-01-02")}
			}
			return cmdutil.Table(f.IO, []string{"FINGERPRINT", "SUBJECT", "VALID UNTIL"}, rows, 1)
		},
	}
}

func newCmdRemove(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "remove FINGERPRINT",
		Short:   "Stop trusting a manufacturer root",
		Long:    "Stop trusting a root. FINGERPRINT may be the first 8 or more hex digits, as 'trust list' shows them.",
		Example: "  latchkey trust remove 3f2a9c01",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := f.TrustStore()
			if err != nil {
				return err
			}
			r, err := ts.Remove(args[0])
			if errors.Is(err, provision.ErrRootNotFound) {
				return cmdutil.WithHint(err, "see 'latchkey trust list'")
			}
			if err != nil {
				return err
			}
			if err := journalTrust(cmd.Context(), f, "trust.removed", r.Subject, "fingerprint "+r.Fingerprint); err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, r)
			}
			fmt.Fprintf(f.IO.Out, "no longer trusting %s (%s)\n", r.Subject, r.Fingerprint)
			return nil
		},
	}
}
