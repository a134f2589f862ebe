package diag

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/diag"
)

// StatusOptions are what `diag status` runs with.
type StatusOptions struct {
	IO    *cmdutil.IO
	JSON  func() bool
	Link  linkFunc
	Flags unitopt.Flags
}

// StatusResult is the JSON form of `diag status`: the report and the port.
type StatusResult struct {
	Port string `json:"port"`
	diag.Report
}

// NewCmdStatus is `diag status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, JSON: func() bool { return f.Global.JSON }}
	opts.Link = openLink(f, &opts.Flags)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a unit's identity, firmware, live state and counters",
		Long: `Show who the unit says it is (serial, model, hardware, firmware, label code),
its firmware (OS information, SMP buffers, image slots), its live state
(door relay, tamper switch, supply voltage, modem and cellular signal,
uptime, clock, key slots) and its counters (statistics groups).

Another vendor's SMP device gets what the standard groups report and a line
saying it is not a latchkey unit. Parts that cannot be read are listed on
stderr and the command exits 1 after showing the rest.`,
		Example: "  latchkey diag status\n  latchkey diag status --port /dev/ttyACM0 --json",
		Args:    cmdutil.NoArgs("name the port with --port"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	register(cmd, &opts.Flags)
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	return withUnit(ctx, opts.Link, func(u diag.Unit, port string) error {
		rep, err := diag.Gather(ctx, u)
		if err != nil {
			return fmt.Errorf("read unit on %s: %w", port, err)
		}
		if opts.JSON() {
			if err := cmdutil.WriteJSON(opts.IO.Out, StatusResult{Port: port, Report: rep}); err != nil {
				return err
			}
		} else if err := writeReport(opts.IO.Out, port, rep); err != nil {
			return err
		}
		for _, p := range rep.Problems {
			fmt.Fprintln(opts.IO.ErrOut, "could not read "+p)
		}
		if n := len(rep.Problems); n > 0 {
			return fmt.Errorf("%d part(s) of the report could not be read", n)
		}
		return nil
	})
}

// writeReport prints a report as labelled sections.
func writeReport(out io.Writer, port string, r diag.Report) error {
	var w bytes.Buffer
	if err := writeSections(&w, port, r); err != nil {
		return err
	}
	// tabwriter pads the blank line between sections; drop trailing space.
	lines := strings.Split(w.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(out, strings.Join(lines, "\n"))
	return err
}

func writeSections(w io.Writer, port string, r diag.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Port", port)
	if id := r.Identity; id != nil {
		row("Unit", fmt.Sprintf("%s (%s, hardware %s)", id.Serial, id.Model, id.Hardware))
		row("Label", id.Label)
		row("State", fmt.Sprintf("%s, %d key slots, protocol %d", id.State, id.Slots, id.Proto))
		row("Firmware", id.Firmware)
		if r.Note != "" {
			row("Note", r.Note)
		}
	} else {
		row("Unit", r.Note)
	}
	if r.Firmware.OSInfo != "" {
		row("OS", r.Firmware.OSInfo)
	}
	if r.Firmware.BufSize > 0 {
		row("SMP buffers", fmt.Sprintf("%d bytes × %d", r.Firmware.BufSize, r.Firmware.BufCount))
	}
	if s := r.Status; s != nil {
		row("", "")
		row("Relay", s.Relay)
		row("Tamper", tamper(s.Tamper))
		supply := diag.Supply(s.SupplyMV)
		if !diag.SupplyOK(s.SupplyMV) {
			supply += " (outside 10-28 V)"
		}
		row("Supply", supply)
		row("Modem", modem(*s))
		row("Uptime", diag.Uptime(s.UptimeS))
		clock := s.Clock
		if clock == "" {
			clock = "not set"
		}
		row("Clock", clock)
		row("Key slots", slots(s.Slots))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Firmware.Images) > 0 {
		fmt.Fprintln(w, "\nImages")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  SLOT\tVERSION\tSTATE\tHASH")
		for _, im := range r.Firmware.Images {
			fmt.Fprintf(tw, "  %d/%d\t%s\t%s\t%s\n", im.Image, im.Slot, im.Version, im.Flags(), short(im.Hash, 16))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Counters) > 0 {
		fmt.Fprintln(w, "\nCounters")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range r.Counters {
			fmt.Fprintf(tw, "  %s\t%s\n", c.Group, fields(c.Fields))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func tamper(open bool) string {
	if open {
		return "OPEN (enclosure opened)"
	}
	return "closed"
}

func modem(s diag.Status) string {
	out := s.Modem
	if s.RSSI != nil {
		out += fmt.Sprintf(", RSSI %d dBm", *s.RSSI)
	}
	if s.RSRP != nil {
		out += fmt.Sprintf(", RSRP %d dBm", *s.RSRP)
	}
	if q := diag.Signal(s); q != "" {
		out += " (" + q + ")"
	}
	return out
}

func slots(states []string) string {
	if len(states) == 0 {
		return "none"
	}
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = fmt.Sprintf("%d %s", i, s)
	}
	return strings.Join(parts, ", ")
}

// fields renders counters as "name=value" in name order.
func fields(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
