package sim

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/internal/fsutil"
	"github.com/latchkey/latchkey/internal/provision"
)

// Files of a [DirFactory] directory. The keys are PKCS#8 PEM, mode 0600;
// the certificates PEM.
const (
	FactoryRootCert  = "root.pem"
	FactoryRootKey   = "root.key"
	FactoryBatchCert = "batch.pem"
	FactoryBatchKey  = "batch.key"
)

// Subjects of the certificates a [DirFactory] (and the throwaway root of
// the unknown-root counterfeit) makes: the root says plainly what it is, so
// no one trusts it by mistake in production.
const (
	dirFactoryOrg       = "latchkey sim test factory"
	dirFactoryRootName  = "latchkey TEST factory root — not for production"
	dirFactoryBatchName = "latchkey TEST factory batch — not for production"
)

// dirFactoryLife is how long a DirFactory's root and batch certificates
// are valid: long enough that a training laptop never sees them expire.
const dirFactoryLife = 20 * 365 * 24 * time.Hour

// ErrFactoryDir marks a factory directory that is half made or damaged. It
// is never repaired by making a new root over it: units already trust the
// old one.
var ErrFactoryDir = errors.New("sim: test factory directory")

// factoryCA is a factory's signing material: root and batch intermediate.
type factoryCA struct {
	rootDER, batchDER []byte
	root, batch       *x509.Certificate
	rootKey, batchKey ed25519.PrivateKey
	org               string
	rand              io.Reader
}

// unitCertSpec is what may differ between the unit certificates a factory
// issues: counterfeit modes change the validity.
type unitCertSpec struct {
	serialNo            *big.Int
	notBefore, notAfter time.Time
}

// issueUnit makes a unit certificate naming the serial (as common name and
// subject serial number), for the unit's Ed25519 key, with its X25519 key
// as a provision.KexURIPrefix URI, issued by batch; the returned chain is the unit
// certificate, then batchDER. SeededFactory and DirFactory both issue
// through it, so their unit certificates have the same shape.
func issueUnit(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey, spec unitCertSpec, org string, batchDER []byte, batch *x509.Certificate, batchKey ed25519.PrivateKey) ([][]byte, error) {
	kexURI, err := url.Parse(provision.KexURIPrefix + hex.EncodeToString(kexKey.Bytes()))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: spec.serialNo,
		Subject:      pkix.Name{CommonName: serial, SerialNumber: serial, Organization: []string{org}},
		NotBefore:    spec.notBefore,
		NotAfter:     spec.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		URIs:         []*url.URL{kexURI},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, batch, signKey, batchKey)
	if err != nil {
		return nil, fmt.Errorf("unit certificate: %w", err)
	}
	return [][]byte{der, batchDER}, nil
}

// randSerial returns a positive 128-bit certificate serial number
// (RFC 5280 4.1.2.2 allows up to 20 bytes).
func randSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never a short or zero serial
	return new(big.Int).SetBytes(b), nil
}

func randKey(r io.Reader) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// factoryBackdate is how far before its making a factory's root and batch
// are valid: far enough that the expired counterfeit's certificate (a year
// that ended yesterday) lies inside their validity, as a genuine but
// expired certificate would.
const factoryBackdate = 2 * 365 * 24 * time.Hour

// newFactoryCA makes a fresh root and batch intermediate, valid from
// factoryBackdate before now for dirFactoryLife.
func newFactoryCA(r io.Reader, now time.Time) (*factoryCA, error) {
	ca := &factoryCA{org: dirFactoryOrg, rand: r}
	var err error
	if ca.rootKey, err = randKey(r); err != nil {
		return nil, fmt.Errorf("root key: %w", err)
	}
	if ca.batchKey, err = randKey(r); err != nil {
		return nil, fmt.Errorf("batch key: %w", err)
	}
	nb, na := now.Add(-factoryBackdate).UTC().Truncate(time.Second), now.Add(dirFactoryLife).UTC().Truncate(time.Second)
	rootSerial, err := randSerial(r)
	if err != nil {
		return nil, err
	}
	root := &x509.Certificate{
		SerialNumber:          rootSerial,
		Subject:               pkix.Name{CommonName: dirFactoryRootName, Organization: []string{dirFactoryOrg}},
		NotBefore:             nb,
		NotAfter:              na,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if ca.rootDER, err = x509.CreateCertificate(rand.Reader, root, root, ca.rootKey.Public(), ca.rootKey); err != nil {
		return nil, fmt.Errorf("root certificate: %w", err)
	}
	if ca.root, err = x509.ParseCertificate(ca.rootDER); err != nil {
		return nil, err
	}
	batchSerial, err := randSerial(r)
	if err != nil {
		return nil, err
	}
	batch := &x509.Certificate{
		SerialNumber:          batchSerial,
		Subject:               pkix.Name{CommonName: dirFactoryBatchName, Organization: []string{dirFactoryOrg}},
		NotBefore:             nb,
		NotAfter:              na,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	if ca.batchDER, err = x509.CreateCertificate(rand.Reader, batch, ca.root, ca.batchKey.Public(), ca.rootKey); err != nil {
		return nil, fmt.Errorf("batch certificate: %w", err)
	}
	if ca.batch, err = x509.ParseCertificate(ca.batchDER); err != nil {
		return nil, err
	}
	return ca, nil
}

// issue issues a unit certificate valid for as long as the batch is, from
// now (less an hour for clock skew).
func (ca *factoryCA) issue(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey, now time.Time) ([][]byte, error) {
	return ca.issueValid(serial, signKey, kexKey, now.Add(-time.Hour).UTC().Truncate(time.Second), ca.batch.NotAfter)
}

func (ca *factoryCA) issueValid(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey, nb, na time.Time) ([][]byte, error) {
	sn, err := randSerial(ca.rand)
	if err != nil {
		return nil, err
	}
	return issueUnit(serial, signKey, kexKey, unitCertSpec{serialNo: sn, notBefore: nb, notAfter: na}, ca.org, ca.batchDER, ca.batch, ca.batchKey)
}

// DirFactory is a test manufacturer kept in a directory, so that latchkey
// can be told to trust its root (`latchkey trust add DIR/root.pem`) and
// every unit made with it, across runs, chains to that root. On first use
// it creates a self-signed Ed25519 root (root.pem, root.key) and a batch
// intermediate (batch.pem, batch.key) in Dir; later uses load them. It
// never makes a new root over an existing file: a directory that is half
// made or damaged is refused with [ErrFactoryDir].
//
// Its keys sit unencrypted on disk: it is for tests and training only, and
// its root names itself "not for production".
type DirFactory struct {
	Dir string
	// Now is the clock for the validity of new certificates; nil means
	// time.Now.
	Now func() time.Time
	// Rand makes keys and certificate serial numbers; nil means
	// crypto/rand.
	Rand io.Reader
}

func (f DirFactory) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

func (f DirFactory) rand() io.Reader {
	if f.Rand == nil {
		return rand.Reader
	}
	return f.Rand
}

// RootPath is the path of the root certificate, the file to trust.
func (f DirFactory) RootPath() string { return filepath.Join(f.Dir, FactoryRootCert) }

// RootDER returns the root certificate, creating the factory if needed.
func (f DirFactory) RootDER() ([]byte, error) {
	ca, err := f.Open()
	if err != nil {
		return nil, err
	}
	return ca.rootDER, nil
}

// Open creates the factory in Dir if the directory holds none of its files
// (creating Dir if missing), or loads and checks it if it holds all of
// them; anything in between is an [ErrFactoryDir] error.
func (f DirFactory) Open() (*factoryCA, error) {
	if f.Dir == "" {
		return nil, fmt.Errorf("%w: no directory given", ErrFactoryDir)
	}
	files := []string{FactoryRootCert, FactoryRootKey, FactoryBatchCert, FactoryBatchKey}
	var present []string
	for _, n := range files {
		if _, err := os.Lstat(filepath.Join(f.Dir, n)); err == nil {
			present = append(present, n)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w %s: %v", ErrFactoryDir, f.Dir, err)
		}
	}
	switch len(present) {
	case 0:
		return f.create()
	case len(files):
		return f.load()
	}
	return nil, fmt.Errorf("%w %s is half made: it holds %v of %v (move it aside to make a new factory, and trust the new root)", ErrFactoryDir, f.Dir, present, files)
}

func (f DirFactory) create() (*factoryCA, error) {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFactoryDir, err)
	}
	ca, err := newFactoryCA(f.rand(), f.now())
	if err != nil {
		return nil, fmt.Errorf("sim: make test factory: %w", err)
	}
	rootKey, err := x509.MarshalPKCS8PrivateKey(ca.rootKey)
	if err != nil {
		return nil, err
	}
	batchKey, err := x509.MarshalPKCS8PrivateKey(ca.batchKey)
	if err != nil {
		return nil, err
	}
	// Keys before certificates, the root last: a run killed half-way
	// leaves a directory without root.pem, which Open refuses rather than
	// one whose root is trusted and whose keys are gone.
	for _, w := range []struct {
		name, typ string
		der       []byte
		perm      os.FileMode
	}{
		{FactoryBatchKey, "PRIVATE KEY", batchKey, 0o600},
		{FactoryRootKey, "PRIVATE KEY", rootKey, 0o600},
		{FactoryBatchCert, "CERTIFICATE", ca.batchDER, 0o644},
		{FactoryRootCert, "CERTIFICATE", ca.rootDER, 0o644},
	} {
		if err := writeNew(filepath.Join(f.Dir, w.name), w.perm, pem.EncodeToMemory(&pem.Block{Type: w.typ, Bytes: w.der})); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFactoryDir, err)
		}
	}
	return ca, nil
}

// writeNew writes a whole file at path, atomically, and fails if path
// exists: another process making the same factory at once loses, rather
// than one root replacing another.
func writeNew(path string, perm os.FileMode, b []byte) error {
	tmp := path + ".new"
	if err := fsutil.WriteFile(tmp, perm, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp) }()
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

func (f DirFactory) load() (*factoryCA, error) {
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s (it is not repaired automatically: move the directory aside to make a new factory, and trust the new root)", ErrFactoryDir, filepath.Join(f.Dir, name), fmt.Sprintf(format, args...))
	}
	readPEM := func(name, typ string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(f.Dir, name))
		if err != nil {
			return nil, bad(name, "%v", err)
		}
		blk, rest := pem.Decode(b)
		if blk == nil || blk.Type != typ || len(bytes.TrimSpace(rest)) != 0 {
			return nil, bad(name, "not one PEM block of type %s", typ)
		}
		return blk.Bytes, nil
	}
	cert := func(name string) ([]byte, *x509.Certificate, error) {
		der, err := readPEM(name, "CERTIFICATE")
		if err != nil {
			return nil, nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, bad(name, "%v", err)
		}
		return der, c, nil
	}
	key := func(name string, c *x509.Certificate) (ed25519.PrivateKey, error) {
		der, err := readPEM(name, "PRIVATE KEY")
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, bad(name, "%v", err)
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, bad(name, "not an Ed25519 key")
		}
		if pub, ok := c.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(ek.Public()) {
			return nil, bad(name, "does not match the key in its certificate")
		}
		return ek, nil
	}
	ca := &factoryCA{org: dirFactoryOrg, rand: f.rand()}
	var err error
	if ca.rootDER, ca.root, err = cert(FactoryRootCert); err != nil {
		return nil, err
	}
	if ca.batchDER, ca.batch, err = cert(FactoryBatchCert); err != nil {
		return nil, err
	}
	if ca.rootKey, err = key(FactoryRootKey, ca.root); err != nil {
		return nil, err
	}
	if ca.batchKey, err = key(FactoryBatchKey, ca.batch); err != nil {
		return nil, err
	}
	if !ca.root.IsCA || ca.root.CheckSignatureFrom(ca.root) != nil {
		return nil, bad(FactoryRootCert, "not a self-signed CA certificate")
	}
	if !ca.batch.IsCA || ca.batch.CheckSignatureFrom(ca.root) != nil {
		return nil, bad(FactoryBatchCert, "not a CA certificate issued by %s", FactoryRootCert)
	}
	return ca, nil
}

// Issue implements [ChainSource]: a unit certificate exactly like
// [SeededFactory.Issue]'s, issued by the directory's batch intermediate,
// then the intermediate.
func (f DirFactory) Issue(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey) ([][]byte, error) {
	ca, err := f.Open()
	if err != nil {
		return nil, err
	}
	return ca.issue(serial, signKey, kexKey, f.now())
}

// issueValid implements validityIssuer for the expired counterfeit.
func (f DirFactory) issueValid(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey, nb, na time.Time) ([][]byte, error) {
	ca, err := f.Open()
	if err != nil {
		return nil, err
	}
	return ca.issueValid(serial, signKey, kexKey, nb, na)
}

// validityIssuer is a [ChainSource] that can issue a unit certificate with
// a chosen validity (the expired counterfeit). SeededFactory and
// DirFactory are.
type validityIssuer interface {
	issueValid(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey, notBefore, notAfter time.Time) ([][]byte, error)
}
