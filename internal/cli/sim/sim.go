// Package sim is `latchkey sim`: a virtual unit on a pseudo-terminal, for
// training and for tests without hardware. The unit lives in internal/sim;
// this command turns flags into its options and reports where it is.
package sim

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/paths"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/sim"
)

// Options are what `latchkey sim` runs with.
type Options struct {
	IO     *cmdutil.IO
	JSON   func() bool
	Dirs   func() (paths.Dirs, error)
	Log    func() *slog.Logger
	Now    func() time.Time
	Getpid func() int

	Link       string
	State      string
	Baud       int
	BufSize    int
	BufCount   int
	Seed       uint64
	ResetDelay time.Duration
	Faults     sim.Faults
	// Factory, if set, is a test factory directory (sim.DirFactory) that
	// issues the certificate chain of a unit made fresh.
	Factory string
	// Counterfeit makes a unit made fresh a fake of this kind.
	Counterfeit sim.Counterfeit

	stall, reboot, pull, counterfeit string
	operatorKey                      string
}

const long = `Run a virtual unit on a pseudo-terminal: a device that speaks SMP over a
serial port as a unit does (OS, image management, statistics and settings
groups; MCUboot-style image slots; latchkey's group 64: identity and
attestation, status, self-tests, write-once key slots, events,
countersigning, door configuration, decommissioning), for training and for
testing latchkey without hardware. Point any latchkey command at the
printed link path with --port. It serves until interrupted (Ctrl-C) or
terminated.

The link path is a symlink to the pty. A reset, a reboot fault or a cable
pull closes the pty and, after a delay, creates a new one and re-points the
link, as a USB device re-enumerates; clients reopen the link.

Without --state the unit's memory (identity, keys and certificates, image
slots, a partly uploaded image, key slots, door configuration, settings,
event log) lives in memory and is gone on exit; with --state DIR it is kept
in DIR, written crash-safely, and the link defaults to DIR/tty. The
identity, its keys and a test certificate chain (from a test root derived
from --seed, which no production build trusts) are derived from --seed on
first start. Burns open keys sealed by latchkey to the unit's key, as a
real unit does, and store them in write-once slots.

With --factory DIR the chain comes instead from a test factory kept in DIR:
on first use a root (DIR/root.pem, its key DIR/root.key) and a batch
intermediate are made there; later runs reuse them, so every unit made
with DIR chains to the same root, which latchkey can be told to trust
(latchkey trust add DIR/root.pem). Its keys are unencrypted and its root
says "not for production". A unit keeps the chain it was made with, so
--factory (like --counterfeit) applies to a unit made fresh: a new --state
directory, or none.

With --counterfeit MODE the unit is a fake that latchkey must refuse when
it verifies the attestation; it answers everything else as a real unit:
  unknown-root     its chain comes from a throwaway root of its own
  expired          its unit certificate's validity ended in the past
  cloned           it presents the serial, certificate and public keys of
                   another genuine unit of the same factory, but holds only
                   its own private keys, so its signatures do not verify
  replayed         it answers every attestation with a signature over a
                   nonce it captured once, not over the one asked
  serial-mismatch  its certificate names another serial than its identity

At start the sim prints the unit's label code on stderr, as printed on a
real unit's box.

Faults (all reproducible with --seed):
  --noise RATE          flip one bit of a byte with this probability, both ways
  --drop RATE           lose a byte with this probability, both ways
  --chatter RATE        print a console log line after a response with this
                        probability; --chatter-every D prints one every D
  --stall WHEN          answer nothing, and lose what arrives, for --stall-for
  --reboot-at WHEN      reboot instead of answering that request
  --pull-at WHEN        handle that request, then pull the cable (its answer
                        is lost); --pull-after-bytes N pulls it once N bytes
                        crossed the line; the port is back after --pull-for
WHEN is a request count (20: the 20th request), an operation (upload), or an
operation and occurrence (upload#5); operations: echo, taskstat, datetime,
reset, params, info, image-state, upload, erase, slot-info, stats-read,
stats-list, settings, settings-delete, or GROUP:ID such as 64:1 (latchkey's
group 64: 0 identity, 1 attest, 6 burn, 9 countersign, 11 decommission).

While it runs, the sim writes <cache dir>/sims/<pid>.json so 'latchkey
ports' can list it; the file is removed on exit.`

// NewCmdSim is `latchkey sim`.
func NewCmdSim(f *cmdutil.Factory) *cobra.Command { return newCmdSim(f, nil) }

func newCmdSim(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:     f.IO,
		JSON:   func() bool { return f.Global.JSON },
		Dirs:   f.Dirs,
		Log:    func() *slog.Logger { return f.Log },
		Now:    f.Now,
		Getpid: os.Getpid,
	}
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a virtual unit on a pseudo-terminal",
		Long:  long,
		Example: `  latchkey sim
  latchkey sim --link /tmp/unit --state ~/units/demo --seed 7
  latchkey sim --baud 115200 --buf-size 384
  latchkey sim --noise 0.001 --chatter 0.2 --pull-at upload#10 --pull-for 3s
  latchkey sim --factory ~/latchkey-factory --state ~/units/u1
  latchkey sim --factory ~/latchkey-factory --counterfeit cloned`,
		Args: cmdutil.NoArgs("it takes flags only"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			for _, t := range []struct {
				flag string
				in   string
				out  *sim.Trigger
			}{{"--stall", opts.stall, &opts.Faults.Stall}, {"--reboot-at", opts.reboot, &opts.Faults.Reboot}, {"--pull-at", opts.pull, &opts.Faults.Pull}} {
				if *t.out, err = sim.ParseTrigger(t.in); err != nil {
					return cmdutil.Usagef("%s: %v", t.flag, err)
				}
			}
			for _, r := range []struct {
				flag string
				v    float64
			}{{"--noise", opts.Faults.Noise}, {"--drop", opts.Faults.Drop}, {"--chatter", opts.Faults.Chatter}} {
				if r.v < 0 || r.v > 1 {
					return cmdutil.Usagef("%s must be a probability between 0 and 1, e.g. 0.001", r.flag)
				}
			}
			if opts.Baud < 0 {
				return cmdutil.Usagef("--baud must be 0 (unpaced) or a line rate such as 115200")
			}
			if opts.BufSize != 0 && (opts.BufSize < 64 || opts.BufSize > 65533) {
				return cmdutil.Usagef("--buf-size must be between 64 and 65533 bytes")
			}
			if opts.BufCount < 0 {
				return cmdutil.Usagef("--buf-count must be 1 or more")
			}
			if opts.Faults.PullAfterBytes < 0 {
				return cmdutil.Usagef("--pull-after-bytes must be 0 (never) or more")
			}
			if opts.Counterfeit, err = sim.ParseCounterfeit(opts.counterfeit); err != nil {
				return cmdutil.Usagef("--counterfeit: %v", err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return simRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Link, "link", "", "make this path a symlink to the pty (default: DIR/tty with --state, else a path under $TMPDIR; printed)")
	fl.StringVar(&opts.State, "state", "", "keep the unit's memory in this directory across restarts")
	fl.IntVar(&opts.Baud, "baud", 0, "pace bytes both ways as a UART at this rate would, 8N1 (0: unpaced)")
	fl.IntVar(&opts.BufSize, "buf-size", sim.DefaultBufSize, "buffer size (buf_size) to advertise, in bytes")
	fl.IntVar(&opts.BufCount, "buf-count", sim.DefaultBufCount, "buffer count (buf_count) to advertise")
	fl.Uint64Var(&opts.Seed, "seed", 1, "seed for the identity of a new unit and for every fault")
	fl.DurationVar(&opts.ResetDelay, "reset-delay", sim.DefaultResetDelay, "how long the port is gone after a reset")
	fl.Float64Var(&opts.Faults.Noise, "noise", 0, "probability of a bit flip in each byte, both ways")
	fl.Float64Var(&opts.Faults.Drop, "drop", 0, "probability of losing each byte, both ways")
	fl.Float64Var(&opts.Faults.Chatter, "chatter", 0, "probability of a console log line after each response")
	fl.DurationVar(&opts.Faults.ChatterEvery, "chatter-every", 0, "print a console log line at this interval (0: never)")
	fl.StringVar(&opts.stall, "stall", "", "stop answering at WHEN (a request count, an operation, or operation#n)")
	fl.DurationVar(&opts.Faults.StallFor, "stall-for", sim.DefaultStallFor, "how long a stall lasts")
	fl.StringVar(&opts.reboot, "reboot-at", "", "reboot the unit at WHEN instead of answering")
	fl.StringVar(&opts.pull, "pull-at", "", "pull the cable at WHEN, after handling that request")
	fl.Int64Var(&opts.Faults.PullAfterBytes, "pull-after-bytes", 0, "pull the cable once this many bytes crossed the line (0: never)")
	fl.DurationVar(&opts.Faults.PullFor, "pull-for", sim.DefaultPullFor, "how long a pulled cable stays out")
	fl.StringVar(&opts.Factory, "factory", "", "issue a new unit's certificates from the test factory in this directory (made if missing)")
	fl.StringVar(&opts.counterfeit, "counterfeit", "", "make a new unit a fake: unknown-root, expired, cloned, replayed or serial-mismatch")
	_ = cmd.RegisterFlagCompletionFunc("counterfeit", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		for _, m := range sim.CounterfeitModes {
			names = append(names, string(m))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	fl.StringVar(&opts.operatorKey, "operator-key", "", "require decommission requests signed by this operator key (base64; 'latchkey hub key' prints the hub's)")
	_ = cmd.MarkFlagDirname("factory")
	cmd.AddCommand(newCmdInspect(f, nil), newCmdFaults(f))
	return cmd
}

func simRun(ctx context.Context, opts *Options) error {
	pid := opts.Getpid()
	link := opts.Link
	if link == "" {
		if opts.State != "" {
			link = filepath.Join(opts.State, "tty")
		} else {
			link = filepath.Join(os.TempDir(), "latchkey-sim-"+strconv.Itoa(pid))
		}
	}
	if abs, err := filepath.Abs(link); err == nil {
		link = abs
	}
	unit, err := sim.Open(sim.Config{Dir: opts.State, Seed: opts.Seed})
	if err != nil {
		return cmdutil.WithHint(err, "fix or move the state directory, or drop --state for a unit in memory")
	}
	// Group 64, latchkey's own commands. Init makes the identity keys and
	// certificate chain on the unit's first start, so a failure shows here.
	cfg := sim.LatchkeyConfig{Seed: opts.Seed, Unseal: provision.OpenKey, Counterfeit: opts.Counterfeit}
	if opts.operatorKey != "" {
		k, err := base64.StdEncoding.DecodeString(opts.operatorKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return cmdutil.Usagef("--operator-key: want the operator's Ed25519 public key in base64 (32 bytes), as 'latchkey hub key' prints it")
		}
		cfg.OperatorKey = ed25519.PublicKey(k)
	}
	if opts.Factory != "" {
		factory := sim.DirFactory{Dir: opts.Factory, Now: opts.Now}
		if _, err := factory.RootDER(); err != nil {
			return cmdutil.WithHint(err, "give --factory an empty or new directory, or one a sim made before")
		}
		cfg.Chain = factory
		fmt.Fprintf(opts.IO.ErrOut, "test factory root: %s (trust it with: latchkey trust add --allow-test-root %s)\n", factory.RootPath(), factory.RootPath())
	}
	lk := sim.NewLatchkey(cfg)
	ident, err := lk.Init(unit)
	if err != nil {
		return cmdutil.WithHint(err, "fix or move the state directory, or drop --state for a unit in memory")
	}
	fmt.Fprintf(opts.IO.ErrOut, "label code: %s (serial %s)\n", ident.Label, ident.Serial)
	if ident.Counterfeit != sim.Genuine {
		fmt.Fprintf(opts.IO.ErrOut, "counterfeit unit: %s\n", ident.Counterfeit)
	}
	discovery := ""
	if d, err := opts.Dirs(); err == nil {
		discovery = sim.DiscoveryFile(d.Cache, pid)
		defer func() { _ = os.Remove(discovery) }()
	}
	run := sim.Running{Link: link, PID: pid, Serial: unit.Identity().Serial, State: opts.State, Started: opts.Now().UTC()}
	var printErr error
	onLink := func(li sim.LinkInfo) {
		run.PTY = li.PTY
		if discovery != "" {
			if err := sim.Announce(discovery, run); err != nil {
				opts.Log().Warn("could not write the discovery file", "err", err)
			}
		}
		if li.Up > 1 {
			fmt.Fprintf(opts.IO.ErrOut, "port back on %s (%s)\n", li.Link, li.PTY)
			return
		}
		if opts.JSON() {
			printErr = cmdutil.WriteJSON(opts.IO.Out, run)
		} else {
			_, printErr = fmt.Fprintln(opts.IO.Out, link)
			fmt.Fprintf(opts.IO.ErrOut, "virtual unit %s, label %s, on %s (%s); Ctrl-C stops it\n", run.Serial, ident.Label, link, li.PTY)
		}
	}
	err = sim.Serve(ctx, sim.Options{
		Unit:       unit,
		Link:       link,
		Baud:       opts.Baud,
		Params:     sim.Params{BufSize: opts.BufSize, BufCount: opts.BufCount},
		Faults:     opts.Faults,
		Seed:       opts.Seed,
		ResetDelay: opts.ResetDelay,
		Extensions: []sim.Extension{lk.Extension()},
		OnLink:     onLink,
		Log:        opts.Log(),
	})
	if err != nil {
		return err
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		fmt.Fprintln(opts.IO.ErrOut, "virtual unit stopped")
	}
	return printErr
}
