// Package ports is `latchkey ports`: the serial ports on this machine, with
// latchkey units and running virtual units marked.
package ports

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/serialport"
	"github.com/latchkey/latchkey/internal/sim"
)

// Kinds of port in the listing.
const (
	KindUnit    = "unit"         // a USB port with the configured VID:PID
	KindVirtual = "virtual-unit" // a `latchkey sim` running here
	KindUSB     = "usb"          // another USB serial device
	KindSerial  = "serial"       // a port with no USB identity (e.g. /dev/ttyS0)
)

// Port is one row of the listing; its JSON form is stable for scripts.
type Port struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	USBID   string `json:"usb_id,omitempty"`
	Serial  string `json:"serial_number,omitempty"`
	Product string `json:"product,omitempty"`
	PID     int    `json:"pid,omitempty"` // process id of a virtual unit
}

// Options are what `ports` runs with.
type Options struct {
	IO   *cmdutil.IO
	JSON func() bool
	All  bool
	// UnitID is the VID:PID that marks a unit.
	UnitID func() (serialport.USBID, error)
	// List enumerates the machine's serial ports.
	List func(unit serialport.USBID) ([]serialport.Info, error)
	// Sims lists the virtual units running on this machine.
	Sims func() ([]sim.Running, error)
}

// DefaultOptions reads the unit's VID:PID from the config, enumerates the
// machine's ports and lists the sims announced in the cache directory.
func DefaultOptions(f *cmdutil.Factory) *Options {
	return &Options{
		IO:   f.IO,
		JSON: func() bool { return f.Global.JSON },
		UnitID: func() (serialport.USBID, error) {
			v, err := f.Setting("unit.usb-id", "", false)
			if err != nil {
				return serialport.USBID{}, err
			}
			id, err := serialport.ParseUSBID(v.Value)
			if err != nil {
				return serialport.USBID{}, cmdutil.WithHint(fmt.Errorf("config unit.usb-id: %w", err), "set it as VID:PID in hex, e.g. latchkey config set unit.usb-id 1209:0001")
			}
			return id, nil
		},
		List: func(unit serialport.USBID) ([]serialport.Info, error) { return serialport.List(unit) },
		Sims: func() ([]sim.Running, error) {
			d, err := f.Dirs()
			if err != nil {
				return nil, err
			}
			return sim.ListRunning(d.Cache)
		},
	}
}

// NewCmdPorts is `latchkey ports`.
func NewCmdPorts(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := DefaultOptions(f)
	cmd := &cobra.Command{
		Use:   "ports",
		Short: "List serial ports and mark the latchkey units on them",
		Long: `List the USB serial ports on this machine and mark the latchkey units: a
unit is recognised by its USB VID:PID (config unit.usb-id, by default the
pid.codes test pair 1209:0001). Virtual units started with 'latchkey sim' on
this machine are listed too. Ports without a USB identity (such as the
built-in /dev/ttyS0) are left out unless --all is given.`,
		Example: "  latchkey ports\n  latchkey ports --json\n  latchkey ports --all",
		Args:    cmdutil.NoArgs("it lists every port"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return portsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "also list ports with no USB identity")
	return cmd
}

// Collect builds the listing: units first, then virtual units, then other
// USB ports, then (with all) the rest.
func Collect(opts *Options) ([]Port, error) {
	unit, err := opts.UnitID()
	if err != nil {
		return nil, err
	}
	infos, err := opts.List(unit)
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	sims, err := opts.Sims()
	if err != nil {
		return nil, fmt.Errorf("list virtual units: %w", err)
	}
	var units, usb, other []Port
	for _, in := range infos {
		p := Port{Path: in.Path, Serial: in.SerialNumber, Product: in.Product}
		switch {
		case in.Unit:
			p.Kind, p.USBID = KindUnit, in.ID.String()
			units = append(units, p)
		case in.USB:
			p.Kind, p.USBID = KindUSB, in.ID.String()
			usb = append(usb, p)
		case opts.All:
			p.Kind = KindSerial
			other = append(other, p)
		}
	}
	out := units
	for _, s := range sims {
		out = append(out, Port{Path: s.Link, Kind: KindVirtual, Serial: s.Serial, Product: "latchkey sim (" + s.PTY + ")", PID: s.PID})
	}
	out = append(out, usb...)
	return append(out, other...), nil
}

func portsRun(ctx context.Context, opts *Options) error {
	ports, err := Collect(opts)
	if err != nil {
		return err
	}
	if opts.JSON() {
		if ports == nil {
			ports = []Port{}
		}
		return cmdutil.WriteJSON(opts.IO.Out, ports)
	}
	found := false
	var rows [][]string
	for _, p := range ports {
		found = found || p.Kind == KindUnit || p.Kind == KindVirtual
		rows = append(rows, []string{p.Path, p.Kind, p.USBID, p.Serial, p.Product})
	}
	if len(rows) > 0 {
		if err := cmdutil.Table(opts.IO, []string{"PORT", "KIND", "USB ID", "SERIAL", "PRODUCT"}, rows, 4); err != nil {
			return err
		}
	}
	if !found {
		fmt.Fprintln(opts.IO.ErrOut, "no latchkey unit found: plug one in with a data cable (not a charge-only one), or start a virtual unit with 'latchkey sim'")
	}
	return nil
}
