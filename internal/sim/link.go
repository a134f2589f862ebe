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
	outRNG *rand.Rand // the link's writer goroutine only

	requests   int
	perOp      map[string]int
	fired      map[string]bool // serving goroutine only
	stallUntil time.Time

	// Touched from both directions, under link.bmu.
	bytes     int64 // crossed the line, both ways, for PullAfterBytes
	pullBytes bool  // the PullAfterBytes pull has fired
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
// directions. Like a UART it is full duplex: the serving goroutine reads
// and answers, and one writer goroutine (writeLoop) puts the answers and
// the console chatter on the line, each direction on its own line clock.
type link struct {
	ctx   context.Context
	stop  context.CancelCauseFunc
	port  *ptyPort
	fs    *faultState
	byteT time.Duration // one byte on the wire, 0 when unpaced
	unit  *Unit

	in    chan inChunk // from the reader, in line order
	inCur inChunk      // serving goroutine: what is left of the chunk being read

	out     chan outMsg // to the writer, in line order
	outNext time.Time   // writer goroutine: when the line is free for the next output byte

	bmu sync.Mutex // guards fs.bytes and fs.pullBytes, touched from both directions
}

// inChunk is what the reader took from the pty in one read: the bytes and
// when the last of them is off the line, or the read error.
type inChunk struct {
	b   []byte
	at  time.Time
	err error
}

// inQueue is how many chunks (of up to inChunkSize bytes) the reader takes
// from the pty ahead of the line: a few KiB, enough that the line never
// waits for the reader. Beyond that the pty buffers, as it did before.
const (
	inQueue     = 8
	inChunkSize = 512
)

// outMsg is one item for the writer: a response frame to send, or, with
// done set, a marker it closes once everything queued before it is on the
// line.
type outMsg struct {
	frame []byte
	done  chan struct{}
}

// outQueue is how many frames the serving goroutine may be ahead of the
// line before it waits, as a unit's transmit buffers would fill.
const outQueue = 64

// countBytes records n bytes crossing and returns how many may cross
// before the cable is pulled (n if no pull is due).
func (l *link) countBytes(n int) int {
	if l.fs.f.PullAfterBytes <= 0 {
		return n
	}
	l.bmu.Lock()
	defer l.bmu.Unlock()
	if l.fs.pullBytes {
		return n
	}
	left := l.fs.f.PullAfterBytes - l.fs.bytes
	if int64(n) < left {
		l.fs.bytes += int64(n)
		return n
	}
	l.fs.bytes += left
	l.fs.pullBytes = true
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

// readLoop is the line side of the unit's UART receiver: it takes bytes
// from the pty as they arrive and stamps each chunk with when its last byte
// is off the line, on a line clock of its own that runs from when the bytes
// arrived. So the input is paced by absolute line time: bytes waiting while
// the unit was busy have been crossing the line meanwhile, as on a UART
// that receives while the unit works and transmits.
func (l *link) readLoop() {
	var next time.Time // when the line is free for the next byte
	for {
		buf := make([]byte, inChunkSize)
		n, err := l.port.master.Read(buf)
		c := inChunk{err: err}
		if n > 0 {
			n = l.countBytes(n)
			c.b, c.at = buf[:n], time.Now()
			if l.byteT > 0 {
				c.at = later(next, c.at).Add(time.Duration(n) * l.byteT)
				next = c.at
			}
		}
		if len(c.b) > 0 || err != nil {
			select {
			case l.in <- c:
			case <-l.ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Read is the unit's UART receiver as the serving goroutine sees it: it
// delivers bytes once they are off the line (no faster than the baud
// rate), loses them while stalled, and applies line faults.
func (l *link) Read(b []byte) (int, error) {
	c := &l.inCur
	if len(c.b) == 0 && c.err == nil {
		select {
		case l.inCur = <-l.in:
		case <-l.ctx.Done():
			return 0, context.Cause(l.ctx)
		}
	}
	if len(c.b) == 0 {
		return 0, c.err // sticky, as the pty's would be
	}
	n := copy(b, c.b)
	c.b = c.b[n:]
	// The part taken is off the line before the rest of the chunk.
	l.sleepUntil(c.at.Add(-time.Duration(len(c.b)) * l.byteT))
	if time.Now().Before(l.fs.stallUntil) {
		return 0, nil
	}
	kept := l.fs.corrupt(l.fs.inRNG, b[:n])
	return len(kept), nil
}

// send queues a response frame for the writer. It reports false if the
// link stopped first.
func (l *link) send(frame []byte) bool {
	select {
	case l.out <- outMsg{frame: frame}:
		return true
	case <-l.ctx.Done():
		return false
	}
}

// drain waits until everything queued so far is on the line. It reports
// false if the link stopped first (the writer failed, or a fault or ctx
// ended it).
func (l *link) drain() bool {
	done := make(chan struct{})
	select {
	case l.out <- outMsg{done: done}:
	case <-l.ctx.Done():
		return false
	}
	select {
	case <-done:
		return true
	case <-l.ctx.Done():
		return false
	}
}

// writeLoop is the unit's UART transmitter: it sends the queued frames in
// order, each as one unit followed by a console line when chatter fires,
// and a console line every chatterEvery, so a line never lands inside a
// frame. It is the only user of fs.outRNG. It returns nil when the link
// stops and the write error when the pty fails.
func (l *link) writeLoop(chatterEvery time.Duration) error {
	var tick <-chan time.Time
	if chatterEvery > 0 {
		t := time.NewTicker(chatterEvery)
		defer t.Stop()
		tick = t.C
	}
	fs := l.fs
	for {
		select {
		case <-l.ctx.Done():
			return nil
		case m := <-l.out:
			if m.done != nil {
				close(m.done)
				continue
			}
			if err := l.write(m.frame, true); err != nil {
				return err
			}
			if fs.f.Chatter > 0 && fs.outRNG.Float64() < fs.f.Chatter {
				if err := l.chatter(); err != nil {
					return err
				}
			}
		case <-tick:
			if err := l.chatter(); err != nil {
				return err
			}
		}
	}
}

// write sends b as one unit (a response packet or a console line), paced
// and with line faults applied; writer goroutine only. A response (rsp)
// counts as sent just before its last bytes go, so the count is there by
// the time a client has the whole answer.
func (l *link) write(b []byte, rsp bool) error {
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
		if rsp && n == len(b) {
			l.unit.Count("smp", "tx", 1)
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

// chatter prints one console line; writer goroutine only.
func (l *link) chatter() error {
	rng := l.fs.outRNG
	t := l.unit.uptime()
	line := fmt.Sprintf("[%02d:%02d:%02d.%03d,000] "+chatterLines[rng.IntN(len(chatterLines))]+"\r\n",
		int(t.Hours()), int(t.Minutes())%60, int(t.Seconds())%60, t.Milliseconds()%1000, 3000+rng.IntN(2000))
	return l.write([]byte(line), false)
}

func runLink(ctx context.Context, p *ptyPort, srv *smp.Server, fs *faultState, opts Options, log *slog.Logger) (linkEnd, error) {
	lctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	l := &link{ctx: lctx, stop: stop, port: p, fs: fs, unit: opts.Unit,
		in: make(chan inChunk, inQueue), out: make(chan outMsg, outQueue)}
	if opts.Baud > 0 {
		l.byteT = 10 * time.Second / time.Duration(opts.Baud)
	}
	// Wake a blocked read or write when the link stops.
	defer context.AfterFunc(lctx, func() { _ = p.master.SetDeadline(time.Now()) })()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop(nil)
	wg.Add(2)
	go func() {
		defer wg.Done()
		l.readLoop()
	}()
	go func() {
		defer wg.Done()
		if err := l.writeLoop(fs.f.ChatterEvery); err != nil && lctx.Err() == nil {
			log.Debug("write", "err", err)
			stop(endCause{endPull}) // the pty went away under us
		}
	}()

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
		if !l.handle(pkt, srv, bufSize) {
			return ended(nil)
		}
		if opts.Unit.TakeReset() {
			// The answer goes out in full before the port does.
			if !l.drain() {
				// Keep the request pending, as when its answer could
				// not be written at all.
				opts.Unit.resetRequested.Store(true)
				return ended(nil)
			}
			l.sleepUntil(time.Now().Add(closeDelay))
			return endReset, nil
		}
	}
}

// handle answers the messages of one packet, queueing the answers for the
// writer. It returns false when a fault or a write failure ended the link
// (stopped l.ctx with the reason). A fault that ends the link lets the
// answers queued before it go out first, as they did before the request
// that fired it arrived.
func (l *link) handle(pkt []byte, srv *smp.Server, bufSize int) bool {
	fs := l.fs
	for len(pkt) > 0 {
		h, err := smp.UnmarshalHeader(pkt)
		if err != nil || h.Op.IsResponse() {
			return true
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
				if l.drain() {
					l.stop(endCause{endReset})
				}
				return false
			}
			if fs.once("stall", fs.f.Stall, op) {
				fs.stallUntil = time.Now().Add(fs.f.StallFor)
				return true
			}
			var ok bool
			if rsp, ok = srv.Dispatch(l.ctx, req); !ok {
				continue
			}
			if fs.once("pull", fs.f.Pull, op) {
				// This answer is lost with the cable.
				if l.drain() {
					l.stop(endCause{endPull})
				}
				return false
			}
		}
		raw, err := rsp.MarshalBinary()
		if err == nil {
			raw, err = smp.EncodePacket(raw)
		}
		if err != nil {
			continue
		}
		if !l.send(raw) {
			return false
		}
	}
	return true
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
