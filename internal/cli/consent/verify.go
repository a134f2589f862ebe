package consent

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/record"
)

// VerifyOptions are `consent verify`'s argument and flags.
type VerifyOptions struct {
	File         string
	InstallerKey string // base64 of the raw 32-byte key
	UnitKey      string
}

// verifyResult is `consent verify --json`.
type verifyResult struct {
	Verified      bool   `json:"verified"`
	Record        string `json:"record"`
	Job           string `json:"job"`
	Unit          string `json:"unit"`
	PayloadSHA256 string `json:"payload_sha256"`
	TermsSHA256   string `json:"terms_sha256"`
	InstallerKey  string `json:"installer_key"` // key id
	UnitKey       string `json:"unit_key"`      // key id
	Signer        string `json:"signer"`
	SignedAt      string `json:"signed_at"`
	ExpiresAt     string `json:"expires_at"`
	Revoked       *bool  `json:"revoked,omitempty"` // when the job's consent is kept here
}

// NewCmdVerify is `latchkey consent verify`.
func NewCmdVerify(f *cmdutil.Factory, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Verify a consent record file: both signatures and every field",
		Long: `Check a consent envelope (the JSON 'consent export --format json' writes):
strict DSSE, the consent payload type, exactly two signatures, the
installer's then the unit's, each verifying over the same pre-authentication
encoding, and then a canonical payload with every field valid.

The keys are the raw 32-byte Ed25519 public keys in base64. Left out, they
come from this laptop when the record's job is known here: your key and the
key the job's unit proved at pairing. Exit 1 when anything does not verify.`,
		Example: "  latchkey consent verify consent.json\n  latchkey consent verify consent.json --installer-key MCowBQ… --unit-key 9f3k…",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("give the consent file to verify (one argument, '-' for stdin)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return verifyRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.InstallerKey, "installer-key", "", "the installer's Ed25519 public key, base64 (default: yours)")
	cmd.Flags().StringVar(&opts.UnitKey, "unit-key", "", "the unit's Ed25519 public key, base64 (default: the job's paired unit's)")
	return cmd
}

func parseKey(flag, s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, cmdutil.Usagef("%s: want the raw %d-byte Ed25519 public key in standard base64", flag, ed25519.PublicKeySize)
	}
	return b, nil
}

func verifyRun(ctx context.Context, f *cmdutil.Factory, o *VerifyOptions) error {
	var installer, unit ed25519.PublicKey
	var err error
	if o.InstallerKey != "" {
		if installer, err = parseKey("--installer-key", o.InstallerKey); err != nil {
			return err
		}
	}
	if o.UnitKey != "" {
		if unit, err = parseKey("--unit-key", o.UnitKey); err != nil {
			return err
		}
	}
	b, err := readFile(f, o.File)
	if err != nil {
		return err
	}
	// The keys are looked up by the job the record names; nothing else is
	// read from it until both signatures verify.
	var job string
	var herr error
	if env, err := record.Decode(b); err != nil {
		herr = err
	} else if h, err := env.Header(); err != nil {
		herr = err
	} else {
		job = h.Job
	}
	if installer == nil || unit == nil {
		if herr != nil {
			return fmt.Errorf("%s does not verify: %w: %w", o.File, consent.ErrMalformed, herr)
		}
		if job == "" {
			return cmdutil.WithHint(fmt.Errorf("%s: %w: no job named to find the keys by", o.File, consent.ErrMalformed),
				"give --installer-key and --unit-key")
		}
		inst, u, err := keysFor(ctx, f, job)
		if err != nil {
			return cmdutil.WithHint(fmt.Errorf("the keys of job %s: %w", shortID(job), err),
				"this laptop does not know that job's unit: give --installer-key and --unit-key")
		}
		if installer == nil {
			installer = inst
		}
		if unit == nil {
			unit = u
		}
	}
	c, err := consent.Verify(b, installer, unit)
	if err != nil {
		return fmt.Errorf("%s does not verify: %w", o.File, err)
	}
	env, _ := record.Decode(b) // Verify decoded it
	body, _ := env.Body()
	res := verifyResult{Verified: true, Record: c.ID, Job: c.Job, Unit: c.Unit, PayloadSHA256: consent.SHA256(body),
		TermsSHA256: c.Terms.SHA256, InstallerKey: record.KeyID(installer), UnitKey: record.KeyID(unit),
		Signer:   fmt.Sprintf("%s, %s (%s)", c.Signer.Name, c.Signer.Title, c.Signer.Authority),
		SignedAt: stamp(c.Signer.SignedAt), ExpiresAt: stamp(c.ExpiresAt)}
	if cs, err := f.Consents(ctx); err == nil {
		if s, err := cs.ByRecord(ctx, c.ID); err == nil {
			r := s.Revoked()
			res.Revoked = &r
		} else if !errors.Is(err, install.ErrNoConsent) {
			return err
		}
	}
	if f.Global.JSON {
		return cmdutil.WriteJSON(f.IO.Out, res)
	}
	fmt.Fprintf(f.IO.Out, "verified: consent %s of job %s, unit %s\n", c.ID, c.Job, c.Unit)
	fmt.Fprintf(f.IO.Out, "  installer's signature  key %s  good\n", res.InstallerKey)
	fmt.Fprintf(f.IO.Out, "  unit's signature       key %s  good\n", res.UnitKey)
	fmt.Fprintf(f.IO.Out, "  payload SHA-256        %s\n", res.PayloadSHA256)
	fmt.Fprintf(f.IO.Out, "  terms                  %s %s, SHA-256 %s\n", c.Terms.Version, c.Terms.Lang, c.Terms.SHA256)
	fmt.Fprintf(f.IO.Out, "  signed by              %s at %s\n", res.Signer, res.SignedAt)
	fmt.Fprintf(f.IO.Out, "  valid until            %s\n", res.ExpiresAt)
	if res.Revoked != nil && *res.Revoked {
		fmt.Fprintln(f.IO.Out, "  state                  revoked (see 'latchkey consent show')")
	}
	return nil
}

// readFile reads a record file, or stdin for "-", refusing more than a
// record may hold.
func readFile(f *cmdutil.Factory, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = f.IO.In
	} else {
		fh, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, record.MaxEnvelope+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > record.MaxEnvelope {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", name, consent.ErrMalformed, record.MaxEnvelope)
	}
	return b, nil
}
