package sim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
)

// attestFacts is what a verifier can find out about a unit from its
// identity and two attestations, computed here with the standard library
// only, so each counterfeit mode is shown to produce the bytes it
// describes, and a genuine unit none of them.
type attestFacts struct {
	chainToRoot  bool // the chain verifies to the factory root, at its validity
	certExpired  bool // the unit certificate's NotAfter is in the past
	serialInCert bool // the unit certificate names the identity's serial
	keyInCert    bool // the unit certificate is for the identity's signing and kex keys
	sigOverNonce bool // the attestation verifies with the certificate key over the nonce asked
	sameSigTwice bool // two attestations over different nonces carry the same signature
}

func TestCounterfeitModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode Counterfeit
		want attestFacts
	}{
		{Genuine, attestFacts{chainToRoot: true, serialInCert: true, keyInCert: true, sigOverNonce: true}},
		{CounterfeitUnknownRoot, attestFacts{chainToRoot: false, serialInCert: true, keyInCert: true, sigOverNonce: true}},
		{CounterfeitExpired, attestFacts{chainToRoot: true, certExpired: true, serialInCert: true, keyInCert: true, sigOverNonce: true}},
		{CounterfeitCloned, attestFacts{chainToRoot: true, serialInCert: true, keyInCert: true, sigOverNonce: false}},
		{CounterfeitReplayed, attestFacts{chainToRoot: true, serialInCert: true, keyInCert: true, sigOverNonce: false, sameSigTwice: true}},
		{CounterfeitSerialMismatch, attestFacts{chainToRoot: true, serialInCert: false, keyInCert: true, sigOverNonce: true}},
	}
	factories := []struct {
		name string
		make func(t *testing.T) (ChainSource, []byte)
	}{
		{"seeded", func(t *testing.T) (ChainSource, []byte) {
			f := SeededFactory{Seed: 1}
			root, err := f.RootDER()
			if err != nil {
				t.Fatal(err)
			}
			return f, root
		}},
		{"dir", func(t *testing.T) (ChainSource, []byte) {
			f := DirFactory{Dir: t.TempDir()}
			root, err := f.RootDER()
			if err != nil {
				t.Fatal(err)
			}
			return f, root
		}},
	}
	for _, fc := range factories {
		for _, tt := range tests {
			name := string(tt.mode)
			if name == "" {
				name = "genuine"
			}
			t.Run(fc.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				chain, rootDER := fc.make(t)
				h := startLatchkey(t, LatchkeyConfig{Chain: chain, Counterfeit: tt.mode}, Options{})
				ctx := context.Background()
				id, err := h.dev.Identity(ctx)
				if err != nil {
					t.Fatal(err)
				}
				n1, n2 := nonce(t), nonce(t)
				a1, err := h.dev.Attest(ctx, n1)
				if err != nil {
					t.Fatal(err)
				}
				a2, err := h.dev.Attest(ctx, n2)
				if err != nil {
					t.Fatal(err)
				}
				// Otherwise normal: status and the nonce rule still work.
				if _, err := h.dev.Status(ctx); err != nil {
					t.Errorf("status: %v", err)
				}
				_, err = h.dev.Attest(ctx, n1)
				wantCode(t, "attest with a used nonce", err, device.ErrNonceReused)

				if len(a1.Chain) != 2 {
					t.Fatalf("chain of %d certificates", len(a1.Chain))
				}
				leaf, inter := parseCert(t, a1.Chain[0]), parseCert(t, a1.Chain[1])
				roots, inters := x509.NewCertPool(), x509.NewCertPool()
				roots.AddCert(parseCert(t, rootDER))
				inters.AddCert(inter)
				_, verr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: leaf.NotBefore.Add(time.Hour)})
				certKey, _ := leaf.PublicKey.(ed25519.PublicKey)
				kex, _ := KexKeyFromCert(leaf)
				got := attestFacts{
					chainToRoot:  verr == nil,
					certExpired:  leaf.NotAfter.Before(time.Now()),
					serialInCert: leaf.Subject.CommonName == id.Serial && leaf.Subject.SerialNumber == id.Serial,
					keyInCert:    certKey.Equal(ed25519.PublicKey(id.SignKey)) && bytes.Equal(kex, id.KexKey),
					sigOverNonce: ed25519.Verify(certKey, device.AttestationMessage(n1, id.Serial), a1.Sig) &&
						ed25519.Verify(certKey, device.AttestationMessage(n2, id.Serial), a2.Sig),
					sameSigTwice: bytes.Equal(a1.Sig, a2.Sig),
				}
				if got != tt.want {
					t.Errorf("facts %+v\nwant  %+v (verify: %v)", got, tt.want, verr)
				}
				if tt.mode == CounterfeitExpired {
					if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); !errors.As(err, new(x509.CertificateInvalidError)) {
						t.Errorf("expired certificate verifies now: %v", err)
					}
				}

				// What the unit holds, behind the bytes.
				var lk lkState
				h.unit.View(func(st State) { lk, err = decodeLK(st.Ext[extKey]) })
				if err != nil {
					t.Fatal(err)
				}
				if lk.Counterfeit != tt.mode {
					t.Errorf("state keeps mode %q, want %q", lk.Counterfeit, tt.mode)
				}
				k, err := loadUnitKeys(lk.SignSeed, lk.KexKey)
				if err != nil {
					t.Fatal(err)
				}
				switch tt.mode {
				case CounterfeitCloned:
					// It signs with its own key, which is not the certificate's;
					// the victim is a genuine unit of the same seed and factory.
					if !ed25519.Verify(k.signPub(), device.AttestationMessage(n1, id.Serial), a1.Sig) {
						t.Error("clone's signature is not by its own key")
					}
					own, err := Open(Config{Seed: 1})
					if err != nil {
						t.Fatal(err)
					}
					if id.Serial == own.Identity().Serial {
						t.Errorf("clone reports its own serial %s, not its victim's", id.Serial)
					}
					vSign, _, _ := newUnitKeys(1, id.Serial)
					if !certKey.Equal(ed25519.NewKeyFromSeed(vSign).Public()) {
						t.Error("cloned certificate is not the victim's genuine key")
					}
				case CounterfeitReplayed:
					if !ed25519.Verify(certKey, device.AttestationMessage(lk.Replay.Nonce, id.Serial), a1.Sig) || bytes.Equal(lk.Replay.Nonce, n1) {
						t.Error("replayed signature is not over the captured nonce")
					}
				case CounterfeitSerialMismatch:
					if leaf.Subject.CommonName == "" || !validText(leaf.Subject.CommonName, device.MaxSerial) {
						t.Errorf("mismatched certificate serial %q", leaf.Subject.CommonName)
					}
				}
				if h.unit.Label() != id.Label || id.Label != device.LabelCode(id.SignKey) {
					t.Errorf("Unit.Label() %q, identity label %q", h.unit.Label(), id.Label)
				}
			})
		}
	}
}

// TestCounterfeitKeptInState: the mode is fixed when the unit is made; a
// different mode for a unit made earlier is refused, and no mode keeps it.
func TestCounterfeitKeptInState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func() *Unit {
		u, err := Open(Config{Dir: dir, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	info, err := NewLatchkey(LatchkeyConfig{Seed: 3, Counterfeit: CounterfeitCloned}).Init(open())
	if err != nil || info.Counterfeit != CounterfeitCloned {
		t.Fatalf("Init = %+v, %v", info, err)
	}
	tests := []struct {
		mode    Counterfeit
		wantErr bool
	}{
		{CounterfeitCloned, false},
		{Genuine, false},
		{CounterfeitExpired, true},
	}
	for _, tt := range tests {
		again, err := NewLatchkey(LatchkeyConfig{Seed: 3, Counterfeit: tt.mode}).Init(open())
		if (err != nil) != tt.wantErr {
			t.Errorf("Init with %q on a cloned unit: %v, want error %v", tt.mode, err, tt.wantErr)
		}
		if err == nil && (again.Counterfeit != CounterfeitCloned || again.Label != info.Label || again.Serial != info.Serial) {
			t.Errorf("Init with %q: %+v, want the unit made first %+v", tt.mode, again, info)
		}
	}
	if _, err := ParseCounterfeit("forged"); err == nil {
		t.Error("ParseCounterfeit accepts an unknown mode")
	}
	for _, m := range CounterfeitModes {
		if got, err := ParseCounterfeit(string(m)); err != nil || got != m {
			t.Errorf("ParseCounterfeit(%q) = %q, %v", m, got, err)
		}
	}
}

// TestCounterfeitCloneCannotOpenSeals: a seal made to the certificate's
// key (the victim's) does not open on the clone.
func TestCounterfeitCloneCannotOpenSeals(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{Unseal: testUnseal, Counterfeit: CounterfeitCloned}, Options{})
	ctx := context.Background()
	id, err := h.dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	job, n := "6f1c2d3e-4b5a-4978-8695-a4b3c2d1e0f9", nonce(t)
	_, err = h.dev.Burn(ctx, device.BurnRequest{Slot: 0, Job: job, Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, 0, job, n, bytes.Repeat([]byte{1}, 16))})
	wantCode(t, "burn on a clone", err, device.ErrSealInvalid)
}

// TestBurnProvisionSeal: with provision.OpenKey a key sealed by
// provision.SealKey burns as on a real unit, and a clone, holding none of
// the certificate's private keys, cannot open it.
func TestBurnProvisionSeal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode Counterfeit
		want device.ErrorCode // 0: the burn succeeds
	}{
		{Genuine, 0},
		{CounterfeitCloned, device.ErrSealInvalid},
	} {
		t.Run(string(tt.mode)+"-", func(t *testing.T) {
			t.Parallel()
			h := startLatchkey(t, LatchkeyConfig{Unseal: provision.OpenKey, Counterfeit: tt.mode}, Options{})
			ctx := context.Background()
			id, err := h.dev.Identity(ctx)
			if err != nil {
				t.Fatal(err)
			}
			key, job, n := bytes.Repeat([]byte{0x42}, 32), "0b8e7c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b", nonce(t)
			sealed, err := provision.SealKey(id.KexKey, id.Serial, 5, job, n, key)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 5, Job: job, Nonce: n, Sealed: sealed})
			if tt.want != 0 {
				wantCode(t, "burn", err, tt.want)
				return
			}
			kcv, _ := provision.KCV(key)
			if err != nil || !bytes.Equal(rc.KCV, kcv) || !ed25519.Verify(id.SignKey, rc.SignedBytes(), rc.Sig) {
				t.Fatalf("burn of a provision seal: %+v, %v", rc, err)
			}
		})
	}
}
