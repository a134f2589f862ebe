package smp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Port is what a [Client] needs from a serial port. go.bug.st/serial's Port
// and internal/serialport's *Port satisfy it.
type Port interface {
	io.ReadWriter
	// SetReadTimeout makes Read return 0 bytes and a nil error when nothing
	// arrived within d, so the client's reader can notice Close.
	SetReadTimeout(d time.Duration) error
}

// Client defaults.
const (
	// DefaultTimeout bounds a request whose context has no deadline.
	DefaultTimeout = 5 * time.Second
	// MaxInFlightLimit caps ClientOptions.MaxInFlight: half the 8-bit
	// sequence space, so a sequence number freed by a timeout is not
	// reused while its late answer may still be on the way.
	MaxInFlightLimit = 128
	// readPoll is the read timeout the client sets on its port: how long
	// Close may wait for the reader to notice.
	readPoll = 50 * time.Millisecond
)

// Errors of the request/response layer, for errors.Is.
var (
	// ErrTimeout matches every [*TimeoutError].
	ErrTimeout = errors.New("smp: no answer in time")
	// ErrClosed is returned by requests pending at, or made after, Close.
	ErrClosed = errors.New("smp: client closed")
	// ErrDisconnected wraps the read or write error that ended the link,
	// e.g. EIO or EOF when the cable is pulled or the unit resets its USB.
	ErrDisconnected = errors.New("smp: port disconnected")
)

// TimeoutError reports a request that got no answer before its deadline.
// It matches ErrTimeout and context.DeadlineExceeded.
type TimeoutError struct {
	Group   uint16
	ID      uint8
	Timeout time.Duration // the time the request was given
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("smp: no answer to group %d command %d in %s", e.Group, e.ID, e.Timeout)
}

// Is reports whether target is ErrTimeout or context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// ClientOptions configures a [Client]. The zero value is ready to use.
type ClientOptions struct {
	// Timeout bounds each request whose context has no deadline; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// MaxInFlight is how many requests may await an answer at once; zero
	// means 1. Raise it to the unit's buf_count once known ([Client.Params],
	// [Client.SetMaxInFlight]). Capped at MaxInFlightLimit.
	MaxInFlight int
	// MaxPacket is the largest response accepted; zero means
	// DefaultMaxPacket. See [DecoderOptions].
	MaxPacket int
	// OnDiscard, if set, is called from the reader goroutine for input the
	// decoder dropped (console text, noise, bad frames).
	OnDiscard func(Discard)
}

// ClientStats counts what a [Client] sent and what it did with what came
// back. Every dropped response is counted in exactly one of the drop fields.
type ClientStats struct {
	Sent     int // requests written
	Answered int // responses delivered to their request
	// Unsolicited responses carried a sequence number with no request
	// outstanding and none that timed out.
	Unsolicited int
	// Late responses answered a request that had already timed out or
	// been cancelled.
	Late int
	// Mismatched responses carried the sequence number of a waiting
	// request but another group, command or op; the request keeps waiting.
	Mismatched int
	// NotResponse counts request messages read from the port (a unit
	// echoing input, or a second client on the line).
	NotResponse int
	// Malformed counts packets whose SMP header or length was bad.
	Malformed int
	Decoder   Stats
}

// Request is one SMP request.
type Request struct {
	Op      Op // OpRead or OpWrite
	Group   uint16
	ID      uint8
	Version Version
	// Body is the request data. A []byte is sent as it is; nil is sent as
	// an empty CBOR map, as the standard groups expect of commands without
	// arguments; any other value is encoded as CBOR.
	Body any
	// Raw skips the check of the response body for an SMP error object,
	// for groups 64 and up that use their own encoding ([protocol]
	// "Management Group ID's").
	Raw bool
}

// Response is the answer to a [Request].
type Response struct {
	Message
}

// Decode decodes the response body as CBOR into v.
func (r Response) Decode(v any) error { return DecodeCBOR(r.Body, v) }

// Client sends SMP requests over a serial port and routes each response to
// its request by sequence number, checking group, command and op too. One
// reader goroutine owns the port's read side; writes are serialised. A
// Client is safe for concurrent use. Retries belong in a wrapper, not here:
// only the caller knows which requests are safe to repeat.
type Client struct {
	port    Port
	dec     *Decoder
	timeout time.Duration

	// writeLock is a one-slot semaphore rather than a mutex so a request
	// waiting to write can give up when its context ends.
	writeLock chan struct{}

	closing    chan struct{} // closed by Close
	readerDone chan struct{} // closed when the reader goroutine returns
	closeOnce  sync.Once

	mu       sync.Mutex
	pending  map[uint8]*call
	stale    map[uint8]call // timed out or cancelled after being written
	nextSeq  uint8
	limit    int
	inFlight int
	freed    chan struct{} // closed and replaced when a slot frees up
	stats    ClientStats
	err      error         // why the client stopped; nil while it runs
	done     chan struct{} // closed when err is set
}

type call struct {
	group uint16
	id    uint8
	op    Op // response op expected
	ch    chan Response
}

// NewClient starts a client on port. The caller keeps ownership of port:
// Close stops the client, not the port. NewClient sets the port's read
// timeout to a short poll interval so Close is noticed.
func NewClient(port Port, opts ClientOptions) *Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{
		port:       port,
		timeout:    timeout,
		writeLock:  make(chan struct{}, 1),
		closing:    make(chan struct{}),
		readerDone: make(chan struct{}),
		pending:    make(map[uint8]*call),
		stale:      make(map[uint8]call),
		limit:      clampInFlight(opts.MaxInFlight),
		freed:      make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.dec = NewDecoder(port, DecoderOptions{MaxPacket: opts.MaxPacket, OnDiscard: opts.OnDiscard})
	// A port without a working read timeout still works; Close then takes
	// effect when the next byte or error arrives.
	_ = port.SetReadTimeout(readPoll)
	go c.read()
	return c
}

func clampInFlight(n int) int {
	return min(max(n, 1), MaxInFlightLimit)
}

// SetMaxInFlight changes how many requests may be outstanding at once, e.g.
// to the unit's buf_count. Requests already in flight are not affected.
func (c *Client) SetMaxInFlight(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = clampInFlight(n)
	c.wakeLocked()
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Close stops the reader and fails pending requests with ErrClosed. It
// waits briefly for the reader goroutine to return and is safe to call more
// than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.fail(ErrClosed)
		close(c.closing)
	})
	select {
	case <-c.readerDone:
	case <-time.After(20 * readPoll):
		// The port ignores its read timeout; the reader returns when the
		// owner closes the port.
	}
	return nil
}

// Err returns why the client stopped (wrapping ErrClosed or
// ErrDisconnected), or nil while it is running.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail stops the client with err unless it already stopped, failing every
// pending request.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	close(c.done)
}

func (c *Client) read() {
	defer close(c.readerDone)
	for {
		select {
		case <-c.closing:
			return
		default:
		}
		msg, err := c.dec.Next()
		c.mu.Lock()
		c.stats.Decoder = c.dec.Stats()
		c.mu.Unlock()
		if errors.Is(err, ErrNoData) {
			continue
		}
		if err != nil {
			c.fail(fmt.Errorf("%w: %w", ErrDisconnected, err))
			return
		}
		c.route(msg)
	}
}

// route hands a decoded packet to the request it answers, or counts it as
// dropped.
func (c *Client) route(b []byte) {
	m, err := UnmarshalMessage(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		c.stats.Malformed++
		return
	case !m.Op.IsResponse():
		c.stats.NotResponse++
		return
	}
	p := c.pending[m.Seq]
	if p == nil {
		if s, ok := c.stale[m.Seq]; ok && s.matches(m.Header) {
			delete(c.stale, m.Seq)
			c.stats.Late++
			return
		}
		c.stats.Unsolicited++
		return
	}
	if !p.matches(m.Header) {
		c.stats.Mismatched++
		return
	}
	delete(c.pending, m.Seq)
	c.stats.Answered++
	p.ch <- Response{Message: m} // buffered; only route sends, once
}

func (p *call) matches(h Header) bool {
	return h.Group == p.group && h.ID == p.id && h.Op == p.op
}

// Do sends req and waits for its response. The request's deadline is the
// context's, or ClientOptions.Timeout from now if the context has none;
// past it Do returns a *TimeoutError. Unless req.Raw is set, a response
// carrying an SMP error object returns the response and a *Error.
//
// A write to the port cannot be interrupted: if the port blocks on write
// (hardware flow control held off), Do returns when the write does.
func (c *Client) Do(ctx context.Context, req Request) (Response, error) {
	if req.Op != OpRead && req.Op != OpWrite {
		return Response{}, fmt.Errorf("smp: request op must be read or write, not %s", req.Op)
	}
	body, err := requestBody(req.Body)
	if err != nil {
		return Response{}, err
	}
	start := time.Now()
	timeout := c.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = dl.Sub(start)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ctxErr := func() error {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &TimeoutError{Group: req.Group, ID: req.ID, Timeout: roundTimeout(timeout)}
		}
		return fmt.Errorf("smp: group %d command %d: %w", req.Group, req.ID, ctx.Err())
	}

	if err := c.acquire(ctx); err != nil {
		if err == ctx.Err() {
			return Response{}, ctxErr()
		}
		return Response{}, err
	}
	defer c.release()

	p := &call{group: req.Group, id: req.ID, op: req.Op.Response(), ch: make(chan Response, 1)}
	seq, err := c.register(p)
	if err != nil {
		return Response{}, err
	}
	written := false
	settled := false
	defer func() {
		if !settled {
			c.unregister(seq, p, written)
		}
	}()

	msg, err := NewMessage(Header{Op: req.Op, Version: req.Version, Group: req.Group, Seq: seq, ID: req.ID}, body)
	if err != nil {
		return Response{}, err
	}
	raw, err := msg.MarshalBinary()
	if err != nil {
		return Response{}, err
	}
	pkt, err := EncodePacket(raw)
	if err != nil {
		return Response{}, err
	}

	select {
	case c.writeLock <- struct{}{}:
	case <-ctx.Done():
		return Response{}, ctxErr()
	case <-c.done:
		return Response{}, c.Err()
	}
	_, werr := c.port.Write(pkt)
	<-c.writeLock
	written = true
	if werr != nil {
		err := fmt.Errorf("%w: write: %w", ErrDisconnected, werr)
		c.fail(err)
		return Response{}, err
	}
	c.mu.Lock()
	c.stats.Sent++
	c.mu.Unlock()

	var rsp Response
	select {
	case rsp = <-p.ch:
	case <-ctx.Done():
		if !c.unregister(seq, p, written) {
			rsp = <-p.ch // routed just before we gave up: take it
			break
		}
		settled = true
		return Response{}, ctxErr()
	case <-c.done:
		if !c.unregister(seq, p, false) {
			rsp = <-p.ch
			break
		}
		settled = true
		return Response{}, c.Err()
	}
	settled = true
	if !req.Raw {
		if err := ResponseError(rsp.Body); err != nil {
			return rsp, err
		}
	}
	return rsp, nil
}

// roundTimeout rounds a timeout for messages: a context deadline measured
// from the start of Do is a little under what the caller asked for.
func roundTimeout(d time.Duration) time.Duration {
	if d >= 100*time.Millisecond {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func requestBody(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case nil:
		return []byte{0xa0}, nil // empty CBOR map
	}
	return EncodeCBOR(v)
}

// acquire waits for an in-flight slot.
func (c *Client) acquire(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return err
		}
		if c.inFlight < c.limit {
			c.inFlight++
			c.mu.Unlock()
			return nil
		}
		freed := c.freed
		c.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
		}
	}
}

func (c *Client) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	c.wakeLocked()
}

func (c *Client) wakeLocked() {
	close(c.freed)
	c.freed = make(chan struct{})
}

// register assigns the next free sequence number to p. Numbers of requests
// that timed out after being written are skipped while others are free, so
// a late answer is recognised as late rather than taken for a new request's.
func (c *Client) register(p *call) (uint8, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	for pass := 0; pass < 2; pass++ {
		for range 256 {
			seq := c.nextSeq
			c.nextSeq++
			if _, busy := c.pending[seq]; busy {
				continue
			}
			if _, late := c.stale[seq]; late && pass == 0 {
				continue
			}
			delete(c.stale, seq)
			c.pending[seq] = p
			return seq, nil
		}
	}
	// Unreachable while MaxInFlightLimit < 256.
	return 0, errors.New("smp: no free sequence number")
}

// unregister removes a request that gave up and reports whether it was
// still waiting; false means its answer was routed to p.ch meanwhile. Once
// written, its sequence number is remembered so a late answer is counted
// as late.
func (c *Client) unregister(seq uint8, p *call, written bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[seq] != p {
		return false
	}
	delete(c.pending, seq)
	if written {
		c.stale[seq] = *p
	}
	return true
}
