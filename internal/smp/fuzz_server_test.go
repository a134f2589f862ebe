package smp

import (
	"context"
	"errors"
	"testing"
)

// FuzzServerRequest feeds arbitrary reassembled packets to the server's
// dispatch. Whatever comes in, the server must not panic, and every answer
// must be a well-formed response within buf_size whose body is a CBOR map.
func FuzzServerRequest(f *testing.F) {
	const bufSize = 128
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s := echoServer(bufSize)
		s.Handle(64, 1, OpWrite, func(context.Context, Message) (any, error) {
			return nil, &Error{Version: V2, Group: 64, RC: 3}
		})
		for _, b := range s.handlePacket(context.Background(), pkt) {
			if len(b) > bufSize {
				t.Fatalf("response of %d bytes exceeds buf_size %d", len(b), bufSize)
			}
			m, err := UnmarshalMessage(b)
			if err != nil {
				t.Fatalf("server wrote a malformed message: %v", err)
			}
			if !m.Op.IsResponse() {
				t.Fatalf("server answered with op %s", m.Op)
			}
			if m.Group == 64 && m.ID == 0 {
				continue // raw custom group: the body is whatever was sent
			}
			if err := ResponseError(m.Body); errors.Is(err, ErrBody) {
				t.Fatalf("response body is not an SMP map: %v", err)
			}
		}
	})
}

// FuzzClientBodies feeds arbitrary response bodies to the client's typed
// decoders: an error or a value, never a panic, and a value only when the
// body holds one.
func FuzzClientBodies(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		if p, err := decodeParams(body); err == nil {
			if p.BufSize <= HeaderSize || p.BufCount == 0 {
				t.Fatalf("accepted params %+v", p)
			}
		}
		if _, err := decodeEcho(body); err != nil {
			var e *Error
			if !errors.Is(err, ErrBody) && !errors.As(err, &e) {
				t.Fatalf("echo decode error %v is neither ErrBody nor *Error", err)
			}
		}
	})
}
