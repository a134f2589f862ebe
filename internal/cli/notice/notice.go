// Package notice is `latchkey notice`: the tenant notice of a job, printed
// (text or PDF, English or Spanish) from the job, its consent, survey and
// pairing; the signed record of how it was given; and the list of those
// records. The rules live in internal/consent/notice and internal/install.
package notice

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/install"
)

// NewCmdNotice groups the notice verbs.
func NewCmdNotice(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notice",
		Short: "Print the tenant notice and record how it was given",
		Long: `Every installation leaves a one-page notice for the building's tenants
(docs/notice.md). 'notice print' makes it from the job, its consent and its
survey; once it is posted, mailed or emailed, 'notice record' signs a record
of how and when, queued for the back office. Couriers get no access until a
notice is recorded and the consent's notice date has passed: see
'latchkey unit courier'.`,
		Example: `  latchkey notice print --job 7Q2M --lang es --format pdf -o aviso.pdf
  latchkey notice record --job 7Q2M --how posted --given-at '2026-11-25 09:30' --photo board.jpg --where 'lobby notice board'
  latchkey notice list --job 7Q2M`,
	}
	cmd.AddCommand(newCmdPrint(f, nil), newCmdRecord(f, nil), newCmdList(f, nil))
	return cmd
}

// notices opens the job's notices over the local store, with the outbox and
// journal for recording.
func notices(ctx context.Context, f *cmdutil.Factory) (*install.Notices, error) {
	r, err := f.Recording(ctx)
	if err != nil {
		return nil, err
	}
	return install.NewNotices(r.Store, install.NewJobs(r.Store, f.Now), r.Outbox, r.Journal, f.Now, f.Rand), nil
}

// setting returns a flag's value when it was given, else the config key's
// (flag > LATCHKEY_* > config file). A key this build does not register
// counts as unset.
func setting(f *cmdutil.Factory, key, flag string, set bool) (string, error) {
	if set {
		return flag, nil
	}
	v, err := f.Setting(key, flag, false)
	if errors.Is(err, config.ErrUnknownKey) {
		return flag, nil
	}
	if err != nil {
		return "", err
	}
	return v.Value, nil
}
