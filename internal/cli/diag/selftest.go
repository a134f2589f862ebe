package diag

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/diag"
)

// SelftestOptions are what `diag selftest` runs with.
type SelftestOptions struct {
	IO    *cmdutil.IO
	JSON  func() bool
	Link  linkFunc
	Flags unitopt.Flags
	// Name is the test to run, "" for all.
	Name  string
	Relay bool
	Yes   bool
}

// SelftestResult is the JSON form of `diag selftest`.
type SelftestResult struct {
	Port    string            `json:"port"`
	Serial  string            `json:"serial"`
	Results []diag.TestResult `json:"results"`
	Passed  int               `json:"passed"`
	Failed  int               `json:"failed"`
	Skipped int               `json:"skipped"`
}

// ErrTestsFailed is returned when a self-test failed.
var ErrTestsFailed = errors.New("self-tests failed")

// NewCmdSelftest is `diag selftest`.
func NewCmdSelftest(f *cmdutil.Factory, runF func(context.Context, *SelftestOptions) error) *cobra.Command {
	opts := &SelftestOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }}
	opts.Link = openLink(f, &opts.Flags)
	cmd := &cobra.Command{
		Use:   "selftest [NAME]",
		Short: "Run a unit's self-tests",
		Long: `Run the unit's self-tests, or the one named (tamper, supply, modem, flash,
crypto, relay on a latchkey unit), and show each result. The command exits 1
when a test fails.

The relay test pulses the door relay, which opens the door. It runs only
with --relay; in a run of all tests without it, it is reported as skipped.
With --relay the command asks before it starts, or, when it cannot ask (no
terminal), needs --yes.`,
		Example: "  latchkey diag selftest\n  latchkey diag selftest supply\n  latchkey diag selftest relay --relay --yes",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.Usagef("diag selftest takes at most one test name (got %d); run it once per test, or with none for all", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if opts.Yes && !opts.Relay {
				return cmdutil.Usagef("--yes only confirms --relay; pass --relay too, or leave --yes out")
			}
			if opts.Relay && !opts.Yes && !opts.IO.CanPrompt() {
				return cmdutil.Usagef("--relay pulses the door relay and opens the door; without a terminal to ask on, confirm with --yes")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return selftestRun(cmd.Context(), opts)
		},
	}
	register(cmd, &opts.Flags)
	cmd.Flags().BoolVar(&opts.Relay, "relay", false, "also run tests that pulse the door relay (this opens the door)")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask before pulsing the relay")
	return cmd
}

func selftestRun(ctx context.Context, opts *SelftestOptions) error {
	return withUnit(ctx, opts.Link, func(u diag.Unit, port string) error {
		det, err := u.Detect(ctx)
		if err != nil {
			return err
		}
		if !det.Latchkey {
			return fmt.Errorf("run self-tests on %s: %w", port, device.ErrNotLatchkey)
		}
		tests, err := u.SelfTests(ctx)
		if err != nil {
			return err
		}
		plan, err := diag.PlanSelfTests(tests, opts.Name, opts.Relay)
		switch {
		case errors.Is(err, diag.ErrRelayNeedsFlag):
			return cmdutil.WithHint(err, "add --relay when someone is at the door and expects it to open")
		case err != nil:
			return err
		}
		if plan.PulsesRelay && !opts.Yes {
			ok, err := cmdutil.Confirm(opts.IO, fmt.Sprintf("This pulses the door relay of unit %s: the door it controls will open. Go on?", det.Identity.Serial))
			if err != nil {
				return err
			}
			if !ok {
				return cmdutil.ErrCancelled
			}
		}
		fmt.Fprintf(opts.IO.ErrOut, "running %d self-test(s) on %s; this can take up to a minute\n", len(plan.Run), det.Identity.Serial)
		results, err := u.RunSelfTest(ctx, plan.Name, plan.Relay)
		if err != nil {
			return err
		}
		sum := diag.Summarise(results, tests)
		if opts.JSON() {
			err = cmdutil.WriteJSON(opts.IO.Out, SelftestResult{Port: port, Serial: det.Identity.Serial, Results: diag.Results(results),
				Passed: sum.Passed, Failed: sum.Failed, Skipped: sum.Skipped})
		} else {
			rows := make([][]string, len(results))
			for i, r := range results {
				rows[i] = []string{r.Name, r.Result, r.Detail, fmt.Sprintf("%d ms", r.MS)}
			}
			err = cmdutil.Table(opts.IO, []string{"TEST", "RESULT", "DETAIL", "TIME"}, rows, 2)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "%d passed, %d failed, %d skipped\n", sum.Passed, sum.Failed, sum.Skipped)
		if sum.RelaySkipped {
			fmt.Fprintln(opts.IO.ErrOut, "the relay test was skipped: it opens the door, so it runs only with --relay")
		}
		if sum.Failed > 0 {
			return cmdutil.WithHint(fmt.Errorf("%d of %d %w on %s", sum.Failed, len(results), ErrTestsFailed, det.Identity.Serial),
				"the DETAIL column says what was measured; 'latchkey diag bundle' collects the rest for engineering")
		}
		return nil
	})
}
