package hub

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

func newCmdFaults(f *cmdutil.Factory) *cobra.Command {
	var count, perRound int
	var seed uint64
	var dir string
	var keep bool
	cmd := &cobra.Command{
		Use:   "faults",
		Short: "Kill the client and the hub at random moments; check nothing is lost or doubled",
		Long: `Run a fault campaign with real processes: a hub on loopback and a laptop
(its own LATCHKEY_HOME) that logs visits and syncs them. Each round queues
some visits, starts 'latchkey sync' and, at random moments, kills the sync
(kill -9) and/or the hub while it takes records in, then restarts the hub. At
the end one clean sync runs and the campaign checks that the hub holds every
queued record exactly once, with the digest the laptop signed, and that the
laptop has nothing left unsent.

The seed is printed first; run again with --seed to make the same choices.
Exit status 1 when a record was lost, duplicated or altered.`,
		Example: "  latchkey hub faults --count 50\n  latchkey hub faults --count 20 --seed 42 --json",
		Args:    cmdutil.NoArgs("set the rounds with --count"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if count < 1 || perRound < 1 {
				return cmdutil.Usagef("--count and --per-round must be at least 1")
			}
			if !cmd.Flags().Changed("seed") {
				var b [8]byte
				if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
					return err
				}
				seed = binary.LittleEndian.Uint64(b[:]) >> 1
			}
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the latchkey binary: %w", err)
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "latchkey-faults-"); err != nil {
					return err
				}
				if !keep {
					defer os.RemoveAll(dir)
				}
			}
			fmt.Fprintf(f.IO.ErrOut, "fault campaign: seed %d, %d rounds of %d visits, in %s\n", seed, count, perRound, dir)
			c := &Campaign{Binary: bin, Dir: dir, Rounds: count, Seed: seed, PerRound: perRound, Log: f.IO.ErrOut}
			res, err := c.Run(cmd.Context())
			if f.Global.JSON && res.HubRecords > 0 {
				if jerr := cmdutil.WriteJSON(f.IO.Out, res); jerr != nil {
					return jerr
				}
			} else if err == nil {
				fmt.Fprintf(f.IO.Out, "seed %d: %d rounds, %d records queued, %d client kills, %d hub kills; hub holds %d, each exactly once (%ss)\n",
					res.Seed, res.Rounds, res.Queued, res.ClientKills, res.HubKills, res.HubRecords, res.Seconds)
			}
			if err != nil {
				return cmdutil.WithHint(err, fmt.Sprintf("rerun with --seed %d --dir DIR --keep to look at the hub log and both databases", seed))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&count, "count", 20, "rounds to run")
	fl.Uint64Var(&seed, "seed", 0, "seed for the random choices (default: a new one, printed)")
	fl.IntVar(&perRound, "per-round", 100, "visits queued each round")
	fl.StringVar(&dir, "dir", "", "working directory (default: a temporary one, removed after)")
	fl.BoolVar(&keep, "keep", false, "keep the temporary working directory")
	return cmd
}
