package provision

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/fsutil"
)

// Errors of the trust store.
var (
	// ErrNotRoot: what was offered as a manufacturer root is not one.
	ErrNotRoot = errors.New("not a manufacturer root certificate")
	// ErrRootNotFound: no trusted root matches the reference given.
	ErrRootNotFound = errors.New("no trusted manufacturer root matches")
	// ErrRootAmbiguous: a fingerprint prefix matches more than one root.
	ErrRootAmbiguous = errors.New("more than one trusted manufacturer root matches")
)

// MinRefPrefix is the fewest hex digits of a fingerprint that Remove takes
// as a reference.
const MinRefPrefix = 8

// rootExt names the files of the trust store.
const rootExt = ".pem"

// TrustStore is the set of manufacturer roots this laptop trusts: one PEM
// file per root in Dir (the CLI passes <config dir>/trust), named by the
// root's fingerprint. Nothing else is trusted: the test root of the
// simulator and the production root alike must be added (see
// roots/production.pem.txt).
type TrustStore struct {
	Dir string
	// AllowTest lets Add trust a test factory's root (IsTestRoot): for
	// training and test laptops only.
	AllowTest bool
}

// Root describes a trusted manufacturer root.
type Root struct {
	// Fingerprint is the hex SHA-256 of the certificate's DER, as in
	// Attested.Root.
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	// File is the path of the PEM file that holds it.
	File string `json:"file"`
}

// Add trusts the root certificate in pemBytes (one PEM CERTIFICATE block,
// or DER). It must be a self-signed CA certificate with an Ed25519 key that
// may sign certificates and is valid at now; anything else is refused with
// ErrNotRoot and the reason. Adding a root twice is harmless: the file is
// named by its fingerprint, so the second add rewrites the same file and
// returns the same Root.
func (t TrustStore) Add(pemBytes []byte, now time.Time) (Root, error) {
	der, err := oneCertificate(pemBytes)
	if err != nil {
		return Root{}, fmt.Errorf("add trusted root: %w", err)
	}
	c, err := checkRoot(der)
	if err != nil {
		return Root{}, fmt.Errorf("add trusted root: %w", err)
	}
	if IsTestRoot(c) && !t.AllowTest {
		return Root{}, fmt.Errorf("add trusted root: %w: %q is a test factory's root (anyone can make certificates under it); trust it only on a training or test laptop, with --allow-test-root", ErrTestRoot, c.Subject.CommonName)
	}
	if now.Before(c.NotBefore) {
		return Root{}, fmt.Errorf("add trusted root: %w: it is valid only from %s; check this laptop's date and time", ErrNotRoot, c.NotBefore.UTC().Format(time.DateOnly))
	}
	if now.After(c.NotAfter) {
		return Root{}, fmt.Errorf("add trusted root: %w: it expired on %s; ask the manufacturer for their current root", ErrNotRoot, c.NotAfter.UTC().Format(time.DateOnly))
	}
	r := describe(c, filepath.Join(t.Dir, Fingerprint(c.Raw)+rootExt))
	err = fsutil.WriteFile(r.File, 0o644, func(w io.Writer) error {
		return pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	})
	if err != nil {
		return Root{}, fmt.Errorf("add trusted root: %w", err)
	}
	return r, nil
}

// ErrTestRoot is a test factory's root offered for trust without leave.
var ErrTestRoot = errors.New("refusing a test root")

// IsTestRoot reports whether c is a root made by a test factory (the
// virtual unit's): its organisation or name says so. Anyone can issue
// certificates under such a root (the sim's seeded root derives from a
// public seed), so a production laptop must never trust one.
func IsTestRoot(c *x509.Certificate) bool {
	names := append([]string{c.Subject.CommonName}, c.Subject.Organization...)
	for _, n := range names {
		l := strings.ToLower(n)
		if strings.Contains(l, "test factory") || strings.Contains(l, "not for production") || strings.Contains(l, "sim test root") {
			return true
		}
	}
	return false
}

// oneCertificate returns the DER of the single certificate in b: one PEM
// CERTIFICATE block with nothing but white space around it, or DER.
func oneCertificate(b []byte) ([]byte, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		if len(b) > 0 && b[0] == 0x30 { // an ASN.1 SEQUENCE: perhaps DER
			return b, nil
		}
		return nil, fmt.Errorf("%w: the file is not a PEM certificate", ErrNotRoot)
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: the file holds a PEM %q block, not a certificate", ErrNotRoot, block.Type)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: the file holds more than one PEM block; add one root at a time", ErrNotRoot)
	}
	return block.Bytes, nil
}

// checkRoot parses der and checks that it is a self-signed Ed25519 CA
// certificate that may sign certificates. Time is checked by the caller:
// a stored root that has since expired is still listed (and chains fail
// with ErrCertExpired).
func checkRoot(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: it does not parse as a certificate: %w", ErrNotRoot, err)
	}
	if c.PublicKeyAlgorithm != x509.Ed25519 {
		return nil, fmt.Errorf("%w: it has an %s key; latchkey manufacturer roots are Ed25519", ErrNotRoot, c.PublicKeyAlgorithm)
	}
	if !c.BasicConstraintsValid || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%w: %q is not a certificate authority (a unit or other end certificate?); ask the manufacturer for their root", ErrNotRoot, c.Subject.CommonName)
	}
	if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(c) != nil {
		return nil, fmt.Errorf("%w: %q is issued by %q, not by itself (a batch certificate?); ask the manufacturer for their root", ErrNotRoot, c.Subject.CommonName, c.Issuer.CommonName)
	}
	return c, nil
}

func describe(c *x509.Certificate, file string) Root {
	return Root{
		Fingerprint: Fingerprint(c.Raw),
		Subject:     c.Subject.String(),
		NotBefore:   c.NotBefore.UTC(),
		NotAfter:    c.NotAfter.UTC(),
		File:        file,
	}
}

// stored is one root file of the store.
type stored struct {
	root Root
	cert *x509.Certificate
}

// load reads every root file of the store, sorted by subject, fingerprint
// and file. A missing directory is an empty store. A file that is not a
// root is an error naming it, not skipped: the store may be edited by hand,
// and a silent skip would hide the mistake. The same root copied under two
// names appears twice.
func (t TrustStore) load() ([]stored, error) {
	ents, err := os.ReadDir(t.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read trust store: %w", err)
	}
	var out []stored
	for _, e := range ents {
		name := e.Name()
		// fsutil's temporary files start with a dot.
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, rootExt) {
			continue
		}
		file := filepath.Join(t.Dir, name)
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read trust store: %w", err)
		}
		der, err := oneCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("read trust store: %s: %w; remove the file", file, err)
		}
		c, err := checkRoot(der)
		if err != nil {
			return nil, fmt.Errorf("read trust store: %s: %w; remove the file", file, err)
		}
		out = append(out, stored{describe(c, file), c})
	}
	slices.SortFunc(out, func(a, b stored) int {
		return cmp.Or(
			strings.Compare(a.root.Subject, b.root.Subject),
			strings.Compare(a.root.Fingerprint, b.root.Fingerprint),
			strings.Compare(a.root.File, b.root.File))
	})
	return out, nil
}

// List returns the trusted roots, sorted by subject then fingerprint, each
// once.
func (t TrustStore) List() ([]Root, error) {
	st, err := t.load()
	if err != nil {
		return nil, err
	}
	var roots []Root
	for i, s := range st {
		if i == 0 || s.root.Fingerprint != st[i-1].root.Fingerprint {
			roots = append(roots, s.root)
		}
	}
	return roots, nil
}

// Roots returns the trusted root certificates, for VerifyAttestation.
func (t TrustStore) Roots() ([]*x509.Certificate, error) {
	st, err := t.load()
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for i, s := range st {
		if i == 0 || s.root.Fingerprint != st[i-1].root.Fingerprint {
			certs = append(certs, s.cert)
		}
	}
	return certs, nil
}

// Remove stops trusting the root named by ref: its fingerprint, a prefix of
// it of at least MinRefPrefix hex digits that matches one root only, or
// the name of its file. Every file holding that root is removed.
func (t TrustStore) Remove(ref string) (Root, error) {
	st, err := t.load()
	if err != nil {
		return Root{}, fmt.Errorf("remove trusted root: %w", err)
	}
	r, err := match(st, ref)
	if err != nil {
		return Root{}, fmt.Errorf("remove trusted root: %w", err)
	}
	for _, s := range st {
		if s.root.Fingerprint == r.Fingerprint {
			if err := os.Remove(s.root.File); err != nil {
				return Root{}, fmt.Errorf("remove trusted root: %w", err)
			}
		}
	}
	return r, nil
}

func match(st []stored, ref string) (Root, error) {
	ref = strings.TrimSpace(ref)
	for _, s := range st {
		if ref != "" && (ref == filepath.Base(s.root.File) || ref == s.root.File) {
			return s.root, nil
		}
	}
	hexRef := strings.ToLower(strings.TrimSuffix(ref, rootExt))
	if _, err := hex.DecodeString(hexRef + strings.Repeat("0", len(hexRef)%2)); err != nil || len(hexRef) < MinRefPrefix {
		return Root{}, fmt.Errorf("%w %q: give its fingerprint (at least %d hex digits) or its file name, as `trust list` shows", ErrRootNotFound, ref, MinRefPrefix)
	}
	var found []Root
	for _, s := range st {
		if strings.HasPrefix(s.root.Fingerprint, hexRef) && !slices.ContainsFunc(found, func(r Root) bool { return r.Fingerprint == s.root.Fingerprint }) {
			found = append(found, s.root)
		}
	}
	switch len(found) {
	case 0:
		return Root{}, fmt.Errorf("%w %q", ErrRootNotFound, ref)
	case 1:
		return found[0], nil
	default:
		return Root{}, fmt.Errorf("%w %q (%d roots): give more digits of the fingerprint", ErrRootAmbiguous, ref, len(found))
	}
}
