// Package login is `latchkey login` and `latchkey logout`: joining this
// laptop to a back office with a one-time enrollment code, and leaving it.
package login

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/record"
)

// Result is what `login --json` prints.
type Result struct {
	Hub            string      `json:"hub"`
	User           hubapi.User `json:"user"`
	HubKey         string      `json:"hub_key_fingerprint"`
	ReplacedLogins string      `json:"replaced,omitempty"`
}

// NewCmdLogin is `latchkey login`.
func NewCmdLogin(f *cmdutil.Factory) *cobra.Command {
	var hub, code string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "login --hub URL --code CODE",
		Short: "Join this laptop to the back office with an enrollment code",
		Long: `Join this laptop to the back office. Your administrator makes a one-time
code with 'latchkey hub enroll'; login sends it with your public keys (made on
first use, see 'latchkey identity show') and keeps the API token the hub gives
back: in the OS keyring where one works, else in a file only you can read.
It also pins the hub's signing key, which job packets must be signed with.

Compare the fingerprint login prints with the one your administrator sees in
'latchkey hub users list'.

Plain http:// is refused to any host but this machine; use https://, or
--insecure on a network you trust (a test bench).`,
		Example: "  latchkey login --hub https://hub.example.com --code K7QM-2XHD-9TPA-W3RE\n  latchkey login --hub http://127.0.0.1:8470 --code K7QM-2XHD-9TPA-W3RE --json",
		Args:    cmdutil.NoArgs("give --hub and --code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if hub == "" || code == "" {
				return cmdutil.Usagef("--hub and --code are both required")
			}
			c, err := hubclient.New(hub, hubclient.Options{Insecure: insecure, UserAgent: "latchkey/" + f.Build.Version})
			if errors.Is(err, hubclient.ErrInsecure) {
				return cmdutil.WithHint(&cmdutil.UsageError{Err: err}, "use https://, or pass --insecure on a network you trust")
			}
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			id, err := f.Identity()
			if err != nil {
				return err
			}
			ss, err := f.SessionStore()
			if err != nil {
				return err
			}
			var replaced string
			if old, err := ss.Load(); err == nil {
				replaced = fmt.Sprintf("%s at %s", old.User.Name, old.URL)
			}
			resp, err := c.Enroll(cmd.Context(), strings.TrimSpace(code), id.Public())
			if err != nil {
				return loginError(err)
			}
			if want := record.KeyID(id.Public().Sign); resp.User.KeyID != want {
				return fmt.Errorf("the hub enrolled key %s, not yours (%s); not logging in", resp.User.KeyID, want)
			}
			warning, err := ss.Save(hubclient.Session{URL: c.URL(), Token: resp.Token, HubKey: resp.HubKey, User: resp.User, Insecure: insecure})
			if err != nil {
				return cmdutil.WithHint(fmt.Errorf("save the session: %w", err), "the code is now used; ask for a new one after fixing this")
			}
			if warning != "" {
				fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", warning)
			}
			res := Result{Hub: c.URL(), User: resp.User, HubKey: keyFingerprint(resp.HubKey), ReplacedLogins: replaced}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, res)
			}
			if replaced != "" {
				fmt.Fprintf(f.IO.ErrOut, "replaced the login of %s\n", replaced)
			}
			fmt.Fprintf(f.IO.Out, "logged in to %s as %s (%s)\nyour fingerprint  %s\nhub key           %s\n",
				res.Hub, resp.User.Name, resp.User.Role, resp.User.Fingerprint, res.HubKey)
			fmt.Fprintln(f.IO.ErrOut, "compare your fingerprint with what your administrator sees in 'latchkey hub users list'")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&hub, "hub", "", "the back office's URL, e.g. https://hub.example.com")
	fl.StringVar(&code, "code", "", "the one-time enrollment code from your administrator")
	fl.BoolVar(&insecure, "insecure", false, "allow plain http:// to a host that is not this machine")
	return cmd
}

// loginError explains the refusals a person can act on.
func loginError(err error) error {
	var he *hubapi.Error
	switch {
	case errors.As(err, &he) && he.Code == hubapi.CodeEnrollInvalid:
		return cmdutil.WithHint(err, "the code is wrong, used or expired; ask your administrator for a new one")
	case errors.Is(err, hubclient.ErrUnreachable):
		return cmdutil.WithHint(err, "check the URL and your network; nothing was changed")
	}
	return err
}

// keyFingerprint names the hub's key the way identity fingerprints read:
// groups of four hex digits of its SHA-256, first 16 bytes.
func keyFingerprint(k []byte) string {
	sum := sha256.Sum256(k)
	h := hex.EncodeToString(sum[:16])
	var groups []string
	for i := 0; i < len(h); i += 4 {
		groups = append(groups, h[i:i+4])
	}
	return strings.Join(groups, "-")
}

// NewCmdLogout is `latchkey logout`.
func NewCmdLogout(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the back office's token on this laptop",
		Long: `Forget the hub session: its token (from the keyring or the file) and the
hub's address. Your keys and your outbox stay; records queued since stay
queued until you log in again and sync.`,
		Example: "  latchkey logout",
		Args:    cmdutil.NoArgs("it forgets the one session"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, err := f.SessionStore()
			if err != nil {
				return err
			}
			old, lerr := ss.Load()
			if errors.Is(lerr, hubclient.ErrNoSession) {
				fmt.Fprintln(f.IO.ErrOut, "not logged in")
				return nil
			}
			if err := ss.Delete(); err != nil {
				return err
			}
			if lerr == nil {
				fmt.Fprintf(f.IO.Out, "logged out of %s (%s)\n", old.URL, old.User.Name)
			} else {
				fmt.Fprintln(f.IO.Out, "logged out")
			}
			return nil
		},
	}
}
