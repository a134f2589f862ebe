package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/provision"
)

// RevokeOptions are `consent revoke`'s flags.
type RevokeOptions struct {
	Job          string
	Reason       string
	By           string
	Role         string
	Yes          bool
	Decommission bool
	Unit         unitopt.Flags
}

// revokeResult is `consent revoke --json`.
type revokeResult struct {
	Job            string                    `json:"job"`
	Consent        string                    `json:"consent"`
	Revocation     string                    `json:"revocation"`
	RevokedAt      string                    `json:"revoked_at"`
	Unit           string                    `json:"unit"`
	Decommissioned *provision.Decommissioned `json:"decommissioned,omitempty"`
}

// NewCmdRevoke is `latchkey consent revoke`.
func NewCmdRevoke(f *cmdutil.Factory, runF func(context.Context, *RevokeOptions) error) *cobra.Command {
	opts := &RevokeOptions{}
	cmd := &cobra.Command{
		Use:   "revoke --job ID --reason TEXT",
		Short: "Revoke a job's consent with a signed revocation record",
		Long: `Revoke the job's consent: a revocation record naming the consent, who
revoked it and why is signed with your key, journalled and queued for the back
office, which then stops couriers at that building. The unit need not be
there. A new consent needs a new 'latchkey consent sign'.

With --decommission the unit on the cable (it must be the consent's unit) is
also taken out of service, as 'latchkey unit decommission' does: the back
office authorises it (be logged in and online) and the unit wipes every key.
It asks first on a terminal; without one give --yes.`,
		Example: `  latchkey consent revoke --job 7Q2M --reason 'the board withdrew consent' --by 'Ana Ruiz' --role board
  latchkey consent revoke --job 7Q2M --reason 'building sold' --decommission --port /dev/ttyACM0 --yes`,
		Args: cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return revokeRun(cmd.Context(), f, opts)
		},
	}
	opts.Unit.Register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	fl.StringVar(&opts.Reason, "reason", "", "why the consent is revoked")
	fl.StringVar(&opts.By, "by", "", "who revoked it (default: you, for the operator)")
	fl.StringVar(&opts.Role, "role", "operator", "their role: owner, managing-agent, board or operator")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&opts.Decommission, "decommission", false, "also wipe every key from the unit on the cable")
	return cmd
}

func revokeRun(ctx context.Context, f *cmdutil.Factory, o *RevokeOptions) error {
	var missing []string
	if o.Job == "" {
		missing = append(missing, "--job")
	}
	if o.Reason == "" {
		missing = append(missing, "--reason")
	}
	if len(missing) > 0 {
		return cmdutil.Usagef("missing %s", strings.Join(missing, ", "))
	}
	if !slices.Contains(consent.RevokerRoles(), o.Role) {
		return cmdutil.Usagef("--role %q: want %s", o.Role, strings.Join(consent.RevokerRoles(), ", "))
	}
	if !o.Yes && !f.IO.CanPrompt() {
		return cmdutil.Usagef("not revoking without --yes (no terminal to ask on): couriers lose access to the building")
	}
	job, err := f.Job(ctx, o.Job)
	if err != nil {
		return err
	}
	cs, s, err := storedConsent(ctx, f, job.ID)
	if err != nil {
		return err
	}
	if s.Revoked() {
		return fmt.Errorf("job %s: %w on %s (record %s)", shortID(job.ID), install.ErrConsentRevoked, stamp(*s.RevokedAt), s.Revocation)
	}
	by := o.By
	if by == "" {
		by = job.Installer
	}

	// With --decommission the unit is checked before anything is revoked:
	// the one on the cable must be the consent's.
	var link *unitopt.Link
	if o.Decommission {
		if link, err = unitopt.Open(ctx, f, o.Unit); err != nil {
			return err
		}
		defer link.Close()
		id, err := link.Unit.Identity(ctx)
		if err != nil {
			return fmt.Errorf("read the unit's identity: %w", err)
		}
		if id.Serial != s.Unit {
			return fmt.Errorf("job %s: %w: unit %s is on the cable, the consent is for unit %s; nothing was revoked",
				shortID(job.ID), provision.ErrOtherUnit, id.Serial, s.Unit)
		}
	}
	if !o.Yes {
		q := fmt.Sprintf("Revoke the consent of job %s (%s)? Couriers lose access.", shortID(job.ID), job.Building)
		if o.Decommission {
			q = fmt.Sprintf("Revoke the consent of job %s (%s) and wipe every key on unit %s for good?", shortID(job.ID), job.Building, s.Unit)
		}
		ok, err := lineReader{f.IO.In}.confirm(f.IO.ErrOut, q)
		if err != nil {
			return err
		}
		if !ok {
			return cmdutil.ErrCancelled
		}
	}

	s, r, err := cs.Revoke(ctx, job.ID, o.Reason, consent.Revoker{Name: by, Role: o.Role}, f.Rand)
	if errors.Is(err, consent.ErrInvalid) {
		return cmdutil.WithHint(err, "correct that flag and run it again; nothing was revoked")
	}
	if err != nil {
		return err
	}
	res := revokeResult{Job: job.ID, Consent: r.Consent, Revocation: r.ID, RevokedAt: stamp(r.RevokedAt), Unit: s.Unit}
	if !f.Global.JSON {
		fmt.Fprintf(f.IO.ErrOut, "consent %s of job %s revoked; the revocation record is queued: latchkey sync\n", r.Consent, shortID(job.ID))
	}
	if o.Decommission {
		d, err := decommission(ctx, f, link)
		if err != nil {
			return cmdutil.WithHint(fmt.Errorf("the consent is revoked, but unit %s was not decommissioned: %w", s.Unit, err),
				"decommission it with 'latchkey unit decommission' (logged in and online)")
		}
		res.Decommissioned = &d
		if !f.Global.JSON {
			fmt.Fprintf(f.IO.ErrOut, "unit %s decommissioned: %d key slots wiped; its record is queued\n", d.Serial, d.Wiped)
		}
	}
	if !o.Decommission && !f.Global.JSON {
		// The unit does not hear of the revocation by itself.
		fmt.Fprintf(f.IO.ErrOut, "the unit keeps its door configuration: if couriers were let in, turn it off at the unit: latchkey unit courier off --job %s\n", shortID(job.ID))
	}
	if f.Global.JSON {
		return cmdutil.WriteJSON(f.IO.Out, res)
	}
	fmt.Fprintln(f.IO.Out, r.ID)
	return nil
}

// decommission has the unit on link wipe its keys, with the back office's
// authorisation (provision.Service.Decommission, as 'unit decommission').
func decommission(ctx context.Context, f *cmdutil.Factory, link *unitopt.Link) (provision.Decommissioned, error) {
	svc, err := f.Provision(ctx)
	if err != nil {
		return provision.Decommissioned{}, err
	}
	authorise := func(ctx context.Context, serial string, token []byte) ([]byte, error) {
		c, _, err := f.HubClient()
		if err != nil {
			return nil, err
		}
		auth, err := c.DecommissionAuth(ctx, serial, token)
		if errors.Is(err, hubclient.ErrUnreachable) {
			return nil, cmdutil.WithHint(err, "decommissioning needs the back office's authorisation: get online; nothing was wiped")
		}
		return auth, err
	}
	d, err := svc.Decommission(ctx, link.Unit, authorise)
	if errors.Is(err, device.ErrNotAuthorised) {
		return d, cmdutil.WithHint(err, "the unit refused the back office's authorisation")
	}
	return d, err
}
