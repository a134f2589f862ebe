package smp

import (
	"errors"
	"fmt"
)

// Sentinel errors callers can branch on with errors.Is. The decoder also uses
// them as the reason in a [Discard].
var (
	// ErrNoData means Next read no complete packet this call; the decoder
	// keeps its state and the caller should check its deadline and call again.
	ErrNoData = errors.New("smp: no complete packet yet")
	// ErrNotFrame marks input outside any frame: console text or line noise.
	ErrNotFrame = errors.New("smp: input outside a frame")
	// ErrFrame marks a malformed serial frame or an out-of-order frame.
	ErrFrame = errors.New("smp: malformed frame")
	// ErrCRC marks a packet whose CRC16 does not match its message.
	ErrCRC = errors.New("smp: crc mismatch")
	// ErrTooLarge marks a packet or message over the size limit.
	ErrTooLarge = errors.New("smp: packet too large")
	// ErrLength marks a length field that disagrees with the data it counts.
	ErrLength = errors.New("smp: length mismatch")
	// ErrIncomplete marks a packet abandoned before all its frames arrived.
	ErrIncomplete = errors.New("smp: incomplete packet")
	// ErrHeader marks an SMP header that is short or uses reserved values.
	ErrHeader = errors.New("smp: bad header")
	// ErrBody marks a CBOR body that cannot be decoded.
	ErrBody = errors.New("smp: bad cbor body")
)

// Error is an error object returned by the device in a response body
// ([protocol] "Minimal response").
type Error struct {
	// Version tells which object shape carried the error, and so what RC
	// means. V1: a top-level "rc", an [MgmtErr] code; SMP version 2 devices
	// still use it for errors of SMP itself. V2: an "err" map, whose "rc"
	// is an error code defined by Group.
	Version Version
	// Group is the management group of a V2 error; zero for V1.
	Group uint16
	RC    int
}

func (e *Error) Error() string {
	if e.Version == V2 {
		return fmt.Sprintf("smp: device returned group %d error %d", e.Group, e.RC)
	}
	c := MgmtErr(e.RC)
	return fmt.Sprintf("smp: device returned rc %d (%s: %s)", e.RC, c.String(), c.describe())
}

// Is lets errors.Is match a V1 error against an [MgmtErr] code, as in
// errors.Is(err, smp.MgmtNotSup), or an equal *Error.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case MgmtErr:
		return e.Version == V1 && MgmtErr(e.RC) == t
	case *Error:
		return t != nil && *e == *t
	}
	return false
}

// MgmtErr is an SMP-level status code (mcumgr_err_t in Zephyr's
// mgmt_defines.h). It is an error so callers can write
// errors.Is(err, smp.MgmtBusy).
type MgmtErr int

// SMP status codes from mgmt_defines.h.
const (
	MgmtOK           MgmtErr = 0  // MGMT_ERR_EOK: success
	MgmtUnknown      MgmtErr = 1  // MGMT_ERR_EUNKNOWN
	MgmtNoMem        MgmtErr = 2  // MGMT_ERR_ENOMEM
	MgmtInval        MgmtErr = 3  // MGMT_ERR_EINVAL
	MgmtTimeout      MgmtErr = 4  // MGMT_ERR_ETIMEOUT
	MgmtNoEnt        MgmtErr = 5  // MGMT_ERR_ENOENT
	MgmtBadState     MgmtErr = 6  // MGMT_ERR_EBADSTATE
	MgmtMsgSize      MgmtErr = 7  // MGMT_ERR_EMSGSIZE
	MgmtNotSup       MgmtErr = 8  // MGMT_ERR_ENOTSUP
	MgmtCorrupt      MgmtErr = 9  // MGMT_ERR_ECORRUPT
	MgmtBusy         MgmtErr = 10 // MGMT_ERR_EBUSY
	MgmtAccessDenied MgmtErr = 11 // MGMT_ERR_EACCESSDENIED
	MgmtTooOld       MgmtErr = 12 // MGMT_ERR_UNSUPPORTED_TOO_OLD
	MgmtTooNew       MgmtErr = 13 // MGMT_ERR_UNSUPPORTED_TOO_NEW
	// MgmtPerUser is the first code an application may define.
	MgmtPerUser MgmtErr = 256 // MGMT_ERR_EPERUSER
)

func (c MgmtErr) names() (name, desc string) {
	switch c {
	case MgmtOK:
		return "EOK", "no error"
	case MgmtUnknown:
		return "EUNKNOWN", "unknown error"
	case MgmtNoMem:
		return "ENOMEM", "insufficient memory"
	case MgmtInval:
		return "EINVAL", "error in input value"
	case MgmtTimeout:
		return "ETIMEOUT", "operation timed out"
	case MgmtNoEnt:
		return "ENOENT", "no such file or entry"
	case MgmtBadState:
		return "EBADSTATE", "current state disallows command"
	case MgmtMsgSize:
		return "EMSGSIZE", "response too large"
	case MgmtNotSup:
		return "ENOTSUP", "command not supported"
	case MgmtCorrupt:
		return "ECORRUPT", "corrupt"
	case MgmtBusy:
		return "EBUSY", "command blocked by processing of another command"
	case MgmtAccessDenied:
		return "EACCESSDENIED", "access denied"
	case MgmtTooOld:
		return "UNSUPPORTED_TOO_OLD", "requested smp version too old"
	case MgmtTooNew:
		return "UNSUPPORTED_TOO_NEW", "requested smp version too new"
	}
	if c >= MgmtPerUser {
		return fmt.Sprintf("EPERUSER+%d", int(c-MgmtPerUser)), "application-defined error"
	}
	return fmt.Sprintf("E%d", int(c)), "undefined error"
}

// String returns the code's name without the MGMT_ERR_ prefix, e.g. "ENOTSUP".
func (c MgmtErr) String() string { n, _ := c.names(); return n }

func (c MgmtErr) describe() string { _, d := c.names(); return d }

func (c MgmtErr) Error() string {
	n, d := c.names()
	return fmt.Sprintf("smp: %s (%s)", d, n)
}
