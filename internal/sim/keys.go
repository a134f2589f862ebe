package sim

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/provision"
)

// secret is key material in the unit's persistent state. It marshals to
// JSON like any []byte (the state directory is the unit's flash), but it
// never prints: fmt and %v show a placeholder, so a debug line or a test
// failure that prints the state cannot leak a private or building key.
type secret []byte

func (secret) String() string   { return "[secret]" }
func (secret) GoString() string { return "[secret]" }

// Format covers every verb, %x and %q included.
func (secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[secret]")) }

// unitKeys are a unit's identity keys: an Ed25519 key that signs
// attestations, receipts, countersignatures and decommission records, and
// an X25519 key that building keys are sealed to (docs/protocol.md 4.2).
type unitKeys struct {
	sign ed25519.PrivateKey
	kex  *ecdh.PrivateKey
}

func (k unitKeys) signPub() ed25519.PublicKey { return k.sign.Public().(ed25519.PublicKey) }

// deriveKey returns 32 bytes bound to the seed, a purpose label and the
// serial, so a sim's keys are the same every time it is created from the
// same seed and different for every purpose.
func deriveKey(seed uint64, label, serial string) []byte {
	h := sha256.New()
	h.Write([]byte("latchkey sim " + label + " v1\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, seed))
	h.Write([]byte(serial))
	return h.Sum(nil)
}

// newUnitKeys derives a unit's identity keys from the sim's seed and the
// unit's serial. A real unit generates them from its TRNG at the factory;
// the sim derives them so that tests and training units are reproducible.
func newUnitKeys(seed uint64, serial string) (signSeed, kexPriv secret, err error) {
	signSeed = deriveKey(seed, "unit sign key", serial)
	kexPriv = deriveKey(seed, "unit kex key", serial)
	if _, err := ecdh.X25519().NewPrivateKey(kexPriv); err != nil {
		return nil, nil, err
	}
	return signSeed, kexPriv, nil
}

func loadUnitKeys(signSeed, kexPriv []byte) (unitKeys, error) {
	if len(signSeed) != ed25519.SeedSize {
		return unitKeys{}, fmt.Errorf("signing key seed of %d bytes", len(signSeed))
	}
	kex, err := ecdh.X25519().NewPrivateKey(kexPriv)
	if err != nil {
		return unitKeys{}, fmt.Errorf("key-agreement key: %w", err)
	}
	return unitKeys{sign: ed25519.NewKeyFromSeed(signSeed), kex: kex}, nil
}

// ChainSource is the factory that issues a unit's certificate chain when
// the unit is first made. The chain is then kept in the unit's persistent
// state, as a real unit keeps the certificates programmed at the factory,
// so a source is asked once per unit.
//
// [SeededFactory] is the default; [DirFactory] (`latchkey sim --factory
// DIR`) keeps its root in a directory, so latchkey can be told to trust it.
type ChainSource interface {
	// Issue returns the chain for the unit with this serial and public
	// keys: the unit certificate first, then its issuers up to but not
	// including the root, DER-encoded, at most device.MaxChain
	// certificates of at most device.MaxCertSize bytes each.
	Issue(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey) ([][]byte, error)
}

// KexKeyFromCert returns the X25519 key a unit certificate carries, in a
// subject alternative name URI of provision.KexURIPrefix and 64 hex digits
// (the unit certificate format belongs to internal/provision, which checks
// it on attestation; this reads what the sim issued).
func KexKeyFromCert(c *x509.Certificate) ([]byte, error) {
	var found []byte
	for _, u := range c.URIs {
		s := u.String()
		if !strings.HasPrefix(s, provision.KexURIPrefix) {
			continue
		}
		k, err := hex.DecodeString(strings.TrimPrefix(s, provision.KexURIPrefix))
		if err != nil || len(k) != 32 || found != nil {
			return nil, errors.New("certificate: malformed or repeated key-agreement key")
		}
		found = k
	}
	if found == nil {
		return nil, errors.New("certificate: no key-agreement key")
	}
	return found, nil
}

// factoryValidity is the validity of every certificate the seeded factory
// issues: fixed, so that the same seed gives the same certificates byte for
// byte.
var factoryValidity = [2]time.Time{
	time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
}

// SeededFactory is a test manufacturer whose root and batch intermediate
// keys derive from Seed: root → batch intermediate → unit, x509 with
// Ed25519 throughout. It is reproducible, not secret: anyone with the seed
// can issue certificates, so no production build may trust its root.
type SeededFactory struct {
	Seed uint64
}

func (f SeededFactory) key(label string) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(deriveKey(f.Seed, "factory "+label, ""))
}

func certSerial(seed uint64, label string) *big.Int {
	b := deriveKey(seed, "certificate serial "+label, "")
	return new(big.Int).SetBytes(b[:16]) // positive, 128 bits (RFC 5280 4.1.2.2 allows 20 bytes)
}

// RootDER returns the factory's self-signed root certificate.
func (f SeededFactory) RootDER() ([]byte, error) {
	root, _, err := f.root()
	return root, err
}

func (f SeededFactory) root() ([]byte, *x509.Certificate, error) {
	k := f.key("root")
	tmpl := &x509.Certificate{
		SerialNumber:          certSerial(f.Seed, "root"),
		Subject:               pkix.Name{CommonName: "Latchkey Sim Test Root", Organization: []string{"Latchkey sim test factory"}},
		NotBefore:             factoryValidity[0],
		NotAfter:              factoryValidity[1],
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return nil, nil, fmt.Errorf("root certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	return der, c, err
}

func (f SeededFactory) batch() ([]byte, *x509.Certificate, error) {
	_, root, err := f.root()
	if err != nil {
		return nil, nil, err
	}
	k := f.key("batch")
	tmpl := &x509.Certificate{
		SerialNumber:          certSerial(f.Seed, "batch"),
		Subject:               pkix.Name{CommonName: "Latchkey Sim Batch 1", Organization: []string{"Latchkey sim test factory"}},
		NotBefore:             factoryValidity[0],
		NotAfter:              factoryValidity[1],
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, k.Public(), f.key("root"))
	if err != nil {
		return nil, nil, fmt.Errorf("batch certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	return der, c, err
}

// Issue implements [ChainSource]: a unit certificate naming the serial (as
// common name and subject serial number), for the unit's Ed25519 key, with
// its X25519 key as a provision.KexURIPrefix URI, issued by the batch
// intermediate; then the intermediate.
func (f SeededFactory) Issue(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey) ([][]byte, error) {
	return f.issueValid(serial, signKey, kexKey, factoryValidity[0], factoryValidity[1])
}

// issueValid implements validityIssuer for the expired counterfeit.
func (f SeededFactory) issueValid(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey, nb, na time.Time) ([][]byte, error) {
	batchDER, batch, err := f.batch()
	if err != nil {
		return nil, err
	}
	spec := unitCertSpec{serialNo: certSerial(f.Seed, "unit "+serial), notBefore: nb, notAfter: na}
	return issueUnit(serial, signKey, kexKey, spec, "Latchkey sim test factory", batchDER, batch, f.key("batch"))
}
