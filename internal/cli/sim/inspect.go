package sim

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sim"
)

// InspectOptions are what `latchkey sim inspect` runs with.
type InspectOptions struct {
	IO   *cmdutil.IO
	JSON func() bool

	State         string
	RevealSecrets bool
}

const inspectLong = `Show what a virtual unit keeps in its state directory (the DIR of
'latchkey sim --state DIR') without running it: serial, label code, the
public halves of its identity keys, its certificate chain, its counter and
its key slots (state, job, counter, key check value). The directory is only
read, so this works whether or not a sim is serving the unit.

--reveal-secrets also prints each written slot's building key in hex. Only
the sim can do this, to check what a burn stored; a real unit never gives
a key back, by any command.`

func newCmdInspect(f *cmdutil.Factory, runF func(context.Context, *InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }}
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Show a virtual unit's stored state without running it",
		Long:  inspectLong,
		Example: `  latchkey sim inspect --state ~/units/demo
  latchkey sim inspect --state ~/units/demo --json
  latchkey sim inspect --state ~/units/demo --reveal-secrets`,
		Args: cmdutil.NoArgs("it takes flags only"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.State == "" {
				return cmdutil.Usagef("--state is required: the directory a sim keeps the unit in (latchkey sim --state DIR)")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return inspectRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.State, "state", "", "the unit's state directory, as given to latchkey sim --state")
	fl.BoolVar(&opts.RevealSecrets, "reveal-secrets", false, "also show the slot keys in hex (sim only: a real unit never reveals them)")
	_ = cmd.MarkFlagDirname("state")
	return cmd
}

func inspectRun(_ context.Context, opts *InspectOptions) error {
	in, err := sim.Inspect(opts.State, sim.InspectOptions{RevealSecrets: opts.RevealSecrets})
	switch {
	case errors.Is(err, sim.ErrNoState):
		return cmdutil.WithHint(err, "give --state the directory of 'latchkey sim --state DIR'")
	case errors.Is(err, sim.ErrCorrupt):
		return cmdutil.WithHint(err, "the state directory is damaged; move it aside to start a new unit")
	case err != nil:
		return err
	}
	if opts.JSON() {
		return cmdutil.WriteJSON(opts.IO.Out, in)
	}
	w := opts.IO.Out
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-12s %s\n", name+":", v)
		}
	}
	field("serial", in.Serial)
	field("label", in.Label)
	field("model", in.Model)
	field("hardware", in.Hardware)
	field("firmware", in.Firmware)
	field("state", in.State)
	field("counterfeit", string(in.Counterfeit))
	field("sign key", in.SignKey)
	field("kex key", in.KexKey)
	field("counter", strconv.FormatUint(in.Counter, 10))
	field("boots", strconv.FormatUint(in.Boots, 10))
	if in.Label == "" {
		fmt.Fprintln(w, "no latchkey identity yet: the unit was never served with its group 64")
		return nil
	}
	for i, c := range in.Chain {
		if c.Error != "" {
			fmt.Fprintf(w, "cert %d:     does not parse: %s\n", i, c.Error)
			continue
		}
		fmt.Fprintf(w, "cert %d:     %s (issuer %s, valid %s to %s)\n", i, c.Subject, c.Issuer, c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"))
	}
	fmt.Fprintln(w)
	header := []string{"SLOT", "STATE", "JOB", "COUNTER", "KCV"}
	if in.SecretsRevealed {
		header = append(header, "KEY")
	}
	var rows [][]string
	for _, s := range in.Slots {
		counter := ""
		if s.Counter > 0 {
			counter = strconv.FormatUint(s.Counter, 10)
		}
		kcv := s.KCV
		if kcv != "" && s.KCVAlg != "" {
			kcv += " (" + s.KCVAlg + ")"
		}
		r := []string{strconv.Itoa(int(s.Slot)), s.State, s.Job, counter, kcv}
		if in.SecretsRevealed {
			r = append(r, s.Key)
		}
		rows = append(rows, r)
	}
	if err := cmdutil.Table(opts.IO, header, rows, 2); err != nil {
		return err
	}
	if in.SecretsRevealed {
		fmt.Fprintln(opts.IO.ErrOut, "shown: slot keys in clear (a real unit never reveals them)")
	}
	return nil
}
