package device

import (
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/smp"
)

// ErrorCode is a group-64 error code, the "rc" of an SMP version 2 error
// object {"err": {"group": 64, "rc": N}} (docs/protocol.md "Errors"). Each
// code is also a sentinel error: errors.Is(err, device.ErrSlotWritten).
type ErrorCode uint16

// Group-64 error codes. Numbers are part of the protocol: never reuse one.
const (
	ErrUnknown          ErrorCode = 1  // internal failure not listed below
	ErrSlotInvalid      ErrorCode = 2  // no slot with that number
	ErrSlotWritten      ErrorCode = 3  // slot already written (write-once)
	ErrSlotEmpty        ErrorCode = 4  // slot holds no key (receipt read)
	ErrSealInvalid      ErrorCode = 5  // sealed key cannot be opened by this unit
	ErrKeyInvalid       ErrorCode = 6  // opened key has a length the unit cannot store
	ErrAttestKeyMissing ErrorCode = 7  // no factory key or certificate
	ErrNonceReused      ErrorCode = 8  // nonce seen before
	ErrMessageTooLarge  ErrorCode = 9  // message or field over its documented limit
	ErrMessageMismatch  ErrorCode = 10 // reassembled message does not match its SHA-256
	ErrNotDSSE          ErrorCode = 11 // countersign refused: not a latchkey DSSE PAE
	ErrRelayNotAllowed  ErrorCode = 12 // relay test asked for without the relay flag
	ErrTestUnknown      ErrorCode = 13 // no self-test of that name
	ErrDecommissioned   ErrorCode = 14 // unit is decommissioned
	ErrTokenInvalid     ErrorCode = 15 // decommission token wrong, used or expired
	ErrNotAuthorised    ErrorCode = 16 // operator authorisation missing or wrong
	ErrConfigInvalid    ErrorCode = 17 // door configuration out of range
	ErrStorage          ErrorCode = 18 // flash write or read-back failed
	ErrCertMissing      ErrorCode = 19 // no certificate at that index
)

// codeInfo is the name (as in docs/protocol.md), the sentence an installer
// reads, and the legacy SMP code a unit answers to a version 1 request.
var codeInfo = map[ErrorCode]struct {
	name, text string
	legacy     smp.MgmtErr
}{
	ErrUnknown:          {"UNKNOWN", "the unit reported an internal error", smp.MgmtUnknown},
	ErrSlotInvalid:      {"SLOT_INVALID", "the unit has no key slot with that number", smp.MgmtInval},
	ErrSlotWritten:      {"SLOT_WRITTEN", "that key slot is already written; slots can be written only once", smp.MgmtBadState},
	ErrSlotEmpty:        {"SLOT_EMPTY", "that key slot holds no key", smp.MgmtNoEnt},
	ErrSealInvalid:      {"SEAL_INVALID", "the unit could not open the sealed key: it was sealed for another unit, slot or job, or damaged on the way", smp.MgmtInval},
	ErrKeyInvalid:       {"KEY_INVALID", "the key has a length the unit cannot store", smp.MgmtInval},
	ErrAttestKeyMissing: {"ATTEST_KEY_MISSING", "the unit has no factory identity key or certificate; it cannot prove it is genuine", smp.MgmtNoEnt},
	ErrNonceReused:      {"NONCE_REUSED", "the unit has seen this challenge before and refused it", smp.MgmtAccessDenied},
	ErrMessageTooLarge:  {"MESSAGE_TOO_LARGE", "the message is larger than the unit accepts", smp.MgmtMsgSize},
	ErrMessageMismatch:  {"MESSAGE_MISMATCH", "the message the unit received does not match what was sent", smp.MgmtCorrupt},
	ErrNotDSSE:          {"NOT_DSSE", "the unit signs only latchkey records, and this is not one", smp.MgmtAccessDenied},
	ErrRelayNotAllowed:  {"RELAY_NOT_ALLOWED", "the relay test opens the door and must be asked for explicitly", smp.MgmtAccessDenied},
	ErrTestUnknown:      {"TEST_UNKNOWN", "the unit has no self-test of that name", smp.MgmtNoEnt},
	ErrDecommissioned:   {"DECOMMISSIONED", "the unit is decommissioned and accepts no commands", smp.MgmtBadState},
	ErrTokenInvalid:     {"TOKEN_INVALID", "the confirmation token is wrong, used or expired; ask the unit for a new one", smp.MgmtAccessDenied},
	ErrNotAuthorised:    {"NOT_AUTHORISED", "the unit requires the operator's authorisation for this", smp.MgmtAccessDenied},
	ErrConfigInvalid:    {"CONFIG_INVALID", "the unit refused the door configuration as out of range", smp.MgmtInval},
	ErrStorage:          {"STORAGE", "the unit's storage failed to write or read back", smp.MgmtCorrupt},
	ErrCertMissing:      {"CERT_MISSING", "the unit has no certificate at that position in its chain", smp.MgmtNoEnt},
}

// ErrorCodes lists every defined code in numeric order.
func ErrorCodes() []ErrorCode {
	out := make([]ErrorCode, 0, len(codeInfo))
	for c := ErrUnknown; c <= ErrCertMissing; c++ {
		out = append(out, c)
	}
	return out
}

// Name returns the code's name in docs/protocol.md, e.g. "SLOT_WRITTEN".
func (c ErrorCode) Name() string {
	if i, ok := codeInfo[c]; ok {
		return i.name
	}
	return fmt.Sprintf("CODE_%d", uint16(c))
}

func (c ErrorCode) Error() string {
	if i, ok := codeInfo[c]; ok {
		return i.text
	}
	return fmt.Sprintf("the unit reported error %d, which this version of latchkey does not know", uint16(c))
}

// SMP returns the error a unit's handler returns for c: an SMP version 2
// group error, which smp.Server sends as {"err": {"group": 64, "rc": c}}.
func (c ErrorCode) SMP() *smp.Error {
	return &smp.Error{Version: smp.V2, Group: GroupLatchkey, RC: int(c)}
}

// Translate maps a group-64 error to the legacy code a unit sends when the
// request was SMP version 1 (docs/protocol.md "Errors"); use it as
// smp.Server.Translate. Other groups and unknown codes give MgmtUnknown.
func Translate(group uint16, rc int) smp.MgmtErr {
	if group != GroupLatchkey || rc < 0 || rc > 0xffff {
		return smp.MgmtUnknown
	}
	if i, ok := codeInfo[ErrorCode(rc)]; ok {
		return i.legacy
	}
	return smp.MgmtUnknown
}

// Errors of the client side, for errors.Is.
// The link's errors, for callers above the transport (the screens) that
// branch on them without importing it.
var (
	// ErrDisconnected: the cable was pulled or the port went away.
	ErrDisconnected = smp.ErrDisconnected
	// ErrTimeout: the unit did not answer in time.
	ErrTimeout = smp.ErrTimeout
	// ErrClosed: the link was closed while a request waited.
	ErrClosed = smp.ErrClosed
)

var (
	// ErrProtocol marks an answer that does not follow docs/protocol.md:
	// undecodable CBOR, a missing member, a value out of range.
	ErrProtocol = errors.New("the unit's answer does not follow the latchkey protocol")
	// ErrNotLatchkey is returned by group-64 calls to an SMP device that
	// does not implement the group.
	ErrNotLatchkey = errors.New("the device is not a latchkey unit (it does not answer latchkey's commands)")
	// ErrVerify marks an image upload the unit did not store intact.
	ErrVerify = errors.New("the unit did not store the image intact")
)

// unitError turns an error from smp.Client.Do into one that callers can
// branch on: a group-64 error becomes its ErrorCode, an ENOTSUP to a
// group-64 command becomes ErrNotLatchkey, a body that is not a CBOR map
// becomes ErrProtocol; the smp error stays in the chain.
func unitError(group uint16, err error) error {
	if errors.Is(err, smp.ErrBody) {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	var e *smp.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Version == smp.V2 && e.Group == GroupLatchkey && group == GroupLatchkey:
		return fmt.Errorf("%w (%s, %w)", ErrorCode(e.RC), ErrorCode(e.RC).Name(), err)
	case group == GroupLatchkey && (errors.Is(err, smp.MgmtNotSup) || errors.Is(err, smp.MgmtTooNew)):
		return fmt.Errorf("%w: %w", ErrNotLatchkey, err)
	}
	return err
}

// protoErr wraps a decode or validation failure as ErrProtocol.
func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}
