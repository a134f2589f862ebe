package provision

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/device"
)

// Errors of VerifyReceipt.
var (
	// ErrReceiptMismatch: the receipt is for another unit, slot, job or
	// burn than the one asked for; the wrapped detail names the field.
	ErrReceiptMismatch = errors.New("the unit's receipt is not for this burn: read the slot's receipt again; if it still differs, do not use the unit and report it")
	// ErrKCVMismatch: the unit stored another key than the one sealed.
	ErrKCVMismatch = errors.New("the unit holds a different key than the one sealed: do not use this unit for the building; report it to your operator")
	// ErrBadReceipt: the receipt's signature does not verify with the
	// unit's attested key.
	ErrBadReceipt = errors.New("the unit's receipt is not signed by the unit that was paired: do not use this unit; report it as suspect")
)

// VerifyReceipt checks that r is unit's signed statement that it stored, in
// slot for job, in answer to nonce, the key whose check value is kcv
// (KCV of the key that was sealed). It checks, in this order: serial,
// slot, job and nonce equal what was asked (ErrReceiptMismatch naming the
// field); the check value method is device.KCVCMAC and the value is kcv
// (ErrKCVMismatch); the Ed25519 signature over r.SignedBytes() verifies
// with unit.SignKey (ErrBadReceipt). The counter is not checked here: it is
// signed, and whoever keeps receipts may check it only grows.
func VerifyReceipt(r device.Receipt, unit Attested, slot uint8, job string, nonce []byte, kcv []byte) error {
	if len(nonce) != device.NonceSize || len(kcv) == 0 || len(kcv) > device.MaxKCV || job == "" {
		return fmt.Errorf("verify receipt: asked for nonce of %d bytes, check value of %d bytes, job %q", len(nonce), len(kcv), job)
	}
	switch {
	case r.Serial != unit.Serial:
		return fmt.Errorf("%w: serial: the receipt names unit %q, the paired unit is %q", ErrReceiptMismatch, r.Serial, unit.Serial)
	case r.Slot != slot:
		return fmt.Errorf("%w: slot: the receipt is for slot %d, the burn was of slot %d", ErrReceiptMismatch, r.Slot, slot)
	case r.Job != job:
		return fmt.Errorf("%w: job: the receipt is for job %q, the burn was for %q", ErrReceiptMismatch, r.Job, job)
	case !bytes.Equal(r.Nonce, nonce):
		return fmt.Errorf("%w: nonce: the receipt answers another burn request", ErrReceiptMismatch)
	case r.KCVAlg != device.KCVCMAC:
		return fmt.Errorf("%w: check value by method %q, want %q", ErrKCVMismatch, r.KCVAlg, device.KCVCMAC)
	case !bytes.Equal(r.KCV, kcv):
		return fmt.Errorf("%w: check value %x, the sealed key's is %x", ErrKCVMismatch, r.KCV, kcv)
	}
	if len(unit.SignKey) != ed25519.PublicKeySize || len(r.Sig) != ed25519.SignatureSize ||
		!ed25519.Verify(unit.SignKey, r.SignedBytes(), r.Sig) {
		return fmt.Errorf("%w: signature does not verify with the key of unit %q", ErrBadReceipt, unit.Serial)
	}
	return nil
}
