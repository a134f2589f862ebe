// Package jobs is `latchkey jobs`: the installer's jobs from the back
// office, pulled with their sealed packets, listed and shown without ever
// showing a key.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/record"
)

// NewCmdJobs groups the jobs verbs.
func NewCmdJobs(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Pull, list and show your installation jobs",
		Long: `Your installation jobs come from the back office as signed job packets:
the building, its doors and access hours, the incentive and the consent terms,
and the building's door keys sealed to your key. 'jobs pull' fetches them and
the list of units nobody may install; packets are checked against the hub's
key pinned at login and kept sealed. The keys are opened in memory only when
they are burned into a unit; list and show never print them.`,
		Example: "  latchkey jobs pull\n  latchkey jobs list\n  latchkey jobs show 7Q2M",
	}
	cmd.AddCommand(newCmdPull(f), newCmdList(f), newCmdShow(f))
	return cmd
}

func jobsStore(ctx context.Context, f *cmdutil.Factory) (*install.Jobs, error) {
	st, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	return install.NewJobs(st, f.Now), nil
}

func newCmdPull(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "pull",
		Short: "Fetch your jobs and the unit denylist from the back office",
		Long: `Fetch your job packets and the denylist from the hub you logged in to.
Each packet must be signed by the hub's key pinned at login, be meant for
your key and not have expired; one that fails is refused and named, and
never stored.`,
		Example: "  latchkey jobs pull\n  latchkey jobs pull --json",
		Args:    cmdutil.NoArgs("it pulls every job of yours"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, sess, err := f.HubClient()
			if err != nil {
				return err
			}
			id, err := f.Identity()
			if err != nil {
				return err
			}
			resp, err := c.Jobs(cmd.Context())
			if err != nil {
				if errors.Is(err, hubclient.ErrUnreachable) {
					return cmdutil.WithHint(err, "you can work on jobs pulled before; pull again when the network is back")
				}
				return err
			}
			js, err := jobsStore(cmd.Context(), f)
			if err != nil {
				return err
			}
			res, err := js.Save(cmd.Context(), sess.HubKey, record.KeyID(id.Public().Sign), resp)
			if err != nil {
				return err
			}
			if f.Global.JSON {
				if err := cmdutil.WriteJSON(f.IO.Out, res); err != nil {
					return err
				}
			} else {
				for _, r := range res.Refused {
					fmt.Fprintf(f.IO.ErrOut, "refused %s\n", r)
				}
				fmt.Fprintf(f.IO.Out, "%d new, %d updated, %d unchanged; %d %s on the denylist\n",
					res.New, res.Updated, res.Unchanged, res.Denied, plural(res.Denied, "unit", "units"))
			}
			if len(res.Refused) > 0 {
				return fmt.Errorf("%d job %s failed verification and %s not stored",
					len(res.Refused), plural(len(res.Refused), "packet", "packets"), plural(len(res.Refused), "was", "were"))
			}
			return nil
		},
	}
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List pulled jobs, newest first",
		Example: "  latchkey jobs list\n  latchkey jobs list --json | jq -r '.[].id'",
		Args:    cmdutil.NoArgs("it lists every pulled job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			js, err := jobsStore(cmd.Context(), f)
			if err != nil {
				return err
			}
			list, err := js.List(cmd.Context())
			if err != nil {
				return err
			}
			if f.Global.JSON {
				if list == nil {
					list = []install.Job{}
				}
				return cmdutil.WriteJSON(f.IO.Out, list)
			}
			if len(list) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "no jobs; run 'latchkey jobs pull'")
				return nil
			}
			now := f.Now()
			rows := make([][]string, len(list))
			for i, j := range list {
				state := "valid until " + day(j.ExpiresAt)
				if j.Expired(now) {
					state = "expired " + day(j.ExpiresAt)
				}
				rows[i] = []string{j.ID, j.Building, j.Address, strings.Join(j.Doors, ","), state}
			}
			return cmdutil.Table(f.IO, []string{"ID", "BUILDING", "ADDRESS", "DOORS", "PACKET"}, rows, 1, 2)
		},
	}
}

func newCmdShow(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one job (never its keys)",
		Long: `Show one pulled job: building, doors, access hours, incentive and terms
version, and when its packet expires. ID may be the first four or more
characters of the job id. The door keys stay sealed.`,
		Example: "  latchkey jobs show 7Q2M\n  latchkey jobs show 7Q2M --json",
		Args:    cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			js, err := jobsStore(cmd.Context(), f)
			if err != nil || len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			list, err := js.List(cmd.Context())
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var ids []string
			for _, j := range list {
				ids = append(ids, j.ID+"\t"+j.Building)
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			js, err := jobsStore(cmd.Context(), f)
			if err != nil {
				return err
			}
			j, err := js.Get(cmd.Context(), args[0])
			if err != nil {
				return cmdutil.JobHint(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, j)
			}
			hours := j.AccessHours
			if hours == "" {
				hours = "always"
			}
			state := "valid"
			if j.Expired(f.Now()) {
				state = "EXPIRED: ask the office to issue the job again"
			}
			for _, l := range [][2]string{
				{"job", j.ID},
				{"building", j.Building},
				{"address", j.Address},
				{"doors", strings.Join(j.Doors, ", ")},
				{"access hours", hours},
				{"incentive", j.Incentive},
				{"terms", j.Terms},
				{"installer", j.Installer},
				{"issued", j.IssuedAt.Local().Format("2006-01-02 15:04")},
				{"expires", j.ExpiresAt.Local().Format("2006-01-02 15:04") + " (" + state + ")"},
				{"keys", fmt.Sprintf("%d, sealed to your key", len(j.Doors))},
			} {
				if _, err := fmt.Fprintf(f.IO.Out, "%-13s %s\n", l[0], l[1]); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func day(t time.Time) string { return t.Local().Format("2006-01-02") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
