package hub

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/identity"
)

func newCmdKey(f *cmdutil.Factory) *cobra.Command {
	var w where
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Print the hub's public signing key",
		Long: `Print the hub's Ed25519 public key (base64), its SHA-256 and its fingerprint
(the start of the SHA-256, as 'latchkey login' shows it). It signs job
packets and denylists, and it is the operator key units are provisioned with:
a unit given it ('latchkey sim --operator-key KEY') wipes its keys only on a
decommission request this hub authorised.

The key is hub.key in --data. With a database (--database, $` + EnvDatabase + `,
or an existing hub.db in --data) it is checked against the key that
database's hub signs with, as every hub verb does: a hub.key that is not
that key is refused, and none is made when the database has one.`,
		Example: "  latchkey hub key\n  latchkey hub key --data /srv/hub --database postgres://hub@db.internal/latchkey\n" +
			"  latchkey sim --operator-key \"$(latchkey hub key --json | jq -r .public_key)\"",
		Args: cmdutil.NoArgs("it prints the one key"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := w.dataDir(f)
			if err != nil {
				return err
			}
			db, err := w.db(f, dir)
			if err != nil {
				return err
			}
			var key identity.Identity
			named := w.database != "" || strings.TrimSpace(f.Getenv(EnvDatabase)) != ""
			if _, statErr := os.Stat(db.path); named || (!db.postgres() && statErr == nil) {
				st, err := openStorage(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer st.Close()
				if key, err = hubKey(cmd.Context(), dir, st); err != nil {
					return err
				}
			} else if key, err = hubsvc.LoadKeys(dir); err != nil {
				return err
			}
			pub := key.Public().Sign
			sum := sha256.Sum256(pub)
			out := map[string]string{"public_key": base64.StdEncoding.EncodeToString(pub), "sha256": hex.EncodeToString(sum[:]),
				"fingerprint": hubsvc.KeyFingerprint(pub)}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, out)
			}
			fmt.Fprintf(f.IO.Out, "%s\n", out["public_key"])
			fmt.Fprintf(f.IO.ErrOut, "hub key SHA-256 %s\nfingerprint %s (as 'latchkey login' shows it)\n", out["sha256"], out["fingerprint"])
			return nil
		},
	}
	w.flags(cmd)
	return cmd
}
