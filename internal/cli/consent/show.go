package consent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/install"
)

// ShowOptions are `consent show`'s flags.
type ShowOptions struct {
	Job string
}

// State of a consent as shown.
const (
	StateInForce = "in-force"
	StateRevoked = "revoked"
	StateExpired = "expired"
)

// showResult is `consent show --json`: the consent as kept, its state,
// and the signed record's payload.
type showResult struct {
	install.StoredConsent
	State   string          `json:"state"`
	Payload consent.Consent `json:"payload"`
}

// NewCmdShow is `latchkey consent show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{}
	cmd := &cobra.Command{
		Use:   "show --job ID",
		Short: "Show a job's signed consent: facts, signer, times and state",
		Long: `Show the job's consent as it was signed: the building, doors and hours, who
tells tenants and by when, what the unit logs, the incentive, the signer and
their authority, when it was signed and until when it holds, and whether it is
in force, expired or revoked.`,
		Example: "  latchkey consent show --job 7Q2M\n  latchkey consent show --job 7Q2M --json",
		Args:    cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	return cmd
}

func showRun(ctx context.Context, f *cmdutil.Factory, o *ShowOptions) error {
	job, err := f.Job(ctx, o.Job)
	if err != nil {
		return err
	}
	_, s, err := storedConsent(ctx, f, job.ID)
	if err != nil {
		return err
	}
	c, _, err := s.Consent()
	if err != nil {
		return err
	}
	res := showResult{StoredConsent: s, State: StateInForce, Payload: c}
	switch {
	case s.Revoked():
		res.State = StateRevoked
	case !f.Now().Before(c.ExpiresAt):
		res.State = StateExpired
	}
	if f.Global.JSON {
		return cmdutil.WriteJSON(f.IO.Out, res)
	}
	state := res.State
	if s.Revoked() {
		state += fmt.Sprintf(" on %s (record %s)", stamp(*s.RevokedAt), s.Revocation)
	}
	var doors []string
	for _, d := range c.Doors {
		doors = append(doors, d.Name+" ("+d.Hours+")")
	}
	rows := [][]string{
		{"record", c.ID},
		{"state", state},
		{"job", c.Job},
		{"building", c.Building.Name + ", " + c.Building.Address},
		{"doors", strings.Join(doors, "; ")},
		{"who", c.Who},
		{"operator", c.Operator},
		{"installer", c.Installer},
		{"unit", c.Unit},
		{"signer", fmt.Sprintf("%s, %s (%s)", c.Signer.Name, c.Signer.Title, c.Signer.Authority)},
		{"signed at", stamp(c.Signer.SignedAt)},
		{"valid", stamp(c.CreatedAt) + " to " + stamp(c.ExpiresAt)},
		{"tenant notice", fmt.Sprintf("by %s, %s, no later than %s", c.Notice.By, strings.Join(c.Notice.How, ", "), c.Notice.Due)},
		{"logging", fmt.Sprintf("%s, kept %d days", strings.Join(c.Logging.Events, ", "), c.Logging.RetentionDays)},
		{"incentive", c.Incentive},
		{"revoke", c.Revoke},
		{"terms", fmt.Sprintf("%s %s, SHA-256 %s", c.Terms.Version, c.Terms.Lang, c.Terms.SHA256)},
		{"captured", string(c.Captured)},
	}
	return cmdutil.Table(f.IO, []string{"FIELD", "VALUE"}, rows, 1)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
