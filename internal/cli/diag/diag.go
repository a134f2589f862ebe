// Package diag is `latchkey diag`: support's view of a unit (status, live
// watch, events, self-tests, support bundle). The rules live in
// internal/diag; these commands turn flags into calls on it and its results
// into text, tables or JSON.
package diag

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/diag"
)

// NewCmdDiag groups the diag verbs.
func NewCmdDiag(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diag",
		Short: "Diagnose a unit: status, events, self-tests, support bundle",
		Long: `Diagnose a unit on a serial port: read its identity, firmware, live state and
counters, follow its event log, run its self-tests, or write a support bundle
with secrets redacted for engineering. The commands also read any other SMP
device as far as its standard groups go, and say that it is not a latchkey
unit. Each takes --port (default: the only unit present) and --timeout.`,
		Example: `  latchkey diag status
  latchkey diag watch --port /dev/ttyACM0
  latchkey diag events --since 120 --follow
  latchkey diag selftest supply
  latchkey diag bundle -o unit.tar.gz`,
	}
	cmd.AddCommand(NewCmdStatus(f, nil), NewCmdWatch(f, nil), NewCmdEvents(f, nil), NewCmdSelftest(f, nil), NewCmdBundle(f, nil))
	return cmd
}

// linkFunc opens the unit lazily, so flag errors never touch a port.
type linkFunc func(ctx context.Context) (*unitopt.Link, error)

func openLink(f *cmdutil.Factory, fl *unitopt.Flags) linkFunc {
	return func(ctx context.Context) (*unitopt.Link, error) { return unitopt.Open(ctx, f, *fl) }
}

// withUnit opens the link, runs fn on its unit and closes the link.
func withUnit(ctx context.Context, open linkFunc, fn func(u diag.Unit, port string) error) (err error) {
	l, err := open(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); err == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
			err = cerr
		}
	}()
	return hint(fn(l.Unit, l.Path))
}

// hint adds what to do next to the errors a unit command commonly meets.
func hint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, device.ErrNotLatchkey):
		return cmdutil.WithHint(err, "'latchkey diag status' shows what this device does report")
	case errors.Is(err, device.ErrProtocol):
		return cmdutil.WithHint(err, "update latchkey, or 'latchkey diag bundle' and send the bundle to engineering")
	}
	return err
}

// register adds the unit flags to cmd.
func register(cmd *cobra.Command, fl *unitopt.Flags) { fl.Register(cmd) }
