// Package sync is `latchkey sync`: sending the outbox to the back office.
package sync

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/outbox"
)

// Result is what `sync --json` prints.
type Result struct {
	Hub       string         `json:"hub"`
	Sent      int            `json:"sent"`
	Rejected  []outbox.Entry `json:"rejected"`
	Remaining int            `json:"remaining"`
	Batches   int            `json:"batches"`
	Retries   int            `json:"retries"`
	Seconds   float64        `json:"seconds"`
	Error     string         `json:"error,omitempty"`
}

// NewCmdSync is `latchkey sync`.
func NewCmdSync(f *cmdutil.Factory) *cobra.Command {
	var batch, attempts int
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Send queued records to the back office",
		Long: `Send every queued record to the hub you logged in to, oldest first, in
batches. A record is marked sent only when the hub has answered for it; if the
link drops, the process is killed or the hub restarts, the next sync sends
the same batch again with the same idempotency key and the hub stores nothing
twice. Failed attempts are retried with growing random waits (and at least
what the hub asks for in Retry-After); after --attempts failures in a row sync
stops and the records stay queued.

Records the hub refuses are kept, with its reason: see them with 'latchkey
outbox list --state rejected' and send them again with 'latchkey outbox retry'.

Exit status: 0 when everything queued was sent; 1 when records were refused in this run,
or some are still queued (hub unreachable, not logged in).`,
		Example: "  latchkey sync\n  latchkey sync --json | jq .remaining",
		Args:    cmdutil.NoArgs("it sends the whole outbox"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || batch > hubapi.MaxBatch {
				return cmdutil.Usagef("--batch %d: want 1 to %d", batch, hubapi.MaxBatch)
			}
			if attempts < 1 {
				return cmdutil.Usagef("--attempts %d: want at least 1", attempts)
			}
			ob, err := f.Outbox(cmd.Context())
			if err != nil {
				return err
			}
			c, sess, err := f.HubClient()
			if err != nil {
				counts, cerr := ob.Counts(cmd.Context())
				if cerr != nil {
					return err
				}
				if f.Global.JSON {
					if jerr := cmdutil.WriteJSON(f.IO.Out, Result{Rejected: []outbox.Entry{}, Remaining: counts.Queued, Error: err.Error()}); jerr != nil {
						return jerr
					}
				} else if counts.Queued > 0 {
					fmt.Fprintf(f.IO.ErrOut, "%d %s stay queued\n", counts.Queued, plural(counts.Queued, "record", "records"))
				}
				return err
			}
			up := &outbox.Uploader{Outbox: ob, Sender: c, BatchSize: batch, MaxFailures: attempts, Rand: f.Rand}
			bar := newBar(f.IO.ErrOut, f.IO.ErrTTY && !f.Global.JSON, f.Now)
			start := f.Now()
			sum, runErr := up.Run(cmd.Context(), bar.update)
			bar.finish()
			res := Result{Hub: sess.URL, Sent: sum.Sent, Rejected: sum.Rejected, Remaining: sum.Remaining,
				Batches: sum.Batches, Retries: sum.Retries, Seconds: f.Now().Sub(start).Seconds()}
			if runErr != nil {
				res.Error = runErr.Error()
			}
			if f.Global.JSON {
				if err := cmdutil.WriteJSON(f.IO.Out, res); err != nil {
					return err
				}
			} else {
				printSummary(f.IO.Out, res)
			}
			switch {
			case runErr != nil:
				return syncError(runErr, res.Remaining)
			case len(res.Rejected) > 0:
				return cmdutil.WithHint(fmt.Errorf("the hub refused %d %s", len(res.Rejected), plural(len(res.Rejected), "record", "records")),
					"see 'latchkey outbox list --state rejected'; fix the cause, then 'latchkey outbox retry --all'")
			case res.Remaining > 0:
				return fmt.Errorf("%d %s still queued", res.Remaining, plural(res.Remaining, "record", "records"))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&batch, "batch", outbox.DefaultBatchSize, fmt.Sprintf("records per request (1 to %d)", hubapi.MaxBatch))
	fl.IntVar(&attempts, "attempts", outbox.DefaultMaxFailures, "failed attempts in a row before giving up")
	return cmd
}

func printSummary(w io.Writer, r Result) {
	fmt.Fprintf(w, "sent %d, refused %d, still queued %d\n", r.Sent, len(r.Rejected), r.Remaining)
	for _, e := range r.Rejected {
		fmt.Fprintf(w, "  refused %s %s: %s: %s\n", e.Kind, e.ID, e.RejectCode, e.RejectReason)
	}
}

// syncError says what to do after a run that stopped early.
func syncError(err error, remaining int) error {
	left := fmt.Sprintf("%d %s stay queued", remaining, plural(remaining, "record", "records"))
	var he *hubapi.Error
	switch {
	case errors.As(err, &he) && (he.Code == hubapi.CodeRevoked || he.Code == hubapi.CodeUnauthorized):
		return cmdutil.WithHint(err, left+"; your login is no longer valid: ask your administrator for a new code and run 'latchkey login'")
	case errors.Is(err, outbox.ErrGaveUp), errors.Is(err, hubclient.ErrUnreachable):
		return cmdutil.WithHint(err, left+"; run 'latchkey sync' again when the network is back")
	}
	return cmdutil.WithHint(err, left+"; nothing was lost")
}

// bar draws sync progress on a terminal: one line redrawn in place.
type bar struct {
	w     io.Writer
	on    bool
	now   func() time.Time
	last  time.Time
	drawn bool
}

func newBar(w io.Writer, on bool, now func() time.Time) *bar { return &bar{w: w, on: on, now: now} }

func (b *bar) update(p outbox.Progress) {
	if !b.on || p.Total == 0 {
		return
	}
	t := b.now()
	if b.drawn && p.Done < p.Total && t.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last, b.drawn = t, true
	const width = 24
	fill := width * p.Done / p.Total
	fmt.Fprintf(b.w, "\r\x1b[Ksending [%s%s] %d/%d records", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.Done, p.Total)
}

func (b *bar) finish() {
	if b.on && b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
