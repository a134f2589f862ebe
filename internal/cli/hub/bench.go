package hub

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
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
)

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

	// Stored is how many records the hub holds at the end, Acknowledged
	// how many the clients were told were stored.
	Stored       int `json:"stored"`
	Acknowledged int `json:"acknowledged"`
	// Duplicates: records stored twice, or stored under an id no client
	// was told about. Lost: records a client was told were stored that the
	// hub does not hold (or holds with another digest), and records queued
	// that were never acknowledged although --duration did not run out.
	// Both must be 0.
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

type benchOptions struct {
	intake, sync, batch, workers int
	database                     string
	instances, installers        int
	records                      int
	duration                     time.Duration
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

At the end every record the clients were told was stored must be there once
with the digest they signed: duplicates and lost records, each must be 0
(exit status 1 otherwise).

With --database postgres://… the hubs share a PostgreSQL database instead:
the bench makes a new schema (bench_ and a random suffix) for the run and
drops it after. --instances starts that many hubs in this process, on
their own ports, each with its own connection pool and the same signing key.
The server must be on this machine (loopback or a Unix socket).

Records are signed before the clock starts: signing is the laptop's work, not
the hub's. Each figure is printed with its target.`,
		Example: `  latchkey hub bench
  latchkey hub bench --intake 50000 --json
  latchkey hub bench --database postgres://postgres@127.0.0.1:5432/latchkey --instances 2
  latchkey hub bench --database postgres://postgres@127.0.0.1:5432/latchkey --instances 2 \
      --installers 16 --records 20000 --duration 30s --intake 0 --sync 0`,
		Args: cmdutil.NoArgs("size it with --intake, --sync and --records"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.intake < 0 || o.sync < 0 || o.records < 0:
				return cmdutil.Usagef("--intake, --sync and --records must be 0 (skip) or more")
			case o.batch < 1 || o.batch > hubapi.MaxBatch || o.workers < 1:
				return cmdutil.Usagef("--workers must be at least 1, --batch 1 to %d", hubapi.MaxBatch)
			case o.instances < 1 || o.instances > maxInstances:
				return cmdutil.Usagef("--instances must be 1 to %d", maxInstances)
			case o.records > 0 && (o.installers < 1 || o.installers > maxInstallers):
				return cmdutil.Usagef("--installers must be 1 to %d", maxInstallers)
			case o.duration <= 0:
				return cmdutil.Usagef("--duration must be more than 0, e.g. 30s")
			case o.intake+o.sync+o.records == 0:
				return cmdutil.Usagef("--intake, --sync and --records are all 0: nothing to measure")
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
				if err := loopbackOnly(db.dsn); err != nil {
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
			if res.Duplicates > 0 || res.Lost > 0 || (res.Load != nil && res.Load.ReplayMismatch > 0) {
				return fmt.Errorf("hub bench: %d duplicates, %d lost records, %d replays answered differently; each must be 0",
					res.Duplicates, res.Lost, replayMismatches(res))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.intake, "intake", 20000, "records to send for the intake figure (0: skip it)")
	fl.IntVar(&o.sync, "sync", 10000, "records to queue for the sync figure (0: skip it)")
	fl.IntVar(&o.batch, "batch", hubapi.MaxBatch, "records per intake request")
	fl.IntVar(&o.workers, "workers", 2, "intake clients sending at once")
	fl.StringVar(&o.database, "database", "", "a PostgreSQL server on this machine to run on, postgres://USER@HOST/DB (default: SQLite in a temporary directory)")
	fl.IntVar(&o.instances, "instances", 1, "hub instances to start on the one database, 1 to 8")
	fl.IntVar(&o.installers, "installers", 8, "simulated installers' laptops syncing at once in the load phase, 1 to 64")
	fl.IntVar(&o.records, "records", 10000, "records queued across the installers for the load phase (0: skip it)")
	fl.DurationVar(&o.duration, "duration", 30*time.Second, "longest the load phase sends; records still queued then are reported as unsent")
	return cmd
}

func replayMismatches(r BenchResult) int {
	if r.Load == nil {
		return 0
	}
	return r.Load.ReplayMismatch
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
// (connection pool) and the same key; stop stops them and closes the stores.
func (b *bench) startHubs(ctx context.Context, db database, n int) (h *benchHubs, stop func(), err error) {
	h = &benchHubs{}
	var cancels []func()
	var served []chan error
	stop = func() {
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
	defer func() {
		if err != nil {
			stop()
		}
	}()
	key, err := hubsvc.LoadKeys(filepath.Join(b.dir, "hub"))
	if err != nil {
		return nil, nil, err
	}
	for range n {
		st, err := openStorage(ctx, db)
		if err != nil {
			return nil, nil, err
		}
		h.stores = append(h.stores, st)
		srv, err := hubsvc.NewServer(hubsvc.ServerConfig{Store: st, Signer: key.Sign})
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
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
		return nil, nil, err
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

func (b *bench) run(ctx context.Context, db database, o benchOptions) (BenchResult, error) {
	res := BenchResult{CPUs: runtime.GOMAXPROCS(0), Database: "sqlite", Instances: o.instances,
		IntakeTarget: intakeTarget, SyncTargetSecond: syncTarget.Seconds()}
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
			if err := dropSchema(context.WithoutCancel(ctx), db.dsn); err != nil {
				fmt.Fprintf(b.log, "could not drop schema %s: %v; drop it with: DROP SCHEMA %s CASCADE\n", schema, err, schema)
			}
		}()
	} else {
		db.path = filepath.Join(b.dir, "hub", "hub.db")
	}
	hubs, stop, err := b.startHubs(ctx, db, o.instances)
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
		envs, err := signRecords(rep.id, o.intake, "i")
		if err != nil {
			return res, err
		}
		fmt.Fprintf(b.log, "sending them in batches of %d from %d clients to %d %s…\n", o.batch, o.workers, o.instances, plural(o.instances, "hub", "hubs"))
		start := time.Now()
		lat, digests, err := sendAll(ctx, rep.clients, envs, o.batch, o.workers)
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
			want[fmt.Sprintf("bench-i-%07d", i)] = d
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

// sendAll sends envs in batches from workers clients at once, worker w
// talking to instance w of clients (round robin), and returns each
// request's latency and each record's stored digest, in order.
func sendAll(ctx context.Context, clients []*hubclient.Client, envs [][]byte, batch, workers int) ([]time.Duration, []string, error) {
	jobs := make(chan int)
	errs := make(chan error, workers)
	digests := make([]string, len(envs))
	lat := make([]time.Duration, (len(envs)+batch-1)/batch)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		c := clients[w%len(clients)]
		wg.Go(func() {
			for start := range jobs {
				end := min(start+batch, len(envs))
				t := time.Now()
				rs, err := c.SendBatch(ctx, fmt.Sprintf("bench-%d", start), envs[start:end])
				lat[start/batch] = time.Since(t)
				if err == nil && len(rs) != end-start {
					err = fmt.Errorf("%d answers for %d records", len(rs), end-start)
				}
				if err == nil {
					for i, r := range rs {
						if r.Status != hubapi.StatusStored {
							err = fmt.Errorf("record %s refused: %s %s", r.ID, r.Code, r.Reason)
							break
						}
						digests[start+i] = r.Digest
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
		return nil, nil, fmt.Errorf("bench: intake: %w", err)
	}
	select {
	case err := <-errs:
		return nil, nil, fmt.Errorf("bench: intake: %w", err)
	default:
		return lat, digests, nil
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
