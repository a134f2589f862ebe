package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/latchkey/latchkey/internal/smp"
)

// Options configures [Serve].
type Options struct {
	// Unit is the unit to serve; required.
	Unit *Unit
	// Link is the path made a symlink to the pty's slave; required. A
	// stale symlink there is replaced; any other file is an error.
	Link string
	// Baud paces bytes both ways as a UART at this rate, 8N1 (10 bits a
	// byte), would; 0 sends as fast as the pty allows.
	Baud int
	// Params are the advertised buf_size and buf_count; zero values mean
	// DefaultBufSize and DefaultBufCount.
	Params Params
	Faults Faults
	// Seed makes the faults repeatable.
	Seed uint64
	// ResetDelay is how long the port is gone after a reset or reboot,
	// as a USB device takes to re-enumerate; zero means DefaultResetDelay.
	ResetDelay time.Duration
	// Extensions add commands, e.g. the custom group.
	Extensions []Extension
	// OnLink, if set, is called each time the port (re)appears.
	OnLink func(LinkInfo)
	// Log receives what the unit would print on a debug console; nil
	// discards it.
	Log *slog.Logger
}

// LinkInfo describes the port while it is up.
type LinkInfo struct {
	Link string `json:"link"` // the stable symlink
	PTY  string `json:"pty"`  // the slave it points to now
	// Up counts appearances: 1 at start, +1 after each reset or pull.
	Up int `json:"up"`
}

// closeDelay lets a reset's answer reach the client before the port goes,
// as Zephyr's os_mgmt delays the reboot after sending it.
const closeDelay = 100 * time.Millisecond

// Serve puts opts.Unit on a pseudo-terminal behind opts.Link and answers
// SMP requests until ctx ends, then removes the link and returns nil. A
// reset, a reboot fault or a cable pull closes the pty, removes the link,
// and after the delay creates a new pty and points the link at it, as a
// re-enumerated USB device would appear.
func Serve(ctx context.Context, opts Options) error {
	if opts.Unit == nil {
		return errors.New("sim: serve: no unit")
	}
	if opts.Link == "" {
		return errors.New("sim: serve: no link path")
	}
	if opts.Baud < 0 {
		return fmt.Errorf("sim: serve: baud %d is negative", opts.Baud)
	}
	if err := opts.Faults.validate(); err != nil {
		return fmt.Errorf("sim: serve: %w", err)
	}
	if opts.Params.BufSize <= 0 {
		opts.Params.BufSize = DefaultBufSize
	}
	if opts.Params.BufCount <= 0 {
		opts.Params.BufCount = DefaultBufCount
	}
	if opts.Params.BufSize <= smp.HeaderSize || opts.Params.BufSize > smp.MaxMessage {
		return fmt.Errorf("sim: serve: buf_size %d is not between %d and %d", opts.Params.BufSize, smp.HeaderSize+1, smp.MaxMessage)
	}
	if opts.ResetDelay <= 0 {
		opts.ResetDelay = DefaultResetDelay
	}
	if opts.Faults.StallFor <= 0 {
		opts.Faults.StallFor = DefaultStallFor
	}
	if opts.Faults.PullFor <= 0 {
		opts.Faults.PullFor = DefaultPullFor
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &smp.Server{
		BufSize:   opts.Params.BufSize,
		Translate: translate,
		OnError:   func(err error) { log.Debug("smp", "err", err) },
	}
	opts.Unit.Register(srv, opts.Params)
	for _, ext := range opts.Extensions {
		ext(opts.Unit, srv)
	}
	fs := newFaultState(opts.Faults, opts.Seed)
	for up := 1; ; up++ {
		p, err := openPTY()
		if err != nil {
			return fmt.Errorf("sim: serve: %w", err)
		}
		if err := pointLink(opts.Link, p.path); err != nil {
			p.close()
			return fmt.Errorf("sim: serve: %w", err)
		}
		log.Info("port up", "link", opts.Link, "pty", p.path, "up", up)
		if opts.OnLink != nil {
			opts.OnLink(LinkInfo{Link: opts.Link, PTY: p.path, Up: up})
		}
		end, err := runLink(ctx, p, srv, fs, opts, log)
		p.close()
		unlinkIfOurs(opts.Link, p.path)
		var wait time.Duration
		switch end {
		case endCtx:
			return nil
		case endError:
			return fmt.Errorf("sim: serve: %w", err)
		case endReset:
			log.Info("reset")
			if err := opts.Unit.Reset(); err != nil {
				return fmt.Errorf("sim: serve: reset: %w", err)
			}
			wait = opts.ResetDelay
		case endPull:
			log.Info("cable pulled", "for", opts.Faults.PullFor)
			wait = opts.Faults.PullFor
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

type linkEnd int

const (
	endCtx linkEnd = iota
	endError
	endReset
	endPull
)

// endCause carries why a link was stopped from wherever the fault fired.
type endCause struct{ end linkEnd }

func (e endCause) Error() string { return fmt.Sprintf("link ended (%d)", e.end) }

type ptyPort struct {
	master *os.File // non-blocking, so deadlines work
	slave  *os.File // held open so the master never sees a hang-up between clients
	path   string
}

// openPTY creates a pty in raw mode. creack/pty leaves the master in
// blocking mode, where read deadlines are ignored, so its descriptor is
// duplicated and made non-blocking (see internal/smp's Serve).
func openPTY() (*ptyPort, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	// Raw before any client opens it: no echo of what the unit prints and
	// no newline translation until the client sets its own mode.
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		_ = m.Close()
		_ = s.Close()
		return nil, fmt.Errorf("pty raw mode: %w", err)
	}
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	_ = m.Close()
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("pty master: %w", err)
	}
	return &ptyPort{master: os.NewFile(uintptr(fd), "/dev/ptmx"), slave: s, path: s.Name()}, nil
}

func (p *ptyPort) close() {
	_ = p.master.Close()
	_ = p.slave.Close()
}

// pointLink makes link a symlink to target, atomically (a temporary
// symlink renamed over it). It replaces a symlink and refuses anything
// else.
func pointLink(link, target string) error {
	fi, err := os.Lstat(link)
	switch {
	case err == nil && fi.Mode()&os.ModeSymlink == 0:
		return fmt.Errorf("link %s exists and is not a symlink; refusing to replace it (pick another --link)", link)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("link %s: %w", link, err)
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", link, os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("link %s: %w", link, err)
	}
	return nil
}

// unlinkIfOurs removes link if it still points at target, so a link taken
// over by another sim is left alone.
func unlinkIfOurs(link, target string) {
	if t, err := os.Readlink(link); err == nil && t == target {
		_ = os.Remove(link)
	}
}

// faultState is the faults' memory across links: counters, one-shot
// triggers already fired, and the random sources (one per direction, so
// the draws for a byte do not depend on timing between goroutines).
type faultState struct {
	f      Faults
	inRNG  *rand.Rand // serving goroutine only
	outRNG *rand.Rand // under link.wmu

	requests   int
	perOp      map[string]int
	fired      map[string]bool
	bytes      int64 // crossed the line, both ways, for PullAfterBytes
	stallUntil time.Time
}

func newFaultState(f Faults, seed uint64) *faultState {
	return &faultState{
		f:      f,
		inRNG:  rand.New(rand.NewPCG(seed, 1)),
		outRNG: rand.New(rand.NewPCG(seed, 2)),
		perOp:  map[string]int{},
		fired:  map[string]bool{},
	}
}

// once reports whether the named trigger fires now, at most once a Serve.
func (s *faultState) once(name string, t Trigger, op string) bool {
	if s.fired[name] || !t.fires(s.requests, op, s.perOp[op]) {
		return false
	}
	s.fired[name] = true
	return true
}

// corrupt applies noise and drops to b in place and returns what is left.
func (s *faultState) corrupt(rng *rand.Rand, b []byte) []byte {
	if s.f.Noise == 0 && s.f.Drop == 0 {
		return b
	}
	out := b[:0]
	for _, c := range b {
		if s.f.Drop > 0 && rng.Float64() < s.f.Drop {
			continue
		}
		if s.f.Noise > 0 && rng.Float64() < s.f.Noise {
			c ^= 1 << rng.IntN(8)
		}
		out = append(out, c)
	}
	return out
}

// link is one appearance of the port: the pacing and fault state of both
// directions.
type link struct {
	ctx    context.Context
	stop   context.CancelCauseFunc
	port   *ptyPort
	fs     *faultState
	byteT  time.Duration // one byte on the wire, 0 when unpaced
	unit   *Unit
	inNext time.Time // when the line is free for the next input byte

	wmu     sync.Mutex
	outNext time.Time
	bmu     sync.Mutex // guards fs.bytes, touched from both directions
}

// countBytes records n bytes crossing and returns how many may cross
// before the cable is pulled (n if no pull is due).
func (l *link) countBytes(n int) int {
	if l.fs.f.PullAfterBytes <= 0 {
		return n
	}
	l.bmu.Lock()
	defer l.bmu.Unlock()
	if l.fs.fired["pull-bytes"] {
		return n
	}
	left := l.fs.f.PullAfterBytes - l.fs.bytes
	if int64(n) < left {
		l.fs.bytes += int64(n)
		return n
	}
	l.fs.bytes += left
	l.fs.fired["pull-bytes"] = true
	l.stop(endCause{endPull})
	return int(left)
}

// sleepUntil waits for t or for the link to stop.
func (l *link) sleepUntil(t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-l.ctx.Done():
	}
}

// Read is the unit's UART receiver: it delivers bytes no faster than the
// baud rate, loses them while stalled, and applies line faults.
func (l *link) Read(b []byte) (int, error) {
	n, err := l.port.master.Read(b)
	if n <= 0 {
		return n, err
	}
	n = l.countBytes(n)
	if l.byteT > 0 {
		start := later(l.inNext, time.Now())
		l.inNext = start.Add(time.Duration(n) * l.byteT)
		l.sleepUntil(l.inNext)
	}
	if time.Now().Before(l.fs.stallUntil) {
		return 0, nil
	}
	kept := l.fs.corrupt(l.fs.inRNG, b[:n])
	return len(kept), err
}

// write sends b as one unit (a response packet or a console line), so
// chatter never lands inside a frame, paced and with line faults applied.
func (l *link) write(b []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.writeLocked(b)
}

func (l *link) writeLocked(b []byte) error {
	b = l.fs.corrupt(l.fs.outRNG, append([]byte(nil), b...))
	b = b[:l.countBytes(len(b))]
	chunk := len(b)
	if l.byteT > 0 {
		// Hand the pty 10 ms of line time at once: fine enough that the
		// reader sees a steady stream, coarse enough to keep timers cheap.
		chunk = max(1, int(10*time.Millisecond/l.byteT))
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		if l.byteT > 0 {
			start := later(l.outNext, time.Now())
			l.outNext = start.Add(time.Duration(n) * l.byteT)
			l.sleepUntil(l.outNext)
		}
		if l.ctx.Err() != nil {
			return context.Cause(l.ctx)
		}
		if _, err := l.port.master.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// chatterLines are what a Zephyr unit logs on its console between frames.
var chatterLines = []string{
	"<inf> modem: rssi %d dBm",
	"<inf> door: relay idle, supply %d mV",
	"<dbg> mcumgr: smp rx",
	"<wrn> modem: attach retry %d",
	"<inf> tamper: switch closed",
}

func (l *link) chatterLocked() error {
	rng := l.fs.outRNG
	t := l.unit.uptime()
	line := fmt.Sprintf("[%02d:%02d:%02d.%03d,000] "+chatterLines[rng.IntN(len(chatterLines))]+"\r\n",
		int(t.Hours()), int(t.Minutes())%60, int(t.Seconds())%60, t.Milliseconds()%1000, 3000+rng.IntN(2000))
	return l.writeLocked([]byte(line))
}

func runLink(ctx context.Context, p *ptyPort, srv *smp.Server, fs *faultState, opts Options, log *slog.Logger) (linkEnd, error) {
	lctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	l := &link{ctx: lctx, stop: stop, port: p, fs: fs, unit: opts.Unit}
	if opts.Baud > 0 {
		l.byteT = 10 * time.Second / time.Duration(opts.Baud)
	}
	// Wake a blocked read or write when the link stops.
	defer context.AfterFunc(lctx, func() { _ = p.master.SetDeadline(time.Now()) })()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop(nil)
	if every := fs.f.ChatterEvery; every > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-lctx.Done():
					return
				case <-t.C:
					l.wmu.Lock()
					err := l.chatterLocked()
					l.wmu.Unlock()
					if err != nil {
						return
					}
				}
			}
		}()
	}

	bufSize := opts.Params.BufSize
	dec := smp.NewDecoder(l, smp.DecoderOptions{
		// Packets up to 4 buffers are reassembled so the unit can answer
		// EMSGSIZE; larger ones are dropped before anything is sized by
		// them (Zephyr drops both: it has no buffer to reassemble into).
		MaxPacket: min(4*bufSize, smp.MaxMessage),
		OnDiscard: func(d smp.Discard) {
			if !errors.Is(d.Err, smp.ErrNotFrame) {
				opts.Unit.Count("smp", "rx_err", 1)
				log.Debug("dropped input", "bytes", d.Bytes, "err", d.Err)
			}
		},
	})
	ended := func(err error) (linkEnd, error) {
		var c endCause
		switch {
		case errors.As(context.Cause(lctx), &c):
			return c.end, nil
		case ctx.Err() != nil:
			return endCtx, nil
		}
		return endError, err
	}
	for {
		if lctx.Err() != nil {
			return ended(nil)
		}
		pkt, err := dec.Next()
		if errors.Is(err, smp.ErrNoData) {
			continue
		}
		if err != nil {
			return ended(err)
		}
		end, ok := l.handle(pkt, srv, bufSize)
		if !ok {
			return end, nil
		}
		if opts.Unit.TakeReset() {
			l.sleepUntil(time.Now().Add(closeDelay))
			return endReset, nil
		}
	}
}

// handle answers the messages of one packet. It returns false with the
// reason when a fault or a write failure ends the link.
func (l *link) handle(pkt []byte, srv *smp.Server, bufSize int) (linkEnd, bool) {
	fs := l.fs
	for len(pkt) > 0 {
		h, err := smp.UnmarshalHeader(pkt)
		if err != nil || h.Op.IsResponse() {
			return 0, true
		}
		rest := pkt[smp.HeaderSize:]
		var rsp smp.Message
		switch {
		case int(h.Length) > len(rest):
			// A length that lies: answer ECORRUPT and drop the rest.
			rsp = errMessage(h, smp.MgmtCorrupt)
			pkt = nil
		case smp.HeaderSize+int(h.Length) > bufSize:
			rsp = errMessage(h, smp.MgmtMsgSize)
			pkt = rest[h.Length:]
		default:
			req := smp.Message{Header: h, Body: rest[:h.Length:h.Length]}
			pkt = rest[h.Length:]
			if time.Now().Before(fs.stallUntil) {
				continue // read before the stall began; lost all the same
			}
			op := opName(h.Group, h.ID)
			fs.requests++
			fs.perOp[op]++
			l.unit.Count("smp", "rx", 1)
			if fs.once("reboot", fs.f.Reboot, op) {
				return endReset, false
			}
			if fs.once("stall", fs.f.Stall, op) {
				fs.stallUntil = time.Now().Add(fs.f.StallFor)
				return 0, true
			}
			var ok bool
			if rsp, ok = srv.Dispatch(l.ctx, req); !ok {
				continue
			}
			if fs.once("pull", fs.f.Pull, op) {
				l.stop(endCause{endPull})
				return endPull, false
			}
		}
		raw, err := rsp.MarshalBinary()
		if err == nil {
			raw, err = smp.EncodePacket(raw)
		}
		if err != nil {
			continue
		}
		l.wmu.Lock()
		err = l.writeLocked(raw)
		if err == nil && fs.f.Chatter > 0 && fs.outRNG.Float64() < fs.f.Chatter {
			err = l.chatterLocked()
		}
		l.wmu.Unlock()
		if err != nil {
			var c endCause
			if errors.As(context.Cause(l.ctx), &c) {
				return c.end, false
			}
			if l.ctx.Err() != nil {
				return endCtx, false
			}
			return endPull, false // the pty went away under us
		}
		l.unit.Count("smp", "tx", 1)
	}
	return 0, true
}

// errMessage is the answer to a request the unit could not take: an SMP
// status code, as an error of SMP itself.
func errMessage(h smp.Header, code smp.MgmtErr) smp.Message {
	body, _ := smp.EncodeCBOR(map[string]int{"rc": int(code)})
	m, _ := smp.NewMessage(smp.Header{Op: h.Op.Response(), Version: h.Version, Group: h.Group, Seq: h.Seq, ID: h.ID}, body)
	return m
}

var _ io.Reader = (*link)(nil)

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
