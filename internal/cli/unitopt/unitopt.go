// Package unitopt is what every command that talks to a unit shares: the
// --port, --timeout and --retries flags, picking the only unit present when
// --port is left out (and saying which), opening the port, the SMP client
// and the typed device client over it, and --wait: reopening the port when
// it comes back after a cable pull or a unit reset.
package unitopt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
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
	// Retries is --retries in device.Options' convention: zero means the
	// default (DefaultRetries), negative means none (--retries 0).
	Retries int
	// Wait and WaitFor are --wait and --wait-for. With Wait, a request that
	// is safe to repeat (device.RepeatOf) rides out a dropped link, and
	// Link.Do runs its operation again on the reopened link.
	Wait    bool
	WaitFor time.Duration
	// WholeOps makes --wait rerun only whole operations (Link.Do): a
	// request never rides out a dropped link by itself, so no request of
	// an operation reaches a unit that came back (or another unit plugged
	// in) before the operation starts again. Pairing and burning set it:
	// their operation begins by attesting the unit.
	WholeOps bool
	// Messages is where the link's notes go ("using the virtual unit…",
	// "link dropped, reconnecting…"); nil means stderr. The full-screen
	// wizard discards them, since stray lines would garble its screen.
	Messages io.Writer
}

// messages is where the link's notes go.
func (fl Flags) messages(f *cmdutil.Factory) io.Writer {
	if fl.Messages != nil {
		return fl.Messages
	}
	return f.IO.ErrOut
}

// DefaultRetries is --retries' default: a read that got no answer is sent
// twice more, which rides out a frame lost to noise without making a
// unit that is really gone take much longer to report.
const DefaultRetries = 2

// DefaultWaitFor bounds the wait for a port to come back: long enough for a
// unit to reboot (MCUboot swapping a 1 MiB slot takes tens of seconds) and
// for someone to find the cable, short enough that a script does not hang.
const DefaultWaitFor = 2 * time.Minute

// pollEvery is how often a missing port is looked for while waiting.
const pollEvery = 100 * time.Millisecond

// maxReopens bounds how often Do reopens the link for one operation, so a
// flapping cable ends in an error rather than a loop.
const maxReopens = 10

// ErrPortGone means the port did not come back within --wait-for.
var ErrPortGone = errors.New("the unit's port did not come back")

// Register adds --port, --timeout, --retries, --wait and --wait-for to
// cmd. --wait is safe on every command: only requests that are safe to
// repeat are sent again on the reopened link; one that is not (a reset, a
// self-test run, a burn) fails with the dropped link.
func (fl *Flags) Register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&fl.Port, "port", "p", "", "serial port of the unit (default: the only unit 'latchkey ports' finds)")
	cmd.Flags().DurationVar(&fl.Timeout, "timeout", smp.DefaultTimeout,
		"how long to wait for each answer from the unit, per attempt: with --retries a read may take timeout × (retries+1); "+
			"what the unit takes long over (erasing flash for an upload, self-tests, burning a key) gets 12 times as long")
	cmd.Flags().Var((*retriesValue)(&fl.Retries), "retries",
		"how often to send a read (or another request safe to repeat) again when no answer came within --timeout; 0 sends each once")
	_ = cmd.RegisterFlagCompletionFunc("port", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	})
	fl.RegisterWait(cmd)
}

// RegisterWait adds --wait and --wait-for to cmd unless it has them;
// Register already does.
func (fl *Flags) RegisterWait(cmd *cobra.Command) {
	if cmd.Flags().Lookup("wait") != nil {
		return
	}
	cmd.Flags().BoolVar(&fl.Wait, "wait", false, "if the port goes away (cable pulled, unit reset), wait for it to come back and go on where that is safe")
	cmd.Flags().DurationVar(&fl.WaitFor, "wait-for", DefaultWaitFor, "how long to wait for the port to come back (with --wait, and after a reset latchkey asked for)")
}

// retriesValue is --retries: the user's count, stored in Flags.Retries'
// convention (0 there is the default, so --retries 0 is stored as -1).
type retriesValue int

func (v *retriesValue) String() string {
	switch {
	case *v == 0:
		return strconv.Itoa(DefaultRetries)
	case *v < 0:
		return "0"
	}
	return strconv.Itoa(int(*v))
}

func (v *retriesValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 100 {
		return fmt.Errorf("%q is not a count from 0 to 100", s)
	}
	if n == 0 {
		n = -1
	}
	*v = retriesValue(n)
	return nil
}

func (v *retriesValue) Type() string { return "int" }

// Link is an open connection to a unit. Unit and Client are replaced when
// the link is reopened; take them from the Link (or from Do's argument)
// each time rather than keeping a copy.
type Link struct {
	Path   string
	Unit   *device.Unit
	Client *smp.Client
	port   *serialport.Port
	fl     Flags
	log    *slog.Logger
	errOut func(format string, args ...any)
	// Reopened counts how often the link came back.
	Reopened int
	// find looks the unit up again by its serial number when the port was
	// picked automatically: a USB unit that re-enumerates may come back
	// under another name (ttyACM0 → ttyACM1). nil when --port named it.
	find func() (string, bool)

	// dropMu serialises reopening after a drop, so requests that saw the
	// same link drop reopen it once.
	dropMu sync.Mutex
	drops  int
}

// Close closes the client and the port.
func (l *Link) Close() error {
	if l.Client == nil {
		return nil
	}
	err := errors.Join(l.Client.Close(), l.port.Close())
	l.Client, l.port = nil, nil
	return err
}

// Disconnected reports whether err means the link to the unit dropped: the
// cable was pulled or the unit restarted its USB.
func Disconnected(err error) bool {
	return errors.Is(err, smp.ErrDisconnected)
}

// Do runs op on the unit. If the link drops and --wait was given, it waits
// for the port to come back (up to --wait-for), reopens it and runs op
// again, so op must be safe to repeat: a read, or an operation the unit
// resumes (an image upload). Without --wait a dropped link is an error
// whose hint says to run again with --wait.
func (l *Link) Do(ctx context.Context, op func(context.Context, *device.Unit) error) error {
	for {
		dead := l.Client
		err := op(ctx, l.Unit)
		switch {
		case err == nil || ctx.Err() != nil:
			return err
		case errors.Is(err, smp.ErrTimeout):
			return cmdutil.WithHint(err, "check that --port names the unit; on a noisy line raise --retries or --timeout")
		case !Disconnected(err):
			return err
		case !l.fl.Wait:
			return cmdutil.WithHint(err, "check the cable, then run the command again (with --wait it waits for the port to come back)")
		}
		if _, rerr := l.reopenAfterDrop(ctx, dead); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
}

// reopenAfterDrop reopens the link after dead, the client that saw it
// drop, failed, and returns the client on the new link. A link already
// reopened since is not reopened again.
func (l *Link) reopenAfterDrop(ctx context.Context, dead *smp.Client) (*smp.Client, error) {
	l.dropMu.Lock()
	defer l.dropMu.Unlock()
	if l.Client != nil && l.Client != dead && l.Client.Err() == nil {
		return l.Client, nil
	}
	if l.drops >= maxReopens {
		return nil, fmt.Errorf("gave up after the link dropped %d times", l.drops+1)
	}
	l.drops++
	l.errOut("the link to the unit dropped; waiting up to %s for %s to come back", l.waitFor(), l.Path)
	if err := l.Reopen(ctx); err != nil {
		return nil, err
	}
	l.errOut("reconnected to %s", l.Path)
	return l.Client, nil
}

func (l *Link) waitFor() time.Duration {
	if l.fl.WaitFor > 0 {
		return l.fl.WaitFor
	}
	return DefaultWaitFor
}

// Reopen closes the link, waits up to --wait-for for the port to be back
// and answering, and opens it again. A port that is there but does not
// answer an echo yet (a unit still booting, or the old device node of a
// unit that is going away) is closed and tried again.
func (l *Link) Reopen(ctx context.Context) error {
	_ = l.Close()
	wait := l.waitFor()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last error
	for {
		if _, err := os.Stat(l.Path); err != nil && l.find != nil {
			if p, ok := l.find(); ok && p != l.Path {
				l.errOut("the unit came back on %s", p)
				l.Path = p
			}
		}
		if _, err := os.Stat(l.Path); err == nil {
			if last = l.open(ctx); last == nil {
				return nil
			}
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return cmdutil.WithHint(fmt.Errorf("%w within %s: %s: %w", ErrPortGone, wait, l.Path, last),
					"plug the unit back in (or wait for it to finish restarting) and run the command again; --wait-for waits longer")
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// resetDropWithin is how long ReopenAfterReset waits for the port to go
// away after the unit answered a reset: Zephyr reboots a moment after it
// answers, and a USB CDC-ACM port then disappears; a unit behind a UART
// adapter keeps its port, so the wait is short and not an error.
const resetDropWithin = 3 * time.Second

// ReopenAfterReset is Reopen for a reset latchkey asked for: it first lets
// the old link drop, so the unit that is going away is not mistaken for the
// one coming back, then waits up to --wait-for for the port to answer.
func (l *Link) ReopenAfterReset(ctx context.Context) error {
	if l.Client != nil {
		deadline := time.Now().Add(resetDropWithin)
		for l.Client.Err() == nil && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return l.Reopen(ctx)
}

// open opens l.Path and checks that a unit answers on it.
func (l *Link) open(ctx context.Context) error {
	p, err := serialport.Open(l.Path, serialport.Options{})
	if err != nil {
		return err
	}
	c := smp.NewClient(p, smp.ClientOptions{Timeout: l.fl.Timeout})
	ping := time.Second
	if l.fl.Timeout > 0 {
		ping = min(l.fl.Timeout, ping)
	}
	// One echo, not retried: a port that does not answer it yet is polled
	// again by Reopen.
	pctx, cancel := context.WithTimeout(ctx, ping)
	defer cancel()
	if _, err := c.Echo(pctx, "latchkey"); err != nil {
		_ = c.Close()
		_ = p.Close()
		return err
	}
	l.port, l.Client, l.Unit = p, c, device.New(c, l.deviceOptions())
	l.Reopened++
	return nil
}

// slowFactor scales --timeout for what the unit takes long over: the first
// upload chunk, during which it erases the slot, self-tests, burning a key,
// erasing a slot. At the default --timeout of 5 s that is the device's
// default of 60 s; a user who shortens --timeout on a bad line does not
// then wait a minute for each first chunk the noise ate.
const slowFactor = 12

// deviceOptions turns the flags into the device client's: --timeout bounds
// every request (slowFactor times it for slow ones), --retries how often
// one safe to repeat (or an upload chunk) is sent again, and --wait lets
// such a request ride out a dropped link.
func (l *Link) deviceOptions() device.Options {
	o := device.Options{Timeout: l.fl.Timeout, ChunkTimeout: l.fl.Timeout, Retries: l.fl.Retries, ChunkRetries: l.fl.Retries, Log: l.log}
	if l.fl.Timeout > 0 {
		o.SlowTimeout, o.FirstChunkTimeout = slowFactor*l.fl.Timeout, slowFactor*l.fl.Timeout
	}
	if l.fl.Wait && !l.fl.WholeOps {
		o.Reconnect = l.reopenAfterDrop
	}
	return o
}

// Resolve returns the port to use: --port when given, else the only unit or
// virtual unit on this machine, announced on stderr.
func Resolve(f *cmdutil.Factory, fl Flags) (string, error) {
	p, err := resolve(f, fl)
	return p.Path, err
}

// resolve is Resolve with the port's listing (only Path is set when --port
// named it).
func resolve(f *cmdutil.Factory, fl Flags) (ports.Port, error) {
	if fl.Port != "" {
		return ports.Port{Path: fl.Port}, nil
	}
	units, err := listUnits(f)
	if err != nil {
		return ports.Port{}, err
	}
	switch len(units) {
	case 0:
		return ports.Port{}, cmdutil.WithHint(ErrNoUnit, "plug the unit in with a data cable, or name a port with --port ('latchkey ports --all' lists them)")
	case 1:
		fmt.Fprintf(fl.messages(f), "using %s %s on %s\n", units[0].Kind, units[0].Serial, units[0].Path)
		return units[0], nil
	}
	var paths []string
	for _, u := range units {
		paths = append(paths, u.Path)
	}
	return ports.Port{}, cmdutil.Usagef("%d units found (%s); pick one with --port", len(units), strings.Join(paths, ", "))
}

// listUnits returns the units and virtual units on this machine.
func listUnits(f *cmdutil.Factory) ([]ports.Port, error) {
	list, err := ports.Collect(ports.DefaultOptions(f))
	if err != nil {
		return nil, err
	}
	var units []ports.Port
	for _, p := range list {
		if p.Kind == ports.KindUnit || p.Kind == ports.KindVirtual {
			units = append(units, p)
		}
	}
	return units, nil
}

// finder looks up the unit with this serial number again, for Reopen.
func finder(f *cmdutil.Factory, serial string) func() (string, bool) {
	return func() (string, bool) {
		units, err := listUnits(f)
		if err != nil {
			return "", false
		}
		for _, u := range units {
			if u.Serial == serial {
				return u.Path, true
			}
		}
		return "", false
	}
}

// Open resolves the port and opens the device client on it.
func Open(ctx context.Context, f *cmdutil.Factory, fl Flags) (*Link, error) {
	port, err := resolve(f, fl)
	if err != nil {
		return nil, err
	}
	path := port.Path
	p, err := serialport.Open(path, serialport.Options{})
	if err != nil {
		return nil, cmdutil.WithHint(err, "check the cable and that no other program has the port open")
	}
	c := smp.NewClient(p, smp.ClientOptions{Timeout: fl.Timeout})
	msgs := fl.messages(f)
	errOut := func(format string, args ...any) { fmt.Fprintf(msgs, format+"\n", args...) }
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Link{Path: path, Client: c, port: p, fl: fl, log: log, errOut: errOut}
	if fl.Port == "" && port.Serial != "" {
		l.find = finder(f, port.Serial)
	}
	l.Unit = device.New(c, l.deviceOptions())
	return l, nil
}
