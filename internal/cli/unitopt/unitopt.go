// Package unitopt is what every command that talks to a unit shares: the
// --port and --timeout flags, picking the only unit present when --port is
// left out (and saying which), and opening the port, the SMP client and the
// typed device client over it.
package unitopt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/ports"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/serialport"
	"github.com/latchkey/latchkey/internal/smp"
)

// ErrNoUnit means no unit was found and none was named.
var ErrNoUnit = errors.New("no latchkey unit found")

// Flags are the unit-link flags.
type Flags struct {
	Port    string
	Timeout time.Duration
}

// Register adds --port and --timeout to cmd.
func (fl *Flags) Register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&fl.Port, "port", "p", "", "serial port of the unit (default: the only unit 'latchkey ports' finds)")
	cmd.Flags().DurationVar(&fl.Timeout, "timeout", smp.DefaultTimeout, "how long to wait for each answer from the unit")
	_ = cmd.RegisterFlagCompletionFunc("port", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	})
}

// Link is an open connection to a unit.
type Link struct {
	Path   string
	Unit   *device.Unit
	Client *smp.Client
	port   *serialport.Port
}

// Close closes the client and the port.
func (l *Link) Close() error {
	return errors.Join(l.Client.Close(), l.port.Close())
}

// Resolve returns the port to use: --port when given, else the only unit or
// virtual unit on this machine, announced on stderr.
func Resolve(f *cmdutil.Factory, fl Flags) (string, error) {
	if fl.Port != "" {
		return fl.Port, nil
	}
	list, err := ports.Collect(ports.DefaultOptions(f))
	if err != nil {
		return "", err
	}
	var units []ports.Port
	for _, p := range list {
		if p.Kind == ports.KindUnit || p.Kind == ports.KindVirtual {
			units = append(units, p)
		}
	}
	switch len(units) {
	case 0:
		return "", cmdutil.WithHint(ErrNoUnit, "plug the unit in with a data cable, or name a port with --port ('latchkey ports --all' lists them)")
	case 1:
		fmt.Fprintf(f.IO.ErrOut, "using %s %s on %s\n", units[0].Kind, units[0].Serial, units[0].Path)
		return units[0].Path, nil
	}
	var paths []string
	for _, u := range units {
		paths = append(paths, u.Path)
	}
	return "", cmdutil.Usagef("%d units found (%s); pick one with --port", len(units), strings.Join(paths, ", "))
}

// Open resolves the port and opens the device client on it.
func Open(ctx context.Context, f *cmdutil.Factory, fl Flags) (*Link, error) {
	path, err := Resolve(f, fl)
	if err != nil {
		return nil, err
	}
	p, err := serialport.Open(path, serialport.Options{})
	if err != nil {
		return nil, cmdutil.WithHint(err, "check the cable and that no other program has the port open")
	}
	c := smp.NewClient(p, smp.ClientOptions{Timeout: fl.Timeout})
	return &Link{Path: path, Client: c, port: p, Unit: device.New(c, device.Options{Timeout: fl.Timeout})}, nil
}
