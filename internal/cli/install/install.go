// Package install is `latchkey install`: where a job's install stands, the
// unit's self-test for it, and finishing it. The steps themselves are their
// own commands (survey, pair, burn, consent, notice, sync); the session
// reads what each saved, so they can be run, stopped and resumed in any
// session, and mixed with the wizard.
package install

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/install"
)

// NewCmdInstall groups the install verbs.
func NewCmdInstall(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Walk through a job's install, or see where it stands",
		Long: `An install goes: job → survey → pair → self-test → burn → consent → notice →
finish → upload. 'latchkey install' alone walks through it in a full-screen
wizard (--plain asks line by line instead, for screen readers and dumb
terminals): pick a job, fill in the survey, pair the unit on the cable and
compare its label code, self-test it, burn the door keys, have the manager
read and sign the consent, print and record the tenant notice, and send it
all to the back office.

Every step is saved as it ends, so a kill, a sleeping laptop or a pulled
cable loses nothing: start 'latchkey install' again for the same job, or
with --resume, and it goes on where it stopped. Each step is also its own
command, and the two can be mixed: 'install status' reads where the job
stands and says what to run next; 'install finish' checks every step (no
consent, no finish) and queues the signed install report.`,
		Example: "  latchkey install\n  latchkey install --job 7Q2M --port /dev/ttyACM0\n  latchkey install --resume\n  latchkey install --plain --job 7Q2M\n  latchkey install status --job 7Q2M",
	}
	wizardCmd(f, cmd)
	cmd.AddCommand(newCmdStatus(f), newCmdSelfTest(f), newCmdFinish(f))
	return cmd
}

func jobFlag(cmd *cobra.Command, ref *string) {
	cmd.Flags().StringVar(ref, "job", "", "the job (id, or its first characters)")
}

func needJob(ref string) error {
	if ref == "" {
		return cmdutil.Usagef("--job is required (see 'latchkey jobs list')")
	}
	return nil
}

func newCmdStatus(f *cmdutil.Factory) *cobra.Command {
	var jobRef string
	cmd := &cobra.Command{
		Use:     "status --job ID",
		Short:   "Show every step of a job's install and what to run next",
		Example: "  latchkey install status --job 7Q2M\n  latchkey install status --job 7Q2M --json | jq -r .next",
		Args:    cmdutil.NoArgs("give the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needJob(jobRef); err != nil {
				return err
			}
			s, err := f.Session(cmd.Context())
			if err != nil {
				return err
			}
			st, err := s.Status(cmd.Context(), jobRef)
			if err != nil {
				return cmdutil.JobHint(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, st)
			}
			rows := make([][]string, len(st.Steps))
			for i, step := range st.Steps {
				rows[i] = []string{string(step.Step), step.State, step.Detail}
			}
			if err := cmdutil.Table(f.IO, []string{"STEP", "STATE", "DETAIL"}, rows, 2); err != nil {
				return err
			}
			if st.Next != "" {
				fmt.Fprintf(f.IO.ErrOut, "next: %s\n", st.Next)
			}
			return nil
		},
	}
	jobFlag(cmd, &jobRef)
	return cmd
}

func newCmdSelfTest(f *cmdutil.Factory) *cobra.Command {
	var jobRef string
	var relay bool
	var fl unitopt.Flags
	cmd := &cobra.Command{
		Use:   "selftest --job ID",
		Short: "Run the paired unit's self-tests and record them for the install",
		Long: `Run the self-tests of the unit paired with the job (supply, modem, tamper
switch, storage…) and record the result in the install. The relay test opens
the door: it runs only with --relay, when someone is at the door. A failed
test blocks the install until it passes.`,
		Example: "  latchkey install selftest --job 7Q2M\n  latchkey install selftest --job 7Q2M --relay",
		Args:    cmdutil.NoArgs("give the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := needJob(jobRef); err != nil {
				return err
			}
			fw, err := NewFlow(ctx, f, fl)
			if err != nil {
				return err
			}
			res, err := fw.SelfTest(ctx, jobRef, relay)
			switch {
			case errors.Is(err, install.ErrNotReady):
				return cmdutil.WithHint(err, "pair its unit first: latchkey pair --job "+jobRef)
			case err != nil:
				return cmdutil.JobHint(err)
			}
			if f.Global.JSON {
				st, err := fw.Status(ctx, jobRef)
				if err != nil {
					return err
				}
				if err := cmdutil.WriteJSON(f.IO.Out, map[string]any{"job": st.Job, "unit": res.Serial, "passed": res.Passed, "results": res.Results}); err != nil {
					return err
				}
			} else {
				rows := make([][]string, len(res.Results))
				for i, r := range res.Results {
					rows[i] = []string{r.Name, r.Result, r.Detail}
				}
				if err := cmdutil.Table(f.IO, []string{"TEST", "RESULT", "DETAIL"}, rows, 2); err != nil {
					return err
				}
			}
			if !res.Passed {
				return fmt.Errorf("unit %s: %w; the install cannot go on until it passes", res.Serial, install.ErrSelfTestFailed)
			}
			return nil
		},
	}
	jobFlag(cmd, &jobRef)
	cmd.Flags().BoolVar(&relay, "relay", false, "also pulse the door relay (opens the door)")
	fl.Register(cmd)
	return cmd
}

func newCmdFinish(f *cmdutil.Factory) *cobra.Command {
	var jobRef string
	cmd := &cobra.Command{
		Use:   "finish --job ID",
		Short: "Check every step and queue the signed install report",
		Long: `Finish the install: every step must be done — a survey that says go, the unit
paired, its self-test passed, every door's key burned, the manager's consent
signed and the tenant notice recorded — or nothing happens and the missing
steps are named. The signed install report is queued for the back office;
run 'latchkey sync' to send it.`,
		Example: "  latchkey install finish --job 7Q2M && latchkey sync",
		Args:    cmdutil.NoArgs("give the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needJob(jobRef); err != nil {
				return err
			}
			s, err := f.Session(cmd.Context())
			if err != nil {
				return err
			}
			id, err := s.Finish(cmd.Context(), jobRef)
			if err != nil {
				return cmdutil.JobHint(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, map[string]string{"report": id})
			}
			fmt.Fprintf(f.IO.Out, "finished: %s\n", id)
			fmt.Fprintln(f.IO.ErrOut, "the report is queued: latchkey sync")
			return nil
		},
	}
	jobFlag(cmd, &jobRef)
	return cmd
}
