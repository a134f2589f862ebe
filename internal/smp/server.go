package smp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultBufSize is the SMP buffer size a [Server] uses when none is set:
// Zephyr's default CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE, the value a unit
// reports as buf_size. One buffer holds a whole SMP message, header and data.
const DefaultBufSize = 384

// Handler answers one request. rsp is the response body: nil is sent as an
// empty CBOR map (success), a []byte as it is, anything else encoded as
// CBOR. A non-nil err replaces the body with an SMP error object: a *Error
// or MgmtErr is sent as its code, anything else as MGMT_ERR_EUNKNOWN.
type Handler func(ctx context.Context, req Message) (rsp any, err error)

// Server is the unit side of SMP: it decodes requests from a serial stream,
// dispatches them to registered handlers and writes the responses. The zero
// value is ready to use; register handlers before or while serving. A Server
// must not be copied after first use.
type Server struct {
	// BufSize is the unit's SMP buffer size: requests larger than it are
	// dropped by the decoder, and a response larger than it is replaced by
	// an MGMT_ERR_EMSGSIZE error, never truncated. Zero means
	// DefaultBufSize.
	BufSize int
	// OnError, if set, is told about requests that could not be answered
	// as asked: malformed packets, handler failures, oversized responses.
	// It is called from the serving goroutine.
	OnError func(error)
	// Translate maps a group error (*Error of version V2) to the legacy
	// code sent when the request was SMP version 1, as a Zephyr group's
	// translation function does. Nil, or a zero result, sends
	// MGMT_ERR_EUNKNOWN, as Zephyr does for a group without one.
	Translate func(group uint16, rc int) MgmtErr

	mu       sync.RWMutex
	handlers map[handlerKey]Handler
}

type handlerKey struct {
	group uint16
	id    uint8
	op    Op
}

// Handle registers h for requests with op (OpRead or OpWrite) to command id
// of group, replacing any earlier handler. It panics on a response op or a
// nil handler, which are programming errors.
func (s *Server) Handle(group uint16, id uint8, op Op, h Handler) {
	if op != OpRead && op != OpWrite {
		panic(fmt.Sprintf("smp: Handle: op must be read or write, not %s", op))
	}
	if h == nil {
		panic("smp: Handle: nil handler")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handlers == nil {
		s.handlers = make(map[handlerKey]Handler)
	}
	s.handlers[handlerKey{group, id, op}] = h
}

func (s *Server) handler(group uint16, id uint8, op Op) Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[handlerKey{group, id, op}]
}

func (s *Server) bufSize() int {
	if s.BufSize <= 0 {
		return DefaultBufSize
	}
	return min(s.BufSize, MaxMessage)
}

func (s *Server) report(err error) {
	if s.OnError != nil {
		s.OnError(err)
	}
}

// Serve answers requests read from rw until ctx ends or reading fails. It
// returns ctx's error when ctx ended it, nil at a clean end of input, and
// otherwise the read or write error.
//
// To stop promptly when ctx ends, Serve interrupts a blocked Read through
// rw's SetReadDeadline if it has one (an *os.File such as a pty master), or
// polls through SetReadTimeout (a serial port); any other rw is checked
// between reads only. A pty master from creack/pty is left in blocking mode
// by that package (it calls Fd), where deadlines are silently ignored: dup
// its descriptor and set O_NONBLOCK first, as this package's tests do.
func (s *Server) Serve(ctx context.Context, rw io.ReadWriter) error {
	switch p := rw.(type) {
	case interface{ SetReadDeadline(time.Time) error }:
		stop := context.AfterFunc(ctx, func() { _ = p.SetReadDeadline(time.Now()) })
		defer stop()
	case interface{ SetReadTimeout(time.Duration) error }:
		_ = p.SetReadTimeout(readPoll)
	}
	dec := NewDecoder(rw, DecoderOptions{
		MaxPacket: s.bufSize(),
		OnDiscard: func(d Discard) {
			if !errors.Is(d.Err, ErrNotFrame) {
				s.report(fmt.Errorf("smp: serve: dropped %d bytes: %w", d.Bytes, d.Err))
			}
		},
	})
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		pkt, err := dec.Next()
		switch {
		case errors.Is(err, ErrNoData):
			continue
		case err == io.EOF:
			return nil
		case err != nil:
			if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				return ctx.Err()
			}
			return fmt.Errorf("smp: serve: %w", err)
		}
		for _, rsp := range s.handlePacket(ctx, pkt) {
			out, err := EncodePacket(rsp)
			if err != nil {
				s.report(fmt.Errorf("smp: serve: %w", err))
				continue
			}
			if _, err := rw.Write(out); err != nil {
				return fmt.Errorf("smp: serve: write: %w", err)
			}
		}
	}
}

// handlePacket answers the SMP messages in one reassembled packet and
// returns the encoded response messages. Like Zephyr's
// smp_process_request_packet it handles several messages packed into one
// packet in order, and stops at the first it cannot parse: a header whose
// Length runs past the packet is answered with MGMT_ERR_ECORRUPT.
func (s *Server) handlePacket(ctx context.Context, pkt []byte) [][]byte {
	var out [][]byte
	for len(pkt) > 0 {
		h, err := UnmarshalHeader(pkt)
		if err != nil {
			s.report(fmt.Errorf("smp: serve: %w", err))
			return out
		}
		rest := pkt[HeaderSize:]
		if int(h.Length) > len(rest) {
			s.report(fmt.Errorf("smp: serve: %w: header says %d bytes, packet carries %d", ErrLength, h.Length, len(rest)))
			if h.Op.IsResponse() {
				return out
			}
			return append(out, s.marshal(h, errBody(MgmtCorrupt)))
		}
		req := Message{Header: h, Body: rest[:h.Length:h.Length]}
		pkt = rest[h.Length:]
		if rsp, ok := s.Dispatch(ctx, req); ok {
			b, err := rsp.MarshalBinary()
			if err != nil { // cannot happen: Dispatch builds consistent messages
				s.report(fmt.Errorf("smp: serve: %w", err))
				continue
			}
			out = append(out, b)
		}
	}
	return out
}

// Dispatch answers one request message and returns the response to send.
// It returns false for a message that must not be answered: a response,
// which a server has no request for (Zephyr, built without its SMP client,
// would answer it with ENOTSUP; answering responses risks two peers
// answering each other forever).
//
// Per [protocol] "Minimal response" and Zephyr's smp.c: an unknown group,
// command or op is answered {"rc": ENOTSUP} whatever the request version,
// as an error of SMP itself; a handler's group error (*Error, V2) goes out
// as {"err": {"group", "rc"}} to a version 2 request and as a translated
// legacy {"rc"} to a version 1 one; a response that would not fit BufSize
// becomes {"rc": EMSGSIZE}. The response carries the request's sequence
// number, group, command and version, and the response op.
func (s *Server) Dispatch(ctx context.Context, req Message) (Message, bool) {
	if req.Op.IsResponse() {
		s.report(fmt.Errorf("smp: serve: dropped a %s message (group %d command %d seq %d)", req.Op, req.Group, req.ID, req.Seq))
		return Message{}, false
	}
	h := s.handler(req.Group, req.ID, req.Op)
	if h == nil {
		return s.message(req.Header, errBody(MgmtNotSup)), true
	}
	body := s.call(ctx, h, req)
	if HeaderSize+len(body) > s.bufSize() {
		s.report(fmt.Errorf("smp: serve: group %d command %d: %w: response of %d bytes, buf_size %d",
			req.Group, req.ID, ErrTooLarge, HeaderSize+len(body), s.bufSize()))
		body = errBody(MgmtMsgSize)
	}
	return s.message(req.Header, body), true
}

// call runs h and returns the encoded response body. A panicking handler is
// answered with EUNKNOWN so one bad command cannot take the unit down.
func (s *Server) call(ctx context.Context, h Handler, req Message) (body []byte) {
	defer func() {
		if r := recover(); r != nil {
			s.report(fmt.Errorf("smp: serve: group %d command %d: handler panicked: %v", req.Group, req.ID, r))
			body = errBody(MgmtUnknown)
		}
	}()
	rsp, err := h(ctx, req)
	if err != nil {
		return s.errorBody(req, err)
	}
	b, err := requestBody(rsp)
	if err != nil {
		s.report(fmt.Errorf("smp: serve: group %d command %d: %w", req.Group, req.ID, err))
		return errBody(MgmtUnknown)
	}
	return b
}

func (s *Server) errorBody(req Message, err error) []byte {
	var e *Error
	var code MgmtErr
	switch {
	case errors.As(err, &e) && e.Version == V2 && e.RC != 0:
		if req.Version >= V2 {
			return mustCBOREncode(map[string]any{"err": map[string]any{"group": e.Group, "rc": e.RC}})
		}
		code = MgmtUnknown
		if s.Translate != nil {
			if c := s.Translate(e.Group, e.RC); c != MgmtOK {
				code = c
			}
		}
		return errBody(code)
	case errors.As(err, &e) && e.RC != 0:
		return errBody(MgmtErr(e.RC))
	case errors.As(err, &code) && code != MgmtOK:
		return errBody(code)
	}
	s.report(fmt.Errorf("smp: serve: group %d command %d: %w", req.Group, req.ID, err))
	return errBody(MgmtUnknown)
}

func errBody(code MgmtErr) []byte {
	return mustCBOREncode(map[string]int{"rc": int(code)})
}

func mustCBOREncode(v any) []byte {
	b, err := EncodeCBOR(v)
	if err != nil {
		panic(err) // only maps of integers reach here
	}
	return b
}

func (s *Server) message(req Header, body []byte) Message {
	return Message{
		Header: Header{
			Op:      req.Op.Response(),
			Version: req.Version,
			Group:   req.Group,
			Seq:     req.Seq,
			ID:      req.ID,
			Length:  uint16(len(body)),
		},
		Body: body,
	}
}

// marshal is message followed by MarshalBinary, for error replies built
// before a request body could be cut out.
func (s *Server) marshal(req Header, body []byte) []byte {
	b, err := s.message(req, body).MarshalBinary()
	if err != nil {
		panic(err) // headers here come from UnmarshalHeader, so they encode
	}
	return b
}
