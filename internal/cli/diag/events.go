package diag

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/diag"
)

// EventsOptions are what `diag events` runs with.
type EventsOptions struct {
	IO       *cmdutil.IO
	JSON     func() bool
	Link     linkFunc
	Flags    unitopt.Flags
	Since    uint64
	Follow   bool
	Interval time.Duration
}

// NewCmdEvents is `diag events`.
func NewCmdEvents(f *cmdutil.Factory, runF func(context.Context, *EventsOptions) error) *cobra.Command {
	opts := &EventsOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }}
	opts.Link = openLink(f, &opts.Flags)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List a unit's event log, or follow it as it grows",
		Long: `List the unit's event log from a cursor (a sequence number; 0, the default,
is the oldest event the unit keeps), oldest first. The cursor to pass next
time is printed on stderr, so a script can read only what is new.

With --follow the command keeps polling the unit and prints each new event
as it is logged, until Ctrl-C. With --json it prints {"events": [...],
"next": N}, or with --follow one JSON event per line.

The unit's log is a ring: when events after the cursor were overwritten
before they were read, a warning says so.`,
		Example: "  latchkey diag events\n  latchkey diag events --since 120 --json\n  latchkey diag events --follow",
		Args:    cmdutil.NoArgs("give the cursor with --since"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Interval < 100*time.Millisecond {
				return cmdutil.Usagef("--interval must be at least 100ms")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return eventsRun(cmd.Context(), opts)
		},
	}
	register(cmd, &opts.Flags)
	cmd.Flags().Uint64Var(&opts.Since, "since", 0, "list events from this sequence number on (the cursor the last run printed)")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new events until Ctrl-C")
	cmd.Flags().DurationVar(&opts.Interval, "interval", time.Second, "how often --follow asks the unit for new events")
	return cmd
}

func eventsRun(ctx context.Context, opts *EventsOptions) error {
	return withUnit(ctx, opts.Link, func(u diag.Unit, port string) error {
		if opts.Follow {
			return follow(ctx, opts, u)
		}
		page, err := diag.ReadEvents(ctx, u, opts.Since)
		if err != nil {
			return err
		}
		warnGap(opts, page, opts.Since)
		if opts.JSON() {
			if err := cmdutil.WriteJSON(opts.IO.Out, page); err != nil {
				return err
			}
		} else if len(page.Events) == 0 {
			fmt.Fprintf(opts.IO.ErrOut, "no events from %d on\n", opts.Since)
		} else {
			rows := make([][]string, len(page.Events))
			for i, e := range page.Events {
				rows[i] = eventRow(e)
			}
			if err := cmdutil.Table(opts.IO, eventHeader, rows, 4); err != nil {
				return err
			}
		}
		fmt.Fprintf(opts.IO.ErrOut, "next: latchkey diag events --since %d\n", page.Next)
		return nil
	})
}

var eventHeader = []string{"SEQ", "TIME", "UPTIME", "KIND", "MESSAGE"}

func eventRow(e diag.Event) []string {
	t := e.Time
	if t == "" {
		t = "clock not set"
	}
	return []string{fmt.Sprint(e.Seq), t, diag.Uptime(e.UptimeS), e.Kind, e.Msg}
}

func warnGap(opts *EventsOptions, page diag.EventPage, since uint64) {
	if page.Gap {
		fmt.Fprintf(opts.IO.ErrOut, "warning: events %d to %d were overwritten on the unit before they were read\n", since, page.Events[0].Seq-1)
	}
}

// follow prints events as they come: aligned columns on a terminal, tab-
// separated lines in a pipe, one JSON object per line with --json.
func follow(ctx context.Context, opts *EventsOptions, u diag.Unit) error {
	since := opts.Since
	format := func(r []string) string { return strings.Join(r, "\t") }
	if opts.IO.OutTTY {
		format = func(r []string) string {
			return fmt.Sprintf("%-8s %-20s %-12s %-14s %s", r[0], r[1], r[2], r[3], r[4])
		}
	}
	fmt.Fprintln(opts.IO.ErrOut, "following the event log; Ctrl-C stops")
	first := true
	err := diag.Follow(ctx, u, since, opts.Interval, func(page diag.EventPage) error {
		warnGap(opts, page, since)
		since = page.Next
		if first && !opts.JSON() {
			if _, err := fmt.Fprintln(opts.IO.Out, format(eventHeader)); err != nil {
				return err
			}
		}
		first = false
		for _, e := range page.Events {
			var line string
			if opts.JSON() {
				b, err := json.Marshal(e)
				if err != nil {
					return err
				}
				line = string(b)
			} else {
				line = format(eventRow(e))
			}
			if _, err := fmt.Fprintln(opts.IO.Out, line); err != nil {
				return err
			}
		}
		return nil
	})
	fmt.Fprintf(opts.IO.ErrOut, "next: latchkey diag events --since %d\n", since)
	return err
}
