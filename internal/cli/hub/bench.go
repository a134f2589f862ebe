package hub

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// Targets the bench reports against (issue 5).
const (
	intakeTarget = 5000            // records per second, verified and stored
	syncTarget   = 4 * time.Second // for 10,000 queued records
)

// BenchResult is what `hub bench --json` prints.
type BenchResult struct {
	CPUs             int     `json:"cpus"`
	IntakeRecords    int     `json:"intake_records"`
	IntakeSeconds    float64 `json:"intake_seconds"`
	IntakePerSecond  float64 `json:"intake_records_per_second"`
	IntakeTarget     int     `json:"intake_target_per_second"`
	IntakeMet        bool    `json:"intake_target_met"`
	SyncRecords      int     `json:"sync_records"`
	SyncSeconds      float64 `json:"sync_seconds"`
	SyncTargetSecond float64 `json:"sync_target_seconds"`
	SyncMet          bool    `json:"sync_target_met"`
}

func newCmdBench(f *cmdutil.Factory) *cobra.Command {
	var intakeN, syncN, batch, workers int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure intake and sync against a hub on loopback",
		Long: `Start a hub on loopback with a fresh SQLite database in a temporary
directory and measure, through the real HTTP API:

  intake  signed visit records verified and stored per second, sent in
          batches by --workers clients at once (target: at least 5,000/s)
  sync    'latchkey sync' of 10,000 records queued in a laptop's outbox,
          from first request to the last record marked sent (target: under 4 s)

Records are signed before the clock starts: signing is the laptop's work, not
the hub's. Each figure is printed with its target.`,
		Example: "  latchkey hub bench\n  latchkey hub bench --intake 50000 --json",
		Args:    cmdutil.NoArgs("size it with --intake and --sync"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if intakeN < 1 || syncN < 1 || batch < 1 || batch > hubapi.MaxBatch || workers < 1 {
				return cmdutil.Usagef("--intake, --sync and --workers must be at least 1, --batch 1 to %d", hubapi.MaxBatch)
			}
			dir, err := os.MkdirTemp("", "latchkey-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			b := &bench{f: f, dir: dir, log: f.IO.ErrOut}
			res, err := b.run(cmd.Context(), intakeN, syncN, batch, workers)
			if err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, res)
			}
			verdict := func(ok bool) string {
				if ok {
					return "met"
				}
				return "MISSED"
			}
			fmt.Fprintf(f.IO.Out, "intake: %d records in %.2f s = %.0f records/s on %d CPUs (target ≥ %d/s: %s)\n",
				res.IntakeRecords, res.IntakeSeconds, res.IntakePerSecond, res.CPUs, intakeTarget, verdict(res.IntakeMet))
			fmt.Fprintf(f.IO.Out, "sync:   %d queued records sent in %.2f s (target < %.0f s for 10,000: %s)\n",
				res.SyncRecords, res.SyncSeconds, syncTarget.Seconds(), verdict(res.SyncMet))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&intakeN, "intake", 20000, "records to send for the intake figure")
	fl.IntVar(&syncN, "sync", 10000, "records to queue for the sync figure")
	fl.IntVar(&batch, "batch", hubapi.MaxBatch, "records per intake request")
	fl.IntVar(&workers, "workers", 2, "intake clients sending at once")
	return cmd
}

type bench struct {
	f   *cmdutil.Factory
	dir string
	log io.Writer
}

// benchUser is a sales rep enrolled on the bench hub.
type benchUser struct {
	id     identity.Identity
	client *hubclient.Client
}

func (b *bench) run(ctx context.Context, intakeN, syncN, batch, workers int) (BenchResult, error) {
	res := BenchResult{CPUs: runtime.GOMAXPROCS(0), IntakeTarget: intakeTarget, SyncTargetSecond: syncTarget.Seconds()}
	st, err := sqlstore.Open(ctx, filepath.Join(b.dir, "hub", "hub.db"))
	if err != nil {
		return res, err
	}
	defer st.Close()
	key, err := hubsvc.LoadKeys(filepath.Join(b.dir, "hub"))
	if err != nil {
		return res, err
	}
	admin, err := hubsvc.NewAdmin(hubsvc.AdminConfig{Store: st, Key: key})
	if err != nil {
		return res, err
	}
	srv, err := hubsvc.NewServer(hubsvc.ServerConfig{Store: st, Signer: key.Sign})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- hubsvc.Serve(sctx, hubsvc.ServeConfig{Listener: ln, Handler: srv, Logger: slog.New(slog.DiscardHandler)})
	}()
	defer func() { stop(); <-served }()
	url := "http://" + ln.Addr().String()

	enroll := func(name string) (benchUser, error) {
		code, _, err := admin.Enroll(ctx, name, hubapi.RoleSales, 0)
		if err != nil {
			return benchUser{}, err
		}
		id, err := identity.Generate(b.f.Rand)
		if err != nil {
			return benchUser{}, err
		}
		c, err := hubclient.New(url, hubclient.Options{})
		if err != nil {
			return benchUser{}, err
		}
		resp, err := c.Enroll(ctx, code, id.Public())
		if err != nil {
			return benchUser{}, err
		}
		c, err = hubclient.New(url, hubclient.Options{Token: resp.Token})
		return benchUser{id: id, client: c}, err
	}

	// Intake.
	rep, err := enroll("bench-intake")
	if err != nil {
		return res, fmt.Errorf("bench: enroll: %w", err)
	}
	fmt.Fprintf(b.log, "signing %d records…\n", intakeN)
	envs, err := signRecords(rep.id, intakeN, "i")
	if err != nil {
		return res, err
	}
	fmt.Fprintf(b.log, "sending them in batches of %d from %d clients…\n", batch, workers)
	start := time.Now()
	if err := sendAll(ctx, rep.client, envs, batch, workers); err != nil {
		return res, err
	}
	elapsed := time.Since(start)
	n, err := st.CountRecords(ctx, hubsvc.RecordFilter{})
	if err != nil {
		return res, err
	}
	if n != intakeN {
		return res, fmt.Errorf("bench: the hub holds %d records, %d were sent", n, intakeN)
	}
	res.IntakeRecords, res.IntakeSeconds = intakeN, elapsed.Seconds()
	res.IntakePerSecond = float64(intakeN) / elapsed.Seconds()
	res.IntakeMet = res.IntakePerSecond >= intakeTarget

	// Sync: a laptop's outbox with syncN queued records, sent by the
	// uploader `latchkey sync` runs.
	laptop, err := enroll("bench-sync")
	if err != nil {
		return res, fmt.Errorf("bench: enroll: %w", err)
	}
	lst, err := store.Open(ctx, filepath.Join(b.dir, "laptop", "latchkey.db"))
	if err != nil {
		return res, err
	}
	defer lst.Close()
	signer := func() (ed25519.PrivateKey, error) { return laptop.id.Sign, nil }
	ob := outbox.New(lst, signer, time.Now, b.f.Rand, journal.New(lst, signer, time.Now))
	fmt.Fprintf(b.log, "queueing %d records in a laptop's outbox…\n", syncN)
	if err := queueRecords(ctx, lst, ob, syncN); err != nil {
		return res, err
	}
	up := &outbox.Uploader{Outbox: ob, Sender: laptop.client}
	start = time.Now()
	sum, err := up.Run(ctx, nil)
	elapsed = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("bench: sync: %w", err)
	}
	if sum.Sent != syncN || sum.Remaining != 0 || len(sum.Rejected) != 0 {
		return res, fmt.Errorf("bench: sync sent %d, refused %d, left %d of %d", sum.Sent, len(sum.Rejected), sum.Remaining, syncN)
	}
	res.SyncRecords, res.SyncSeconds = syncN, elapsed.Seconds()
	res.SyncMet = elapsed < syncTarget*time.Duration(syncN)/10000
	return res, nil
}

// benchVisit is a visit-shaped record payload.
type benchVisit struct {
	record.Header
	Building string `json:"building"`
	Outcome  string `json:"outcome"`
	Notes    string `json:"notes"`
}

func benchPayload(prefix string, i int, now time.Time) benchVisit {
	return benchVisit{
		Header:   record.Header{ID: fmt.Sprintf("bench-%s-%07d", prefix, i), CreatedAt: now, ExpiresAt: now.Add(180 * 24 * time.Hour)},
		Building: fmt.Sprintf("Block %d", i), Outcome: "interested",
		Notes: "Manager asked about tenant notices and the courier hours; follow up after the board meets.",
	}
}

// signRecords signs n records on every CPU.
func signRecords(id identity.Identity, n int, prefix string) ([][]byte, error) {
	out := make([][]byte, n)
	keyID := record.KeyID(id.Public().Sign)
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for i := w; i < n; i += len(errs) {
				env, err := record.Sign(record.KindVisit, benchPayload(prefix, i, now), id.Sign, keyID)
				if err == nil {
					out[i], err = json.Marshal(env)
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// sendAll sends envs in batches from workers clients at once.
func sendAll(ctx context.Context, c *hubclient.Client, envs [][]byte, batch, workers int) error {
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for start := range jobs {
				end := min(start+batch, len(envs))
				rs, err := c.SendBatch(ctx, fmt.Sprintf("bench-%d", start), envs[start:end])
				if err == nil {
					for _, r := range rs {
						if r.Status != hubapi.StatusStored {
							err = fmt.Errorf("record %s refused: %s %s", r.ID, r.Code, r.Reason)
							break
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for start := 0; start < len(envs); start += batch {
		select {
		case jobs <- start:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("bench: intake: %w", err)
	}
	select {
	case err := <-errs:
		return fmt.Errorf("bench: intake: %w", err)
	default:
		return nil
	}
}

// queueRecords adds n records to the outbox, a thousand per transaction.
func queueRecords(ctx context.Context, st *store.Store, ob *outbox.Outbox, n int) error {
	now := time.Now().UTC()
	for start := 0; start < n; start += 1000 {
		err := st.Tx(ctx, func(tx *sql.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				if _, err := ob.Add(ctx, tx, record.KindVisit, benchPayload("s", i, now)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bench: queue: %w", err)
		}
	}
	return nil
}
