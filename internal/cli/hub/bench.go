package hub

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/pgstore"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// Targets the bench reports against (issues 5 and 9).
const (
	intakeTarget  = 5000            // records per second, verified and stored
	syncTarget    = 4 * time.Second // for 10,000 queued records
	latencyTarget = time.Second     // p99 of one batch request
	maxInstances  = 8
	maxInstallers = 64
	// maxReplays bounds the batches the load phase sends again.
	maxReplays = 16
	// maxRecords bounds --intake, --sync and --records each, maxDuration
	// --duration and maxPairs --pairs: the bench is a measurement, not a
	// way to fill a database or load a server for hours.
	maxRecords  = 1_000_000
	maxDuration = 10 * time.Minute
	maxPairs    = 1000
	// pairBatch is the most records in a batch of the pair phase.
	pairBatch = 25
)

// benchMargin is what the whole run (signing, intake, sync, queueing,
// load, pairs, the check) may take beyond --duration; tests shorten it.
var benchMargin = 20 * time.Minute

// errRunLimit is the run's overall deadline passing.
var errRunLimit = errors.New("hub bench: the run took longer than its limit")

// BenchResult is what `hub bench --json` prints.
type BenchResult struct {
	CPUs      int    `json:"cpus"`
	Database  string `json:"database"` // sqlite or postgres
	Instances int    `json:"instances"`

	IntakeRecords    int     `json:"intake_records"`
	IntakeSeconds    float64 `json:"intake_seconds"`
	IntakePerSecond  float64 `json:"intake_records_per_second"`
	IntakeTarget     int     `json:"intake_target_per_second"`
	IntakeMet        bool    `json:"intake_target_met"`
	IntakeP50Ms      float64 `json:"intake_p50_ms"`
	IntakeP99Ms      float64 `json:"intake_p99_ms"`
	SyncRecords      int     `json:"sync_records"`
	SyncSeconds      float64 `json:"sync_seconds"`
	SyncTargetSecond float64 `json:"sync_target_seconds"`
	SyncMet          bool    `json:"sync_target_met"`

	// Load is the installers' phase; absent with --records 0.
	Load *LoadResult `json:"load,omitempty"`
	// Pairs is the concurrent-pair phase; absent with --pairs 0.
	Pairs *PairResult `json:"pairs,omitempty"`

	// Stored is how many records the hub holds at the end, Acknowledged
	// how many the clients were told were stored.
	Stored       int `json:"stored"`
	Acknowledged int `json:"acknowledged"`
	// Duplicates: records stored twice, or stored under an id no client
	// was told about. Lost: records a client was told were stored that the
	// hub does not hold (or holds with the digest of something else than
	// what was signed: digests are computed here, from the payloads), and
	// records queued that were never acknowledged although --duration did
	// not run out. Both must be 0.
	Duplicates int `json:"duplicates"`
	Lost       int `json:"lost"`
}

// LoadResult is the installers' phase: simulated laptops syncing their
// outboxes against the hub instances at once.
type LoadResult struct {
	Installers      int     `json:"installers"`
	Queued          int     `json:"queued"`
	Acknowledged    int     `json:"acknowledged"`
	Unsent          int     `json:"unsent"` // still queued when --duration ran out
	Seconds         float64 `json:"seconds"`
	PerSecond       float64 `json:"records_per_second"`
	Target          int     `json:"target_per_second"`
	Met             bool    `json:"target_met"`
	Requests        int     `json:"requests"`
	Retries         int     `json:"retries"`
	P50Ms           float64 `json:"p50_ms"`
	P99Ms           float64 `json:"p99_ms"`
	P99TargetMs     float64 `json:"p99_target_ms"`
	P99Met          bool    `json:"p99_target_met"`
	Replayed        int     `json:"replayed_batches"` // sent again to another instance, twice each
	ReplayMismatch  int     `json:"replay_mismatches"`
	StoppedByTimer  bool    `json:"stopped_by_duration"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// PairResult is the concurrent-pair phase: batches sent to two instances
// at the same moment (after a barrier), with the same Idempotency-Key and
// the same body, as a client whose first attempt timed out and whose retry
// went to another instance behind the balancer.
type PairResult struct {
	Batches int `json:"batches"`
	Records int `json:"records"` // distinct records sent, each twice
	// Stored is how many rows the hub holds for those records; Duplicates
	// how many of them are second (or later) rows of one id. Stored must
	// equal Records and Duplicates be 0.
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	// Mismatch counts batches whose two answers differ, or do not say
	// every record was stored with the digest signed.
	Mismatch int `json:"answer_mismatches"`
	// InFlight counts answers "idempotency-in-flight" (the twin arrived on
	// the same instance while the first ran), sent again after a pause.
	InFlight int `json:"in_flight_retries"`
}

type benchOptions struct {
	intake, sync, batch, workers int
	database                     string
	instances, installers        int
	records, pairs               int
	duration                     time.Duration
}

// check refuses options out of range, as a usage error.
func (o benchOptions) check() error {
	switch {
	case o.intake < 0 || o.sync < 0 || o.records < 0 || o.pairs < 0:
		return cmdutil.Usagef("--intake, --sync, --records and --pairs must be 0 (skip) or more")
	case o.intake > maxRecords || o.sync > maxRecords || o.records > maxRecords:
		return cmdutil.Usagef("--intake, --sync and --records must each be at most %d", maxRecords)
	case o.pairs > maxPairs:
		return cmdutil.Usagef("--pairs must be at most %d", maxPairs)
	case o.batch < 1 || o.batch > hubapi.MaxBatch || o.workers < 1 || o.workers > 64:
		return cmdutil.Usagef("--workers must be 1 to 64, --batch 1 to %d", hubapi.MaxBatch)
	case o.instances < 1 || o.instances > maxInstances:
		return cmdutil.Usagef("--instances must be 1 to %d", maxInstances)
	case o.records > 0 && (o.installers < 1 || o.installers > maxInstallers):
		return cmdutil.Usagef("--installers must be 1 to %d", maxInstallers)
	case o.duration <= 0 || o.duration > maxDuration:
		return cmdutil.Usagef("--duration must be more than 0 and at most %s, e.g. 30s", maxDuration)
	case o.intake+o.sync+o.records+o.pairs == 0:
		return cmdutil.Usagef("--intake, --sync, --records and --pairs are all 0: nothing to measure")
	}
	return nil
}

func newCmdBench(f *cmdutil.Factory) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure intake, sync and many installers against hubs on loopback",
		Long: `Start hubs on loopback, by default one with a fresh SQLite database in a
temporary directory, and measure through the real HTTP API:

  intake  signed visit records verified and stored per second, sent in
          batches by --workers clients at once (target: at least 5,000/s)
  sync    'latchkey sync' of 10,000 records queued in a laptop's outbox,
          from first request to the last record marked sent (target: under 4 s)
  load    --installers simulated laptops, each with its own keys and outbox,
          enrolled through the API, syncing --records queued records in all
          at once with the uploader 'latchkey sync' runs, each request going
          to the next hub instance as a load balancer would; records/s and
          the p50/p99 latency of a batch request (target p99: under 1 s).
          Some answered batches are then sent again to another instance,
          with the same Idempotency-Key and with a new one: both must come
          back without storing anything twice.
  pairs   --pairs batches each sent to two instances at the same moment
          (the same instance twice with one), with the same Idempotency-Key
          and body: both answers must be the same, and each record stored
          once.

At the end every record the clients were told was stored must be there once
with the digest of what was signed (computed here, not taken from the hub's
answers): duplicates and lost records, each must be 0 (exit status 1
otherwise).

--intake, --sync and --records are at most 1,000,000 each and --duration
at most 10m; the whole run stops with exit status 1 if it takes longer than
--duration plus 20 minutes.

With --database postgres://… the hubs share a PostgreSQL database instead:
the bench makes a new schema (bench_ and a random suffix) for the run and
drops it after. --instances starts that many hubs in this process, on
their own ports, each with its own connection pool and the same signing key.
The server must be on this machine: every host the URL connects to (as the
PostgreSQL driver reads it, with PGHOST when it names none) must be a Unix
socket or resolve only to loopback addresses; service files are refused.
Intake requests go to the instances in turn, whatever --workers.

Records are signed before the clock starts: signing is the laptop's work, not
the hub's. Each figure is printed with its target.`,
		Example: `  latchkey hub bench
  latchkey hub bench --intake 50000 --json
  latchkey hub bench --database postgres://postgres@127.0.0.1:5432/latchkey --instances 2
  latchkey hub bench --database postgres://postgres@127.0.0.1:5432/latchkey --instances 2 \
      --installers 16 --records 20000 --duration 30s --intake 0 --sync 0`,
		Args: cmdutil.NoArgs("size it with --intake, --sync and --records"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			db := database{}
			if o.database != "" {
				var err error
				if db, err = parseDatabase("--database", o.database); err != nil {
					return err
				}
				if !db.postgres() {
					return cmdutil.Usagef("--database %s: the bench makes its own SQLite database; give --database only for PostgreSQL", db)
				}
				if err := loopbackOnly(cmd.Context(), db.dsn); err != nil {
					return err
				}
			}
			dir, err := os.MkdirTemp("", "latchkey-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			b := &bench{f: f, dir: dir, log: f.IO.ErrOut}
			res, err := b.run(cmd.Context(), db, o)
			if err != nil {
				return err
			}
			if f.Global.JSON {
				if err := cmdutil.WriteJSON(f.IO.Out, res); err != nil {
					return err
				}
			} else {
				printBench(f.IO.Out, res, o)
			}
			if res.Duplicates > 0 || res.Lost > 0 || replayMismatches(res) > 0 {
				return fmt.Errorf("hub bench: %d duplicates, %d lost records, %d replays or pairs answered differently; each must be 0",
					res.Duplicates, res.Lost, replayMismatches(res))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.intake, "intake", 20000, "records to send for the intake figure, at most 1,000,000 (0: skip it)")
	fl.IntVar(&o.sync, "sync", 10000, "records to queue for the sync figure, at most 1,000,000 (0: skip it)")
	fl.IntVar(&o.batch, "batch", hubapi.MaxBatch, "records per intake request")
	fl.IntVar(&o.workers, "workers", 2, "intake clients sending at once, 1 to 64 (their requests go to the instances in turn)")
	fl.StringVar(&o.database, "database", "", "a PostgreSQL server on this machine to run on, postgres://USER@HOST/DB (default: SQLite in a temporary directory)")
	fl.IntVar(&o.instances, "instances", 1, "hub instances to start on the one database, 1 to 8")
	fl.IntVar(&o.installers, "installers", 8, "simulated installers' laptops syncing at once in the load phase, 1 to 64")
	fl.IntVar(&o.records, "records", 10000, "records queued across the installers for the load phase, at most 1,000,000 (0: skip it)")
	fl.IntVar(&o.pairs, "pairs", 8, "batches sent to two instances at the same moment with the same Idempotency-Key, at most 1000 (0: skip them)")
	fl.DurationVar(&o.duration, "duration", 30*time.Second, "longest the load phase sends, at most 10m; records still queued then are reported as unsent")
	return cmd
}

func replayMismatches(r BenchResult) int {
	n := 0
	if r.Load != nil {
		n += r.Load.ReplayMismatch
	}
	if r.Pairs != nil {
		n += r.Pairs.Mismatch
	}
	return n
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func printBench(w io.Writer, res BenchResult, o benchOptions) {
	db := "SQLite"
	if res.Database == "postgres" {
		db = "PostgreSQL"
	}
	fmt.Fprintf(w, "hubs:   %d %s on %s, %d CPUs\n", res.Instances, plural(res.Instances, "instance", "instances"), db, res.CPUs)
	if res.IntakeRecords > 0 {
		fmt.Fprintf(w, "intake: %d records in %.2f s = %.0f records/s on %d CPUs (target ≥ %d/s: %s)\n",
			res.IntakeRecords, res.IntakeSeconds, res.IntakePerSecond, res.CPUs, intakeTarget, verdict(res.IntakeMet))
		fmt.Fprintf(w, "        p50 %.0f ms, p99 %.0f ms per request of up to %d records\n", res.IntakeP50Ms, res.IntakeP99Ms, o.batch)
	}
	if res.SyncRecords > 0 {
		fmt.Fprintf(w, "sync:   %d queued records sent in %.2f s (target < %.0f s for 10,000: %s)\n",
			res.SyncRecords, res.SyncSeconds, syncTarget.Seconds(), verdict(res.SyncMet))
	}
	if l := res.Load; l != nil {
		fmt.Fprintf(w, "load:   %d installers synced %d of %d records in %.2f s = %.0f records/s (target ≥ %d/s: %s)\n",
			l.Installers, l.Acknowledged, l.Queued, l.Seconds, l.PerSecond, l.Target, verdict(l.Met))
		fmt.Fprintf(w, "        p50 %.0f ms, p99 %.0f ms per batch request (target p99 < %.0f ms: %s); %d requests, %d retried\n",
			l.P50Ms, l.P99Ms, l.P99TargetMs, verdict(l.P99Met), l.Requests, l.Retries)
		if l.StoppedByTimer {
			fmt.Fprintf(w, "        --duration %s ran out: %d records still queued in the laptops' outboxes (not lost: the next sync sends them)\n",
				o.duration, l.Unsent)
		}
		if l.Replayed > 0 {
			ok := "each answered as the first time, nothing stored twice"
			if l.ReplayMismatch > 0 {
				ok = fmt.Sprintf("%d answered differently", l.ReplayMismatch)
			}
			to := "another instance"
			if res.Instances == 1 {
				to = "the hub"
			}
			fmt.Fprintf(w, "        %d answered batches sent again to %s, same and new Idempotency-Key: %s\n", l.Replayed, to, ok)
		}
	}
	if p := res.Pairs; p != nil {
		to := "two instances"
		if res.Instances == 1 {
			to = "the hub twice"
		}
		ok := "the same answers"
		if p.Mismatch > 0 {
			ok = fmt.Sprintf("%d answered differently", p.Mismatch)
		}
		fmt.Fprintf(w, "pairs:  %d batches of %d records sent to %s at the same moment, same Idempotency-Key: %s; %d rows stored, %d duplicates\n",
			p.Batches, p.Records/max(p.Batches, 1), to, ok, p.Stored, p.Duplicates)
	}
	fmt.Fprintf(w, "check:  %d acknowledged, %d stored; duplicates %d (target 0: %s), lost %d (target 0: %s)\n",
		res.Acknowledged, res.Stored, res.Duplicates, verdict(res.Duplicates == 0), res.Lost, verdict(res.Lost == 0))
}

type bench struct {
	f   *cmdutil.Factory
	dir string
	log io.Writer
}

// benchUser is a user enrolled on the bench hub, with a client for each
// instance.
type benchUser struct {
	id      identity.Identity
	name    string
	clients []*hubclient.Client
}

// benchHubs are the hub instances of a run.
type benchHubs struct {
	stores []hubsvc.Storage
	urls   []string
	admin  *hubsvc.Admin
}

// startHubs starts n hubs on loopback over db, each with its own store
// (connection pool) and the same key, pinned in the database as every hub
// pins it; stop stops them and closes the stores. On an error what was
// started is stopped and closed. made is set once a store opened (on
// PostgreSQL: the run's schema exists).
func (b *bench) startHubs(ctx context.Context, db database, n int, made *bool) (*benchHubs, func(), error) {
	h := &benchHubs{}
	var cancels []func()
	var served []chan error
	stop := func() {
		for _, c := range cancels {
			c()
		}
		for _, s := range served {
			<-s
		}
		for _, st := range h.stores {
			st.Close()
		}
	}
	fail := func(err error) (*benchHubs, func(), error) {
		stop()
		return nil, nil, err
	}
	key, err := hubsvc.LoadKeys(filepath.Join(b.dir, "hub"))
	if err != nil {
		return fail(err)
	}
	for range n {
		st, err := openStorage(ctx, db)
		if err != nil {
			return fail(err)
		}
		*made = true
		h.stores = append(h.stores, st)
		if pin, ok := st.(hubsvc.KeyPin); ok {
			if err := pin.PinKey(ctx, key.Public().Sign); err != nil {
				return fail(err)
			}
		}
		srv, err := hubsvc.NewServer(hubsvc.ServerConfig{Store: st, Signer: key.Sign})
		if err != nil {
			return fail(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- hubsvc.Serve(sctx, hubsvc.ServeConfig{Listener: ln, Handler: srv, Logger: slog.New(slog.DiscardHandler)})
		}()
		cancels, served = append(cancels, cancel), append(served, done)
		h.urls = append(h.urls, "http://"+ln.Addr().String())
	}
	if h.admin, err = hubsvc.NewAdmin(hubsvc.AdminConfig{Store: h.stores[0], Key: key}); err != nil {
		return fail(err)
	}
	return h, stop, nil
}

// enroll enrolls name through the API of instance at, with a new identity.
func (h *benchHubs) enroll(ctx context.Context, name, role string, at int) (benchUser, error) {
	code, _, err := h.admin.Enroll(ctx, name, role, 0)
	if err != nil {
		return benchUser{}, fmt.Errorf("bench: enroll %s: %w", name, err)
	}
	id, err := identity.Generate(crand.Reader)
	if err != nil {
		return benchUser{}, err
	}
	c, err := hubclient.New(h.urls[at%len(h.urls)], hubclient.Options{})
	if err != nil {
		return benchUser{}, err
	}
	resp, err := c.Enroll(ctx, code, id.Public())
	if err != nil {
		return benchUser{}, fmt.Errorf("bench: enroll %s: %w", name, err)
	}
	u := benchUser{id: id, name: name}
	for _, url := range h.urls {
		c, err := hubclient.New(url, hubclient.Options{Token: resp.Token})
		if err != nil {
			return benchUser{}, err
		}
		u.clients = append(u.clients, c)
	}
	return u, nil
}

// acked is what a client was told was stored: record id → digest.
type acked map[string]string

// run runs the bench within its overall limit, --duration plus
// benchMargin.
func (b *bench) run(ctx context.Context, db database, o benchOptions) (BenchResult, error) {
	limit := o.duration + benchMargin
	rctx, cancel := context.WithTimeoutCause(ctx, limit, errRunLimit)
	defer cancel()
	res, err := b.phases(rctx, db, o)
	if err != nil && errors.Is(context.Cause(rctx), errRunLimit) && ctx.Err() == nil {
		return res, cmdutil.WithHint(fmt.Errorf("%w (--duration %s + %s): %w", errRunLimit, o.duration, benchMargin, err),
			"measure fewer records: lower --intake, --sync or --records")
	}
	return res, err
}

// phases runs the bench's phases and the check.
func (b *bench) phases(ctx context.Context, db database, o benchOptions) (BenchResult, error) {
	res := BenchResult{CPUs: runtime.GOMAXPROCS(0), Database: "sqlite", Instances: o.instances,
		IntakeTarget: intakeTarget, SyncTargetSecond: syncTarget.Seconds()}
	made := false
	if db.postgres() {
		res.Database = "postgres"
		schema, err := benchSchema()
		if err != nil {
			return res, err
		}
		base := db.dsn
		if db.dsn, err = withSearchPath(base, schema); err != nil {
			return res, cmdutil.Usagef("--database: %v", err)
		}
		fmt.Fprintf(b.log, "using schema %s in %s\n", schema, pgstore.Redacted(base))
		defer func() {
			if !made {
				return // never created: nothing to drop
			}
			if err := dropSchema(context.WithoutCancel(ctx), db.dsn); err != nil {
				fmt.Fprintf(b.log, "could not drop schema %s: %v; drop it with: DROP SCHEMA %s CASCADE\n", schema, err, schema)
			}
		}()
	} else {
		db.path = filepath.Join(b.dir, "hub", "hub.db")
	}
	hubs, stop, err := b.startHubs(ctx, db, o.instances, &made)
	if err != nil {
		return res, err
	}
	defer stop()
	st := hubs.stores[0]
	want := acked{}

	// Intake.
	if o.intake > 0 {
		rep, err := hubs.enroll(ctx, "bench-intake", hubapi.RoleSales, 0)
		if err != nil {
			return res, err
		}
		fmt.Fprintf(b.log, "signing %d records…\n", o.intake)
		envs, digests, err := signRecords(ctx, rep.id, o.intake, "i")
		if err != nil {
			return res, err
		}
		fmt.Fprintf(b.log, "sending them in batches of %d from %d clients, each request to the next of %d %s…\n",
			o.batch, o.workers, o.instances, plural(o.instances, "hub", "hubs"))
		start := time.Now()
		lat, err := sendAll(ctx, rep.clients, envs, digests, o.batch, o.workers)
		if err != nil {
			return res, err
		}
		elapsed := time.Since(start)
		n, err := st.CountRecords(ctx, hubsvc.RecordFilter{})
		if err != nil {
			return res, err
		}
		if n != o.intake {
			return res, fmt.Errorf("bench: the hub holds %d records, %d were sent", n, o.intake)
		}
		for i, d := range digests {
			want[fmt.Sprintf("bench-i-%07d", i)] = d // computed here, not the hub's answer
		}
		res.IntakeRecords, res.IntakeSeconds = o.intake, elapsed.Seconds()
		res.IntakePerSecond = float64(o.intake) / elapsed.Seconds()
		res.IntakeMet = res.IntakePerSecond >= intakeTarget
		res.IntakeP50Ms, res.IntakeP99Ms = quantileMs(lat, 0.50), quantileMs(lat, 0.99)
	}

	// Sync: a laptop's outbox with syncN queued records, sent by the
	// uploader `latchkey sync` runs.
	if o.sync > 0 {
		laptop, err := hubs.enroll(ctx, "bench-sync", hubapi.RoleSales, 0)
		if err != nil {
			return res, err
		}
		lst, ob, err := b.laptop(ctx, "laptop", laptop.id)
		if err != nil {
			return res, err
		}
		defer lst.Close()
		fmt.Fprintf(b.log, "queueing %d records in a laptop's outbox…\n", o.sync)
		if err := queueRecords(ctx, lst, ob, record.KindVisit, "s", o.sync); err != nil {
			return res, err
		}
		up := &outbox.Uploader{Outbox: ob, Sender: laptop.clients[0]}
		start := time.Now()
		sum, err := up.Run(ctx, nil)
		elapsed := time.Since(start)
		if err != nil {
			return res, fmt.Errorf("bench: sync: %w", err)
		}
		if sum.Sent != o.sync || sum.Remaining != 0 || len(sum.Rejected) != 0 {
			return res, fmt.Errorf("bench: sync sent %d, refused %d, left %d of %d", sum.Sent, len(sum.Rejected), sum.Remaining, o.sync)
		}
		if err := sentEntries(ctx, ob, want); err != nil {
			return res, err
		}
		res.SyncRecords, res.SyncSeconds = o.sync, elapsed.Seconds()
		res.SyncMet = elapsed < syncTarget*time.Duration(o.sync)/10000
	}

	// Load: many installers at once.
	var unackedOK int
	if o.records > 0 {
		l, err := b.load(ctx, hubs, o, want)
		if err != nil {
			return res, err
		}
		res.Load = &l
		if l.StoppedByTimer {
			unackedOK = l.Unsent
		}
	}

	// Pairs: the same request to two instances at once.
	if o.pairs > 0 {
		p, err := b.pairRun(ctx, hubs, o, want)
		if err != nil {
			return res, err
		}
		res.Pairs = &p
	}

	// Every acknowledged record once, with its digest; nothing else.
	fmt.Fprintf(b.log, "checking what the hub holds…\n")
	stored, err := st.Records(ctx, hubsvc.RecordFilter{})
	if err != nil {
		return res, fmt.Errorf("bench: read back the records: %w", err)
	}
	n, err := st.CountRecords(ctx, hubsvc.RecordFilter{})
	if err != nil {
		return res, fmt.Errorf("bench: count the records: %w", err)
	}
	res.Stored, res.Acknowledged = n, len(want)
	res.Duplicates, res.Lost = compareStored(stored, want)
	if n != len(stored) {
		res.Duplicates += max(0, n-len(stored))
	}
	if l := res.Load; l != nil {
		res.Lost += l.Queued - l.Acknowledged - unackedOK
	}
	return res, nil
}

// compareStored counts records stored twice or never acknowledged
// (duplicates) and acknowledged records missing or stored with another
// digest (lost).
func compareStored(stored []hubsvc.Record, want acked) (dups, lost int) {
	seen := make(map[string]string, len(stored))
	for _, r := range stored {
		if _, twice := seen[r.ID]; twice {
			dups++
			continue
		}
		seen[r.ID] = r.Digest
		if _, ok := want[r.ID]; !ok {
			dups++
		}
	}
	for id, d := range want {
		if got, ok := seen[id]; !ok || got != d {
			lost++
		}
	}
	return dups, lost
}

// laptop opens a laptop's store and outbox under name in the bench's
// directory.
func (b *bench) laptop(ctx context.Context, name string, id identity.Identity) (*store.Store, *outbox.Outbox, error) {
	lst, err := store.Open(ctx, filepath.Join(b.dir, name, "latchkey.db"))
	if err != nil {
		return nil, nil, err
	}
	signer := func() (ed25519.PrivateKey, error) { return id.Sign, nil }
	return lst, outbox.New(lst, signer, time.Now, crand.Reader, journal.New(lst, signer, time.Now)), nil
}

// sentEntries adds the outbox's acknowledged entries to want.
func sentEntries(ctx context.Context, ob *outbox.Outbox, want acked) error {
	es, err := ob.List(ctx, outbox.Filter{State: outbox.Sent})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for _, e := range es {
		want[e.ID] = e.Digest
	}
	return nil
}

// installer is one simulated laptop of the load phase.
type installer struct {
	user   benchUser
	st     *store.Store
	ob     *outbox.Outbox
	sender *benchSender
	queued int
	sum    outbox.Summary
	err    error
}

// load runs the installers' phase and adds what they were told was stored
// to want.
func (b *bench) load(ctx context.Context, hubs *benchHubs, o benchOptions, want acked) (LoadResult, error) {
	l := LoadResult{Installers: o.installers, Queued: o.records, Target: intakeTarget,
		P99TargetMs: float64(latencyTarget.Milliseconds()), DurationSeconds: o.duration.Seconds()}
	lat := &latencies{}
	ins := make([]*installer, o.installers)
	defer func() {
		for _, in := range ins {
			if in != nil && in.st != nil {
				in.st.Close()
			}
		}
	}()
	for i := range ins {
		u, err := hubs.enroll(ctx, fmt.Sprintf("bench-installer-%02d", i), hubapi.RoleInstaller, i)
		if err != nil {
			return l, err
		}
		st, ob, err := b.laptop(ctx, filepath.Join("installers", fmt.Sprint(i)), u.id)
		if err != nil {
			return l, err
		}
		n := o.records / o.installers
		if i < o.records%o.installers {
			n++
		}
		ins[i] = &installer{user: u, st: st, ob: ob, queued: n,
			sender: &benchSender{clients: u.clients, next: uint64(i), lat: lat, keep: 1}}
	}
	fmt.Fprintf(b.log, "queueing %d records in %d installers' outboxes…\n", o.records, o.installers)
	if err := eachParallel(ctx, ins, func(i int, in *installer) error {
		return queueRecords(ctx, in.st, in.ob, record.KindSurvey, fmt.Sprintf("L%02d", i), in.queued)
	}); err != nil {
		return l, err
	}

	fmt.Fprintf(b.log, "syncing them from %d installers to %d %s at once (at most %s)…\n",
		o.installers, len(hubs.urls), plural(len(hubs.urls), "hub", "hubs"), o.duration)
	dctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() {
			up := &outbox.Uploader{Outbox: in.ob, Sender: in.sender}
			in.sum, in.err = up.Run(dctx, nil)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	l.StoppedByTimer = dctx.Err() != nil && ctx.Err() == nil
	cancel()
	if err := ctx.Err(); err != nil {
		return l, err
	}
	for i, in := range ins {
		if in.err != nil && !(l.StoppedByTimer && errors.Is(in.err, context.DeadlineExceeded)) {
			return l, fmt.Errorf("bench: installer %d: %w", i, in.err)
		}
		if len(in.sum.Rejected) > 0 {
			e := in.sum.Rejected[0]
			return l, fmt.Errorf("bench: installer %d: the hub refused %d records, e.g. %s: %s %s", i, len(in.sum.Rejected), e.ID, e.RejectCode, e.RejectReason)
		}
		l.Acknowledged += in.sum.Sent
		l.Unsent += in.sum.Remaining
		l.Retries += in.sum.Retries
		if err := sentEntries(ctx, in.ob, want); err != nil {
			return l, err
		}
	}
	l.Seconds = elapsed.Seconds()
	l.PerSecond = float64(l.Acknowledged) / elapsed.Seconds()
	l.Met = l.PerSecond >= intakeTarget
	ds := lat.all()
	l.Requests = len(ds)
	l.P50Ms, l.P99Ms = quantileMs(ds, 0.50), quantileMs(ds, 0.99)
	l.P99Met = l.Requests > 0 && quantile(ds, 0.99) < latencyTarget

	// Answered batches again, to another instance: with the same key the
	// first answer comes back; with a new key every record is refused as
	// already stored.
	var kept []keptBatch
	for _, in := range ins {
		kept = append(kept, in.sender.kept...)
	}
	if len(kept) > maxReplays {
		kept = kept[:maxReplays]
	}
	if len(kept) > 0 {
		fmt.Fprintf(b.log, "sending %d answered batches again…\n", len(kept))
	}
	for i, k := range kept {
		c := k.clients[(k.at+1)%len(k.clients)]
		again, err := c.SendBatch(ctx, k.key, k.envs)
		if err != nil {
			return l, fmt.Errorf("bench: replay of batch %s: %w", k.key, err)
		}
		if !sameAnswer(again, k.results) {
			l.ReplayMismatch++
		}
		fresh, err := c.SendBatch(ctx, fmt.Sprintf("bench-replay-%d-%s", i, k.key), k.envs)
		if err != nil {
			return l, fmt.Errorf("bench: resend of batch %s under a new key: %w", k.key, err)
		}
		for _, r := range fresh {
			if r.Status != hubapi.StatusRejected || r.Code != hubapi.CodeReplayed {
				l.ReplayMismatch++
				break
			}
		}
		l.Replayed++
	}
	return l, nil
}

// pairRun sends o.pairs batches, each to two instances at the same moment
// (instances i and i+1 in turn; the one instance twice when there is one)
// with the same Idempotency-Key and body, released together by a barrier,
// then counts the rows the hub holds for their records. It adds the
// records to want.
func (b *bench) pairRun(ctx context.Context, hubs *benchHubs, o benchOptions, want acked) (PairResult, error) {
	var p PairResult
	u, err := hubs.enroll(ctx, "bench-pairs", hubapi.RoleSales, 0)
	if err != nil {
		return p, err
	}
	per := min(o.batch, pairBatch)
	envs, digests, err := signRecords(ctx, u.id, o.pairs*per, "p")
	if err != nil {
		return p, err
	}
	n := len(u.clients)
	fmt.Fprintf(b.log, "sending %d batches to two instances at once, same Idempotency-Key…\n", o.pairs)
	var inFlight atomic.Int64
	for i := range o.pairs {
		lo, hi := i*per, (i+1)*per
		key := fmt.Sprintf("bench-pair-%d", i)
		var rs [2][]hubapi.RecordResult
		var errs [2]error
		var wg sync.WaitGroup
		barrier := make(chan struct{})
		for j, at := range [2]int{i % n, (i + 1) % n} {
			wg.Go(func() {
				<-barrier
				rs[j], errs[j] = sendPair(ctx, u.clients[at], key, envs[lo:hi], &inFlight)
			})
		}
		close(barrier)
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			return p, fmt.Errorf("bench: pair %d: %w", i, err)
		}
		if !sameAnswer(rs[0], rs[1]) || checkAnswers(rs[0], digests[lo:hi]) != nil || checkAnswers(rs[1], digests[lo:hi]) != nil {
			p.Mismatch++
		}
		for k, d := range digests[lo:hi] {
			want[fmt.Sprintf("bench-p-%07d", lo+k)] = d
		}
		p.Batches++
		p.Records += hi - lo
	}
	p.InFlight = int(inFlight.Load())
	stored, err := hubs.stores[0].Records(ctx, hubsvc.RecordFilter{Signer: u.name})
	if err != nil {
		return p, fmt.Errorf("bench: read back the pairs' records: %w", err)
	}
	p.Stored, p.Duplicates = countRows(stored)
	return p, nil
}

// countRows counts rows, and the rows beyond the first of each id.
func countRows(rs []hubsvc.Record) (rows, dups int) {
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		if seen[r.ID] {
			dups++
		}
		seen[r.ID] = true
	}
	return len(rs), dups
}

// sendPair sends one side of a pair; an "idempotency-in-flight" answer
// (its twin is being answered on the same instance) is sent again after a
// pause, and must then get the twin's answer.
func sendPair(ctx context.Context, c *hubclient.Client, key string, envs [][]byte, inFlight *atomic.Int64) ([]hubapi.RecordResult, error) {
	for {
		rs, err := c.SendBatch(ctx, key, envs)
		var he *hubapi.Error
		if !errors.As(err, &he) || he.Code != hubapi.CodeIdempotencyInFlight {
			return rs, err
		}
		inFlight.Add(1)
		select {
		case <-ctx.Done():
			return nil, errors.Join(err, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sameAnswer reports whether two answers to a batch say the same of each
// record.
func sameAnswer(a, b []hubapi.RecordResult) bool {
	return slices.EqualFunc(a, b, func(x, y hubapi.RecordResult) bool {
		return x.ID == y.ID && x.Status == y.Status && x.Digest == y.Digest && x.Code == y.Code
	})
}

// keptBatch is an answered batch request, to send again.
type keptBatch struct {
	clients []*hubclient.Client
	at      int // index of the instance that answered
	key     string
	envs    [][]byte
	results []hubapi.RecordResult
}

// benchSender is an installer's link to the hubs: each request goes to the
// next instance, as through a round-robin load balancer, and its latency is
// noted. Requests run to the end even when the uploader's context ends (at
// --duration), so a run stops between batches, never with one in flight.
type benchSender struct {
	clients []*hubclient.Client
	next    uint64
	lat     *latencies
	keep    int // answered batches to keep for replay
	kept    []keptBatch
}

func (s *benchSender) SendBatch(ctx context.Context, key string, envs [][]byte) ([]hubapi.RecordResult, error) {
	at := int(atomic.AddUint64(&s.next, 1) % uint64(len(s.clients)))
	start := time.Now()
	rs, err := s.clients[at].SendBatch(context.WithoutCancel(ctx), key, envs)
	s.lat.add(time.Since(start))
	if err == nil && len(s.kept) < s.keep {
		s.kept = append(s.kept, keptBatch{clients: s.clients, at: at, key: key, envs: slices.Clone(envs), results: rs})
	}
	return rs, err
}

// latencies collects request durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

func (l *latencies) all() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ds)
}

// quantile is the q-quantile of ds (nearest rank); 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func quantileMs(ds []time.Duration, q float64) float64 {
	return float64(quantile(ds, q).Microseconds()) / 1000
}

// eachParallel calls fn for every installer, on every CPU.
func eachParallel(ctx context.Context, ins []*installer, fn func(i int, in *installer) error) error {
	jobs := make(chan int)
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range jobs {
				errs[i] = fn(i, ins[i])
			}
		})
	}
	for i := range ins {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// benchVisit is a visit-shaped record payload (also used for the
// installers' survey-kind records: the hub checks headers and signatures,
// not the body).
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

// signRecords signs n records on every CPU, and returns each envelope and
// the digest of its payload (hex SHA-256, as outbox and hub compute it). It
// stops early when ctx ends.
func signRecords(ctx context.Context, id identity.Identity, n int, prefix string) ([][]byte, []string, error) {
	out := make([][]byte, n)
	digests := make([]string, n)
	keyID := record.KeyID(id.Public().Sign)
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for i := w; i < n; i += len(errs) {
				if i%1024 < len(errs) && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				env, err := record.Sign(record.KindVisit, benchPayload(prefix, i, now), id.Sign, keyID)
				if err == nil {
					digests[i], err = payloadDigest(env)
				}
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
	return out, digests, errors.Join(errs...)
}

// payloadDigest is the hex SHA-256 of env's payload, the record's digest.
func payloadDigest(env record.Envelope) (string, error) {
	body, err := env.Body()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

// checkAnswers checks a batch's answers say each record was stored with
// the digest computed here.
func checkAnswers(rs []hubapi.RecordResult, digests []string) error {
	if len(rs) != len(digests) {
		return fmt.Errorf("%d answers for %d records", len(rs), len(digests))
	}
	for i, r := range rs {
		switch {
		case r.Status != hubapi.StatusStored:
			return fmt.Errorf("record %s refused: %s %s", r.ID, r.Code, r.Reason)
		case r.Digest != digests[i]:
			return fmt.Errorf("record %s: the hub answered digest %q, the payload signed has %s", r.ID, r.Digest, digests[i])
		}
	}
	return nil
}

// sendAll sends envs in batches from workers clients at once, batch i
// going to instance i of clients (round robin, whatever the number of
// workers), checks every answer against digests, and returns each
// request's latency.
func sendAll(ctx context.Context, clients []*hubclient.Client, envs [][]byte, digests []string, batch, workers int) ([]time.Duration, error) {
	jobs := make(chan int)
	errs := make(chan error, workers)
	lat := make([]time.Duration, (len(envs)+batch-1)/batch)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for start := range jobs {
				end := min(start+batch, len(envs))
				c := clients[(start/batch)%len(clients)]
				t := time.Now()
				rs, err := c.SendBatch(ctx, fmt.Sprintf("bench-%d", start), envs[start:end])
				lat[start/batch] = time.Since(t)
				if err == nil {
					err = checkAnswers(rs, digests[start:end])
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
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("bench: intake: %w", err)
	}
	select {
	case err := <-errs:
		return nil, fmt.Errorf("bench: intake: %w", err)
	default:
		return lat, nil
	}
}

// queueRecords adds n records of kind to the outbox, a thousand per
// transaction, with ids bench-PREFIX-NNNNNNN.
func queueRecords(ctx context.Context, st *store.Store, ob *outbox.Outbox, kind record.Kind, prefix string, n int) error {
	now := time.Now().UTC()
	for start := 0; start < n; start += 1000 {
		err := st.Tx(ctx, func(tx *sql.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				if _, err := ob.Add(ctx, tx, kind, benchPayload(prefix, i, now)); err != nil {
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

// benchSchema is a new schema name for one run.
func benchSchema() (string, error) {
	var b [6]byte
	if _, err := crand.Read(b[:]); err != nil {
		return "", err
	}
	return "bench_" + hex.EncodeToString(b[:]), nil
}
