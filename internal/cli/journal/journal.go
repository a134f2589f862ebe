// Package journal is `latchkey journal`: the local audit log of every action
// on a unit or a record, listed, and verified against the head the back
// office acknowledged.
package journal

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/record"
)

// NewCmdJournal groups the journal verbs.
func NewCmdJournal(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "List and verify the log of every action on units and records",
		Long: `The journal is an append-only log on this laptop of every action taken on
a unit or a record: who (your key), what, which unit, job or record, when,
and how it ended. Each entry holds the hash of the one before and is signed
with your key, and every record sent to the back office carries the newest
hash, so 'latchkey journal verify' finds an entry that was edited, moved or
deleted, the newest ones included.`,
		Example: "  latchkey journal list --unit LK-00042\n  latchkey journal verify",
	}
	cmd.AddCommand(newCmdList(f), newCmdVerify(f))
	return cmd
}

// ListOptions are the flags of journal list.
type ListOptions struct {
	Limit int
	Unit  string
	Job   string
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	var opts ListOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List journal entries, oldest first",
		Example: `  latchkey journal list --limit 20
  latchkey journal list --unit LK-00042
  latchkey journal list --job job-7 --json | jq -r '.[] | [.seq, .action, .outcome] | @tsv'`,
		Args: cmdutil.NoArgs("narrow the list with --unit, --job or --limit"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Limit < 0 {
				return cmdutil.Usagef("--limit %d: want 0 (no limit) or more", opts.Limit)
			}
			return listRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.Limit, "limit", 0, "show only the newest N entries (0: all)")
	fl.StringVar(&opts.Unit, "unit", "", "only entries about this unit serial")
	fl.StringVar(&opts.Job, "job", "", "only entries about this job id")
	return cmd
}

func listRun(ctx context.Context, f *cmdutil.Factory, opts ListOptions) error {
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	es, err := j.List(ctx, journal.Filter{Unit: opts.Unit, Job: opts.Job, Limit: opts.Limit})
	if err != nil {
		return err
	}
	if f.Global.JSON {
		if es == nil {
			es = []journal.Entry{}
		}
		return cmdutil.WriteJSON(f.IO.Out, es)
	}
	if len(es) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "no journal entries")
		return nil
	}
	rows := make([][]string, len(es))
	for i, e := range es {
		rows[i] = []string{strconv.FormatInt(e.Seq, 10), e.At.Local().Format("2006-01-02 15:04:05"), e.Action,
			string(e.Outcome), e.Unit, e.Job, e.Record, e.Detail}
	}
	return cmdutil.Table(f.IO, []string{"SEQ", "AT", "ACTION", "OUTCOME", "UNIT", "JOB", "RECORD", "DETAIL"}, rows, 6, 7)
}

// VerifyOptions are the flags of journal verify.
type VerifyOptions struct {
	Offline bool
}

func newCmdVerify(f *cmdutil.Factory) *cobra.Command {
	var opts VerifyOptions
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the journal's hashes, signatures and the head the back office acknowledged",
		Long: `Check every journal entry: its hash, its link to the entry before, its
sequence number and its signature by your key. Then check the newest head
the back office acknowledged is still there with the same hash, which catches
the newest entries being deleted. The back office is asked for that head
(you must be logged in); the newest head in records this laptop sent is used
too, and the later of the two counts. --offline uses only the laptop's, which
someone who can edit the laptop's files could also have changed.

Exits 1 when anything is wrong, listing each problem by entry.`,
		Example: "  latchkey journal verify\n  latchkey journal verify --offline\n  latchkey journal verify --json | jq .problems",
		Args:    cmdutil.NoArgs("pass --offline to verify without the back office"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return verifyRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "do not ask the back office; check against the head in records already sent")
	return cmd
}

// VerifyResult is the JSON form of journal verify.
type VerifyResult struct {
	OK bool `json:"ok"`
	journal.Report
	// AckedFrom says where the acknowledged head came from: "hub",
	// "outbox" (records this laptop sent) or "" when there is none.
	AckedFrom string `json:"acked_from,omitempty"`
	Offline   bool   `json:"offline"`
}

func verifyRun(ctx context.Context, f *cmdutil.Factory, opts VerifyOptions) error {
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	id, err := f.Identity()
	if err != nil {
		return err
	}
	pub := id.Sign.Public().(ed25519.PublicKey)
	keys := map[string]ed25519.PublicKey{record.KeyID(pub): pub}

	var acked *journal.Head
	from := ""
	ob, err := f.Outbox(ctx)
	if err != nil {
		return err
	}
	if ref, ok, err := ob.JournalHead(ctx); err != nil {
		return err
	} else if ok {
		acked, from = &journal.Head{Seq: ref.Seq, Hash: ref.Hash}, "outbox"
	}
	if !opts.Offline {
		c, _, err := f.HubClient()
		if err != nil {
			return cmdutil.WithHint(err, "or pass --offline to check against the records this laptop sent")
		}
		h, err := c.JournalHead(ctx)
		var he *hubapi.Error
		switch {
		case errors.As(err, &he) && he.Code == hubapi.CodeNotFound:
			// The hub holds no record with a journal head yet.
		case err != nil:
			return cmdutil.WithHint(err, "try again when the back office answers, or pass --offline")
		case acked == nil || h.Seq >= acked.Seq:
			acked, from = &journal.Head{Seq: h.Seq, Hash: h.Hash}, "hub"
		}
	}

	rep, verr := j.Verify(ctx, keys, acked)
	if verr != nil && !errors.Is(verr, journal.ErrTampered) {
		return verr
	}
	if f.Global.JSON {
		if err := cmdutil.WriteJSON(f.IO.Out, VerifyResult{OK: rep.OK(), Report: rep, AckedFrom: from, Offline: opts.Offline}); err != nil {
			return err
		}
	} else {
		printReport(f, rep, from, opts.Offline)
	}
	if verr != nil {
		return cmdutil.WithHint(verr, "the journal on this laptop was changed outside latchkey; keep the file as it is and tell your administrator")
	}
	return nil
}

func printReport(f *cmdutil.Factory, rep journal.Report, from string, offline bool) {
	out := f.IO.Out
	if !rep.OK() {
		fmt.Fprintf(out, "journal TAMPERED: %d %s in %d entries\n", len(rep.Problems), plural(len(rep.Problems), "problem", "problems"), rep.Entries)
		for _, p := range rep.Problems {
			fmt.Fprintf(out, "  entry %d: %s\n", p.Seq, p.What)
		}
		return
	}
	line := fmt.Sprintf("journal ok: %d %s, head %d %s", rep.Entries, plural(rep.Entries, "entry", "entries"), rep.Head.Seq, short(rep.Head.Hash))
	switch {
	case rep.Acked == nil && offline:
		line += ", no head acknowledged by the back office in the records sent from here (offline)"
	case rep.Acked == nil:
		line += ", the back office has acknowledged no head yet: run 'latchkey sync'"
	case from == "hub":
		line += fmt.Sprintf(", matches the head the hub acknowledged (seq %d)", rep.Acked.Seq)
	default:
		line += fmt.Sprintf(", matches the head in the records sent from here (seq %d)", rep.Acked.Seq)
		if offline {
			line += "; offline: not checked with the hub"
		}
	}
	fmt.Fprintln(out, line)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
