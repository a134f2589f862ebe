// Package consent is `latchkey consent`: the building manager's signed
// consent to a unit on their door (sign, show, verify, export, revoke). The
// rules live in internal/consent (the record, its terms, signatures and
// PDF) and internal/install (its facts, storage and queueing).
package consent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/provision"
)

// NewCmdConsent groups the consent verbs.
func NewCmdConsent(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "consent",
		Short: "Manage the building manager's signed consent to a unit",
		Long: `No unit opens a door for couriers without the written consent of the
building's owner, managing agent or board. 'consent sign' shows them the terms
(who may enter, which doors and hours, what is logged and for how long, who
tells tenants and by when, the incentive offered, how to revoke) and takes
their electronic signature: typed name and title, the authority they hold,
and a statement of intent they confirm (US ESIGN/UETA). The record is signed
with your key and countersigned by the unit on the cable, then journalled and
queued for the back office. The manager keeps a PDF copy ('consent export').

How to check a consent without latchkey: docs/consent.md.`,
		Example: `  latchkey consent sign --job 7Q2M
  latchkey consent show --job 7Q2M
  latchkey consent export --job 7Q2M -o maple-court-consent.pdf
  latchkey consent verify consent.json
  latchkey consent revoke --job 7Q2M --reason 'board withdrew consent' --decommission`,
	}
	cmd.AddCommand(NewCmdSign(f, nil), NewCmdShow(f, nil), NewCmdVerify(f, nil), NewCmdExport(f, nil), NewCmdRevoke(f, nil))
	return cmd
}

// storedConsent returns the job's consent, with a hint when there is none.
func storedConsent(ctx context.Context, f *cmdutil.Factory, jobID string) (*install.Consents, install.StoredConsent, error) {
	cs, err := f.Consents(ctx)
	if err != nil {
		return nil, install.StoredConsent{}, err
	}
	s, err := cs.Get(ctx, jobID)
	if errors.Is(err, install.ErrNoConsent) {
		return nil, install.StoredConsent{}, cmdutil.WithHint(err, "the manager signs with 'latchkey consent sign --job "+shortID(jobID)+"'")
	}
	return cs, s, err
}

// keysFor returns the keys a job's consent must be signed with: yours (the
// job's packet was sealed to you) and the unit's as it proved it at pairing.
func keysFor(ctx context.Context, f *cmdutil.Factory, jobID string) (installer, unit ed25519.PublicKey, err error) {
	id, err := f.Identity()
	if err != nil {
		return nil, nil, err
	}
	svc, err := pairings(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	p, err := svc.Paired(ctx, jobID)
	if err != nil {
		return nil, nil, err
	}
	return id.Sign.Public().(ed25519.PublicKey), ed25519.PublicKey(p.SignKey), nil
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// lineReader reads answers one line at a time without reading ahead, so
// each prompt takes exactly its own line of what was typed (or piped).
type lineReader struct{ r io.Reader }

func (l lineReader) line() (string, error) {
	var b strings.Builder
	var c [1]byte
	for {
		n, err := l.r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				return strings.TrimSpace(b.String()), nil
			}
			b.WriteByte(c[0])
			continue
		}
		if err != nil {
			if b.Len() > 0 && errors.Is(err, io.EOF) {
				return strings.TrimSpace(b.String()), nil
			}
			return "", fmt.Errorf("read answer: %w", err)
		}
	}
}

// ask prints question and returns the line typed.
func (l lineReader) ask(w io.Writer, question string) (string, error) {
	fmt.Fprint(w, question)
	return l.line()
}

// confirm asks a yes/no question; anything but y or yes is no.
func (l lineReader) confirm(w io.Writer, question string) (bool, error) {
	a, err := l.ask(w, question+" [y/N] ")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(a) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// pairings reads the jobs' pairings. Reading one needs only the store, not
// the hub session that pairing and burning need, so a consent can be
// verified and shown on a laptop that is not logged in.
func pairings(ctx context.Context, f *cmdutil.Factory) (*provision.Service, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	return &provision.Service{Store: st, Now: f.Now}, nil
}
