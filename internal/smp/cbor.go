package smp

import (
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"
)

// CBOR limits for bodies from a device. A packet is at most a few KiB, so
// these bound work and memory on hostile input well below what any SMP
// group response needs (the largest standard ones, stats and image lists,
// hold tens of entries).
const (
	cborMaxNested = 16
	cborMaxArray  = 1024
	cborMaxPairs  = 1024
)

// cborEnc and cborDec are the encode and decode modes. Both are immutable once
// built, so sharing them is safe.
var cborEnc, cborDec = mustCBORModes()

func mustCBORModes() (cbor.EncMode, cbor.DecMode) {
	// Sorted keys make encodings reproducible in tests and goldens; floats
	// stay at the width the caller chose, since small devices' decoders
	// (zcbor) need not accept half-precision.
	enc, err := cbor.EncOptions{Sort: cbor.SortCoreDeterministic}.EncMode()
	if err != nil {
		panic(err) // constant options: fails only on a programming error
	}
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  cborMaxNested,
		MaxArrayElements: cborMaxArray,
		MaxMapPairs:      cborMaxPairs,
		// Zephyr's zcbor and the older tinycbor encoders emit
		// indefinite-length maps.
		IndefLength: cbor.IndefLengthAllowed,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return enc, dec
}

// EncodeCBOR encodes v as a CBOR body with map keys sorted.
func EncodeCBOR(v any) ([]byte, error) {
	b, err := cborEnc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("smp: encode cbor: %w", err)
	}
	return b, nil
}

// DecodeCBOR decodes a CBOR body into v with the package's limits: duplicate
// map keys, nesting deeper than 16 and arrays or maps over 1024 entries are
// errors, as is trailing data.
func DecodeCBOR(body []byte, v any) error {
	if err := cborDec.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %w", ErrBody, err)
	}
	return nil
}

// errObject holds the error members of a response; other members are
// ignored. Pointers tell an absent member from a zero one.
type errObject struct {
	RC  *int64 `cbor:"rc"`
	Err *struct {
		Group *uint64 `cbor:"group"`
		RC    *uint64 `cbor:"rc"`
	} `cbor:"err"`
}

// ResponseError returns the device error carried in a response body, nil if
// the body reports success, or an ErrBody error if the body is not a CBOR map
// or its error members are malformed.
//
// [protocol] "Minimal response": success is a map without "rc" and "err" (or
// with zero codes); SMP version 1 reports {"rc": N}; version 2 reports group
// errors as {"err": {"group": G, "rc": N}} and errors of SMP itself still as
// {"rc": N}. Should a body carry both, "err" wins as the more specific.
func ResponseError(body []byte) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty response body", ErrBody)
	}
	var o errObject
	if err := DecodeCBOR(body, &o); err != nil {
		return err
	}
	if o.Err != nil && o.Err.RC != nil && *o.Err.RC != 0 {
		if o.Err.Group == nil || *o.Err.Group > math.MaxUint16 {
			return fmt.Errorf("%w: err object without a valid group", ErrBody)
		}
		if *o.Err.RC > math.MaxInt32 {
			return fmt.Errorf("%w: err rc %d out of range", ErrBody, *o.Err.RC)
		}
		return &Error{Version: V2, Group: uint16(*o.Err.Group), RC: int(*o.Err.RC)}
	}
	if o.RC != nil && *o.RC != 0 {
		if *o.RC > math.MaxInt32 || *o.RC < math.MinInt32 {
			return fmt.Errorf("%w: rc %d out of range", ErrBody, *o.RC)
		}
		return &Error{Version: V1, RC: int(*o.RC)}
	}
	return nil
}

// DecodeResponse checks body for a device error and returns it as *Error;
// otherwise it decodes body into v (skipped if v is nil).
func DecodeResponse(body []byte, v any) error {
	if err := ResponseError(body); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	return DecodeCBOR(body, v)
}
