// Package unit is `latchkey unit`: what is done to a unit as a whole, such
// as taking it out of service.
package unit

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/hubclient"
)

// NewCmdUnit groups the unit verbs.
func NewCmdUnit(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "unit",
		Short:   "Act on a unit as a whole (decommission)",
		Example: "  latchkey unit decommission --port /dev/ttyACM0",
	}
	cmd.AddCommand(newCmdDecommission(f))
	cmd.AddCommand(newCmdCourier(f, nil))
	return cmd
}

func newCmdDecommission(f *cmdutil.Factory) *cobra.Command {
	var fl unitopt.Flags
	var yes, offline bool
	cmd := &cobra.Command{
		Use:   "decommission",
		Short: "Wipe every key from a unit for good",
		Long: `Take a unit out of service: it erases every key slot and from then on
answers only its identity. The unit hands out a single-use token; the back
office, whose key the unit was provisioned with, authorises it (you must be
logged in as an installer or support, and online); the unit wipes and signs a
record of it, which latchkey checks against the unit's key, journals and
queues for the back office.

--offline sends the request without the back office's signature: only a
unit provisioned without an operator key accepts that.`,
		Example: "  latchkey unit decommission --port /dev/ttyACM0\n  latchkey unit decommission --yes --json",
		Args:    cmdutil.NoArgs("name the unit with --port"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !yes {
				if !f.IO.CanPrompt() {
					return cmdutil.Usagef("not decommissioning without --yes (no terminal to ask on): it wipes every key on the unit for good")
				}
				ok, err := cmdutil.Confirm(f.IO, "Wipe every key on this unit for good? It cannot open a door again until it is replaced.")
				if err != nil {
					return err
				}
				if !ok {
					return cmdutil.ErrCancelled
				}
			}
			svc, err := f.Provision(ctx)
			if err != nil {
				return err
			}
			authorise := func(ctx context.Context, serial string, token []byte) ([]byte, error) {
				if offline {
					return nil, nil
				}
				c, _, err := f.HubClient()
				if err != nil {
					return nil, err
				}
				auth, err := c.DecommissionAuth(ctx, serial, token)
				if errors.Is(err, hubclient.ErrUnreachable) {
					return nil, cmdutil.WithHint(err, "decommissioning needs the back office's authorisation: get online and run it again; nothing was wiped")
				}
				return auth, err
			}
			l, err := unitopt.Open(ctx, f, fl)
			if err != nil {
				return err
			}
			defer l.Close()
			res, err := svc.Decommission(ctx, l.Unit, authorise)
			if errors.Is(err, device.ErrNotAuthorised) {
				return cmdutil.WithHint(err, "this unit needs the back office's authorisation: run without --offline, logged in and online")
			}
			if err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, res)
			}
			fmt.Fprintf(f.IO.Out, "unit %s decommissioned: %d key %s wiped\n", res.Serial, res.Wiped, plural(int(res.Wiped), "slot", "slots"))
			fmt.Fprintln(f.IO.ErrOut, "its signed record is queued: latchkey sync")
			return nil
		},
	}
	fl.Register(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&offline, "offline", false, "send the request without the back office's authorisation")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
