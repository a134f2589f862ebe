package hub

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
)

// courierState is the COURIER column of `hub units list`: the state, and
// while the gate does not hold (awaiting tenant notice; a consent that does
// not verify, was revoked or expired) the gate's reason.
func courierState(c *hubsvc.UnitCourier) string {
	switch {
	case c == nil:
		return "-"
	case c.State == hubsvc.CourierAwaiting, !c.Allowed:
		return c.State + " (" + c.Reason + ")"
	}
	return c.State
}

// gateHint is what to do about a refused enable.
func gateHint(u hubsvc.UnitCourier) string {
	switch {
	case !u.Verified:
		return "the gate trusts only a consent signed by an enrolled installer and countersigned by the paired unit ('latchkey consent sign'), synced with its pairing record"
	case u.Revoked, u.Expired:
		return "courier access needs a consent in force: the installer signs a new one with 'latchkey consent sign'"
	}
	return "the installer records the notice for this consent with 'latchkey notice record' and syncs; then wait for the notice date"
}

// newCmdUnitCourier is `hub units courier SERIAL --enable|--disable`.
func newCmdUnitCourier(f *cmdutil.Factory) *cobra.Command {
	var w where
	var enable, disable bool
	cmd := &cobra.Command{
		Use:   "courier SERIAL --enable|--disable",
		Short: "Set a unit's courier access on or off at the back office",
		Long: `Enable or disable courier access on a unit. Enabling is refused (exit 1,
with the reason) until the courier gate holds for the unit's consent, the
newest consent naming it that verifies (signed by its installer's enrolled,
unrevoked key and countersigned by the unit's key from its pairing record):
the consent is neither revoked nor expired, a notice record naming that
consent is stored, the notice was given after the consent was signed, and
the consent's tenant notice date (notice.due) has passed. Disabling is always
allowed. Each decision is kept with the consent it was made under; a new
consent for the unit needs a new decision. 'hub units list' shows the state.`,
		Example: "  latchkey hub units courier LK-00042 --enable\n  latchkey hub units courier LK-00042 --disable --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable == disable {
				return cmdutil.Usagef("give one of --enable and --disable")
			}
			b, err := w.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			var u hubsvc.UnitCourier
			if enable {
				u, err = b.admin.EnableCourier(cmd.Context(), args[0])
			} else {
				u, err = b.admin.DisableCourier(cmd.Context(), args[0])
			}
			switch {
			case errors.Is(err, hubsvc.ErrCourierGate):
				return cmdutil.WithHint(err, gateHint(u))
			case errors.Is(err, hubsvc.ErrNotFound):
				return cmdutil.WithHint(err, "a unit gets courier access only under a consent; see 'latchkey hub units list'")
			case err != nil:
				return invalid(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, u)
			}
			fmt.Fprintf(f.IO.Out, "%s: %s\n", u.Serial, courierState(&u))
			if enable {
				fmt.Fprintf(f.IO.ErrOut, "%s\n", u.Reason)
			}
			return nil
		},
	}
	w.flags(cmd)
	cmd.Flags().BoolVar(&enable, "enable", false, "enable courier access (only when the courier gate holds)")
	cmd.Flags().BoolVar(&disable, "disable", false, "disable courier access")
	return cmd
}
