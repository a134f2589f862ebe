// Package identity is `latchkey identity`: the user's own signing and
// key-agreement keys, as internal/identity keeps them.
package identity

import (
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

// NewCmdIdentity groups the identity verbs.
func NewCmdIdentity(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "Show your own keys",
		Long: `Every latchkey user has two key pairs, made on first use: an Ed25519 key
that signs the records you make and an X25519 key that job packets are sealed
to. The private keys stay in the OS keyring, or where there is none (a
headless Linux machine) in a file only you can read under the data directory.
They are never printed.`,
		Example: "  latchkey identity show\n  latchkey identity show --json",
	}
	cmd.AddCommand(NewCmdShow(f, nil))
	return cmd
}
