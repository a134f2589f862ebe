package provision

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/device"
)

// KexURIPrefix starts the subject alternative name URI in which a unit
// certificate carries the unit's X25519 key-agreement key, followed by the
// 32 key bytes as 64 lower-case hex digits. With it the unit certificate
// binds serial (subject common name and serial number), signing key (the
// certificate's Ed25519 public key) and key-agreement key using standard
// x509 fields only. internal/sim issues the same form.
const KexURIPrefix = "urn:latchkey:x25519:"

// Errors of VerifyAttestation, one per check, in the order they are made.
// Each says what it means for the unit in the installer's hands and what to
// do; the wrapped detail says which certificate or field failed.
var (
	ErrChainInvalid   = errors.New("the unit's certificate chain is damaged or not built the way a manufacturer builds one: reconnect the unit and pair again; if it repeats, do not install this unit and report it as suspect")
	ErrUnknownRoot    = errors.New("the unit's certificates come from a manufacturer this laptop does not trust: do not install it; if your operator issued you that manufacturer's root certificate, add it to the trust store first")
	ErrCertExpired    = errors.New("a certificate of the unit is expired or not yet valid: check that this laptop's date and time are right; if they are, do not install this unit")
	ErrKeyUsage       = errors.New("the unit's certificate is not a unit certificate (it may issue certificates, or may not sign): a counterfeit; do not install this unit")
	ErrSerialMismatch = errors.New("the serial number the unit reports is not the one in its certificate: a counterfeit or tampered unit; do not install it")
	ErrKeyMismatch    = errors.New("the unit's keys are not the ones in its certificate: a cloned certificate; do not install this unit")
	ErrNonceMismatch  = errors.New("the unit answered another challenge than the one sent (a replayed answer): pair again; if it repeats, do not install this unit")
	ErrBadSignature   = errors.New("the unit could not prove it holds its certificate's key: cloned or replayed; do not install this unit")
)

// Attested is what VerifyAttestation proved about a unit: every field comes
// from (or is checked against) a certificate chaining to a trusted root.
type Attested struct {
	Serial  string
	SignKey ed25519.PublicKey
	// KexKey is the unit's X25519 public key, 32 bytes, as its certificate
	// carries it: the key building keys are sealed to (SealKey).
	KexKey []byte
	// Label is device.LabelCode(SignKey), the code on the unit's box.
	Label string
	// UnitCert is the hex SHA-256 of the unit certificate's DER, the
	// attestation fingerprint records refer to.
	UnitCert string
	// Root is the hex SHA-256 of the DER of the trusted root the chain
	// ends in (the fingerprint TrustStore lists).
	Root string
	// NotAfter is when the unit certificate expires.
	NotAfter time.Time
}

// NewNonce returns a fresh device.NonceSize-byte challenge read from rand
// (crypto/rand.Reader outside tests).
func NewNonce(rand io.Reader) ([]byte, error) {
	n := make([]byte, device.NonceSize)
	if _, err := io.ReadFull(rand, n); err != nil {
		return nil, fmt.Errorf("new nonce: %w", err)
	}
	return n, nil
}

// OIDs of the subject attributes that carry a unit's serial.
var (
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

// VerifyAttestation decides whether a unit is genuine: whether the chain in
// att leads from a unit certificate for id (its serial, signing key and
// key-agreement key) to one of roots, and whether the unit signed nonce, the
// fresh challenge the caller sent, with that certificate's key. It checks,
// in this order, and fails with the first error that applies:
//
//  1. the chain is 1 to device.MaxChain Ed25519 certificates that parse
//     (ErrChainInvalid);
//  2. it chains to one of roots with the CA, key-usage and path-length
//     constraints of x509.Verify (ErrUnknownRoot when the presented chain
//     is well formed but ends in a root that is not trusted,
//     ErrChainInvalid for any other fault);
//  3. every certificate of the chain, the root included, is valid at now
//     (ErrCertExpired, also for a certificate not yet valid);
//  4. the unit certificate is for digital signatures and not a CA
//     (ErrKeyUsage);
//  5. its subject common name and serial number both equal id.Serial
//     (ErrSerialMismatch);
//  6. its public key equals id.SignKey and its X25519 key id.KexKey
//     (ErrKeyMismatch);
//  7. att.Nonce equals nonce (ErrNonceMismatch);
//  8. att.Sig is the certificate key's signature over
//     device.AttestationMessage(nonce, id.Serial) (ErrBadSignature).
//
// Roots that are not Ed25519 CA certificates are not used as anchors. Any
// error returns the zero Attested.
func VerifyAttestation(id device.Identity, att device.Attestation, nonce []byte, roots []*x509.Certificate, now time.Time) (Attested, error) {
	if len(nonce) != device.NonceSize {
		return Attested{}, fmt.Errorf("verify attestation: challenge of %d bytes, want %d", len(nonce), device.NonceSize)
	}
	chain, err := parseChain(att.Chain)
	if err != nil {
		return Attested{}, err
	}
	unit := chain[0]
	root, err := verifyChain(chain, anchors(roots), now)
	if err != nil {
		return Attested{}, err
	}
	if err := checkUnitCert(unit, id); err != nil {
		return Attested{}, err
	}
	if !bytes.Equal(att.Nonce, nonce) {
		return Attested{}, fmt.Errorf("%w: the answer is for challenge %.8x…, not the %.8x… sent", ErrNonceMismatch, att.Nonce, nonce)
	}
	pub := unit.PublicKey.(ed25519.PublicKey) // parseChain admits Ed25519 only
	if len(att.Sig) != ed25519.SignatureSize || !ed25519.Verify(pub, device.AttestationMessage(nonce, id.Serial), att.Sig) {
		return Attested{}, fmt.Errorf("%w: signature over the challenge does not verify with the key of certificate %q", ErrBadSignature, id.Serial)
	}
	kex, _ := kexKeyFromCert(unit) // checked in checkUnitCert
	return Attested{
		Serial:   id.Serial,
		SignKey:  bytes.Clone(pub),
		KexKey:   kex,
		Label:    device.LabelCode(pub),
		UnitCert: Fingerprint(unit.Raw),
		Root:     Fingerprint(root.Raw),
		NotAfter: unit.NotAfter,
	}, nil
}

// Fingerprint returns the hex SHA-256 of a certificate's DER: how
// Attested.UnitCert, Attested.Root and Root.Fingerprint name certificates.
func Fingerprint(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// parseChain parses the unit's chain, unit certificate first. The limits are
// those of docs/protocol.md 4.1; "Ed25519 throughout" is the manufacturer
// chain's design (DESIGN.md, security model).
func parseChain(ders [][]byte) ([]*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, fmt.Errorf("%w: the unit sent no certificate", ErrChainInvalid)
	}
	if len(ders) > device.MaxChain {
		return nil, fmt.Errorf("%w: the unit sent %d certificates, at most %d are allowed", ErrChainInvalid, len(ders), device.MaxChain)
	}
	chain := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		if len(der) > device.MaxCertSize {
			return nil, fmt.Errorf("%w: certificate %d is %d bytes, at most %d are allowed", ErrChainInvalid, i, len(der), device.MaxCertSize)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrChainInvalid, i, err)
		}
		if c.PublicKeyAlgorithm != x509.Ed25519 || c.SignatureAlgorithm != x509.PureEd25519 {
			return nil, fmt.Errorf("%w: certificate %d (%s) uses %s keys or %s signatures, not Ed25519", ErrChainInvalid, i, c.Subject.CommonName, c.PublicKeyAlgorithm, c.SignatureAlgorithm)
		}
		chain[i] = c
	}
	return chain, nil
}

// anchors returns the roots that may anchor a unit chain: Ed25519 CA
// certificates.
func anchors(roots []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, r := range roots {
		if r != nil && r.PublicKeyAlgorithm == x509.Ed25519 && r.BasicConstraintsValid && r.IsCA {
			out = append(out, r)
		}
	}
	return out
}

// verifyChain runs x509.Verify and returns the trusted root the chain ends
// in. x509.Verify checks validity periods together with everything else, so
// when it fails at now the chain is verified again at the edges of every
// certificate's validity: if it verifies at one of them, it is well formed
// and only time makes it fail (ErrCertExpired); if not, the fault is in the
// chain (ErrUnknownRoot or ErrChainInvalid, told apart by classify).
func verifyChain(chain, roots []*x509.Certificate, now time.Time) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	verify := func(at time.Time) ([][]*x509.Certificate, error) {
		return chain[0].Verify(x509.VerifyOptions{
			Roots:         pool,
			Intermediates: inter,
			CurrentTime:   at,
			// Unit certificates carry no extended key usage; Verify's
			// default (server authentication) is for TLS.
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
	}
	chains, err := verify(now)
	failedNow := err != nil
	if err != nil {
		var times []time.Time
		for _, cs := range [][]*x509.Certificate{chain, roots} {
			for _, c := range cs {
				times = append(times, c.NotBefore, c.NotAfter)
			}
		}
		for _, at := range times {
			if cs, err2 := verify(at); err2 == nil {
				chains = cs
				break
			}
		}
		if chains == nil {
			return nil, classify(chain, roots, err)
		}
	}
	// Verify never returns an empty chain list without an error; the
	// first chain is the one x509 prefers.
	verified := chains[0]
	for i, c := range verified {
		what := "the unit's certificate"
		switch {
		case i == len(verified)-1:
			what = "the manufacturer root"
		case i > 0:
			what = fmt.Sprintf("batch certificate %q", c.Subject.CommonName)
		}
		if now.Before(c.NotBefore) {
			return nil, fmt.Errorf("%w: %s is valid only from %s (now %s)", ErrCertExpired, what, c.NotBefore.UTC().Format(time.DateOnly), now.UTC().Format(time.DateOnly))
		}
		if now.After(c.NotAfter) {
			return nil, fmt.Errorf("%w: %s expired on %s", ErrCertExpired, what, c.NotAfter.UTC().Format(time.DateOnly))
		}
	}
	if failedNow {
		// Only time changed, yet no certificate of the chain is out of
		// its validity now: fail closed rather than guess.
		return nil, fmt.Errorf("%w: %w", ErrChainInvalid, err)
	}
	return verified[len(verified)-1], nil
}

// classify names why a chain that verifies at no time failed. A chain is
// "validly formed from an untrusted root" when the unit sent its
// certificate and at least one issuer, each certificate is signed by the
// next with the CA constraints x509 requires of an issuer, and no trusted
// root signed the last one. Everything else (a missing or non-CA
// intermediate, a broken signature, a path too long for a trusted root) is
// a chain fault.
func classify(chain, roots []*x509.Certificate, verr error) error {
	if len(roots) == 0 {
		return fmt.Errorf("%w: no manufacturer root is trusted on this laptop", ErrUnknownRoot)
	}
	if len(chain) < 2 {
		return fmt.Errorf("%w: the unit sent its certificate without the batch certificate that issued it: %w", ErrChainInvalid, verr)
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return fmt.Errorf("%w: certificate %d is not issued by certificate %d: %w", ErrChainInvalid, i, i+1, err)
		}
	}
	top := chain[len(chain)-1]
	for _, r := range roots {
		if top.CheckSignatureFrom(r) == nil || bytes.Equal(top.Raw, r.Raw) {
			return fmt.Errorf("%w: %w", ErrChainInvalid, verr)
		}
	}
	return fmt.Errorf("%w: the chain ends in %q, issued by %q", ErrUnknownRoot, top.Subject.CommonName, top.Issuer.CommonName)
}

// checkUnitCert makes checks 4 to 6 of VerifyAttestation.
func checkUnitCert(unit *x509.Certificate, id device.Identity) error {
	if unit.IsCA || unit.KeyUsage&x509.KeyUsageDigitalSignature == 0 || unit.KeyUsage&x509.KeyUsageCertSign != 0 {
		return fmt.Errorf("%w: certificate %q: CA %v, key usage %#x", ErrKeyUsage, unit.Subject.CommonName, unit.IsCA, int(unit.KeyUsage))
	}
	cn, sn := subjectValues(unit, oidCommonName), subjectValues(unit, oidSerialNumber)
	if len(cn) != 1 || len(sn) != 1 || cn[0] != id.Serial || sn[0] != id.Serial || id.Serial == "" {
		return fmt.Errorf("%w: the unit says %q, its certificate names %q (serial number %q)", ErrSerialMismatch, id.Serial, strings.Join(cn, ","), strings.Join(sn, ","))
	}
	pub, _ := unit.PublicKey.(ed25519.PublicKey)
	if !bytes.Equal(pub, id.SignKey) {
		return fmt.Errorf("%w: signing key %.8x… is not the certificate's %.8x…", ErrKeyMismatch, id.SignKey, []byte(pub))
	}
	kex, err := kexKeyFromCert(unit)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyMismatch, err)
	}
	if !bytes.Equal(kex, id.KexKey) {
		return fmt.Errorf("%w: key-agreement key %.8x… is not the certificate's %.8x…", ErrKeyMismatch, id.KexKey, kex)
	}
	return nil
}

// subjectValues returns every value of the subject attribute oid, so that
// a certificate naming two serials cannot pass as either.
func subjectValues(c *x509.Certificate, oid asn1.ObjectIdentifier) []string {
	var out []string
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oid) {
			s, ok := a.Value.(string)
			if !ok {
				s = fmt.Sprint(a.Value)
			}
			out = append(out, s)
		}
	}
	return out
}

// kexKeyFromCert returns the X25519 key a unit certificate carries: exactly
// one SAN URI KexURIPrefix + 64 lower-case hex digits.
func kexKeyFromCert(c *x509.Certificate) ([]byte, error) {
	var found []byte
	for _, u := range c.URIs {
		s := u.String()
		h, ok := strings.CutPrefix(s, KexURIPrefix)
		if !ok {
			continue
		}
		k, err := hex.DecodeString(h)
		if err != nil || len(k) != device.KeySize || hex.EncodeToString(k) != h {
			return nil, errors.New("the certificate's key-agreement key is malformed")
		}
		if found != nil {
			return nil, errors.New("the certificate names two key-agreement keys")
		}
		found = k
	}
	if found == nil {
		return nil, errors.New("the certificate carries no key-agreement key")
	}
	return found, nil
}
