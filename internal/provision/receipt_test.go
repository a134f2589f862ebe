package provision_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
)

// unitBurn is what a unit does with a burn request (docs/protocol.md 4.5):
// open the seal, compute the check value, sign the receipt.
func unitBurn(t testing.TB, u unit, req device.BurnRequest, counter uint64) device.Receipt {
	t.Helper()
	key, err := provision.OpenKey(u.kex, u.serial, req)
	if err != nil {
		t.Fatal(err)
	}
	kcv, err := provision.KCV(key)
	if err != nil {
		t.Fatal(err)
	}
	r := device.Receipt{
		Serial: u.serial, Slot: req.Slot, Job: req.Job, Counter: counter,
		Nonce: bytes.Clone(req.Nonce), KCV: kcv, KCVAlg: device.KCVCMAC,
	}
	r.Sig = ed25519.Sign(u.sign, r.SignedBytes())
	return r
}

func attested(u unit) provision.Attested {
	return provision.Attested{
		Serial: u.serial, SignKey: u.signPub(), KexKey: u.kex.PublicKey().Bytes(), Label: device.LabelCode(u.signPub()),
	}
}

func TestVerifyReceipt(t *testing.T) {
	t.Parallel()
	u := newUnit(t, "LK1-000123")
	key := buildingKey(32)
	kcv, err := provision.KCV(key)
	if err != nil {
		t.Fatal(err)
	}
	resign := func(r *device.Receipt) { r.Sig = ed25519.Sign(u.sign, r.SignedBytes()) }
	tests := []struct {
		name  string
		edit  func(r *device.Receipt, a *provision.Attested)
		want  error
		field string // named in the error
	}{
		{"genuine", func(*device.Receipt, *provision.Attested) {}, nil, ""},
		{"other serial", func(r *device.Receipt, _ *provision.Attested) { r.Serial = "LK1-000124"; resign(r) }, provision.ErrReceiptMismatch, "serial"},
		{"other slot", func(r *device.Receipt, _ *provision.Attested) { r.Slot = 3; resign(r) }, provision.ErrReceiptMismatch, "slot"},
		{"other job", func(r *device.Receipt, _ *provision.Attested) { r.Job = "another-job"; resign(r) }, provision.ErrReceiptMismatch, "job"},
		{"other nonce", func(r *device.Receipt, _ *provision.Attested) { r.Nonce = nonceOf("other"); resign(r) }, provision.ErrReceiptMismatch, "nonce"},
		{"no nonce", func(r *device.Receipt, _ *provision.Attested) { r.Nonce = nil; resign(r) }, provision.ErrReceiptMismatch, "nonce"},
		{"other check value method", func(r *device.Receipt, _ *provision.Attested) { r.KCVAlg = "kcv-ecb"; resign(r) }, provision.ErrKCVMismatch, "method"},
		{"other key stored", func(r *device.Receipt, _ *provision.Attested) {
			other, _ := provision.KCV(buildingKey(16))
			r.KCV = other
			resign(r)
		}, provision.ErrKCVMismatch, "check value"},
		{"check value cut short", func(r *device.Receipt, _ *provision.Attested) { r.KCV = r.KCV[:2]; resign(r) }, provision.ErrKCVMismatch, "check value"},
		{"signed by another key", func(r *device.Receipt, _ *provision.Attested) {
			r.Sig = ed25519.Sign(seededKey("thief"), r.SignedBytes())
		}, provision.ErrBadReceipt, ""},
		{"counter changed after signing", func(r *device.Receipt, _ *provision.Attested) { r.Counter++ }, provision.ErrBadReceipt, ""},
		{"truncated signature", func(r *device.Receipt, _ *provision.Attested) { r.Sig = r.Sig[:63] }, provision.ErrBadReceipt, ""},
		{"no signature", func(r *device.Receipt, _ *provision.Attested) { r.Sig = nil }, provision.ErrBadReceipt, ""},
		{"attested unit without a key", func(_ *device.Receipt, a *provision.Attested) { a.SignKey = nil }, provision.ErrBadReceipt, ""},
		{"another unit's receipt under its serial", func(r *device.Receipt, a *provision.Attested) {
			a.SignKey = newUnit(t, "LK1-000124").signPub()
		}, provision.ErrBadReceipt, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := burn(t, u, 2, key)
			r := unitBurn(t, u, req, 7)
			a := attested(u)
			tt.edit(&r, &a)
			err := provision.VerifyReceipt(r, a, 2, testJob, req.Nonce, kcv)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyReceipt: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyReceipt = %v, want %v", err, tt.want)
			}
			for _, other := range []error{provision.ErrReceiptMismatch, provision.ErrKCVMismatch, provision.ErrBadReceipt} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v is also %v", err, other)
				}
			}
			if tt.field != "" && !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestVerifyReceiptRefusesBadQuestion(t *testing.T) {
	t.Parallel()
	u := newUnit(t, "LK1-000123")
	req := burn(t, u, 2, buildingKey(32))
	r := unitBurn(t, u, req, 1)
	kcv := r.KCV
	// Empty asked-for fields must not match empty receipt fields.
	empty := r
	empty.Nonce, empty.KCV, empty.Job = nil, nil, ""
	empty.Sig = ed25519.Sign(u.sign, empty.SignedBytes())
	for name, err := range map[string]error{
		"short nonce":         provision.VerifyReceipt(r, attested(u), 2, testJob, req.Nonce[:16], kcv),
		"no check value":      provision.VerifyReceipt(r, attested(u), 2, testJob, req.Nonce, nil),
		"all empty":           provision.VerifyReceipt(empty, attested(u), 2, "", nil, nil),
		"check value too big": provision.VerifyReceipt(r, attested(u), 2, testJob, req.Nonce, make([]byte, device.MaxKCV+1)),
	} {
		if err == nil {
			t.Errorf("%s: VerifyReceipt = nil, want an error", name)
		}
	}
}
