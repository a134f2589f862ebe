package identity

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/identity"
)

// Key is one public key in the listing.
type Key struct {
	Algorithm string `json:"algorithm"`  // Ed25519 or X25519
	PublicKey string `json:"public_key"` // standard base64 of the raw 32 bytes
}

// Where says where the private keys are kept.
type Where struct {
	Kind    string `json:"kind"` // keyring or file
	Path    string `json:"path,omitempty"`
	Service string `json:"service,omitempty"`
	Account string `json:"account,omitempty"`
}

// Result is what `identity show` prints; its JSON form is stable for scripts.
type Result struct {
	Fingerprint     string `json:"fingerprint"`
	SigningKey      Key    `json:"signing_key"`
	KeyAgreementKey Key    `json:"key_agreement_key"`
	KeptIn          Where  `json:"kept_in"`
	// Created is true when this run made the keys.
	Created bool `json:"created"`
}

// ShowOptions are what `identity show` runs with.
type ShowOptions struct {
	IO   *cmdutil.IO
	JSON func() bool
	// Rand is the randomness new keys are made from.
	Rand io.Reader
	// Store opens where the user's keys are kept.
	Store func() (identity.Store, error)
}

// DefaultShowOptions keeps the keys in the OS keyring, else in the data
// directory.
func DefaultShowOptions(f *cmdutil.Factory) *ShowOptions {
	return &ShowOptions{
		IO:   f.IO,
		JSON: func() bool { return f.Global.JSON },
		Rand: f.Rand,
		Store: func() (identity.Store, error) {
			d, err := f.Dirs()
			if err != nil {
				return nil, err
			}
			return identity.DefaultStore(d.Data), nil
		},
	}
}

// NewCmdShow is `latchkey identity show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := DefaultShowOptions(f)
	return &cobra.Command{
		Use:   "show",
		Short: "Show your signing and key-agreement public keys",
		Long: `Show your public keys and their fingerprint, and where the private keys
are kept. The first run makes the keys: in the OS keyring where one works,
else in identity.key in the data directory (mode 0600), with a warning.

The fingerprint is the first 16 bytes of SHA-256 over the Ed25519 public key
followed by the X25519 public key, in groups of four hex digits: compare it
with what the back office shows after you log in. Public keys are printed in
standard base64. Private keys are never printed.`,
		Example: "  latchkey identity show\n  latchkey identity show --json | jq -r .fingerprint",
		Args:    cmdutil.NoArgs("it shows your own keys"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
}

func showRun(_ context.Context, opts *ShowOptions) error {
	store, err := opts.Store()
	if err != nil {
		return err
	}
	id, created, warning, err := identity.LoadOrCreate(store, opts.Rand)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(opts.IO.ErrOut, "created your keys in %s\n", keptIn(store))
	}
	if warning != "" {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s\n", warning)
	}
	pub := id.Public()
	res := Result{
		Fingerprint:     pub.Fingerprint(),
		SigningKey:      Key{Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub.Sign)},
		KeyAgreementKey: Key{Algorithm: "X25519", PublicKey: base64.StdEncoding.EncodeToString(pub.Kex)},
		KeptIn:          where(store),
		Created:         created,
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, res)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "%-18s %s\n%-18s %s %s\n%-18s %s %s\n%-18s %s\n",
		"fingerprint", res.Fingerprint,
		"signing key", res.SigningKey.Algorithm, res.SigningKey.PublicKey,
		"key-agreement key", res.KeyAgreementKey.Algorithm, res.KeyAgreementKey.PublicKey,
		"private keys in", keptIn(store))
	return err
}

// active is the store actually holding the keys.
func active(s identity.Store) identity.Store {
	if fb, ok := s.(*identity.Fallback); ok && fb.Active() != nil {
		return active(fb.Active())
	}
	return s
}

func keptIn(s identity.Store) string { return active(s).String() }

func where(s identity.Store) Where {
	switch s := active(s).(type) {
	case *identity.File:
		return Where{Kind: "file", Path: s.Path}
	case *identity.Keyring:
		return Where{Kind: "keyring", Service: s.Service, Account: s.Account}
	}
	return Where{Kind: "other"}
}
