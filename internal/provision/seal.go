package provision

import (
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/device"
)

// The sealed-key format of a burn (docs/protocol.md 4.5 leaves it to this
// package). A building key is sealed with HPKE (RFC 9180) in base mode, to
// the unit's attested X25519 key, with the suite pinned to
//
//	KEM  DHKEM(X25519, HKDF-SHA256)  0x0020
//	KDF  HKDF-SHA256                 0x0001
//	AEAD AES-256-GCM                 0x0002
//
// and info binding the unit, slot, job and burn nonce:
//
//	"latchkey burn v1" ‖ 0x00 ‖ u16be len ‖ serial ‖ u8 slot ‖
//	u16be len ‖ job ‖ u16be len ‖ nonce
//
// The sealed bytes are enc (the 32-byte ephemeral X25519 public key) ‖ the
// AEAD ciphertext of the key (16 or 32 bytes plus a 16-byte tag), with
// empty aad: 64 or 80 bytes, under device.MaxSealed.
const (
	// SealContext starts the HPKE info of every sealed key.
	SealContext = "latchkey burn v1\x00"
	// EncSize is the length of HPKE's encapsulated key for DHKEM(X25519).
	EncSize = 32
	// sealTag is the AES-GCM tag length.
	sealTag = 16
)

// ErrSealInvalid: a sealed key does not open with this unit's key for this
// serial, slot, job and nonce (sealed for another, or damaged).
var ErrSealInvalid = errors.New("the sealed key does not open: it was sealed for another unit, slot, job or burn, or damaged on the way")

// suite returns the pinned HPKE KDF and AEAD; the KEM follows from the
// X25519 key.
func suite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.AES256GCM() }

// sealInfo returns the HPKE info of a seal, refusing fields beyond the
// protocol's limits (docs/protocol.md 4.1) so the encoding stays within one
// length form.
func sealInfo(serial string, slot uint8, job string, nonce []byte) ([]byte, error) {
	switch {
	case serial == "" || len(serial) > device.MaxSerial:
		return nil, fmt.Errorf("serial of %d bytes, want 1 to %d", len(serial), device.MaxSerial)
	case slot >= device.MaxSlots:
		return nil, fmt.Errorf("slot %d, want 0 to %d", slot, device.MaxSlots-1)
	case job == "" || len(job) > device.MaxJob:
		return nil, fmt.Errorf("job id of %d bytes, want 1 to %d", len(job), device.MaxJob)
	case len(nonce) != device.NonceSize:
		return nil, fmt.Errorf("nonce of %d bytes, want %d", len(nonce), device.NonceSize)
	}
	b := make([]byte, 0, len(SealContext)+2+len(serial)+1+2+len(job)+2+len(nonce))
	b = append(b, SealContext...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(serial)))
	b = append(b, serial...)
	b = append(b, slot)
	b = binary.BigEndian.AppendUint16(b, uint16(len(job)))
	b = append(b, job...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(nonce)))
	return append(b, nonce...), nil
}

// SealKey seals key (an AES-128 or AES-256 building key, 16 or 32 bytes)
// to the unit whose attested X25519 key is unitKex, for slot slot of job
// job in the burn with nonce nonce (device.BurnRequest.Nonce). Only that
// unit opens it, and only for the same serial, slot, job and nonce.
func SealKey(unitKex []byte, serial string, slot uint8, job string, nonce []byte, key []byte) ([]byte, error) {
	if len(key) != 16 && len(key) != 32 {
		return nil, fmt.Errorf("seal key: a building key is 16 or 32 bytes, not %d", len(key))
	}
	info, err := sealInfo(serial, slot, job, nonce)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	pub, err := ecdh.X25519().NewPublicKey(unitKex)
	if err != nil {
		return nil, fmt.Errorf("seal key: unit key-agreement key: %w", err)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	kdf, aead := suite()
	enc, s, err := hpke.NewSender(pk, kdf, aead, info)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	ct, err := s.Seal(nil, key)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	sealed := append(enc, ct...)
	if len(enc) != EncSize || len(sealed) > device.MaxSealed {
		return nil, fmt.Errorf("seal key: sealed key of %d bytes (enc %d)", len(sealed), len(enc))
	}
	return sealed, nil
}

// OpenKey opens the sealed key of a burn request with the unit's X25519
// private key, binding serial (the unit's own) and the request's slot, job
// and nonce. It has the signature of sim.Unsealer, so the virtual unit
// opens seals the way a real one does. A seal that does not open fails
// with ErrSealInvalid. The caller zeroes the key it returns.
func OpenKey(kex *ecdh.PrivateKey, serial string, req device.BurnRequest) ([]byte, error) {
	if kex == nil || kex.Curve() != ecdh.X25519() {
		return nil, errors.New("open sealed key: no X25519 key")
	}
	info, err := sealInfo(serial, req.Slot, req.Job, req.Nonce)
	if err != nil {
		return nil, fmt.Errorf("open sealed key: %w: %w", ErrSealInvalid, err)
	}
	if n := len(req.Sealed); n < EncSize+sealTag || n > device.MaxSealed {
		return nil, fmt.Errorf("open sealed key: %w: %d bytes", ErrSealInvalid, n)
	}
	sk, err := hpke.NewDHKEMPrivateKey(kex)
	if err != nil {
		return nil, fmt.Errorf("open sealed key: %w", err)
	}
	kdf, aead := suite()
	r, err := hpke.NewRecipient(req.Sealed[:EncSize], sk, kdf, aead, info)
	if err != nil {
		return nil, fmt.Errorf("open sealed key: %w: %w", ErrSealInvalid, err)
	}
	key, err := r.Open(nil, req.Sealed[EncSize:])
	if err != nil {
		return nil, fmt.Errorf("open sealed key: %w", ErrSealInvalid)
	}
	return key, nil
}
