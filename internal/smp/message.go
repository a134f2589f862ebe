package smp

import (
	"fmt"
	"math"
)

// MaxBody is the largest body an SMP header can describe (16-bit Length).
const MaxBody = math.MaxUint16

// Message is one SMP message: a header and the data it describes. For the
// standard groups (0-63) the data is a CBOR map ([protocol] "Management
// Group ID's"); groups 64 and up may use their own encoding.
type Message struct {
	Header
	Body []byte
}

// NewMessage returns a message with h.Length set from len(body).
func NewMessage(h Header, body []byte) (Message, error) {
	if len(body) > MaxBody {
		return Message{}, fmt.Errorf("%w: body of %d bytes, header allows %d", ErrTooLarge, len(body), MaxBody)
	}
	h.Length = uint16(len(body))
	return Message{Header: h, Body: body}, nil
}

// MarshalBinary returns the header followed by the body. Header.Length must
// equal len(Body): a mismatch is a bug in the caller, not something to fix
// up silently.
func (m Message) MarshalBinary() ([]byte, error) {
	if int(m.Length) != len(m.Body) {
		return nil, fmt.Errorf("%w: header says %d bytes, body has %d", ErrLength, m.Length, len(m.Body))
	}
	b, err := m.Header.AppendBinary(make([]byte, 0, HeaderSize+len(m.Body)))
	if err != nil {
		return nil, err
	}
	return append(b, m.Body...), nil
}

// UnmarshalMessage parses one complete SMP message, as returned by
// [Decoder.Next]. The header's Length must account for exactly the bytes
// after the header. Body aliases b.
func UnmarshalMessage(b []byte) (Message, error) {
	h, err := UnmarshalHeader(b)
	if err != nil {
		return Message{}, err
	}
	if n := len(b) - HeaderSize; int(h.Length) != n {
		return Message{}, fmt.Errorf("%w: header says %d bytes, message carries %d", ErrLength, h.Length, n)
	}
	return Message{Header: h, Body: b[HeaderSize:]}, nil
}
