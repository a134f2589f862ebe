package provision_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
)

// Times of the test manufacturer: certificates valid from t0 to t1, checked
// at now.
var (
	t0  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1  = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

// seeded returns 32 bytes derived from label, so every key and certificate
// of the tests is the same on every run (the fuzz corpus depends on it).
func seeded(label string) []byte {
	h := sha256.Sum256([]byte("latchkey provision test " + label))
	return h[:]
}

func seededKey(label string) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seeded(label)) }

func certSerial(label string) *big.Int { return new(big.Int).SetBytes(seeded("serial " + label)[:16]) }

// mustCert signs tmpl with parentKey under parent (tmpl itself when parent
// is nil) and parses the result.
func mustCert(t testing.TB, tmpl, parent *x509.Certificate, pub any, parentKey any) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// manufacturer is a test factory: root → batch intermediate → unit, x509
// with Ed25519 throughout, like internal/sim's SeededFactory.
type manufacturer struct {
	name     string
	rootKey  ed25519.PrivateKey
	root     *x509.Certificate
	batchKey ed25519.PrivateKey
	batch    *x509.Certificate
}

func rootTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          certSerial(name + " root"),
		Subject:               pkix.Name{CommonName: name + " Root", Organization: []string{name}},
		NotBefore:             t0,
		NotAfter:              t1,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

func batchTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          certSerial(name + " batch"),
		Subject:               pkix.Name{CommonName: name + " Batch 1", Organization: []string{name}},
		NotBefore:             t0,
		NotAfter:              t1,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
}

// newManufacturer makes a manufacturer whose keys derive from keyName and
// whose certificates say name; editRoot and editBatch (either may be nil)
// change the templates first.
func newManufacturer(t testing.TB, name, keyName string, editRoot, editBatch func(*x509.Certificate)) *manufacturer {
	t.Helper()
	m := &manufacturer{name: name, rootKey: seededKey(keyName + " root"), batchKey: seededKey(keyName + " batch")}
	rt := rootTemplate(name)
	if editRoot != nil {
		editRoot(rt)
	}
	m.root = mustCert(t, rt, nil, m.rootKey.Public(), m.rootKey)
	bt := batchTemplate(name)
	if editBatch != nil {
		editBatch(bt)
	}
	m.batch = mustCert(t, bt, m.root, m.batchKey.Public(), m.rootKey)
	return m
}

// unit is a test unit: its serial and identity keys.
type unit struct {
	serial string
	sign   ed25519.PrivateKey
	kex    *ecdh.PrivateKey
}

func newUnit(t testing.TB, serial string) unit {
	t.Helper()
	kex, err := ecdh.X25519().NewPrivateKey(seeded("kex " + serial))
	if err != nil {
		t.Fatal(err)
	}
	return unit{serial: serial, sign: seededKey("sign " + serial), kex: kex}
}

func (u unit) signPub() ed25519.PublicKey { return u.sign.Public().(ed25519.PublicKey) }

func kexURI(t testing.TB, key []byte) *url.URL {
	t.Helper()
	v, err := url.Parse(provision.KexURIPrefix + hex.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func unitTemplate(t testing.TB, u unit) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: certSerial("unit " + u.serial),
		Subject:      pkix.Name{CommonName: u.serial, SerialNumber: u.serial, Organization: []string{"test"}},
		NotBefore:    t0,
		NotAfter:     t1,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		URIs:         []*url.URL{kexURI(t, u.kex.PublicKey().Bytes())},
	}
}

// issue returns the chain (unit certificate, batch) the manufacturer gives
// unit u; edit (may be nil) changes the unit template first.
func (m *manufacturer) issue(t testing.TB, u unit, edit func(*x509.Certificate)) [][]byte {
	t.Helper()
	tmpl := unitTemplate(t, u)
	if edit != nil {
		edit(tmpl)
	}
	c := mustCert(t, tmpl, m.batch, u.signPub(), m.batchKey)
	return [][]byte{c.Raw, m.batch.Raw}
}

func (u unit) identity() device.Identity {
	return device.Identity{
		Serial: u.serial, Model: "LK1", Hardware: "B", Firmware: "1.4.2",
		SignKey: u.signPub(), KexKey: u.kex.PublicKey().Bytes(),
		Label: device.LabelCode(u.signPub()), State: device.StateNew, Slots: 4, Proto: device.ProtoVersion,
	}
}

// answer is what unit u answers to the challenge nonce with chain.
func (u unit) answer(nonce []byte, chain [][]byte) device.Attestation {
	return device.Attestation{
		Nonce: bytes.Clone(nonce),
		Chain: chain,
		Sig:   ed25519.Sign(u.sign, device.AttestationMessage(nonce, u.serial)),
	}
}

func nonceOf(label string) []byte { return seeded("nonce " + label) }

// attestCase is the input of VerifyAttestation.
type attestCase struct {
	id    device.Identity
	att   device.Attestation
	nonce []byte
	roots []*x509.Certificate
	now   time.Time
}

func genuine(t testing.TB) (attestCase, *manufacturer, unit) {
	t.Helper()
	m := newManufacturer(t, "Acme", "acme", nil, nil)
	u := newUnit(t, "LK1-000123")
	n := nonceOf("fresh")
	return attestCase{
		id:    u.identity(),
		att:   u.answer(n, m.issue(t, u, nil)),
		nonce: n,
		roots: []*x509.Certificate{m.root},
		now:   now,
	}, m, u
}

var attestErrors = []error{
	provision.ErrChainInvalid, provision.ErrUnknownRoot, provision.ErrCertExpired, provision.ErrKeyUsage,
	provision.ErrSerialMismatch, provision.ErrKeyMismatch, provision.ErrNonceMismatch, provision.ErrBadSignature,
}

func TestVerifyAttestation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// edit makes the counterfeit (or the fault) from a genuine unit.
		edit func(t *testing.T, c *attestCase, m *manufacturer, u unit)
		want error // nil: genuine
	}{
		{"genuine", func(*testing.T, *attestCase, *manufacturer, unit) {}, nil},
		{"genuine with the root in the chain", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = append(c.att.Chain, m.root.Raw)
		}, nil},
		{"genuine, second of two trusted roots", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			other := newManufacturer(t, "Other", "other", nil, nil)
			c.roots = []*x509.Certificate{other.root, m.root}
		}, nil},
		{"genuine, untrusted and non-CA roots ignored", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			leaf, _ := x509.ParseCertificate(c.att.Chain[0])
			c.roots = []*x509.Certificate{nil, leaf, m.root}
		}, nil},

		// 1. the chain parses
		{"no certificate", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = nil
		}, provision.ErrChainInvalid},
		{"garbage certificate", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain[0] = []byte("not a certificate at all")
		}, provision.ErrChainInvalid},
		{"truncated certificate", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain[1] = c.att.Chain[1][:len(c.att.Chain[1])-5]
		}, provision.ErrChainInvalid},
		{"chain too long", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = append(c.att.Chain, m.batch.Raw, m.batch.Raw, m.root.Raw)
		}, provision.ErrChainInvalid},
		{"certificate over the size limit", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			big := make([]byte, device.MaxCertSize+1)
			c.att.Chain = [][]byte{c.att.Chain[0], big}
		}, provision.ErrChainInvalid},
		{"ECDSA unit key", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			cert := mustCert(t, unitTemplate(t, u), m.batch, k.Public(), m.batchKey)
			c.att.Chain[0] = cert.Raw
		}, provision.ErrChainInvalid},

		// 2. it chains to a trusted root
		{"unknown root", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			rogue := newManufacturer(t, "Rogue", "rogue", nil, nil)
			c.att = u.answer(c.nonce, rogue.issue(t, u, nil))
		}, provision.ErrUnknownRoot},
		{"impostor root with the trusted root's name", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			rogue := newManufacturer(t, "Acme", "rogue", nil, nil)
			c.att = u.answer(c.nonce, rogue.issue(t, u, nil))
		}, provision.ErrUnknownRoot},
		{"no root trusted", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.roots = nil
		}, provision.ErrUnknownRoot},
		{"batch certificate missing", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = c.att.Chain[:1]
		}, provision.ErrChainInvalid},
		{"genuine, unit certificate issued by the root directly", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			cert := mustCert(t, unitTemplate(t, u), m.root, u.signPub(), m.rootKey)
			c.att.Chain = [][]byte{cert.Raw}
		}, nil},
		{"batch certificate not a CA", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			bad := newManufacturer(t, "Acme", "acme", nil, func(b *x509.Certificate) {
				b.IsCA, b.MaxPathLenZero, b.KeyUsage = false, false, x509.KeyUsageDigitalSignature
			})
			c.att = u.answer(c.nonce, bad.issue(t, u, nil))
		}, provision.ErrChainInvalid},
		{"chain longer than the root allows", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			strict := newManufacturer(t, "Acme", "acme", func(r *x509.Certificate) {
				r.MaxPathLen, r.MaxPathLenZero = 0, true
			}, nil)
			c.att = u.answer(c.nonce, strict.issue(t, u, nil))
			c.roots = []*x509.Certificate{strict.root}
		}, provision.ErrChainInvalid},
		{"unit certificate's signature broken", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			der := bytes.Clone(c.att.Chain[0])
			der[len(der)-1] ^= 1 // the last byte is in the signature
			c.att.Chain[0] = der
		}, provision.ErrChainInvalid},

		// 3. validity of every certificate at now
		{"unit certificate expired", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.NotAfter = now.Add(-time.Hour) })
		}, provision.ErrCertExpired},
		{"unit certificate not yet valid", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.NotBefore = now.Add(time.Hour) })
		}, provision.ErrCertExpired},
		{"batch certificate expired", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			old := newManufacturer(t, "Acme", "acme", nil, func(b *x509.Certificate) { b.NotAfter = now.AddDate(0, -1, 0) })
			c.att.Chain = old.issue(t, u, func(x *x509.Certificate) { x.NotAfter = now.AddDate(0, -2, 0) })
		}, provision.ErrCertExpired},
		{"root expired", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			old := newManufacturer(t, "Acme", "acme", func(r *x509.Certificate) { r.NotAfter = now.AddDate(0, 0, -1) }, nil)
			c.att.Chain = old.issue(t, u, nil)
			c.roots = []*x509.Certificate{old.root}
		}, provision.ErrCertExpired},
		{"laptop clock before the factory", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.now = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		}, provision.ErrCertExpired},
		{"expired and wrong serial: expiry first", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.NotAfter = now.Add(-time.Hour) })
			c.id.Serial = "LK1-999999"
		}, provision.ErrCertExpired},

		// 4. key usage
		{"CA flag on unit certificate", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) {
				x.IsCA, x.BasicConstraintsValid = true, true
				x.KeyUsage |= x509.KeyUsageCertSign
			})
		}, provision.ErrKeyUsage},
		{"unit certificate not for signatures", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.KeyUsage = x509.KeyUsageKeyAgreement })
		}, provision.ErrKeyUsage},
		{"chain in the wrong order", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain[0], c.att.Chain[1] = c.att.Chain[1], c.att.Chain[0]
		}, provision.ErrKeyUsage},

		// 5. serial
		{"wrong serial in certificate", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.Subject.CommonName, x.Subject.SerialNumber = "LK1-000999", "LK1-000999" })
		}, provision.ErrSerialMismatch},
		{"serial number attribute differs from common name", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.Subject.SerialNumber = "LK1-000999" })
		}, provision.ErrSerialMismatch},
		{"no serial number attribute", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.Subject.SerialNumber = "" })
		}, provision.ErrSerialMismatch},
		{"two common names", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) {
				x.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: []int{2, 5, 4, 3}, Value: "LK1-000999"}}
			})
		}, provision.ErrSerialMismatch},

		// 6. keys
		{"cloned: another unit's genuine certificate, this unit's keys", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			victim := newUnit(t, "LK1-000777")
			c.id.Serial = victim.serial
			clone := unit{serial: victim.serial, sign: u.sign, kex: u.kex}
			c.att = clone.answer(c.nonce, m.issue(t, victim, nil))
		}, provision.ErrKeyMismatch},
		{"cloned: certificate's signing key, another key-agreement key", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.id.KexKey = newUnit(t, "LK1-000777").kex.PublicKey().Bytes()
		}, provision.ErrKeyMismatch},
		{"no key-agreement key in certificate", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) { x.URIs = nil })
		}, provision.ErrKeyMismatch},
		{"key-agreement key in upper-case hex", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) {
				x.URIs = []*url.URL{{Scheme: "urn", Opaque: "latchkey:x25519:" + strings.ToUpper(hex.EncodeToString(u.kex.PublicKey().Bytes()))}}
			})
		}, provision.ErrKeyMismatch},
		{"two key-agreement keys", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Chain = m.issue(t, u, func(x *x509.Certificate) {
				x.URIs = append(x.URIs, kexURI(t, newUnit(t, "other").kex.PublicKey().Bytes()))
			})
		}, provision.ErrKeyMismatch},

		// 7. nonce
		{"answer to another challenge", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att = u.answer(nonceOf("old"), c.att.Chain)
		}, provision.ErrNonceMismatch},
		{"no nonce in answer", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Nonce = nil
		}, provision.ErrNonceMismatch},

		// 8. signature
		{"replayed signature over an old nonce", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Sig = u.answer(nonceOf("old"), nil).Sig
		}, provision.ErrBadSignature},
		{"signature by another key", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Sig = ed25519.Sign(seededKey("thief"), device.AttestationMessage(c.nonce, u.serial))
		}, provision.ErrBadSignature},
		{"signature over another serial", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Sig = ed25519.Sign(u.sign, device.AttestationMessage(c.nonce, "LK1-000999"))
		}, provision.ErrBadSignature},
		{"truncated signature", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Sig = c.att.Sig[:63]
		}, provision.ErrBadSignature},
		{"no signature", func(t *testing.T, c *attestCase, m *manufacturer, u unit) {
			c.att.Sig = nil
		}, provision.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, m, u := genuine(t)
			tt.edit(t, &c, m, u)
			got, err := provision.VerifyAttestation(c.id, c.att, c.nonce, c.roots, c.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyAttestation: %v", err)
				}
				if got.Serial != u.serial || !bytes.Equal(got.SignKey, u.signPub()) || !bytes.Equal(got.KexKey, u.kex.PublicKey().Bytes()) {
					t.Errorf("Attested = %+v, want unit %s's keys", got, u.serial)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyAttestation error = %v, want %v", err, tt.want)
			}
			for _, other := range attestErrors {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v is also %v", err, other)
				}
			}
			if got.Serial != "" || got.SignKey != nil || got.KexKey != nil || got.UnitCert != "" || got.Root != "" {
				t.Errorf("failed attestation returned %+v, want the zero Attested", got)
			}
		})
	}
}

func TestVerifyAttestationResult(t *testing.T) {
	t.Parallel()
	c, m, u := genuine(t)
	got, err := provision.VerifyAttestation(c.id, c.att, c.nonce, c.roots, c.now)
	if err != nil {
		t.Fatal(err)
	}
	unitFP := sha256.Sum256(c.att.Chain[0])
	rootFP := sha256.Sum256(m.root.Raw)
	want := provision.Attested{
		Serial:   u.serial,
		SignKey:  u.signPub(),
		KexKey:   u.kex.PublicKey().Bytes(),
		Label:    device.LabelCode(u.signPub()),
		UnitCert: hex.EncodeToString(unitFP[:]),
		Root:     hex.EncodeToString(rootFP[:]),
		NotAfter: t1,
	}
	if got.Serial != want.Serial || !bytes.Equal(got.SignKey, want.SignKey) || !bytes.Equal(got.KexKey, want.KexKey) ||
		got.Label != want.Label || got.UnitCert != want.UnitCert || got.Root != want.Root || !got.NotAfter.Equal(want.NotAfter) {
		t.Errorf("Attested =\n%+v\nwant\n%+v", got, want)
	}
	// The result must not alias the identity the unit sent.
	c.id.SignKey[0] ^= 1
	c.id.KexKey[0] ^= 1
	if !bytes.Equal(got.SignKey, want.SignKey) || !bytes.Equal(got.KexKey, want.KexKey) {
		t.Error("Attested shares memory with the identity answer")
	}
}

func TestVerifyAttestationBadChallenge(t *testing.T) {
	t.Parallel()
	c, _, _ := genuine(t)
	for _, n := range [][]byte{nil, c.nonce[:31], append(bytes.Clone(c.nonce), 0)} {
		c.att.Nonce = n
		if _, err := provision.VerifyAttestation(c.id, c.att, n, c.roots, c.now); err == nil {
			t.Errorf("challenge of %d bytes verified", len(n))
		}
	}
}

// The sentinels are read by installers: words, a next step, no codes.
func TestAttestErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, e := range attestErrors {
		msg := e.Error()
		if seen[msg] {
			t.Errorf("two errors say %q", msg)
		}
		seen[msg] = true
		if strings.ContainsAny(msg, "0123456789") {
			t.Errorf("%q has a number in it", msg)
		}
		if !strings.Contains(msg, ":") || !(strings.Contains(msg, "do not") || strings.Contains(msg, "again") || strings.Contains(msg, "add")) {
			t.Errorf("%q does not say what to do", msg)
		}
	}
}

func TestNewNonce(t *testing.T) {
	t.Parallel()
	a, err := provision.NewNonce(rand.Reader)
	if err != nil || len(a) != device.NonceSize {
		t.Fatalf("NewNonce = %x, %v", a, err)
	}
	b, _ := provision.NewNonce(rand.Reader)
	if bytes.Equal(a, b) {
		t.Error("two nonces are equal")
	}
	if _, err := provision.NewNonce(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Error("NewNonce with a failing reader: no error")
	}
	if _, err := provision.NewNonce(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("NewNonce with 31 bytes of randomness: no error")
	}
}
