// Package outbox is `latchkey outbox`: what is queued for the back office,
// what was sent and what was refused, and putting refused records back in
// the queue. `latchkey sync` sends them.
package outbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
)

// NewCmdOutbox groups the outbox verbs.
func NewCmdOutbox(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "See and retry the records waiting for the back office",
		Long: `Every record latchkey makes (a visit, and later surveys, pairings, consents)
is signed with your key and written to the outbox in the same transaction as
the change it describes, so nothing is ever saved without being queued.
'latchkey sync' sends the queue; records stay here after they are sent, and
records the back office refused stay too, with its reason, until you retry
them.`,
		Example: "  latchkey outbox list\n  latchkey outbox list --state rejected\n  latchkey outbox show 0b6d\n  latchkey outbox retry --all",
	}
	cmd.AddCommand(newCmdList(f), newCmdShow(f), newCmdRetry(f))
	return cmd
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	var state, kind string
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List queued and refused records (--all for sent ones too)",
		Example: `  latchkey outbox list
  latchkey outbox list --all --json | jq -r '.[] | [.id, .state] | @tsv'
  latchkey outbox list --state rejected`,
		Args: cmdutil.NoArgs("narrow the list with --state or --kind"),
		RunE: func(cmd *cobra.Command, args []string) error {
			flt := outbox.Filter{State: outbox.State(state), Kind: record.Kind(kind), Limit: limit, Unsent: state == "" && !all}
			if state != "" && !flt.State.Valid() {
				return cmdutil.Usagef("--state %q: want queued, sent or rejected", state)
			}
			if kind != "" && !flt.Kind.Valid() {
				return cmdutil.Usagef("--kind %q: want one of %s", kind, kindList())
			}
			if limit < 0 {
				return cmdutil.Usagef("--limit %d: want 0 (no limit) or more", limit)
			}
			ob, err := f.Outbox(cmd.Context())
			if err != nil {
				return err
			}
			entries, err := ob.List(cmd.Context(), flt)
			if err != nil {
				return err
			}
			if f.Global.JSON {
				if entries == nil {
					entries = []outbox.Entry{}
				}
				return cmdutil.WriteJSON(f.IO.Out, entries)
			}
			if len(entries) == 0 {
				c, err := ob.Counts(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(f.IO.ErrOut, "nothing waiting (%d sent, %d queued, %d refused)\n", c.Sent, c.Queued, c.Rejected)
				return nil
			}
			now := f.Now()
			rows := make([][]string, len(entries))
			for i, e := range entries {
				rows[i] = []string{strconv.FormatInt(e.Seq, 10), e.ID, string(e.Kind), string(e.State),
					ago(e.QueuedAt, now), note(e)}
			}
			return cmdutil.Table(f.IO, []string{"SEQ", "ID", "KIND", "STATE", "QUEUED", "NOTE"}, rows, 1, 5)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "only records in this state: queued, sent or rejected")
	fl.StringVar(&kind, "kind", "", "only records of this kind ("+kindList()+")")
	fl.BoolVar(&all, "all", false, "include records already sent")
	fl.IntVar(&limit, "limit", 0, "show at most this many (0: no limit)")
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"queued", "sent", "rejected"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(kinds(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newCmdShow(f *cmdutil.Factory) *cobra.Command {
	var envelope bool
	cmd := &cobra.Command{
		Use:   "show REF",
		Short: "Show one record: its state, attempts and the back office's answer",
		Long: `Show one outbox record. REF is its sequence number, its record id, or at
least the first four characters of the id. --envelope prints the signed record
itself (a DSSE envelope; it holds nothing secret) as sent.`,
		Example: "  latchkey outbox show 12\n  latchkey outbox show 0b6d --json\n  latchkey outbox show 0b6d --envelope | jq -r .payload | base64 -d",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ob, err := f.Outbox(cmd.Context())
			if err != nil {
				return err
			}
			e, err := ob.Get(cmd.Context(), args[0])
			if err != nil {
				return cmdutil.WithHint(err, "see 'latchkey outbox list --all'")
			}
			if envelope {
				_, err := f.IO.Out.Write(append(e.EnvelopeJSON(), '\n'))
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, e)
			}
			return printEntry(f, e)
		},
	}
	cmd.Flags().BoolVar(&envelope, "envelope", false, "print the signed record (DSSE JSON) instead")
	return cmd
}

func printEntry(f *cmdutil.Factory, e outbox.Entry) error {
	now := f.Now()
	at := func(t time.Time) string {
		return t.Local().Format("2006-01-02 15:04:05") + " (" + ago(t, now) + ")"
	}
	lines := [][2]string{
		{"seq", strconv.FormatInt(e.Seq, 10)},
		{"id", e.ID},
		{"kind", string(e.Kind)},
		{"state", string(e.State)},
		{"created", at(e.CreatedAt)},
		{"expires", at(e.ExpiresAt)},
		{"queued", at(e.QueuedAt)},
		{"digest", e.Digest},
		{"attempts", strconv.Itoa(e.Attempts)},
	}
	if e.Job != "" {
		lines = append(lines, [2]string{"job", e.Job})
	}
	if e.Unit != "" {
		lines = append(lines, [2]string{"unit", e.Unit})
	}
	if e.SentAt != nil {
		lines = append(lines, [2]string{"sent", at(*e.SentAt)})
	}
	if e.RejectCode != "" {
		lines = append(lines, [2]string{"refused", e.RejectCode + ": " + e.RejectReason})
	}
	if e.LastError != "" {
		lines = append(lines, [2]string{"last error", e.LastError})
	}
	if e.NextAttemptAt != nil && e.State == outbox.Queued {
		lines = append(lines, [2]string{"next attempt", at(*e.NextAttemptAt)})
	}
	for _, l := range lines {
		if _, err := fmt.Fprintf(f.IO.Out, "%-13s %s\n", l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}

func newCmdRetry(f *cmdutil.Factory) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "retry [REF...] | --all",
		Short: "Put refused records back in the queue",
		Long: `Put records the back office refused back in the queue, for the next
'latchkey sync'. They keep their idempotency key and are sent as they were
signed; retry after the cause is fixed (an administrator enrolled you again,
the hub's clock was put right), or the same answer comes back.`,
		Example: "  latchkey outbox retry 0b6d\n  latchkey outbox retry --all && latchkey sync",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return cmdutil.Usagef("name the records to retry, or pass --all for every refused one")
			}
			ob, err := f.Outbox(cmd.Context())
			if err != nil {
				return err
			}
			n, err := ob.Retry(cmd.Context(), args...)
			if err != nil {
				return cmdutil.WithHint(err, "see 'latchkey outbox list --state rejected'")
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, map[string]int{"requeued": n})
			}
			fmt.Fprintf(f.IO.Out, "%d %s back in the queue; run 'latchkey sync' to send\n", n, plural(n, "record", "records"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "retry every refused record")
	return cmd
}

func note(e outbox.Entry) string {
	switch {
	case e.State == outbox.Rejected:
		return e.RejectCode + ": " + e.RejectReason
	case e.LastError != "":
		return fmt.Sprintf("%d attempts; %s", e.Attempts, e.LastError)
	}
	return ""
}

func kinds() []string {
	var out []string
	for _, k := range record.Kinds() {
		out = append(out, string(k))
	}
	return out
}

func kindList() string { return strings.Join(kinds(), ", ") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ago says how long before now t was, roughly, as a person would.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
