package diag

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/diag"
	"github.com/latchkey/latchkey/internal/tui/diagwatch"
)

// WatchOptions are what `diag watch` runs with.
type WatchOptions struct {
	IO       *cmdutil.IO
	Now      func() time.Time
	NoColor  func() bool
	Link     linkFunc
	Flags    unitopt.Flags
	Interval time.Duration
}

// NewCmdWatch is `diag watch`.
func NewCmdWatch(f *cmdutil.Factory, runF func(context.Context, *WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{IO: f.IO, Now: f.Now, NoColor: func() bool { return f.Global.NoColor }}
	opts.Link = openLink(f, &opts.Flags)
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Watch a unit's live state, counters and events full-screen",
		Long: `Show the unit's live state (relay, tamper, supply, modem and signal, uptime,
key slots), its counters and its latest events on one screen, refreshed
every second. Press q to leave, r to refresh at once. A unit that stops
answering is shown as such and read again on the next refresh.

It needs a terminal; in a script use 'latchkey diag status --json' or
'latchkey diag events --follow'.`,
		Example: "  latchkey diag watch\n  latchkey diag watch --port /dev/ttyACM0 --no-color",
		Args:    cmdutil.NoArgs("name the port with --port"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Interval < 200*time.Millisecond {
				return cmdutil.Usagef("--interval must be at least 200ms")
			}
			if !opts.IO.CanPrompt() {
				return cmdutil.Usagef("diag watch needs a terminal; in a script use 'latchkey diag status --json' or 'latchkey diag events --follow'")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return watchRun(cmd.Context(), opts)
		},
	}
	register(cmd, &opts.Flags)
	cmd.Flags().DurationVar(&opts.Interval, "interval", time.Second, "time between refreshes")
	return cmd
}

// recentEvents is how many events the screen keeps: what fits at 80x24
// under the status and counters.
const recentEvents = 8

func watchRun(ctx context.Context, opts *WatchOptions) error {
	return withUnit(ctx, opts.Link, func(u diag.Unit, port string) error {
		w := diag.NewWatcher(u, opts.Now, recentEvents)
		m := diagwatch.New(diagwatch.Options{
			Title:    port,
			Interval: opts.Interval,
			NoColor:  opts.NoColor(),
			Fetch:    func() (diag.Snapshot, error) { return w.Next(ctx) },
		})
		p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithInput(opts.IO.In), tea.WithOutput(opts.IO.Out))
		_, err := p.Run()
		if ctx.Err() != nil {
			return nil // Ctrl-C outside the screen's own key handling
		}
		return err
	})
}
