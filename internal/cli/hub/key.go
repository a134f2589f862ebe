package hub

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
)

func newCmdKey(f *cmdutil.Factory) *cobra.Command {
	var w where
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Print the hub's public signing key",
		Long: `Print the hub's Ed25519 public key (base64) and its SHA-256. It signs job
packets and denylists, and it is the operator key units are provisioned with:
a unit given it ('latchkey sim --operator-key KEY') wipes its keys only on a
decommission request this hub authorised.`,
		Example: "  latchkey hub key\n  latchkey sim --operator-key \"$(latchkey hub key --json | jq -r .public_key)\"",
		Args:    cmdutil.NoArgs("it prints the one key"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := w.dataDir(f)
			if err != nil {
				return err
			}
			key, err := hubsvc.LoadKeys(dir)
			if err != nil {
				return err
			}
			pub := key.Public().Sign
			sum := sha256.Sum256(pub)
			out := map[string]string{"public_key": base64.StdEncoding.EncodeToString(pub), "sha256": hex.EncodeToString(sum[:])}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, out)
			}
			fmt.Fprintf(f.IO.Out, "%s\n", out["public_key"])
			fmt.Fprintf(f.IO.ErrOut, "hub key SHA-256 %s\n", out["sha256"])
			return nil
		},
	}
	w.flags(cmd)
	return cmd
}
