package smp

import (
	"encoding/binary"
	"fmt"
)

// HeaderSize is the size of the SMP header ([protocol] "Frame: The envelope").
const HeaderSize = 8

// Op is the SMP operation code (mcumgr_op_t), the low three bits of header
// byte 0.
type Op uint8

// Operation codes from [protocol] and mgmt_defines.h.
const (
	OpRead     Op = 0
	OpReadRsp  Op = 1
	OpWrite    Op = 2
	OpWriteRsp Op = 3
)

func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpReadRsp:
		return "read-rsp"
	case OpWrite:
		return "write"
	case OpWriteRsp:
		return "write-rsp"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// IsResponse reports whether o is a response code.
func (o Op) IsResponse() bool { return o == OpReadRsp || o == OpWriteRsp }

// Response returns the response code that answers request code o; a
// response code maps to itself.
func (o Op) Response() Op { return o | 1 }

// Version is the SMP protocol version as carried in the two Ver bits of
// header byte 0. The zero value is the legacy protocol.
type Version uint8

const (
	// V1 is legacy SMP (Ver bits 0b00): errors come back as {"rc": N}.
	V1 Version = 0
	// V2 is SMP version 2 (Ver bits 0b01): group errors come back as
	// {"err": {"group": G, "rc": N}}, SMP-level errors still as {"rc": N}.
	V2 Version = 1
)

func (v Version) String() string {
	switch v {
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return fmt.Sprintf("version(%d)", uint8(v))
}

// Header is the 8-byte SMP header. Multi-byte fields are big-endian on the
// wire ([protocol]: MCUmgr always treats the network side as big-endian).
type Header struct {
	Op      Op
	Version Version
	// Flags has no defined bits yet and should be 0; it is kept as received.
	Flags uint8
	// Length is the size of the data that follows the header.
	Length uint16
	Group  uint16
	Seq    uint8
	// ID is the command id within Group.
	ID uint8
}

// Byte 0 layout ([protocol]): bits 7-5 Res (must be 0), bits 4-3 Ver,
// bits 2-0 OP.
const (
	opMask     = 0x07
	verShift   = 3
	verMask    = 0x03
	resMask    = 0xe0
	maxVersion = V2 // 0b10 and 0b11 are reserved for future use
	maxOp      = OpWriteRsp
)

// AppendBinary appends the 8-byte wire form of h to b.
func (h Header) AppendBinary(b []byte) ([]byte, error) {
	if h.Op > maxOp {
		return b, fmt.Errorf("%w: op %d", ErrHeader, h.Op)
	}
	if h.Version > maxVersion {
		return b, fmt.Errorf("%w: reserved version bits %#b", ErrHeader, h.Version)
	}
	b = append(b, byte(h.Version)<<verShift|byte(h.Op), h.Flags)
	b = binary.BigEndian.AppendUint16(b, h.Length)
	b = binary.BigEndian.AppendUint16(b, h.Group)
	return append(b, h.Seq, h.ID), nil
}

// MarshalBinary returns the 8-byte wire form of h.
func (h Header) MarshalBinary() ([]byte, error) {
	return h.AppendBinary(make([]byte, 0, HeaderSize))
}

// UnmarshalHeader parses the first HeaderSize bytes of b. It rejects a
// non-zero Res field, reserved versions and undefined op codes, since a peer
// sending those speaks a protocol this package does not know.
func UnmarshalHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, need %d", ErrHeader, len(b), HeaderSize)
	}
	if b[0]&resMask != 0 {
		return Header{}, fmt.Errorf("%w: reserved bits set in %#02x", ErrHeader, b[0])
	}
	h := Header{
		Op:      Op(b[0] & opMask),
		Version: Version(b[0] >> verShift & verMask),
		Flags:   b[1],
		Length:  binary.BigEndian.Uint16(b[2:]),
		Group:   binary.BigEndian.Uint16(b[4:]),
		Seq:     b[6],
		ID:      b[7],
	}
	if h.Op > maxOp {
		return Header{}, fmt.Errorf("%w: op %d", ErrHeader, h.Op)
	}
	if h.Version > maxVersion {
		return Header{}, fmt.Errorf("%w: reserved version bits %#b", ErrHeader, h.Version)
	}
	return h, nil
}
