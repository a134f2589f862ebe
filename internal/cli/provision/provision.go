// Package provision is `latchkey pair` and `latchkey burn`: proving a unit
// genuine for a job, and writing the job's door keys into it. The rules
// live in internal/provision.
package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/survey"
)

// resolveJob turns a job reference (id or prefix) into the job's id.
func resolveJob(ctx context.Context, f *cmdutil.Factory, ref string) (string, error) {
	j, err := f.Job(ctx, ref)
	return j.ID, err
}

// normLabel compares label codes as people type them.
func normLabel(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

// hint adds what to do next to pairing and burning failures.
func hint(err error) error {
	switch {
	case err == nil:
		return nil
	case unitopt.Disconnected(err):
		return cmdutil.WithHint(err, "reconnect the cable and run the same command again: finished steps are kept (or pass --wait)")
	}
	return err
}

// NewCmdPair is `latchkey pair`.
func NewCmdPair(f *cmdutil.Factory) *cobra.Command {
	var fl unitopt.Flags
	var jobRef, label string
	cmd := &cobra.Command{
		Use:   "pair --job ID",
		Short: "Prove the unit on the cable is genuine and pair it with a job",
		Long: `Pair the unit on the cable with a job. latchkey sends the unit a fresh
32-byte challenge and checks its answer: the certificate chain to a trusted
manufacturer root ('latchkey trust list'), the certificates' dates and key
usage, that the certificate names this unit's serial number and keys, and the
unit's signature over the challenge. It also refuses a unit on the denylist
from 'latchkey jobs pull'. Any failed check stops here, before any key moves,
and says which check failed. There is no way to skip it.

Then compare the label code with the one printed on the unit's box: on a
terminal latchkey asks; without one, give the code you read with
--confirm-label. The pairing is saved, journalled and queued as a signed
record for the back office.`,
		Example: "  latchkey pair --job 7Q2M\n  latchkey pair --job 7Q2M --port /dev/ttyACM0 --confirm-label K7QM-2XHD",
		Args:    cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if label == "" && !f.IO.CanPrompt() {
				return cmdutil.Usagef("no terminal to confirm the unit's label code on: read it off the box and pass --confirm-label CODE")
			}
			jobID, err := resolveJob(ctx, f, jobRef)
			if err != nil {
				return err
			}
			svc, err := f.Provision(ctx)
			if err != nil {
				return err
			}
			confirm := func(code string) error {
				if label != "" {
					if normLabel(label) != normLabel(code) {
						return fmt.Errorf("you gave label code %s but this unit's is %s: is the unit on the cable the one whose box you read?", label, code)
					}
					return nil
				}
				fmt.Fprintf(f.IO.ErrOut, "The unit's label code is  %s\n", code)
				ok, err := cmdutil.Confirm(f.IO, "Does it match the code printed on the unit's box?")
				if err != nil {
					return fmt.Errorf("%w: %w", provision.ErrUnanswered, err)
				}
				if !ok {
					return errors.New("the installer said the label on the box does not match: the unit may have been swapped")
				}
				return nil
			}
			l, err := unitopt.Open(ctx, f, fl)
			if err != nil {
				return err
			}
			defer l.Close()
			p, err := svc.Pair(ctx, l.Unit, jobID, confirm, label != "")
			if err != nil {
				return hint(err)
			}
			verdict, err := measureSignal(ctx, f, l.Unit, p)
			if err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, struct {
					provision.Pairing
					Survey string `json:"survey_verdict,omitempty"`
				}{p, verdict})
			}
			fmt.Fprintf(f.IO.Out, "paired unit %s (%s, firmware %s) with job %s\nlabel code   %s\ncertificate  %s… (root %s…, valid until %s)\n",
				p.Serial, p.Model, p.Firmware, p.Job, p.Label, p.UnitCert[:16], p.Root[:16], p.CertExpiry.Local().Format("2006-01-02"))
			switch verdict {
			case "":
				fmt.Fprintf(f.IO.ErrOut, "the signal is kept for the survey: next, latchkey survey new --job %s --from FILE\n", shortID(p.Job))
			case string(survey.Go), string(survey.GoWithConditions):
				fmt.Fprintf(f.IO.Out, "survey       %s\n", verdict)
				fmt.Fprintf(f.IO.ErrOut, "next: latchkey install selftest --job %s, then latchkey burn --job %s\n", shortID(p.Job), shortID(p.Job))
			default:
				fmt.Fprintf(f.IO.Out, "survey       %s\n", verdict)
				fmt.Fprintf(f.IO.ErrOut, "burning is refused while the survey says %s: see 'latchkey survey show --job %s'\n", verdict, shortID(p.Job))
			}
			return nil
		},
	}
	fl.Register(cmd)
	cmd.Flags().StringVar(&jobRef, "job", "", "the job (id, or its first characters)")
	cmd.Flags().StringVar(&label, "confirm-label", "", "the label code printed on the unit's box (needed without a terminal)")
	return cmd
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// measureSignal reads the cellular signal the unit measures where it is
// mounted, keeps it for the job and re-judges the survey. It returns the new
// verdict, or "" when the job has no survey yet.
func measureSignal(ctx context.Context, f *cmdutil.Factory, u *device.Unit, p provision.Pairing) (string, error) {
	st, err := u.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("read the signal at the mount point: %w", err)
	}
	sig := flow.SignalOf(st, p.Serial, f.Now())
	sv, err := f.Surveys(ctx)
	if err != nil {
		return "", err
	}
	saved, err := sv.WithSignal(ctx, p.Job, sig)
	if errors.Is(err, install.ErrNoSurvey) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(saved.Verdict.Outcome), nil
}

// NewCmdBurn is `latchkey burn`.
func NewCmdBurn(f *cmdutil.Factory) *cobra.Command {
	var fl unitopt.Flags
	var jobRef string
	cmd := &cobra.Command{
		Use:   "burn --job ID",
		Short: "Burn a job's door keys into its paired unit",
		Long: `Write the job's door keys into the unit paired with it, one key slot per
door in the job's order. The unit attests again with a fresh challenge first
(after a reboot or a cable pull too). The keys leave the job packet only in
memory, each sealed to the unit's attested key for its serial, slot, job and
this challenge, so it opens nowhere else. Every slot is read before it is
written: an empty slot is burned, a slot that already holds this key is left
alone, and a slot that holds another key stops the burn and quarantines the
unit. Each write is confirmed by a receipt the unit signs, checked against the
key's check value; the receipts are journalled and queued for the back office.

Progress is saved before every step: after a pulled cable, a killed process or
a sleeping laptop, run the same command again and it finishes exactly what is
missing. Run on a finished job, it prints the stored receipts.`,
		Example: "  latchkey burn --job 7Q2M\n  latchkey burn --job 7Q2M --wait --json",
		Args:    cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			jobID, err := resolveJob(ctx, f, jobRef)
			if err != nil {
				return err
			}
			svc, err := f.Provision(ctx)
			if err != nil {
				return err
			}
			// After a dropped link, Burn starts again and attests the unit
			// first; no single request rides the drop out.
			fl.WholeOps = true
			res, done, err := svc.Finished(ctx, jobID)
			if err != nil {
				return err
			}
			if !done {
				sv, err := f.Surveys(ctx)
				if err != nil {
					return err
				}
				if err := sv.ReadyToBurn(ctx, jobID); err != nil {
					return cmdutil.WithHint(fmt.Errorf("not burning job %s: %w", shortID(jobID), err),
						"the survey must say go (or go with conditions) first: 'latchkey survey show --job "+shortID(jobID)+"'")
				}
				sess, err := f.Session(ctx)
				if err != nil {
					return err
				}
				if err := sess.ReadyToBurn(ctx, jobID); err != nil {
					return fmt.Errorf("not burning job %s: %w", shortID(jobID), err)
				}
				l, err := unitopt.Open(ctx, f, fl)
				if err != nil {
					return err
				}
				defer l.Close()
				progress := func(r provision.SlotResult) {
					if !f.Global.JSON {
						fmt.Fprintf(f.IO.ErrOut, "slot %d (%s): %s, check value %s, receipt #%d\n", r.Slot, r.Door, r.Outcome, r.KCV, r.Counter)
					}
				}
				err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
					var berr error
					res, berr = svc.Burn(ctx, u, jobID, progress)
					return berr
				})
				if err != nil {
					return hint(err)
				}
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, res)
			}
			if done {
				fmt.Fprintf(f.IO.ErrOut, "job %s was burned before; the stored receipts:\n", shortID(jobID))
			}
			rows := make([][]string, len(res.Slots))
			for i, s := range res.Slots {
				rows[i] = []string{fmt.Sprint(s.Slot), s.Door, s.Outcome, s.KCV, fmt.Sprint(s.Counter)}
			}
			if err := cmdutil.Table(f.IO, []string{"SLOT", "DOOR", "OUTCOME", "CHECK VALUE", "RECEIPT"}, rows, 1); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "unit %s holds the keys of job %s; the receipts are queued: latchkey sync\n", res.Serial, shortID(jobID))
			return nil
		},
	}
	fl.Register(cmd)
	cmd.Flags().StringVar(&jobRef, "job", "", "the job (id, or its first characters)")
	return cmd
}
